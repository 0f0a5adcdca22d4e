//! Gradient penalties on the discriminator (`discriminator.gradient_penalty`): a function of each
//! image's ‖∂D/∂x‖₂, averaged over the batch and added to D's loss.
//!
//! - WGAN-GP (Gulrajani et al. 2017): λ · E[(‖∂D/∂x̂‖ − 1)²] at x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1]
//!   per image: a soft version of the 1-Lipschitz bound the Wasserstein critic needs.
//! - R1 (Mescheder et al. 2018): (λ / 2) · E[‖∂D/∂x‖²] at the real images: D flat on the data.
//!
//! Training D on a penalty needs the gradient of a gradient. The points are lifted onto
//! `Autodiff<B>`; its backward pass runs on `B`, which records it, so ∂D/∂x is an ordinary
//! tensor of B's graph and the penalty's gradient in D's weights comes out of D's usual backward
//! pass. D on `Autodiff<B>` is the same module, wrapped (`AutodiffModule::from_inner`): its
//! weights are B's tracked tensors, so both paths accumulate into the same weight gradients.

use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Uniform};

use crate::config::{GradientPenalty, PenaltyKind};

impl GradientPenalty {
    /// The images the penalty is taken at: the real batch for R1; for WGAN-GP εᵢ·realᵢ + (1 − εᵢ)·fakeᵢ
    /// with one ε ~ U[0, 1) per image drawn from `rng` (R1 draws nothing).
    pub fn points<B: Backend>(&self, real: Tensor<B, 4>, fake: Tensor<B, 4>, rng: &mut ChaCha8Rng) -> Tensor<B, 4> {
        match self.kind {
            PenaltyKind::R1 => real,
            PenaltyKind::WganGp => {
                let unit = Uniform::new(0.0f32, 1.0).expect("a non-empty interval");
                let eps = (0..real.dims()[0]).map(|_| unit.sample(rng)).collect();
                interpolate(real, fake, eps)
            }
        }
    }

    /// `weight` × the batch mean of the penalty at `points` for the critic `d` (given as a function
    /// on the lifted backend). The result is a one-element tensor of B's graph: differentiable in
    /// D's weights, constant in the points.
    pub fn value<B, F>(&self, d: F, points: Tensor<B, 4>) -> Tensor<B, 1>
    where
        B: AutodiffBackend,
        F: FnOnce(Tensor<Autodiff<B>, 4>) -> Tensor<Autodiff<B>, 1>,
    {
        let x = Tensor::<Autodiff<B>, 4>::from_inner(points.detach()).require_grad();
        // Images are independent (validation refuses BatchNorm), so the gradient of the summed
        // outputs in image i is ∂D(xᵢ)/∂xᵢ.
        let grads = d(x.clone()).sum().backward();
        let dx: Tensor<B, 4> = x.grad(&grads).expect("the points are tracked by the lifted graph");
        let n = dx.dims()[0];
        let squared_norm: Tensor<B, 1> = dx.reshape([n as i64, -1]).powi_scalar(2).sum_dim(1).reshape([n]);
        match self.kind {
            // ε inside the root keeps its gradient finite at a zero gradient (where PyTorch's norm
            // gives NaN); 1e-12 moves a norm of order 1 by nothing f32 can hold.
            PenaltyKind::WganGp => squared_norm.add_scalar(1e-12).sqrt().sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(self.weight),
            PenaltyKind::R1 => squared_norm.mean().mul_scalar(self.weight / 2.0),
        }
    }
}

/// εᵢ·realᵢ + (1 − εᵢ)·fakeᵢ for each image i.
fn interpolate<B: Backend>(real: Tensor<B, 4>, fake: Tensor<B, 4>, eps: Vec<f32>) -> Tensor<B, 4> {
    let n = eps.len();
    let eps = Tensor::<B, 4>::from_data(TensorData::new(eps, [n, 1, 1, 1]), &real.device());
    real * eps.clone() + fake * eps.neg().add_scalar(1.0)
}

#[cfg(test)]
mod tests {
    //! Against `reference/gradient_penalty.py` (PyTorch's `autograd.grad(create_graph=True)`):
    //! a critic D(x) = Σ v · leaky_relu(conv(x, W, stride 2, padding 1) + b, 0.2) on one 1×4×4 image
    //! and one made of the same numbers reversed, with a 3×3 kernel and 2 output channels.
    use super::*;
    use burn::backend::Flex;
    use burn::module::Param;
    use burn::tensor::activation::leaky_relu;
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use rand::SeedableRng;

    type B = Autodiff<Flex>;

