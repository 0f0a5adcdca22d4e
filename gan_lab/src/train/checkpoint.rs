//! Full checkpoints and resume.
//!
//! `checkpoints/step-NNNNNNN/` holds `generator.mpk`, `discriminator.mpk`, `g_optim.mpk`,
//! `d_optim.mpk` (burn records, full precision), `generator_ema.mpk` (when `train.g_ema` is set),
//! `metrics.parquet` (the history up to this step) and `state.json` (step, update counts, data
//! cursor, noise RNG, fixed noise, the open logging interval, training seconds, the configuration
//! and its hash, and the size and sha256 of every other file). It is written into a temporary
//! folder, every file synced, renamed into place and the folder synced, so a checkpoint folder is
//! always complete; a failed write removes its temporary folder. Opening checks it first
//! (verify.rs) and falls back to the newest older checkpoint that verifies.
//! Together with the per-step seeding of the backend RNG this makes resumed training on the CPU
//! bit-identical to uninterrupted training.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder as RecordFormat};
use super::TrainBackend;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::recorder::Interval;
use super::verify::{checkpoint_files, seal, verify, FileDigest, Verified};
use super::{AugmentState, Recorder, Trainer, TrainerState};
use crate::config::ExperimentConfig;
use crate::data::DataCursor;
use crate::error::{Error, Result};
use crate::run::{metrics_parquet, sync_dir, write_atomic, write_json, RunDir};

/// Version of the checkpoint layout (2: `state.json` lists the digests of the other files).
pub const CHECKPOINT_FORMAT: u32 = 2;

/// The moving average of G's weights in a checkpoint folder (only when `train.g_ema` is set).
pub const GENERATOR_EMA: &str = "generator_ema.mpk";

/// The non-tensor part of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    pub format: u32,
    pub step: u64,
    pub g_updates: u64,
    pub d_updates: u64,
    pub cursor: DataCursor,
    pub noise_rng: ChaCha8Rng,
    /// The fixed sample noise, as f32 bit patterns (exact).
    pub fixed_noise_bits: Vec<u32>,
    pub interval_steps: u64,
    pub interval_seconds: f64,
    /// Sums of (d_loss, g_loss, d_real, d_fake) over the open interval, as f32 bit patterns.
    pub interval_sums_bits: Option<Vec<u32>>,
    pub train_seconds: f64,
    pub config_hash: String,
    pub config: ExperimentConfig,
    /// The augmentation state (p, ADA's running sum, its count) with f64 values as bit patterns
    /// (exact); only when `discriminator.augment` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment_bits: Option<[u64; 3]>,
    /// Size and sha256 of every other file of the checkpoint (empty in format 1).
    #[serde(default)]
    pub files: BTreeMap<String, FileDigest>,
}

/// The record format of every checkpoint file (named MessagePack, full precision).
pub(super) fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io(path, e))
}

fn recorder_error(path: &Path, what: &str, e: impl std::fmt::Debug) -> Error {
    Error::bad_file(path, format!("{what}: {e:?}"))
}

/// Dotted paths of the fields that differ between two JSON values (`train.batch_size`, …).
pub fn changed_fields(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    match (x.get(k), y.get(k)) {
                        (Some(u), Some(v)) => walk(u, v, &p, out),
                        _ => out.push(p),
                    }
                }
            }
            _ if a != b => out.push(if path.is_empty() { "(whole config)".into() } else { path.into() }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out);
    out
}

