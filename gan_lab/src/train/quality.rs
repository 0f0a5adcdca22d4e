//! Quality evaluation of the trainer's generator: at every checkpoint when the run directory and a
//! feature network exist, recorded in `quality.parquet`; the best checkpoint by FLD is copied to
//! `checkpoints/best/`. (quality.parquet is rewritten at each evaluation: one row per checkpoint,
//! a few hundred bytes each, next to the megabytes of weights every checkpoint writes.)

use std::time::Instant;

use super::TrainBackend;
use crate::config::Sampling;
use serde::{Deserialize, Serialize};

use super::{seed_mix, Recorder, Trainer};
use crate::error::{Error, Result};
use crate::data::STACKED_MNIST;
use crate::metrics::evaluate::{features, image_features, per_channel, real_indices, score, MIN_EVAL_SAMPLES, NN_TRAIN_ROWS, PRECISION_K};
use crate::metrics::manifold_ratios;
use crate::metrics::modes::{digit_triples, mode_coverage, MODE_SAMPLES};
use crate::metrics::features::{FeatureExtractor, FEATURE_DIM, FEATURE_LAYER};
use crate::run::{read_json, read_quality, write_atomic, write_json, write_quality, Protocol, QualityRow, RunDir};

/// `checkpoints/best/best.json`: which step the kept generator comes from, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    pub step: u64,
    pub fld: f64,
    pub protocol: Protocol,
}

/// Where a generator's samples lie against precision's real manifold ([`crate::train::Session::evaluate_with_look`]): for
/// each sample, whether it is inside (what precision counts) and its distance to the nearest real
/// ball as a multiple of that ball's radius; the samples themselves, to see which ones miss.
pub struct ManifoldLook {
    pub step: u64,
    /// (inside, ratio) per sample, in sample order.
    pub samples: Vec<(bool, f32)>,
    /// The samples, CHW in [-1, 1], one after another.
    pub pixels: Vec<f32>,
    pub shape: [usize; 3],
}

impl ManifoldLook {
    /// Share of the samples inside: precision (for images read as one feature row each).
    pub fn inside_share(&self) -> f64 {
        self.samples.iter().filter(|s| s.0).count() as f64 / self.samples.len().max(1) as f64
    }

