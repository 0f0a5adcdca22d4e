//! Adam and SGD updates in one pass over memory on the flex backend.
//!
//! Written with tensor operations, an Adam update is a dozen passes over parameter-sized buffers,
//! each allocating its result: 16 % of an `mlp-gan` training step. On flex the tensors are host
//! memory, so one parallel loop here updates the weights and the moments in place. The arithmetic
//! is that of the tensor version in [`super::optim`], operation for operation, in f32 with the
//! same f32 constants, so both give the same bits (checked in the tests there). Other backends,
//! and tensors that are not plain f32, keep the tensor version.

use std::any::Any;

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// Adam's constants for one update, as the f32 values the tensor version multiplies by.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    pub beta1: f32,
    pub one_minus_beta1: f32,
    pub beta2: f32,
    pub one_minus_beta2: f32,
    /// 1 − β2ᵗ
    pub bias_correction2: f32,
    pub eps: f32,
    /// lr / (1 − β1ᵗ)
    pub step_size: f32,
}

/// `Tensor<B, D>` as `Tensor<Flex, D>` when `B` is flex and the tensor plain f32.
fn as_flex<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Tensor<Flex, D>, Tensor<B, D>> {
    if t.dtype() != DType::F32 {
        return Err(t);
    }
    let boxed: Box<dyn Any> = Box::new(t);
    match boxed.downcast::<Tensor<Flex, D>>() {
        Ok(t) => Ok(*t),
        Err(other) => Err(*other.downcast::<Tensor<B, D>>().expect("the tensor that was boxed")),
    }
}

fn to_backend<B: Backend, const D: usize>(t: FlexTensor) -> Tensor<B, D> {
    let boxed: Box<dyn Any> = Box::new(Tensor::<Flex, D>::from_primitive(TensorPrimitive::Float(t)));
    *boxed.downcast::<Tensor<B, D>>().expect("B is Flex")
}

fn primitive<const D: usize>(t: Tensor<Flex, D>) -> FlexTensor {
    match t.into_primitive() {
        TensorPrimitive::Float(p) => p,
        TensorPrimitive::QFloat(_) => unreachable!("checked: f32"),
    }
}

/// A contiguous f32 buffer this tensor alone owns (copied when shared or strided).
fn writable(t: FlexTensor) -> FlexTensor {
    let mut c = t.to_contiguous();
    drop(t);
    if c.try_storage_mut::<f32>().is_none() {
        let shape = c.layout().shape().clone();
        c = FlexTensor::from_data(TensorData::new(c.as_slice::<f32>().expect("contiguous f32").to_vec(), shape));
    }
    c
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

fn zeros_like(t: &FlexTensor) -> FlexTensor {
    FlexTensor::zeros(t.layout().shape().clone(), t.dtype())
}

/// Fused Adam: `(w, m, v)` after one update, or the inputs back when not on flex.
#[allow(clippy::type_complexity)]
pub fn adam<B: Backend, const D: usize>(
    c: AdamStep,
    w: Tensor<B, D>,
    g: Tensor<B, D>,
    m: Option<Tensor<B, D>>,
    v: Option<Tensor<B, D>>,
) -> Result<(Tensor<B, D>, Tensor<B, D>, Tensor<B, D>), (Tensor<B, D>, Tensor<B, D>, Option<Tensor<B, D>>, Option<Tensor<B, D>>)> {
    let back = |w, g, m, v| Err((w, g, m, v));
    let w = match as_flex(w) {
        Ok(w) => w,
        Err(w) => return back(w, g, m, v),
    };
    // From here B is Flex: every conversion below succeeds.
    let flex = |t: Tensor<B, D>| as_flex(t).ok().expect("B is Flex and f32");
    let (mut w, g) = (writable(primitive(w)), primitive(flex(g)).to_contiguous());
    let mut m = m.map(|m| writable(primitive(flex(m)))).unwrap_or_else(|| zeros_like(&w));
    let mut v = v.map(|v| writable(primitive(flex(v)))).unwrap_or_else(|| zeros_like(&w));
    let gs = slice(&g);
    let ws: &mut [f32] = w.storage_mut();
    let ms: &mut [f32] = m.storage_mut();
    let vs: &mut [f32] = v.storage_mut();
    ws.par_chunks_mut(CHUNK).zip(ms.par_chunks_mut(CHUNK)).zip(vs.par_chunks_mut(CHUNK)).zip(gs.par_chunks(CHUNK)).for_each(|(((w, m), v), g)| {
        for i in 0..w.len() {
            let gi = g[i];
            let mi = m[i] * c.beta1 + gi * c.one_minus_beta1;
            let vi = v[i] * c.beta2 + (gi * gi) * c.one_minus_beta2;
            let denom = (vi / c.bias_correction2).sqrt() + c.eps;
            w[i] -= (mi / denom) * c.step_size;
            m[i] = mi;
            v[i] = vi;
        }
    });
    Ok((to_backend(w), to_backend(m), to_backend(v)))
}

/// Fused SGD with classical momentum (`v ← μ·v − lr·g; w ← w + v`): `(w, v)`, or the inputs
/// back when not on flex.
#[allow(clippy::type_complexity)]
pub fn sgd<B: Backend, const D: usize>(
    momentum: f32,
    neg_lr: f32,
    w: Tensor<B, D>,
    g: Tensor<B, D>,
    velocity: Option<Tensor<B, D>>,
) -> Result<(Tensor<B, D>, Tensor<B, D>), (Tensor<B, D>, Tensor<B, D>, Option<Tensor<B, D>>)> {
    let w = match as_flex(w) {
        Ok(w) => w,
        Err(w) => return Err((w, g, velocity)),
    };
    let flex = |t: Tensor<B, D>| as_flex(t).ok().expect("B is Flex and f32");
    let (mut w, g) = (writable(primitive(w)), primitive(flex(g)).to_contiguous());
    let first = velocity.is_none();
    let mut vel = velocity.map(|v| writable(primitive(flex(v)))).unwrap_or_else(|| zeros_like(&w));
    let gs = slice(&g);
    let ws: &mut [f32] = w.storage_mut();
    let vs: &mut [f32] = vel.storage_mut();
    ws.par_chunks_mut(CHUNK).zip(vs.par_chunks_mut(CHUNK)).zip(gs.par_chunks(CHUNK)).for_each(|((w, v), g)| {
        for i in 0..w.len() {
            let step = g[i] * neg_lr;
            // the first update has no velocity yet: v = −lr·g exactly
            let vi = if first { step } else { v[i] * momentum + step };
            w[i] += vi;
            v[i] = vi;
        }
    });
    Ok((to_backend(w), to_backend(vel)))
}
