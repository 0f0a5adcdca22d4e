//! Differentiable augmentation of every image the discriminator judges, real and generated alike
//! (DiffAugment, Zhao et al. 2020), each transform applied to each image with probability p, fixed
//! or adapted during training from how sure D is of the real images (ADA, Karras et al. 2020).
//!
//! The transforms are DiffAugment's (its official code), on images in [-1, 1], with u ~ U[0, 1)
//! drawn per image:
//! - `color`: brightness x + (u − ½); saturation m + (x − m)·2u with m the mean over channels of
//!   each pixel; contrast m + (x − m)(u + ½) with m the image's mean. Each of the three is one
//!   transform for p.
//! - `translation`: a shift by up to ⅛ of the size in each direction (whole pixels), the uncovered
//!   border set to 0.
//! - `cutout`: a square of half the size, its centre anywhere in the image, set to 0.
//!
//! Every transform is a tensor expression (adds, products, means, one gather), so gradients reach
//! G through it. The random parameters are drawn on the CPU from the RNG the caller passes.
//! [`AugmentState`] holds p and ADA's rule for moving it.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::config::{AugmentOp, AugmentProbability, ExperimentConfig};

/// Augments the batch `x` (N × C × H × W): each transform of `policy`, in order, applied to each
/// image with probability `p`.
pub fn augment<B: Backend>(x: Tensor<B, 4>, policy: &[AugmentOp], p: f64, rng: &mut ChaCha8Rng) -> Tensor<B, 4> {
    let [n, _, h, w] = x.dims();
    let chance = |rng: &mut ChaCha8Rng| rng.random::<f64>() < p;
    let mut x = x;
    for op in policy {
        match op {
            AugmentOp::Color => {
                // A transform that leaves every image of the batch as it is is skipped (exactly x).
                let mut draw = |identity: f32, f: fn(f32) -> f32| -> Option<Vec<f32>> {
                    let v: Vec<f32> = (0..n).map(|_| if chance(rng) { f(rng.random::<f32>()) } else { identity }).collect();
                    v.iter().any(|&a| a != identity).then_some(v)
                };
                let (shift, saturation, contrast) = (draw(0.0, |u| u - 0.5), draw(1.0, |u| 2.0 * u), draw(1.0, |u| u + 0.5));
                if let Some(v) = shift {
                    x = brighten_by(x, v);
                }
                if let Some(v) = saturation {
                    x = saturate_by(x, v);
                }
                if let Some(v) = contrast {
                    x = contrast_by(x, v);
                }
            }
            AugmentOp::Translation => {
                let (sy, sx) = ((h as f64 / 8.0 + 0.5) as i64, (w as f64 / 8.0 + 0.5) as i64);
                let shifts: Vec<(i64, i64)> = (0..n)
                    .map(|_| if chance(rng) { (rng.random_range(-sy..=sy), rng.random_range(-sx..=sx)) } else { (0, 0) })
                    .collect();
                if shifts.iter().any(|&s| s != (0, 0)) {
                    x = translate_by(x, shifts);
                }
            }
            AugmentOp::Cutout => {
                let (cy, cx) = ((h as f64 / 2.0 + 0.5) as usize, (w as f64 / 2.0 + 0.5) as usize);
                let centres: Vec<_> = (0..n).map(|_| if chance(rng) { Some((rng.random_range(0..h), rng.random_range(0..w))) } else { None }).collect();
                if centres.iter().any(Option::is_some) {
                    x = cut_out(x, centres, [cy, cx]);
                }
            }
        }
    }
    x
}

/// The augmentation probability and ADA's running sum of sign D(x_real) over the open interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentState {
    pub p: f64,
    pub sign_sum: f64,
    pub sign_count: u64,
}

impl AugmentState {
    /// The state before the first step: a fixed p, or 0 for an adaptive one (no augmentation).
    pub fn start(cfg: &ExperimentConfig) -> Self {
        let p = match cfg.discriminator.augment.as_ref().map(|a| a.p) {
            Some(AugmentProbability::Fixed(p)) => p,
            Some(AugmentProbability::Adaptive { .. }) | None => 0.0,
        };
        AugmentState { p, sign_sum: 0.0, sign_count: 0 }
    }

