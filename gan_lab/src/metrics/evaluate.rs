//! Quality evaluation: real images and generated samples through the feature network, then every
//! metric, with its protocol. Also the sanity table (real vs real, noised and blurred real).

use std::time::Instant;

use super::features::{FeatureExtractor, FEATURE_DIM};
use super::{class_coverage, frechet_distance, kid, mean_nearest_distance, prdc};
use crate::data::{ImageSet, Split};
use crate::error::{Error, Result};
use crate::run::{Protocol, QualityRow};

/// KID: subsets × subset size (torch-fidelity uses 100 × 1000; 50 keeps 10k-vs-10k under a minute).
pub const KID_SUBSETS: usize = 50;
pub const KID_SUBSET_SIZE: usize = 1000;
/// Neighbours that set the radius of each point's ball for precision and recall (Kynkäänniemi et
/// al. 2019), and for density and coverage (Naeem et al. 2020).
pub const PRECISION_K: usize = 3;
pub const DENSITY_K: usize = 5;
/// Rows of the training split used for the nearest-neighbour (memorisation) check.
pub const NN_TRAIN_ROWS: usize = 5000;

/// Real images to compare against: the first `n` of the held-out split when it has that many,
/// else the first `n` of a fixed shuffle of every image.
pub fn real_indices(set: &ImageSet, split: &Split, n: usize) -> (Vec<usize>, &'static str) {
    if n <= split.holdout.len() {
        (split.holdout[..n].to_vec(), "holdout")
    } else {
        let all = Split::new(set.len(), 0.0).train;
        (all[..n.min(all.len())].to_vec(), "all")
    }
}

/// Whether `fx` scores images of `channels` channels one channel at a time: a grey network and
/// colour images, as Stacked MNIST's digits are read.
pub fn per_channel(fx: &FeatureExtractor, channels: usize) -> bool {
    fx.card.channels == 1 && channels > 1
}

/// Features and predicted classes of `n` images of `shape` (CHW floats): one row per image, or,
/// when [`per_channel`], one row per channel (an image's channels one after another), each
/// channel read as a grey image.
pub fn features(fx: &FeatureExtractor, pixels: &[f32], n: usize, shape: [usize; 3]) -> Result<(Vec<f32>, Vec<usize>)> {
    let [c, h, w] = shape;
    if per_channel(fx, c) {
        // A CHW image is its channels one after another: n images are n · c grey ones.
        fx.extract(pixels, n * c, [1, h, w])
    } else {
        fx.extract(pixels, n, shape)
    }
}

/// Features of images `idx` of `set` (see [`features`]).
pub fn image_features(fx: &FeatureExtractor, set: &ImageSet, idx: &[usize]) -> Result<(Vec<f32>, Vec<usize>)> {
    let mut feats = Vec::with_capacity(idx.len() * FEATURE_DIM);
    let mut preds = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(1000) {
        let (f, p) = features(fx, &set.batch_chw(chunk), chunk.len(), [set.channels, set.size, set.size])?;
        feats.extend(f);
        preds.extend(p);
    }
    Ok((feats, preds))
}

/// Every metric for `fake` (features and predicted classes) against `real`; `train` and
/// `heldout` features feed the memorisation check.
#[allow(clippy::too_many_arguments)]
pub fn score(step: u64, real: &[f32], fake: &[f32], fake_pred: &[usize], classes: usize, train: &[f32], heldout: &[f32], protocol: Protocol, started: Instant) -> QualityRow {
    let d = FEATURE_DIM;
    let k = kid(real, fake, d, KID_SUBSETS, KID_SUBSET_SIZE, protocol.seed);
    let p = prdc(real, fake, d, PRECISION_K, DENSITY_K);
    let (cov, kl) = class_coverage(fake_pred, classes);
    QualityRow {
        step,
        fld: frechet_distance(real, fake, d),
        kid_mean: k.mean,
        kid_std: k.std,
        precision: p.precision,
        recall: p.recall,
        density: p.density,
        coverage: p.coverage,
        class_coverage: cov,
        class_kl: kl,
        nn_fake_train: mean_nearest_distance(fake, train, d),
        nn_real_train: mean_nearest_distance(heldout, train, d),
        eval_s: started.elapsed().as_secs_f64(),
        // The caller knows the run's training time (the recorder); a lone evaluation does not.
        train_s: f64::NAN,
        // Stacked MNIST's evaluation adds its modes.
        modes: f64::NAN,
        mode_kl: f64::NAN,
        protocol,
    }
}

