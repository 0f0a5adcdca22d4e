//! Quality evaluation of a session's generator: at every checkpoint when the run directory and a
//! feature network exist, appended to `quality.parquet`; the best checkpoint by FLD is copied to
//! `checkpoints/best/`.

use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::{seed_mix, Session};
use crate::error::{Error, Result};
use crate::metrics::evaluate::{image_features, real_indices, score, MIN_EVAL_SAMPLES, NN_TRAIN_ROWS};
use crate::metrics::features::{FeatureExtractor, FEATURE_LAYER};
use crate::run::{read_json, read_quality, write_atomic, write_json, write_quality, Protocol, QualityRow};

/// `checkpoints/best/best.json`: which step the kept generator comes from, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    pub step: u64,
    pub fld: f64,
    pub protocol: Protocol,
}

/// Real-side features, computed once per session and sample count.
pub(super) struct RealFeatures {
    n: usize,
    split: &'static str,
    real: Vec<f32>,
    train: Vec<f32>,
    heldout: Vec<f32>,
}

impl<B: AutodiffBackend> Session<B> {
    fn extractor(&mut self) -> Result<&FeatureExtractor> {
        if self.extractor.is_none() {
            self.extractor = Some(FeatureExtractor::load(&self.config().data.dataset)?);
        }
        Ok(self.extractor.as_ref().expect("just loaded"))
    }

    /// `n` generated samples from the fixed evaluation noise (the same at every evaluation),
    /// generator in evaluation mode; CHW in [-1, 1].
    pub fn generate(&self, n: usize) -> Result<Vec<f32>> {
        self.trainer.generate(n)
    }

    /// Evaluates the current generator on `n` samples against `n` real images (see
    /// `metrics::evaluate::real_indices`) and returns the row (not recorded).
    pub fn evaluate(&mut self, n: usize) -> Result<QualityRow> {
        let started = Instant::now();
        let n = n.min(self.trainer.dataset().len());
        if n < MIN_EVAL_SAMPLES {
            return Err(Error::Dataset { dataset: self.config().data.dataset.clone(), message: format!("evaluation needs ≥ {MIN_EVAL_SAMPLES} real images, has {n}") });
        }
        self.extractor()?;
        if self.real_features.as_ref().is_none_or(|r| r.n != n) {
            let fx = self.extractor.as_ref().expect("loaded");
            let (data, split) = (self.trainer.dataset(), self.trainer.split());
            let (idx, which) = real_indices(data, split, n);
            let (real, _) = image_features(fx, data, &idx)?;
            let train_idx: Vec<usize> = split.train.iter().copied().take(NN_TRAIN_ROWS).collect();
            let (train, _) = image_features(fx, data, &train_idx)?;
            let (heldout, _) = image_features(fx, data, &split.holdout)?;
            self.real_features = Some(RealFeatures { n: idx.len(), split: which, real, train, heldout });
        }
        let fake_pixels = self.generate(n)?;
        let fx = self.extractor.as_ref().expect("loaded");
        let (fake, pred) = fx.extract(&fake_pixels, n, self.config().image_shape())?;
        let r = self.real_features.as_ref().expect("computed");
        let protocol = Protocol {
            extractor: fx.name(),
            layer: FEATURE_LAYER.into(),
            n_real: r.n,
            n_fake: n,
            real_split: r.split.into(),
            seed: seed_mix(self.config().seed, 4),
        };
        let heldout = if r.heldout.is_empty() { &r.real } else { &r.heldout };
        Ok(score(self.step(), &r.real, &fake, &pred, fx.card.classes, &r.train, heldout, protocol, started))
    }

    /// Every quality row recorded so far.
    pub fn quality(&self) -> &[QualityRow] {
        &self.quality
    }

    /// After a checkpoint: evaluate, record the row in quality.parquet, keep the best generator.
    /// A dataset without a feature network turns evaluation off with one message.
    pub(super) fn evaluate_checkpoint(&mut self) -> Result<()> {
        let n = self.config().train.eval_samples;
        let Some(run) = self.run.clone() else { return Ok(()) };
        if n == 0 || self.eval_off || self.quality.last().is_some_and(|q| q.step == self.step()) {
            return Ok(());
        }
        let row = match self.evaluate(n) {
            Ok(row) => row,
            Err(e @ (Error::BadFile { .. } | Error::Unknown { .. } | Error::Dataset { .. })) => {
                super::progress::say(&format!("quality evaluation off for this run: {e}"));
                self.eval_off = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if self.verbose {
            super::progress::say(&format!(
                "eval step {} | FLD {:.3} KID {:.4} | precision {:.2} recall {:.2} | density {:.2} coverage {:.2} | {:.1}s",
                row.step, row.fld, row.kid_mean, row.precision, row.recall, row.density, row.coverage, row.eval_s
            ));
        }
        self.quality.push(row.clone());
        write_quality(&run.quality_path(), &self.quality)?;
        let best = read_json::<BestRecord>(&run.best_path()).ok();
        let same_protocol = best.as_ref().is_none_or(|b| b.protocol.key() == row.protocol.key());
        if row.fld.is_finite() && (best.as_ref().is_none_or(|b| row.fld < b.fld) || !same_protocol) {
            let dir = run.path.join("checkpoints").join("best");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            for file in ["generator.mpk", super::checkpoint::GENERATOR_EMA] {
                let src = run.checkpoint_dir(self.step()).join(file);
                if file == "generator.mpk" || src.is_file() {
                    let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
                    write_atomic(&dir.join(file), &bytes)?;
                }
            }
            write_json(&run.best_path(), &BestRecord { step: self.step(), fld: row.fld, protocol: row.protocol })?;
        }
        Ok(())
    }

    /// Reloads quality rows up to the resumed step.
    pub(super) fn restore_quality(&mut self) -> Result<()> {
        if let Some(run) = &self.run {
            if run.quality_path().is_file() {
                self.quality = read_quality(&run.quality_path())?.into_iter().filter(|q| q.step <= self.step()).collect();
            }
        }
        Ok(())
    }
}