    /// ADA's rule after one step whose real batch had mean sign D(x) = `sign_mean`: every
    /// `interval` steps, p moves by batch · interval / images_to_full toward r = target.
    pub fn observe(&mut self, cfg: &ExperimentConfig, sign_mean: f64) {
        let Some(AugmentProbability::Adaptive { target, images_to_full, interval }) = cfg.discriminator.augment.as_ref().map(|a| a.p) else {
            return;
        };
        self.sign_sum += sign_mean;
        self.sign_count += 1;
        if self.sign_count >= interval {
            let r = self.sign_sum / self.sign_count as f64;
            let step = (cfg.train.batch_size as u64 * interval) as f64 / images_to_full as f64;
            self.p = (self.p + (r - target).signum() * step).clamp(0.0, 1.0);
            self.sign_sum = 0.0;
            self.sign_count = 0;
        }
    }
}

fn per_image<B: Backend>(v: Vec<f32>, device: &B::Device) -> Tensor<B, 4> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n, 1, 1, 1]), device)
}

/// x + shiftᵢ for image i.
pub(crate) fn brighten_by<B: Backend>(x: Tensor<B, 4>, shift: Vec<f32>) -> Tensor<B, 4> {
    let s = per_image(shift, &x.device());
    x + s
}

/// m + (x − m)·factorᵢ, m the mean over channels of each pixel.
pub(crate) fn saturate_by<B: Backend>(x: Tensor<B, 4>, factor: Vec<f32>) -> Tensor<B, 4> {
    let m = x.clone().mean_dim(1);
    let f = per_image(factor, &x.device());
    (x - m.clone()) * f + m
}

/// m + (x − m)·factorᵢ, m the mean of image i.
pub(crate) fn contrast_by<B: Backend>(x: Tensor<B, 4>, factor: Vec<f32>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let m = x.clone().reshape([n, c * h * w]).mean_dim(1).reshape([n, 1, 1, 1]);
    let f = per_image(factor, &x.device());
    (x - m.clone()) * f + m
}

/// Image i moved down by dyᵢ and right by dxᵢ pixels; what comes in from outside is 0.
pub(crate) fn translate_by<B: Backend>(x: Tensor<B, 4>, shifts: Vec<(i64, i64)>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let mut index = Vec::with_capacity(n * c * h * w);
    let mut keep = Vec::with_capacity(n * h * w);
    for &(dy, dx) in &shifts {
        let mut one = Vec::with_capacity(h * w);
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let (sy, sx) = (y - dy, x - dx);
                let inside = (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx);
                one.push(if inside { sy * w as i64 + sx } else { 0 });
                keep.push(if inside { 1.0f32 } else { 0.0 });
            }
        }
        for _ in 0..c {
            index.extend_from_slice(&one);
        }
    }
    let device = x.device();
    let index = Tensor::<B, 3, Int>::from_data(TensorData::new(index, [n, c, h * w]), &device);
    let keep = Tensor::<B, 4>::from_data(TensorData::new(keep, [n, 1, h, w]), &device);
    x.reshape([n, c, h * w]).gather(2, index).reshape([n, c, h, w]) * keep
}