/// Smallest sample count the metrics accept (k = 5 neighbours need more than 2k points).
pub const MIN_EVAL_SAMPLES: usize = 11;

/// A corrupted copy of images: Gaussian pixel noise of std `sigma` (in [-1, 1] units) or a box
/// blur of `radius` pixels; CHW floats.
pub fn corrupt(set: &ImageSet, idx: &[usize], noise_sigma: f32, blur_radius: usize, seed: u64) -> Vec<f32> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};
    let mut x = set.batch_chw(idx);
    let s = set.size;
    if blur_radius > 0 {
        let r = blur_radius as isize;
        for plane in x.chunks_mut(s * s) {
            let src = plane.to_vec();
            for y in 0..s as isize {
                for xx in 0..s as isize {
                    let (mut sum, mut n) = (0.0, 0.0);
                    for dy in -r..=r {
                        for dx in -r..=r {
                            let (yy, xx2) = (y + dy, xx + dx);
                            if yy >= 0 && yy < s as isize && xx2 >= 0 && xx2 < s as isize {
                                sum += src[(yy * s as isize + xx2) as usize];
                                n += 1.0;
                            }
                        }
                    }
                    plane[(y * s as isize + xx) as usize] = sum / n;
                }
            }
        }
    }
    if noise_sigma > 0.0 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, noise_sigma).unwrap();
        x.iter_mut().for_each(|v| *v = (*v + normal.sample(&mut rng)).clamp(-1.0, 1.0));
    }
    x
}

/// One line of the sanity table.
#[derive(Debug, Clone)]
pub struct SanityRow {
    pub case: String,
    pub row: QualityRow,
}

/// Real vs real, then real vs noised real (σ 0.25, 0.5, 0.75) and blurred real (radius 1, 2, 3):
/// the metrics should be ≈ perfect first and get worse with each level.
pub fn sanity_table(fx: &FeatureExtractor, set: &ImageSet, n: usize) -> Result<Vec<SanityRow>> {
    let all = Split::new(set.len(), 0.0).train;
    if all.len() < 2 * n || n < MIN_EVAL_SAMPLES {
        return Err(Error::Dataset { dataset: set.name.clone(), message: format!("needs 2 × {n} images for the sanity table, has {}", all.len()) });
    }
    let (a, b) = (&all[..n], &all[n..2 * n]);
    let (real, _) = image_features(fx, set, a)?;
    let shape = [set.channels, set.size, set.size];
    let cases: Vec<(String, f32, usize)> = std::iter::once(("real vs real".to_string(), 0.0, 0))
        .chain([0.25f32, 0.5, 0.75].iter().map(|&s| (format!("noise σ={s}"), s, 0)))
        .chain([1usize, 2, 3].iter().map(|&r| (format!("blur r={r}"), 0.0, r)))
        .collect();
    let mut out = Vec::new();
    for (case, sigma, radius) in cases {
        let started = Instant::now();
        let pixels = corrupt(set, b, sigma, radius, 7);
        let (fake, pred) = fx.extract(&pixels, b.len(), shape)?;
        let protocol = Protocol {
            extractor: fx.name(),
            layer: fx.card.layer.clone(),
            n_real: n,
            n_fake: n,
            real_split: "all".into(),
            seed: 7,
            // No generator: real images, corrupted.
            sampling: Default::default(),
        };
        let row = score(0, &real, &fake, &pred, fx.card.classes, &real, &fake, protocol, started);
        out.push(SanityRow { case, row });
    }
    Ok(out)
}