impl<B: TrainBackend> Recorder<B> {
    /// Writes a full checkpoint of `trainer` and the open logging interval for the current step
    /// (once per step).
    pub fn save_checkpoint(&mut self, trainer: &Trainer<B>) -> Result<Option<PathBuf>> {
        let Some(run) = self.run.clone() else { return Ok(None) };
        let step = trainer.step_count();
        if let Some((last, path)) = &self.last_checkpoint {
            if *last == step {
                return Ok(Some(path.clone()));
            }
        }
        let final_dir = run.checkpoint_dir(step);
        let tmp = run.path.join("checkpoints").join(format!(".tmp-step-{step:07}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        // A failed write (a full disk) leaves no partial copy behind.
        let metrics = match self.write_checkpoint(trainer, &tmp) {
            Ok(metrics) => metrics,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = std::fs::rename(&tmp, &final_dir) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(Error::io(&final_dir, e));
        }
        sync_dir(&run.path.join("checkpoints"));
        self.last_checkpoint = Some((step, final_dir.clone()));
        run.compact_metrics(&metrics)?;
        run.prune_checkpoints(trainer.config().train.keep_checkpoints)?;
        Ok(Some(final_dir))
    }

    /// Writes every file of the checkpoint of `trainer` into `tmp`, synced, `state.json` last;
    /// returns the encoded history.
    fn write_checkpoint(&self, trainer: &Trainer<B>, tmp: &Path) -> Result<Vec<u8>> {
        let step = trainer.step_count();
        let rec = recorder();
        let save = |what: &str, result: std::result::Result<(), burn::record::RecorderError>| {
            result.map_err(|e| recorder_error(tmp, &format!("saving the {what} failed"), e))
        };
        let records = trainer.records();
        save("generator", RecordFormat::<B>::record(&rec, records.generator, tmp.join("generator")))?;
        save("discriminator", RecordFormat::<B>::record(&rec, records.discriminator, tmp.join("discriminator")))?;
        save("generator optimiser", RecordFormat::<B>::record(&rec, records.g_optim, tmp.join("g_optim")))?;
        save("discriminator optimiser", RecordFormat::<B>::record(&rec, records.d_optim, tmp.join("d_optim")))?;
        if let Some(avg) = records.g_ema {
            save("generator average", RecordFormat::<B::InnerBackend>::record(&rec, avg, tmp.join("generator_ema")))?;
        }
        // the history, encoded once: the checkpoint's copy and the run's compacted log
        let metrics = metrics_parquet(&self.history)?;
        write_atomic(&tmp.join("metrics.parquet"), &metrics)?;
        let sums = match &self.stats_acc {
            Some(acc) => Some(acc.clone().into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading statistics: {e:?}")))?),
            None => None,
        };
        if let Some(bad) = sums.as_ref().filter(|s| s.iter().any(|v| !v.is_finite())) {
            return Err(Error::Diverged { step, what: format!("non-finite loss sums {bad:?} since the last log; the last good checkpoint is kept") });
        }
        let files = checkpoint_files(trainer.config().train.g_ema.is_some());
        for f in &files {
            sync_file(&tmp.join(f))?;
        }
        let t = trainer.state();
        let cfg = trainer.config();
        let state = TrainState {
            format: CHECKPOINT_FORMAT,
            step: t.step,
            g_updates: t.g_updates,
            d_updates: t.d_updates,
            cursor: t.cursor,
            noise_rng: t.noise_rng,
            fixed_noise_bits: t.fixed_noise.iter().map(|v| v.to_bits()).collect(),
            interval_steps: self.interval.steps,
            interval_seconds: self.interval.seconds,
            interval_sums_bits: sums.map(|s| s.iter().map(|v| v.to_bits()).collect()),
            train_seconds: self.train_seconds,
            augment_bits: cfg.discriminator.augment.as_ref().map(|_| [t.augment.p.to_bits(), t.augment.sign_sum.to_bits(), t.augment.sign_count]),
            config_hash: cfg.hash(),
            config: cfg.clone(),
            files: seal(tmp, &files)?,
        };
        write_json(&tmp.join("state.json"), &state)?;
        Ok(metrics)
    }

    /// Restores `trainer` and the recorder from a checkpoint that [`verify`] accepted.
    pub(super) fn restore_checkpoint(&mut self, trainer: &mut Trainer<B>, dir: &Path, checked: Verified<B>) -> Result<()> {
        let Verified { state, records, history } = checked;
        let device = trainer.device().clone();
        self.history = history;
        let trainer_state = TrainerState {
            step: state.step,
            g_updates: state.g_updates,
            d_updates: state.d_updates,
            cursor: state.cursor,
            noise_rng: state.noise_rng,
            fixed_noise: state.fixed_noise_bits.iter().map(|&b| f32::from_bits(b)).collect(),
            augment: match state.augment_bits {
                Some([p, sum, count]) => AugmentState { p: f64::from_bits(p), sign_sum: f64::from_bits(sum), sign_count: count },
                None => AugmentState::start(trainer.config()),
            },
        };
        trainer.restore(trainer_state, records);
        self.interval = Interval { steps: state.interval_steps, seconds: state.interval_seconds };
        self.stats_acc = state.interval_sums_bits.map(|bits| {
            let v: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
            burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, [4]), &device)
        });
        self.train_seconds = state.train_seconds;
        self.last_checkpoint = Some((state.step, dir.to_path_buf()));
        self.last_sample = self.run.as_ref().map(|r| r.sample_path(state.step)).filter(|p| p.is_file());
        if let Some(run) = &self.run {
            self.evaluation.restore(run, state.step)?;
        }
        Ok(())
    }
}

/// The newest complete checkpoint of `run` that verifies against `trainer`, checked newest first.
/// One that does not verify is moved aside to `checkpoints/rejected-step-NNNNNNN` (kept for
/// inspection; training may write that step again) with a note naming the reason; when none
/// verifies, the error lists them all and nothing is moved.
pub(super) fn newest_verified<B: TrainBackend>(run: &RunDir, trainer: &Trainer<B>) -> Result<Option<(PathBuf, Verified<B>)>> {
    let complete: Vec<_> = run.checkpoints()?.into_iter().filter(|c| c.complete).rev().collect();
    let mut rejected: Vec<(PathBuf, Error)> = Vec::new();
    for c in &complete {
        match verify(trainer, &c.path) {
            Ok(checked) => {
                for (dir, why) in &rejected {
                    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("step");
                    let aside = dir.with_file_name(format!("rejected-{name}"));
                    let _ = std::fs::remove_dir_all(&aside);
                    std::fs::rename(dir, &aside).map_err(|e| Error::io(dir, e))?;
                    eprintln!("note: checkpoint {name} does not verify ({why}); moved to {}; resuming from step {}", aside.display(), c.step);
                }
                if !rejected.is_empty() {
                    sync_dir(&run.path.join("checkpoints"));
                }
                return Ok(Some((c.path.clone(), checked)));
            }
            Err(e) => rejected.push((c.path.clone(), e)),
        }
    }
    match rejected.as_slice() {
        [] => Ok(None),
        all => Err(Error::bad_file(
            run.path.join("checkpoints"),
            format!(
                "no checkpoint verifies, so none is resumed; move the folder aside to train this run again from step 0: {}",
                all.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_are_named_by_their_dotted_path() {
        let a = serde_json::json!({"train": {"batch_size": 64, "steps": 10}, "seed": 1, "name": "x"});
        let b = serde_json::json!({"train": {"batch_size": 32, "steps": 10}, "seed": 2, "name": "x"});
        assert_eq!(changed_fields(&a, &b), vec!["seed", "train.batch_size"]);
        assert!(changed_fields(&a, &a).is_empty());
    }
}