    /// The `q`-quantile (0..=1) of the ratios.
    pub fn ratio_quantile(&self, q: f64) -> f32 {
        let mut r: Vec<f32> = self.samples.iter().map(|s| s.1).collect();
        r.sort_by(f32::total_cmp);
        r.get(((r.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize).copied().unwrap_or(f32::NAN)
    }

    /// A grid of the first `max` samples that are inside (`inside`) or outside, in sample order;
    /// `None` when there is none.
    pub fn grid(&self, inside: bool, max: usize) -> Result<Option<crate::report::ImageGrid>> {
        let size: usize = self.shape.iter().product();
        let picked: Vec<f32> = self.samples.iter().enumerate().filter(|(_, s)| s.0 == inside).take(max).flat_map(|(i, _)| self.pixels[i * size..(i + 1) * size].iter().copied()).collect();
        if picked.is_empty() {
            return Ok(None);
        }
        crate::report::ImageGrid::from_chw(&picked, picked.len() / size, self.shape, 3).map(Some)
    }
}

/// Real-side features, computed once per session and sample count.
pub(super) struct RealFeatures {
    n: usize,
    split: &'static str,
    real: Vec<f32>,
    train: Vec<f32>,
    heldout: Vec<f32>,
}

/// The evaluation state of a session: the feature network and real-side features (loaded once),
/// the rows recorded so far, and whether evaluation is off for this dataset.
#[derive(Default)]
pub(super) struct Evaluation {
    extractor: Option<FeatureExtractor>,
    real_features: Option<RealFeatures>,
    pub rows: Vec<QualityRow>,
    off: bool,
}

impl Evaluation {
    /// Loads the feature network and the real-side features for `n` samples (once per session
    /// and `n`); returns `n` capped at the dataset's size.
    fn prepare<B: TrainBackend>(&mut self, trainer: &Trainer<B>, n: usize) -> Result<usize> {
        let cfg = trainer.config();
        let (data, split) = (trainer.dataset(), trainer.split());
        let n = n.min(data.len());
        if n < MIN_EVAL_SAMPLES {
            return Err(Error::Dataset { dataset: cfg.data.dataset.clone(), message: format!("evaluation needs ≥ {MIN_EVAL_SAMPLES} real images, has {n}") });
        }
        if self.extractor.is_none() {
            // Stacked MNIST's digits are read by the MNIST network, one channel at a time.
            let default = if cfg.data.dataset == STACKED_MNIST { "mnist10k" } else { &cfg.data.dataset };
            self.extractor = Some(FeatureExtractor::load(cfg.train.eval_features.as_deref().unwrap_or(default))?);
        }
        let fx = self.extractor.as_ref().expect("just loaded");
        if self.real_features.as_ref().is_none_or(|r| r.n != n) {
            let (idx, which) = real_indices(data, split, n);
            let (real, _) = image_features(fx, data, &idx)?;
            let train_idx: Vec<usize> = split.train.iter().copied().take(NN_TRAIN_ROWS).collect();
            let (train, _) = image_features(fx, data, &train_idx)?;
            let (heldout, _) = image_features(fx, data, &split.holdout)?;
            self.real_features = Some(RealFeatures { n: idx.len(), split: which, real, train, heldout });
        }
        Ok(n)
    }

    /// Scores `trainer`'s generator on `n` samples made as `sampling` says against `n` real
    /// images (see `metrics::evaluate::real_indices`) and returns the row (not recorded).
    pub fn evaluate<B: TrainBackend>(&mut self, trainer: &Trainer<B>, n: usize, sampling: Sampling) -> Result<QualityRow> {
        Ok(self.score_samples(trainer, n, sampling, false)?.0)
    }

    /// [`Self::evaluate`], and where the same samples lie against precision's real manifold
    /// (k = 3, the real images the row compares with): see [`ManifoldLook`].
    pub fn evaluate_with_look<B: TrainBackend>(&mut self, trainer: &Trainer<B>, n: usize, sampling: Sampling) -> Result<(QualityRow, ManifoldLook)> {
        let (row, look) = self.score_samples(trainer, n, sampling, true)?;
        Ok((row, look.expect("asked for")))
    }

    /// The row of [`Self::evaluate`] and, when `look`, the [`ManifoldLook`] of its samples.
    fn score_samples<B: TrainBackend>(&mut self, trainer: &Trainer<B>, n: usize, sampling: Sampling, look: bool) -> Result<(QualityRow, Option<ManifoldLook>)> {
        let started = Instant::now();
        let n = self.prepare(trainer, n)?;
        let cfg = trainer.config();
        let fx = self.extractor.as_ref().expect("prepared");
        let by_channel = per_channel(fx, cfg.data.channels);
        // Stacked MNIST's modes are counted over MODE_SAMPLES samples, the first n of which the
        // other metrics score (the evaluation noise is one stream, so they are generate(n)'s).
        let stacked = cfg.data.dataset == STACKED_MNIST && by_channel && fx.card.classes == 10;
        let made = if stacked { n.max(MODE_SAMPLES) } else { n };
        let mut pixels = trainer.generate(made, sampling)?;
        let (mut fake, mut pred) = features(fx, &pixels, made, cfg.image_shape())?;
        let modes = if stacked { Some(mode_coverage(&digit_triples(&pred))?) } else { None };
        let per_image = if by_channel { cfg.data.channels } else { 1 };
        fake.truncate(n * per_image * FEATURE_DIM);
        pred.truncate(n * per_image);
        let r = self.real_features.as_ref().expect("computed");
        let protocol = Protocol {
            extractor: fx.name(),
            layer: if by_channel { format!("{FEATURE_LAYER} per channel") } else { FEATURE_LAYER.into() },
            n_real: r.n,
            n_fake: n,
            real_split: r.split.into(),
            seed: seed_mix(cfg.seed, 4),
            sampling,
        };
        let heldout = if r.heldout.is_empty() { &r.real } else { &r.heldout };
        let row = score(trainer.step_count(), &r.real, &fake, &pred, fx.card.classes, &r.train, heldout, protocol, started);
        let row = match modes {
            Some(m) => QualityRow { modes: m.modes as f64, mode_kl: m.kl, ..row },
            None => row,
        };
        let look = look.then(|| {
            let rows = manifold_ratios(&r.real, &fake, FEATURE_DIM, PRECISION_K);
            // Read one channel at a time (Stacked MNIST), an image is inside when all its channels are.
            let samples = rows.chunks(per_image).map(|c| (c.iter().all(|r| r.0), c.iter().map(|r| r.1).fold(0.0, f32::max))).collect();
            pixels.truncate(n * cfg.image_shape().iter().product::<usize>());
            ManifoldLook { step: trainer.step_count(), samples, pixels, shape: cfg.image_shape() }
        });
        Ok((row, look))
    }

    /// Reloads the run's quality rows up to the resumed step.
    pub fn restore(&mut self, run: &RunDir, step: u64) -> Result<()> {
        if run.quality_path().is_file() {
            self.rows = read_quality(&run.quality_path())?.into_iter().filter(|q| q.step <= step).collect();
        }
        Ok(())
    }
}

impl<B: TrainBackend> Recorder<B> {
    /// After a checkpoint: evaluate, record the row in quality.parquet, keep the best generator.
    /// A dataset without a feature network turns evaluation off with one message.
    pub fn evaluate_checkpoint(&mut self, trainer: &Trainer<B>) -> Result<()> {
        let n = trainer.config().train.eval_samples;
        let step = trainer.step_count();
        let Some(run) = self.run.clone() else { return Ok(()) };
        let eval = &mut self.evaluation;
        if n == 0 || eval.off || eval.rows.last().is_some_and(|q| q.step == step) {
            return Ok(());
        }
        let row = match eval.evaluate(trainer, n, trainer.config().train.sampling) {
            Ok(row) => QualityRow { train_s: self.train_seconds, ..row },
            Err(e @ (Error::BadFile { .. } | Error::Unknown { .. } | Error::Dataset { .. })) => {
                super::progress::say(&format!("quality evaluation off for this run: {e}"));
                eval.off = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if self.verbose {
            let modes = if row.modes.is_finite() { format!(" | modes {:.0} KL {:.3}", row.modes, row.mode_kl) } else { String::new() };
            super::progress::say(&format!(
                "eval step {} | FLD {:.3} KID {:.4} | precision {:.2} recall {:.2} | density {:.2} coverage {:.2}{modes} | {:.1}s",
                row.step, row.fld, row.kid_mean, row.precision, row.recall, row.density, row.coverage, row.eval_s
            ));
        }
        eval.rows.push(row.clone());
        write_quality(&run.quality_path(), &eval.rows)?;
        let best = read_json::<BestRecord>(&run.best_path()).ok();
        let same_protocol = best.as_ref().is_none_or(|b| b.protocol.key() == row.protocol.key());
        if row.fld.is_finite() && (best.as_ref().is_none_or(|b| row.fld < b.fld) || !same_protocol) {
            let dir = run.path.join("checkpoints").join("best");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            for file in ["generator.mpk", super::checkpoint::GENERATOR_EMA] {
                let src = run.checkpoint_dir(step).join(file);
                if file == "generator.mpk" || src.is_file() {
                    let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
                    write_atomic(&dir.join(file), &bytes)?;
                }
            }
            write_json(&run.best_path(), &BestRecord { step, fld: row.fld, protocol: row.protocol })?;
        }
        Ok(())
    }
}
