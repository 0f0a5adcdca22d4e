//! [`FusedUpdate`]: the optimiser updates a backend can make in one pass over memory. Every
//! backend the lab trains on implements it. flex runs the fused kernels of the vendored crate (a
//! marked patch: `vendor/burn-flex/src/ops/fused_optim.rs`), which update weights and moments in
//! place; the other backends keep the tensor-operation version of [`super::optim`], which gives
//! the same bits (checked in the tests there).

use burn::backend::{Flex, NdArray};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_flex::ops::fused_optim;
pub use burn_flex::ops::fused_optim::AdamStep;
use burn_flex::FlexTensor;

use super::optim::{adam_ops, sgd_ops};

/// Adam and SGD-with-momentum updates on one parameter tensor. The provided methods are the
/// tensor-operation versions; a backend with a faster way overrides them.
pub trait FusedUpdate: Backend {
    /// One Adam update: `(w, m, v)` after it (`m`, `v` are `None` before the first).
    fn adam<const D: usize>(c: AdamStep, w: Tensor<Self, D>, g: Tensor<Self, D>, m: Option<Tensor<Self, D>>, v: Option<Tensor<Self, D>>) -> (Tensor<Self, D>, Tensor<Self, D>, Tensor<Self, D>) {
        adam_ops(c, w, g, m, v)
    }

    /// One SGD update with momentum `mu` and learning rate `lr`: `(w, velocity)` after it.
    fn sgd<const D: usize>(mu: f64, lr: f64, w: Tensor<Self, D>, g: Tensor<Self, D>, velocity: Option<Tensor<Self, D>>) -> (Tensor<Self, D>, Tensor<Self, D>) {
        sgd_ops(mu, lr, w, g, velocity)
    }
}

/// A backend the lab trains on: autodiff over a backend with [`FusedUpdate`].
pub trait TrainBackend: AutodiffBackend<InnerBackend: FusedUpdate> {}

impl<B: AutodiffBackend<InnerBackend: FusedUpdate>> TrainBackend for B {}

impl FusedUpdate for NdArray {}

#[cfg(feature = "cuda")]
impl FusedUpdate for burn::backend::Cuda {}

#[cfg(feature = "wgpu")]
impl FusedUpdate for burn::backend::Wgpu {}

fn primitive<const D: usize>(t: Tensor<Flex, D>) -> FlexTensor {
    match t.into_primitive() {
        TensorPrimitive::Float(p) => p,
        TensorPrimitive::QFloat(_) => unreachable!("checked: f32"),
    }
}

fn tensor<const D: usize>(t: FlexTensor) -> Tensor<Flex, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

impl FusedUpdate for Flex {
    fn adam<const D: usize>(c: AdamStep, w: Tensor<Self, D>, g: Tensor<Self, D>, m: Option<Tensor<Self, D>>, v: Option<Tensor<Self, D>>) -> (Tensor<Self, D>, Tensor<Self, D>, Tensor<Self, D>) {
        if w.dtype() != DType::F32 || g.dtype() != DType::F32 {
            return adam_ops(c, w, g, m, v);
        }
        let (w, m, v) = fused_optim::adam(c, primitive(w), primitive(g), m.map(primitive), v.map(primitive));
        (tensor(w), tensor(m), tensor(v))
    }

    fn sgd<const D: usize>(mu: f64, lr: f64, w: Tensor<Self, D>, g: Tensor<Self, D>, velocity: Option<Tensor<Self, D>>) -> (Tensor<Self, D>, Tensor<Self, D>) {
        if w.dtype() != DType::F32 || g.dtype() != DType::F32 {
            return sgd_ops(mu, lr, w, g, velocity);
        }
        let (w, v) = fused_optim::sgd(mu as f32, -lr as f32, primitive(w), primitive(g), velocity.map(primitive));
        (tensor(w), tensor(v))
    }
}
