//! gan_lab patch: Bernoulli f32 tensors (dropout masks) from a counter-based generator, in
//! parallel.
//!
//! Upstream draws every element through `rand`'s distribution objects on one thread; dropout's
//! Bernoulli masks were 9 % of a `dcgan28` training step. Here one `u64` is drawn from the
//! backend's seeded RNG (so `Backend::seed` still fixes every mask), and element `i` is the
//! SplitMix64 output of `base + i·φ`: the same values whatever the number of threads. The masks
//! differ from those upstream's stream (and so burn-ndarray) would draw; weight initialisation
//! (uniform and normal draws) keeps upstream's stream, so both CPU backends start from the same
//! weights.

use alloc::vec;

use burn_backend::Distribution;
use burn_std::rand::RngExt;
use burn_std::{Bytes, Shape};

use crate::backend::FlexRng;
use crate::{FlexTensor, Layout};
use burn_backend::DType;

#[cfg(feature = "rayon")]
use rayon::prelude::*;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline(always)]
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A float in [0, 1) from the top 24 bits.
#[inline(always)]
fn unit(bits: u64) -> f32 {
    (bits >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// The tensor for a Bernoulli distribution; `None` for the others, which keep upstream's path.
pub(crate) fn random_f32(shape: &Shape, distribution: Distribution, rng: &mut FlexRng) -> Option<FlexTensor> {
    let Distribution::Bernoulli(p) = distribution else { return None };
    let p = p as f32;
    let base: u64 = rng.random();
    let mut out = vec![0f32; shape.num_elements()];
    const CHUNK: usize = 1 << 14;
    let fill = |(c, chunk): (usize, &mut [f32])| {
        let start = (c * CHUNK) as u64;
        for (j, v) in chunk.iter_mut().enumerate() {
            let state = base.wrapping_add((start + j as u64).wrapping_mul(GOLDEN));
            *v = if unit(splitmix64(state)) < p { 1.0 } else { 0.0 };
        }
    };
    #[cfg(feature = "rayon")]
    out.par_chunks_mut(CHUNK).enumerate().for_each(fill);
    #[cfg(not(feature = "rayon"))]
    out.chunks_mut(CHUNK).enumerate().for_each(fill);
    Some(FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape.clone()), DType::F32))
}
