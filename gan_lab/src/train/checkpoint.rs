//! Full checkpoints and resume.
//!
//! `checkpoints/step-NNNNNNN/` holds `generator.mpk`, `discriminator.mpk`, `g_optim.mpk`,
//! `d_optim.mpk` (burn records, full precision), `generator_ema.mpk` (when `train.g_ema` is set),
//! `metrics.parquet` (the history up to this step) and `state.json` (step, update counts, data
//! cursor, noise RNG, fixed noise, the open logging interval, training seconds, the configuration
//! and its hash). It is written into a temporary
//! folder, every file synced, and renamed into place, so a checkpoint folder is always complete.
//! Together with the per-step seeding of the backend RNG this makes resumed training on the CPU
//! bit-identical to uninterrupted training.

use std::path::{Path, PathBuf};

use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder as RecordFormat};
use super::TrainBackend;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::recorder::Interval;
use super::{Recorder, Trainer, TrainerRecords, TrainerState};
use crate::config::ExperimentConfig;
use crate::data::DataCursor;
use crate::error::{Error, Result};
use crate::run::{metrics_parquet, read_json, read_metrics, write_atomic, write_json, RunDir};

/// Version of the checkpoint layout.
pub const CHECKPOINT_FORMAT: u32 = 1;

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
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
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
        let rec = recorder();
        let save = |what: &str, result: std::result::Result<(), burn::record::RecorderError>| {
            result.map_err(|e| recorder_error(&tmp, &format!("saving the {what} failed"), e))
        };
        let records = trainer.records();
        save("generator", RecordFormat::<B>::record(&rec, records.generator, tmp.join("generator")))?;
        save("discriminator", RecordFormat::<B>::record(&rec, records.discriminator, tmp.join("discriminator")))?;
        save("generator optimiser", RecordFormat::<B>::record(&rec, records.g_optim, tmp.join("g_optim")))?;
        save("discriminator optimiser", RecordFormat::<B>::record(&rec, records.d_optim, tmp.join("d_optim")))?;
        let mut files = vec!["generator.mpk", "discriminator.mpk", "g_optim.mpk", "d_optim.mpk"];
        if let Some(avg) = records.g_ema {
            save("generator average", RecordFormat::<B::InnerBackend>::record(&rec, avg, tmp.join("generator_ema")))?;
            files.push(GENERATOR_EMA);
        }
        // the history, encoded once: the checkpoint's copy and the run's compacted log
        let metrics = metrics_parquet(&self.history)?;
        write_atomic(&tmp.join("metrics.parquet"), &metrics)?;
        let sums = match &self.stats_acc {
            Some(acc) => Some(acc.clone().into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading statistics: {e:?}")))?),
            None => None,
        };
        if let Some(bad) = sums.as_ref().filter(|s| s.iter().any(|v| !v.is_finite())) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(Error::Diverged { step, what: format!("non-finite loss sums {bad:?} since the last log; the last good checkpoint is kept") });
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
            config_hash: cfg.hash(),
            config: cfg.clone(),
        };
        for f in files {
            sync_file(&tmp.join(f))?;
        }
        write_json(&tmp.join("state.json"), &state)?;
        std::fs::rename(&tmp, &final_dir).map_err(|e| Error::io(&final_dir, e))?;
        self.last_checkpoint = Some((step, final_dir.clone()));
        run.compact_metrics(&metrics)?;
        run.prune_checkpoints(cfg.train.keep_checkpoints)?;
        Ok(Some(final_dir))
    }

    /// Restores `trainer` and the recorder from a checkpoint folder written by this
    /// configuration. Refuses a checkpoint of another configuration, naming the changed fields.
    pub fn load_checkpoint(&mut self, trainer: &mut Trainer<B>, dir: &Path) -> Result<()> {
        let state: TrainState = read_json(&dir.join("state.json"))?;
        if state.format != CHECKPOINT_FORMAT {
            return Err(Error::bad_file(dir.join("state.json"), format!("checkpoint format {} is not supported (this build reads {CHECKPOINT_FORMAT})", state.format)));
        }
        // Compare the configurations themselves: the stored hash also changes when a later version
        // adds a field with a default, which is not a change of configuration.
        if &state.config != trainer.config() {
            let a = serde_json::to_value(&state.config).expect("config serialises");
            let b = serde_json::to_value(trainer.config()).expect("config serialises");
            return Err(Error::bad_file(
                dir,
                format!("this checkpoint belongs to another configuration; changed fields: {}", changed_fields(&a, &b).join(", ")),
            ));
        }
        let rec = recorder();
        let device = trainer.device().clone();
        let path = |f: &str| dir.join(f);
        let records = TrainerRecords {
            generator: RecordFormat::<B>::load(&rec, path("generator.mpk"), &device)
                .map_err(|e| recorder_error(&path("generator.mpk"), "not a readable generator checkpoint", e))?,
            discriminator: RecordFormat::<B>::load(&rec, path("discriminator.mpk"), &device)
                .map_err(|e| recorder_error(&path("discriminator.mpk"), "not a readable discriminator checkpoint", e))?,
            g_optim: RecordFormat::<B>::load(&rec, path("g_optim.mpk"), &device)
                .map_err(|e| recorder_error(&path("g_optim.mpk"), "not a readable optimiser state", e))?,
            d_optim: RecordFormat::<B>::load(&rec, path("d_optim.mpk"), &device)
                .map_err(|e| recorder_error(&path("d_optim.mpk"), "not a readable optimiser state", e))?,
            g_ema: match trainer.config().train.g_ema {
                Some(_) => Some(
                    RecordFormat::<B::InnerBackend>::load(&rec, path(GENERATOR_EMA), &device)
                        .map_err(|e| recorder_error(&path(GENERATOR_EMA), "not a readable generator average", e))?,
                ),
                None => None,
            },
        };
        self.history = read_metrics(&path("metrics.parquet"))?;
        let trainer_state = TrainerState {
            step: state.step,
            g_updates: state.g_updates,
            d_updates: state.d_updates,
            cursor: state.cursor,
            noise_rng: state.noise_rng,
            fixed_noise: state.fixed_noise_bits.iter().map(|&b| f32::from_bits(b)).collect(),
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

/// Opens a run directory for more training: its config, its latest complete checkpoint (if any).
pub fn resume_point(run: &RunDir) -> Result<(ExperimentConfig, Option<PathBuf>)> {
    let cfg = run.config()?;
    Ok((cfg, run.latest_checkpoint()?.map(|(_, p)| p)))
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