    const X: [f32; 16] = [0.5, -1.0, 0.25, 1.5, 0.0, -0.5, 0.75, 2.0, -1.25, 0.3, 1.1, -0.7, 0.9, -0.2, 0.6, -1.5];
    const W: [f32; 18] = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25, 0.15, -0.35, 0.45, -0.1, 0.2, -0.3, 0.35, 0.05, -0.25, 0.4, -0.15, 0.1];
    const BIAS: [f32; 2] = [0.05, -0.1];
    const V: [f32; 8] = [1.0, -0.5, 0.25, 0.75, -1.0, 0.5, 2.0, -0.25];
    // Printed by reference/gradient_penalty.py.
    const R1_VALUE: f32 = 4.787719;
    const R1_GRAD_W: [f32; 18] = [
        2.820000, -0.835000, 1.782500, -1.387500, -3.943750, 3.987500, 0.170000, -2.196250, 5.098750, -0.940000, 0.070000, 0.822500,
        1.452500, 1.731250, -3.045000, 1.770000, -1.057500, 0.628750,
    ];
    const GP_VALUE: f32 = 1.647618;
    const GP_GRAD_W: [f32; 18] = [
        1.427169, -0.682449, 1.079958, 1.263377, -0.101466, 0.155821, -0.585468, -0.493469, 1.595060, -0.475723, -0.621228, 0.728208,
        0.252246, -1.080594, 2.725989, 0.941418, 1.541210, -0.931231,
    ];

    fn tensor<const D: usize>(v: &[f32], shape: [usize; D]) -> Tensor<B, D> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), &Default::default())
    }

    /// The batch of two images, the weights (tracked) and the critic on the lifted backend.
    fn critic() -> (Tensor<B, 4>, Param<Tensor<B, 4>>, impl Fn(Tensor<Autodiff<B>, 4>) -> Tensor<Autodiff<B>, 1>) {
        let mut both = X.to_vec();
        both.extend(X.iter().rev());
        let x = tensor(&both, [2, 1, 4, 4]);
        let w = Param::from_tensor(tensor(&W, [2, 1, 3, 3]));
        let lifted_w = Tensor::<Autodiff<B>, 4>::from_inner(w.val());
        let b = Tensor::<Autodiff<B>, 1>::from_inner(tensor(&BIAS, [2]));
        let v = Tensor::<Autodiff<B>, 4>::from_inner(tensor(&V, [1, 2, 2, 2]));
        let d = move |x: Tensor<Autodiff<B>, 4>| {
            let h = leaky_relu(conv2d(x, lifted_w.clone(), Some(b.clone()), ConvOptions::new([2, 2], [1, 1], [1, 1], 1)), 0.2);
            (h * v.clone()).sum_dim(3).sum_dim(2).sum_dim(1).reshape([2])
        };
        (x, w, d)
    }

    fn check(kind: PenaltyKind, points: impl FnOnce(&GradientPenalty, Tensor<B, 4>) -> Tensor<B, 4>, value: f32, grad_w: [f32; 18]) {
        let gp = GradientPenalty { kind, weight: 10.0 };
        let (x, w, d) = critic();
        let penalty = gp.value(d, points(&gp, x));
        let got = penalty.clone().into_scalar();
        assert!((got - value).abs() < 1e-4 * value.abs().max(1.0), "{kind:?}: penalty {got}, reference {value}");
        let grads = penalty.backward();
        let g = w.val().grad(&grads).expect("W is tracked").into_data().to_vec::<f32>().unwrap();
        for (i, (a, e)) in g.iter().zip(grad_w).enumerate() {
            assert!((a - e).abs() < 1e-4 * e.abs().max(1.0), "{kind:?}: ∂penalty/∂W[{i}] = {a}, reference {e} ({g:?})");
        }
    }

    #[test]
    fn r1_and_its_gradient_in_the_weights_match_pytorch() {
        check(PenaltyKind::R1, |_, x| x, R1_VALUE, R1_GRAD_W);
    }

    #[test]
    fn wgan_gp_and_its_gradient_in_the_weights_match_pytorch() {
        // The fake batch is the real one halved and shifted; ε = (0.3, 0.8) as in the reference.
        check(PenaltyKind::WganGp, |_, x| interpolate(x.clone(), x.mul_scalar(0.5).sub_scalar(0.25), vec![0.3, 0.8]), GP_VALUE, GP_GRAD_W);
    }

    #[test]
    fn wgan_gp_points_lie_between_the_real_and_the_fake_image() {
        let gp = GradientPenalty { kind: PenaltyKind::WganGp, weight: 10.0 };
        let real = tensor(&[1.0; 8], [2, 1, 2, 2]);
        let fake = tensor(&[-1.0; 8], [2, 1, 2, 2]);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let p = gp.points(real, fake, &mut rng).into_data().to_vec::<f32>().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let unit = Uniform::new(0.0f32, 1.0).unwrap();
        let eps = [unit.sample(&mut rng), unit.sample(&mut rng)];
        assert!(eps[0] != eps[1] && eps.iter().all(|e| (0.0..1.0).contains(e)), "{eps:?}");
        for (i, v) in p.iter().enumerate() {
            assert_eq!(*v, eps[i / 4] - (1.0 - eps[i / 4]), "{p:?}");
        }
    }
}
