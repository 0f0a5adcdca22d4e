//! Can burn 0.21 differentiate a gradient (what WGAN-GP's and R1's gradient penalties need)?
//! Nested autodiff, `Autodiff<Autodiff<Flex>>`: the outer backward pass runs its gradient
//! operations on the inner autodiff backend, which records them, so the gradient is itself a
//! tracked tensor of the inner graph. These tests pin down what works.

use burn::backend::{Autodiff, Flex};
use burn::tensor::Tensor;

type Inner = Autodiff<Flex>;
type Outer = Autodiff<Inner>;

/// x tracked by both graphs.
fn input(values: [f32; 3]) -> (Tensor<Inner, 1>, Tensor<Outer, 1>) {
    let inner = Tensor::<Inner, 1>::from_floats(values, &Default::default()).require_grad();
    let outer = Tensor::<Outer, 1>::from_inner(inner.clone()).require_grad();
    (inner, outer)
}

#[test]
fn the_gradient_of_a_gradient_of_a_cube_is_six_x() {
    let (x_inner, x) = input([1.0, -2.0, 0.5]);
    // f = Σ x³, ∂f/∂x = 3x² (a tensor of the inner graph), Σ ∂f/∂x = Σ 3x², its gradient 6x
    let f = x.clone().powi_scalar(3).sum();
    let grads = f.backward();
    let dfdx: Tensor<Inner, 1> = x.grad(&grads).expect("x is tracked");
    let first = dfdx.clone().into_data().to_vec::<f32>().unwrap();
    assert_eq!(first, vec![3.0, 12.0, 0.75]);
    let second = dfdx.sum().backward();
    let d2 = x_inner.grad(&second).expect("the gradient is tracked by the inner graph").into_data().to_vec::<f32>().unwrap();
    assert_eq!(d2, vec![6.0, -12.0, 3.0]);
}

#[test]
fn a_gradient_penalty_through_a_linear_layer_and_leaky_relu_has_the_analytic_gradient() {
    use burn::tensor::activation::leaky_relu;
    // D(x) = Σ w · leaky_relu(x); ‖∂D/∂x‖² = Σ (w · s(x))² with s the slope (1 or 0.2): its
    // gradient in w is 2 w s², the quantity a gradient penalty trains D with.
    let device = Default::default();
    let w_inner = Tensor::<Inner, 1>::from_floats([0.5, -1.0, 2.0], &device).require_grad();
    let w = Tensor::<Outer, 1>::from_inner(w_inner.clone()).require_grad();
    let (_, x) = input([1.0, -2.0, 0.5]);
    let d = (w * leaky_relu(x.clone(), 0.2)).sum();
    let grads = d.backward();
    let dx: Tensor<Inner, 1> = x.grad(&grads).expect("x is tracked");
    assert_eq!(dx.clone().into_data().to_vec::<f32>().unwrap(), vec![0.5, -0.2, 2.0]);
    let penalty = dx.powi_scalar(2).sum().backward();
    let dw = w_inner.grad(&penalty).expect("w is tracked by the inner graph").into_data().to_vec::<f32>().unwrap();
    let expected = [2.0 * 0.5, 2.0 * -1.0 * 0.04, 2.0 * 2.0];
    for (g, e) in dw.iter().zip(expected) {
        assert!((g - e).abs() < 1e-6, "{dw:?} vs {expected:?}");
    }
}
