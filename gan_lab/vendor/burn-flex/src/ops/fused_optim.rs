//! gan_lab patch: Adam and SGD-with-momentum updates in one parallel pass over memory, in place.
//!
//! Written with tensor operations, an Adam update is a dozen passes over parameter-sized buffers,
//! each allocating its result (16 % of an `mlp-gan` training step in gan_lab). Here one loop
//! updates the weights and the moments together. The arithmetic is that of the tensor version,
//! operation for operation, in f32 with the same f32 constants, so both give the same bits
//! (gan_lab checks this in its `train/optim.rs` tests). Tensors must be f32.

use alloc::vec::Vec;
use burn_backend::TensorData;
#[cfg(feature = "rayon")]
use rayon::prelude::*;

use crate::FlexTensor;

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

/// Whether the fused updates take this tensor (f32; any layout).
pub fn fusable(t: &FlexTensor) -> bool {
    t.dtype() == burn_backend::DType::F32
}

/// A contiguous f32 buffer this tensor alone owns (copied when shared or strided), so writing
/// it in place changes no other tensor.
fn writable(t: FlexTensor) -> FlexTensor {
    let mut c = t.to_contiguous();
    drop(t);
    if c.try_storage_mut::<f32>().is_none() {
        let shape = c.layout().shape().clone();
        let values: Vec<f32> = c.as_slice::<f32>().expect("contiguous f32").to_vec();
        c = FlexTensor::from_data(TensorData::new(values, shape));
    }
    c
}

fn zeros_like(t: &FlexTensor) -> FlexTensor {
    FlexTensor::zeros(t.layout().shape().clone(), t.dtype())
}

/// Runs `f` on matching chunks of the written slices and the read one, in parallel when possible.
macro_rules! chunks {
    ($f:expr; $first:expr $(, $rest:expr)*; $read:expr) => {{
        #[cfg(feature = "rayon")]
        { $first.par_chunks_mut(CHUNK)$(.zip($rest.par_chunks_mut(CHUNK)))*.zip($read.par_chunks(CHUNK)).for_each($f) }
        #[cfg(not(feature = "rayon"))]
        { $first.chunks_mut(CHUNK)$(.zip($rest.chunks_mut(CHUNK)))*.zip($read.chunks(CHUNK)).for_each($f) }
    }};
}

/// One Adam update: `(w, m, v)` after it. `m` and `v` are `None` before the first update.
pub fn adam(c: AdamStep, w: FlexTensor, g: FlexTensor, m: Option<FlexTensor>, v: Option<FlexTensor>) -> (FlexTensor, FlexTensor, FlexTensor) {
    let mut w = writable(w);
    let g = g.to_contiguous();
    let mut m = m.map(writable).unwrap_or_else(|| zeros_like(&w));
    let mut v = v.map(writable).unwrap_or_else(|| zeros_like(&w));
    let gs: &[f32] = g.as_slice().expect("contiguous f32");
    let ws: &mut [f32] = w.storage_mut();
    let ms: &mut [f32] = m.storage_mut();
    let vs: &mut [f32] = v.storage_mut();
    chunks!(
        |(((w, m), v), g): (((&mut [f32], &mut [f32]), &mut [f32]), &[f32])| {
            for i in 0..w.len() {
                let gi = g[i];
                let mi = m[i] * c.beta1 + gi * c.one_minus_beta1;
                let vi = v[i] * c.beta2 + (gi * gi) * c.one_minus_beta2;
                let denom = (vi / c.bias_correction2).sqrt() + c.eps;
                w[i] -= (mi / denom) * c.step_size;
                m[i] = mi;
                v[i] = vi;
            }
        };
        ws, ms, vs;
        gs
    );
    (w, m, v)
}

/// One SGD update with classical momentum (`v ← μ·v − lr·g; w ← w + v`; the first update, with
/// `velocity` `None`, sets v = −lr·g exactly): `(w, v)` after it.
pub fn sgd(momentum: f32, neg_lr: f32, w: FlexTensor, g: FlexTensor, velocity: Option<FlexTensor>) -> (FlexTensor, FlexTensor) {
    let mut w = writable(w);
    let g = g.to_contiguous();
    let first = velocity.is_none();
    let mut vel = velocity.map(writable).unwrap_or_else(|| zeros_like(&w));
    let gs: &[f32] = g.as_slice().expect("contiguous f32");
    let ws: &mut [f32] = w.storage_mut();
    let vs: &mut [f32] = vel.storage_mut();
    chunks!(
        |((w, v), g): ((&mut [f32], &mut [f32]), &[f32])| {
            for i in 0..w.len() {
                let step = g[i] * neg_lr;
                let vi = if first { step } else { v[i] * momentum + step };
                w[i] += vi;
                v[i] = vi;
            }
        };
        ws, vs;
        gs
    );
    (w, vel)
}
