//! What a session writes and remembers about its training, read from the [`Trainer`] and never
//! changing it: the metrics log (each row appended to the run's journal, compacted into
//! metrics.parquet at checkpoints), alarms and progress lines, sample grids, checkpoints
//! (checkpoint.rs), quality evaluations and the best generator (quality.rs), and the summary.
//! Without a run directory it keeps the rows in memory and writes nothing.

use std::path::PathBuf;

use super::TrainBackend;
use burn::tensor::Tensor;

use super::health::{alarms, mean_pairwise_distance, relative_change};
use super::quality::Evaluation;
use super::{StepStats, Trainer};
use crate::error::{Error, Result};
use crate::model::flat_parameters;
use crate::report::{display_scale, ImageGrid};
use crate::run::{advice, append_metrics_journal, unix_now, write_json, MetricsRow, PlatformRecord, RunDir, RunLock, Summary};

/// Sums over the current logging interval.
#[derive(Debug, Clone, Default)]
pub(super) struct Interval {
    pub steps: u64,
    pub seconds: f64,
}

/// The recording side of a session (see the module documentation).
pub struct Recorder<B: TrainBackend> {
    pub(super) run: Option<RunDir>,
    pub(super) _lock: Option<RunLock>,
    pub(super) platform: PlatformRecord,
    pub(super) history: Vec<MetricsRow>,
    pub(super) interval: Interval,
    /// Sums of the open interval's step statistics, on the device.
    pub(super) stats_acc: Option<Tensor<B::InnerBackend, 1>>,
    pub(super) train_seconds: f64,
    pub(super) last_sample: Option<PathBuf>,
    pub(super) last_checkpoint: Option<(u64, PathBuf)>,
    /// Generator weights before the update that closes the current logging interval.
    g_before_last: Option<Vec<f32>>,
    /// Mean pairwise distance of `sample_count` fixed real training images.
    real_diversity: f64,
    pub(super) evaluation: Evaluation,
    /// Alarms whose advice this session has printed.
    advised: Vec<String>,
    /// Print a progress line at every logged step.
    pub verbose: bool,
}

impl<B: TrainBackend> Recorder<B> {
    /// A recorder for `trainer`'s run, into `run` (whose lock the caller holds) when given.
    pub fn new(trainer: &Trainer<B>, platform: PlatformRecord, run: Option<RunDir>, lock: Option<RunLock>) -> Self {
        let cfg = trainer.config();
        let reference: Vec<usize> = trainer.split().train.iter().copied().take(cfg.train.sample_count).collect();
        let real_diversity = mean_pairwise_distance(&trainer.dataset().batch_chw(&reference), reference.len());
        Recorder {
            run,
            _lock: lock,
            platform,
            history: Vec::new(),
            interval: Interval::default(),
            stats_acc: None,
            train_seconds: 0.0,
            last_sample: None,
            last_checkpoint: None,
            g_before_last: None,
            real_diversity,
            evaluation: Evaluation::default(),
            advised: Vec::new(),
            verbose: true,
        }
    }

    /// Starts recording into a new run directory: takes its lock and writes platform.json.
    pub fn attach(&mut self, run: RunDir) -> Result<()> {
        if let Some(current) = &self.run {
            return Err(Error::Other(format!("this session already records into {}", current.path.display())));
        }
        let lock = run.lock()?;
        write_json(&run.platform_path(), &self.platform)?;
        self._lock = Some(lock);
        self.run = Some(run);
        Ok(())
    }

    /// True once another process took this run's lock over (it judged us stale): this session
    /// must stop writing into the run.
    pub fn lock_lost(&self) -> bool {
        self._lock.as_ref().is_some_and(|l| l.lost())
    }

    /// Before a step: keeps G's weights when the step closes a logging interval (for the
    /// relative size of its update).
    pub fn before_step(&mut self, trainer: &Trainer<B>) {
        if (trainer.step_count() + 1) % trainer.config().train.log_every == 0 {
            self.g_before_last = Some(flat_parameters(trainer.generator()));
        }
    }

    /// After a step of `seconds`: its statistics summed on the device into the open interval.
    pub fn add_step(&mut self, StepStats(stats): StepStats<B::InnerBackend>, seconds: f64) {
        self.stats_acc = Some(match self.stats_acc.take() {
            Some(acc) => acc + stats,
            None => stats,
        });
        self.train_seconds += seconds;
        self.interval.steps += 1;
        self.interval.seconds += seconds;
    }

