//! The patches to burn's flex backend (gan_lab/vendor/burn-flex) keep its semantics:
//! convolutions (whole-batch im2col + gemm) give the outputs and gradients of burn's ndarray
//! backend, an independent implementation, over strides, paddings, dilations, groups, output
//! paddings and biases; dropout masks (counter-based, parallel) have their distribution and are
//! fixed by the seed whatever the number of threads; weight initialisation draws what ndarray
//! draws.

use burn::backend::{Autodiff, Flex, NdArray};
use burn::tensor::backend::Backend;
use burn::tensor::module::{conv2d, conv_transpose2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Distribution, Tensor, TensorData, Tolerance};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, seed), shape), &Default::default())
}

#[derive(Debug, Clone, Copy)]
struct Case {
    transposed: bool,
    x: [usize; 4],
    w: [usize; 4],
    stride: usize,
    padding: usize,
    dilation: usize,
    groups: usize,
    padding_out: usize,
    bias: bool,
}

/// (output, grad x, grad weight, grad bias) of `sum(op(x) * r)` on backend B.
fn run<B: burn::tensor::backend::AutodiffBackend>(c: Case) -> [Vec<f32>; 4] {
    let x = tensor::<B, 4>(c.x, 1).require_grad();
    let w = tensor::<B, 4>(c.w, 2).require_grad();
    let out_channels = if c.transposed { c.w[1] * c.groups } else { c.w[0] };
    let b = c.bias.then(|| tensor::<B, 1>([out_channels], 3).require_grad());
    let s = [c.stride, c.stride + 1];
    let p = [c.padding, c.padding];
    let d = [c.dilation, 1];
    let y = if c.transposed {
        conv_transpose2d(x.clone(), w.clone(), b.clone(), ConvTransposeOptions::new(s, p, [c.padding_out, 0], d, c.groups))
    } else {
        conv2d(x.clone(), w.clone(), b.clone(), ConvOptions::new(s, p, d, c.groups))
    };
    let r = tensor::<B, 4>(y.dims(), 4);
    let grads = (y.clone() * r).sum().backward();
    let v = |t: Tensor<B::InnerBackend, 4>| t.into_data().to_vec::<f32>().unwrap();
    [
        y.inner().into_data().to_vec::<f32>().unwrap(),
        v(x.grad(&grads).unwrap()),
        v(w.grad(&grads).unwrap()),
        b.map(|b| b.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap()).unwrap_or_default(),
    ]
}

fn check(c: Case) {
    let ours = run::<Autodiff<Flex>>(c);
    let reference = run::<Autodiff<NdArray>>(c);
    for (i, name) in ["output", "grad x", "grad weight", "grad bias"].iter().enumerate() {
        assert_eq!(ours[i].len(), reference[i].len(), "{name} of {c:?}");
        let a = TensorData::new(ours[i].clone(), [ours[i].len()]);
        let b = TensorData::new(reference[i].clone(), [reference[i].len()]);
        a.assert_approx_eq::<f32>(&b, Tolerance::absolute(2e-4));
    }
}

#[test]
fn convolutions_match_the_ndarray_backend_in_value_and_gradient() {
    let base = Case { transposed: false, x: [3, 4, 9, 8], w: [6, 4, 3, 3], stride: 1, padding: 1, dilation: 1, groups: 1, padding_out: 0, bias: true };
    check(base);
    check(Case { stride: 2, padding: 0, bias: false, ..base });
    check(Case { stride: 2, padding: 2, dilation: 2, ..base });
    check(Case { groups: 2, w: [6, 2, 3, 3], ..base });
    // the dcgan28 discriminator's layers: 4×4, stride 2, padding 1
    check(Case { x: [5, 1, 28, 28], w: [8, 1, 4, 4], stride: 2, padding: 1, ..base });
    check(Case { x: [5, 8, 14, 14], w: [16, 8, 4, 4], stride: 2, padding: 1, bias: false, ..base });
}

#[test]
fn transposed_convolutions_match_the_ndarray_backend_in_value_and_gradient() {
    let base = Case { transposed: true, x: [3, 4, 5, 6], w: [4, 3, 3, 3], stride: 1, padding: 1, dilation: 1, groups: 1, padding_out: 0, bias: true };
    check(base);
    check(Case { stride: 2, padding: 0, bias: false, ..base });
    check(Case { stride: 3, padding: 1, padding_out: 1, ..base });
    check(Case { dilation: 2, ..base });
    check(Case { groups: 2, w: [4, 2, 3, 3], ..base });
    // the dcgan28 generator's layers: 4×4, stride 2, padding 1, 7 → 14 → 28
    check(Case { x: [5, 16, 7, 7], w: [16, 8, 4, 4], stride: 2, padding: 1, bias: false, ..base });
    check(Case { x: [5, 8, 14, 14], w: [8, 1, 4, 4], stride: 2, padding: 1, ..base });
}

fn draw(distribution: Distribution, seed: u64, threads: usize) -> Vec<f32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let _guard = gan_lab::model::backend_rng_lock();
        Flex::seed(&Default::default(), seed);
        Tensor::<Flex, 2>::random([300, 1000], distribution, &Default::default()).into_data().to_vec::<f32>().unwrap()
    })
}

#[test]
fn dropout_masks_have_their_distribution_and_depend_on_the_seed_alone() {
    let mask = draw(Distribution::Bernoulli(0.7), 5, 2);
    assert!(mask.iter().all(|&v| v == 0.0 || v == 1.0));
    let mean = mask.iter().map(|&v| v as f64).sum::<f64>() / mask.len() as f64;
    assert!((mean - 0.7).abs() < 0.003, "Bernoulli(0.7) mean {mean}");
    assert_eq!(mask, draw(Distribution::Bernoulli(0.7), 5, 1), "the same seed on one thread");
    assert_ne!(mask, draw(Distribution::Bernoulli(0.7), 6, 2), "another seed");
    // neighbouring elements are not correlated
    let centred: Vec<f64> = mask.iter().map(|&v| v as f64 - mean).collect();
    let lag = centred.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / centred.len() as f64;
    assert!(lag.abs() < 0.002, "lag-1 covariance {lag}");
}

#[test]
fn weight_initialisation_draws_the_same_numbers_as_the_ndarray_backend() {
    for distribution in [Distribution::Uniform(-0.5, 0.5), Distribution::Normal(0.0, 0.02), Distribution::Default] {
        let ours = draw(distribution, 9, 2);
        let _guard = gan_lab::model::backend_rng_lock();
        <NdArray as Backend>::seed(&Default::default(), 9);
        let theirs = Tensor::<NdArray, 2>::random([300, 1000], distribution, &Default::default()).into_data().to_vec::<f32>().unwrap();
        assert_eq!(ours, theirs, "{distribution:?}");
    }
}