/// Image i with a `size` rectangle centred on centreᵢ (clipped to the image) set to 0.
pub(crate) fn cut_out<B: Backend>(x: Tensor<B, 4>, centres: Vec<Option<(usize, usize)>>, size: [usize; 2]) -> Tensor<B, 4> {
    let [n, _, h, w] = x.dims();
    let mut keep = vec![1.0f32; n * h * w];
    for (i, centre) in centres.iter().enumerate() {
        let Some((cy, cx)) = *centre else { continue };
        let (y0, x0) = (cy.saturating_sub(size[0] / 2), cx.saturating_sub(size[1] / 2));
        let (y1, x1) = ((cy + size[0] - size[0] / 2).min(h), (cx + size[1] - size[1] / 2).min(w));
        for y in y0..y1 {
            for x in x0..x1 {
                keep[i * h * w + y * w + x] = 0.0;
            }
        }
    }
    let keep = Tensor::<B, 4>::from_data(TensorData::new(keep, [n, 1, h, w]), &x.device());
    x * keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use rand::SeedableRng;

    type F = Flex;

    fn t(v: &[f32], shape: [usize; 4]) -> Tensor<F, 4> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), &Default::default())
    }

    fn values(x: Tensor<F, 4>) -> Vec<f32> {
        x.into_data().to_vec::<f32>().unwrap()
    }

    fn close(a: &[f32], b: &[f32]) {
        assert!(a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6), "{a:?} vs {b:?}");
    }

    /// Two 2-channel 2×2 images.
    const X: [f32; 16] = [0.5, -1.0, 0.25, 1.0, 0.0, -0.5, 0.75, 0.5, -0.25, 0.25, 1.0, -1.0, 0.5, 0.5, 0.0, -0.5];

    #[test]
    fn colour_transforms_match_hand_computed_values() {
        close(&values(brighten_by(t(&X, [2, 2, 2, 2]), vec![0.25, -0.5])), &X.iter().enumerate().map(|(i, v)| v + if i < 8 { 0.25 } else { -0.5 }).collect::<Vec<_>>());
        // saturation 0 makes every channel its pixel's mean; image 1 (factor 1) is unchanged
        let s = values(saturate_by(t(&X, [2, 2, 2, 2]), vec![0.0, 1.0]));
        close(&s[..8], &[0.25, -0.75, 0.5, 0.75, 0.25, -0.75, 0.5, 0.75]);
        close(&s[8..], &X[8..]);
        // saturation 2 doubles each channel's distance from the pixel mean
        close(&values(saturate_by(t(&X, [2, 2, 2, 2]), vec![2.0, 2.0]))[..4], &[0.75, -1.25, 0.0, 1.25]);
        // contrast ½ halves the distance from the image mean (image 0's mean is 0.1875)
        let m = 0.1875f32;
        let c = values(contrast_by(t(&X, [2, 2, 2, 2]), vec![0.5, 1.0]));
        close(&c[..8], &X[..8].iter().map(|v| m + (v - m) * 0.5).collect::<Vec<_>>());
        close(&c[8..], &X[8..]);
    }

    #[test]
    fn translation_and_cutout_match_hand_computed_values() {
        let img: Vec<f32> = (1..=9).map(|v| v as f32).collect(); // one 1×3×3 image
        // down 1, left 1: row 0 comes in empty, the right column too
        close(&values(translate_by(t(&img, [1, 1, 3, 3]), vec![(1, -1)])), &[0.0, 0.0, 0.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0]);
        close(&values(translate_by(t(&img, [1, 1, 3, 3]), vec![(0, 0)])), &img);
        // a 2×2 cutout centred on (1, 1) covers rows 0–1 and columns 0–1; one at a corner is clipped
        close(&values(cut_out(t(&img, [1, 1, 3, 3]), vec![Some((1, 1))], [2, 2])), &[0.0, 0.0, 3.0, 0.0, 0.0, 6.0, 7.0, 8.0, 9.0]);
        close(&values(cut_out(t(&img, [1, 1, 3, 3]), vec![Some((2, 2))], [2, 2])), &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 7.0, 0.0, 0.0]);
        close(&values(cut_out(t(&img, [1, 1, 3, 3]), vec![None], [2, 2])), &img);
    }

    /// ∂/∂x of Σ wᵢ·aug(x)ᵢ by autodiff against central differences, for each transform.
    #[test]
    fn gradients_flow_through_every_transform() {
        type A = Autodiff<F>;
        let weights: Vec<f32> = (0..16).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3).collect();
        let ops: Vec<(&str, Box<dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>>)> = vec![
            ("brightness", Box::new(|x| brighten_by(x, vec![0.2, -0.3]))),
            ("saturation", Box::new(|x| saturate_by(x, vec![1.7, 0.4]))),
            ("contrast", Box::new(|x| contrast_by(x, vec![0.6, 1.3]))),
            ("translation", Box::new(|x| translate_by(x, vec![(1, 0), (-1, 1)]))),
            ("cutout", Box::new(|x| cut_out(x, vec![Some((0, 0)), Some((1, 1))], [1, 1]))),
        ];
        let objective = |f: &dyn Fn(Tensor<A, 4>) -> Tensor<A, 4>, x: &[f32]| {
            let x = Tensor::<A, 4>::from_data(TensorData::new(x.to_vec(), [2, 2, 2, 2]), &Default::default()).require_grad();
            let w = Tensor::<A, 4>::from_data(TensorData::new(weights.clone(), [2, 2, 2, 2]), &Default::default());
            (x.clone(), (f(x) * w).sum())
        };
        for (name, f) in &ops {
            let (x, y) = objective(f.as_ref(), &X);
            let grads = y.backward();
            let g = x.grad(&grads).expect("x is tracked").into_data().to_vec::<f32>().unwrap();
            for i in 0..16 {
                let (mut up, mut down) = (X, X);
                up[i] += 1e-2;
                down[i] -= 1e-2;
                let fd = (objective(f.as_ref(), &up).1.into_scalar() - objective(f.as_ref(), &down).1.into_scalar()) / 2e-2;
                assert!((g[i] - fd).abs() < 1e-3, "{name}: ∂/∂x[{i}] autodiff {} vs finite difference {fd}", g[i]);
            }
            assert!(g.iter().any(|v| v.abs() > 1e-3), "{name}: no gradient at all");
        }
    }

    /// ADA's rule: every `interval` steps p moves by batch · interval / images_to_full toward
    /// E[sign D(x_real)] = target, and stays in [0, 1]; a fixed p never moves.
    #[test]
    fn the_adaptive_p_rises_while_d_is_sure_of_the_real_images_and_falls_otherwise() {
        let mut cfg = crate::config::preset("dcgan28").unwrap();
        cfg.discriminator.augment = Some(crate::config::AugmentConfig {
            policy: vec![crate::config::AugmentOp::Cutout],
            p: AugmentProbability::Adaptive { target: 0.6, images_to_full: 640, interval: 2 },
        });
        let mut a = AugmentState::start(&cfg);
        let mut trace = Vec::new();
        for sign in [1.0, 0.8, 1.0, 1.0, 1.0, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.2, -0.4, 0.0, 0.1] {
            a.observe(&cfg, sign);
            trace.push((a.p * 1e6).round() / 1e6);
        }
        // 64 · 2 / 640 = 0.2 per interval: up to 1 (and no further), then down
        assert_eq!(trace, [0.0, 0.2, 0.2, 0.4, 0.4, 0.6, 0.6, 0.8, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8, 0.6]);
        cfg.discriminator.augment.as_mut().unwrap().p = AugmentProbability::Fixed(0.7);
        let mut fixed = AugmentState::start(&cfg);
        fixed.observe(&cfg, 1.0);
        fixed.observe(&cfg, 1.0);
        assert_eq!(fixed.p, 0.7);
    }

    #[test]
    fn the_same_rng_gives_the_same_augmentation_and_p_zero_changes_nothing() {
        let x: Vec<f32> = (0..4 * 3 * 8 * 8).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let all = [AugmentOp::Color, AugmentOp::Translation, AugmentOp::Cutout];
        let run = |p: f64, seed: u64| values(augment(t(&x, [4, 3, 8, 8]), &all, p, &mut ChaCha8Rng::seed_from_u64(seed)));
        assert!(run(1.0, 5) == run(1.0, 5), "the same seed augmented differently");
        assert!(run(1.0, 5) != run(1.0, 6), "two seeds augmented alike");
        assert!(run(0.0, 5) == x, "p = 0 changed the images");
        // with p = 1 every image has a cutout: 4×4 pixels, at least 2×2 when clipped at a corner
        let a = run(1.0, 5);
        for i in 0..4 {
            let img = &a[i * 192..(i + 1) * 192];
            assert!(img.iter().filter(|v| **v == 0.0).count() >= 2 * 2 * 3, "image {i}");
        }
    }
}