    /// Closes the open logging interval into a metrics row (appended to the run's journal).
    pub fn log_row(&mut self, trainer: &Trainer<B>) -> Result<MetricsRow> {
        let cfg = trainer.config();
        let sums: Vec<f32> = match self.stats_acc.take() {
            Some(acc) => acc.into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading statistics: {e:?}")))?,
            None => vec![f32::NAN; 4],
        };
        let k = self.interval.steps.max(1) as f64;
        let secs = self.interval.seconds.max(1e-12);
        let g_update = match self.g_before_last.take() {
            Some(before) => relative_change(&before, &flat_parameters(trainer.generator())),
            None => f64::NAN,
        };
        let samples = trainer.fixed_samples()?;
        let (lr_g, lr_d) = trainer.learning_rates();
        let diversity = mean_pairwise_distance(&samples, cfg.train.sample_count) / self.real_diversity.max(1e-12);
        let mut row = MetricsRow {
            step: trainer.step_count(),
            epoch: trainer.epochs(),
            d_loss: sums[0] as f64 / k,
            g_loss: sums[1] as f64 / k,
            d_real: sums[2] as f64 / k,
            d_fake: sums[3] as f64 / k,
            lr_g,
            lr_d,
            steps_per_s: k / secs,
            images_per_s: k * cfg.train.batch_size as f64 / secs,
            train_s: self.train_seconds,
            wall_unix: unix_now(),
            g_update,
            diversity,
            augment_p: trainer.augment_p().unwrap_or(0.0),
            alarms: String::new(),
        };
        row.alarms = alarms(&cfg.health, &self.history, &row).join(",");
        self.interval = Interval::default();
        self.history.push(row.clone());
        if let Some(run) = &self.run {
            append_metrics_journal(&run.metrics_journal_path(), &row)?;
        }
        Ok(row)
    }

    /// The advice for the alarms of `row` this session has not advised on yet (each once).
    pub fn new_advice(&mut self, row: &MetricsRow, trainer: &Trainer<B>) -> Vec<String> {
        let mut out = Vec::new();
        for name in row.alarm_names() {
            if !self.advised.iter().any(|a| a == name) {
                self.advised.push(name.to_string());
                out.extend(advice(name, trainer.config()));
            }
        }
        out
    }

    /// Writes the fixed-noise sample grid of the current step (once per step).
    pub fn save_sample(&mut self, trainer: &Trainer<B>) -> Result<Option<PathBuf>> {
        let Some(run) = &self.run else { return Ok(None) };
        let path = run.sample_path(trainer.step_count());
        if self.last_sample.as_ref() != Some(&path) {
            sample_grid(trainer)?.save(&path)?;
            self.last_sample = Some(path.clone());
        }
        Ok(Some(path))
    }

    /// The run's numbers so far.
    pub fn summary(&self, trainer: &Trainer<B>) -> Summary {
        let last = self.history.last();
        let images = trainer.step_count() * trainer.config().train.batch_size as u64;
        let get = |f: fn(&MetricsRow) -> f64| last.map(f).unwrap_or(f64::NAN);
        Summary {
            steps: trainer.step_count(),
            epochs: trainer.epochs(),
            images_seen: images,
            train_seconds: self.train_seconds,
            images_per_s: if self.train_seconds > 0.0 { images as f64 / self.train_seconds } else { 0.0 },
            d_loss: get(|r| r.d_loss),
            g_loss: get(|r| r.g_loss),
            d_real: get(|r| r.d_real),
            d_fake: get(|r| r.d_fake),
            finite: self.history.iter().all(|r| r.d_loss.is_finite() && r.g_loss.is_finite()),
            last_sample: self.last_sample.as_ref().map(|p| p.display().to_string()),
            last_checkpoint: self.last_checkpoint.as_ref().map(|(_, p)| p.display().to_string()),
            cost_usd: self.platform.price_per_hour_usd.map(|p| p * self.train_seconds / 3600.0),
            finished_unix: unix_now(),
        }
    }

    /// Writes summary.json (when recording into a run directory).
    pub fn write_summary(&self, trainer: &Trainer<B>) -> Result<()> {
        match &self.run {
            Some(run) => write_json(&run.summary_path(), &self.summary(trainer)),
            None => Ok(()),
        }
    }
}

/// The fixed-noise sample grid of `trainer`'s current generator.
pub fn sample_grid<B: TrainBackend>(trainer: &Trainer<B>) -> Result<ImageGrid> {
    let shape = trainer.config().image_shape();
    ImageGrid::from_chw(&trainer.fixed_samples()?, trainer.config().train.sample_count, shape, display_scale(shape[1]))
}
