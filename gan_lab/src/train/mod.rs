//! Training a GAN into a run directory. [`Trainer`] (trainer.rs) is the GAN mathematics; a
//! [`Session`] drives it in bounded chunks (`train_steps`, `train_for`) so that a notebook or
//! another process can train chunk by chunk, and records what it does: metrics rows, alarms,
//! progress lines, sample grids, checkpoints (checkpoint.rs), quality evaluations (quality.rs) and
//! the summary. After every chunk its state is on disk in the run directory.

mod checkpoint;
mod ema;
mod fused;
mod health;
mod optim;
mod progress;
mod quality;
mod trainer;

pub use health::{alarms, mean_pairwise_distance, relative_change};
pub use ema::{ema_start, ema_update};
pub use checkpoint::{changed_fields, resume_point, TrainState, CHECKPOINT_FORMAT};
pub use optim::{LabOptim, LabOptimState, NetOptimizer};
pub use progress::{format_duration, progress_line};
pub use quality::BestRecord;
pub use trainer::{learning_rate, momentum_at, noise, seed_mix, StepStats, Trainer, TrainerRecords, TrainerState};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;

use crate::config::ExperimentConfig;
use crate::data::{ImageSet, Split};
use crate::error::{Error, Result};
use crate::model::{Discriminator, Generator};
use crate::report::{display_scale, ImageGrid};
use crate::run::{append_metrics_journal, metrics_parquet, unix_now, write_json, MetricsRow, PlatformRecord, RunDir, RunLock, Summary};

/// What one `train_steps` / `train_for` call did.
#[derive(Debug, Clone)]
pub struct ChunkReport {
    pub from_step: u64,
    pub to_step: u64,
    pub seconds: f64,
    pub images_per_s: f64,
    /// Metrics rows logged during the chunk.
    pub rows: Vec<MetricsRow>,
    /// The sample grid written at the end of the chunk.
    pub sample: Option<PathBuf>,
    pub checkpoint: Option<PathBuf>,
    /// The chunk ended early because the stop flag was raised.
    pub interrupted: bool,
}

/// Sums over the current logging interval.
#[derive(Debug, Clone, Default)]
struct Interval {
    steps: u64,
    seconds: f64,
}

/// A GAN being trained on backend `B`, recorded into a run directory when it has one.
pub struct Session<B: AutodiffBackend> {
    trainer: Trainer<B>,
    history: Vec<MetricsRow>,
    run: Option<RunDir>,
    _lock: Option<RunLock>,
    platform: PlatformRecord,
    interval: Interval,
    /// Sums of the open interval's step statistics, on the device.
    stats_acc: Option<Tensor<B::InnerBackend, 1>>,
    train_seconds: f64,
    last_sample: Option<PathBuf>,
    last_checkpoint: Option<(u64, PathBuf)>,
    /// Generator weights before the update that closes the current logging interval.
    g_before_last: Option<Vec<f32>>,
    /// Mean pairwise distance of `sample_count` fixed real training images.
    real_diversity: f64,
    extractor: Option<crate::metrics::features::FeatureExtractor>,
    real_features: Option<quality::RealFeatures>,
    quality: Vec<crate::run::QualityRow>,
    eval_off: bool,
    /// Print a progress line at every logged step.
    pub verbose: bool,
    /// When raised (by another thread), the current chunk ends after the step in progress and
    /// still writes its sample grid and checkpoint.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl<B: AutodiffBackend> Session<B> {
    /// Validates `cfg`, loads its data, builds the models and, when `run` is given, takes the
    /// run's lock and records the platform there.
    pub fn new(cfg: ExperimentConfig, device: B::Device, platform: PlatformRecord, run: Option<RunDir>) -> Result<Self> {
        let mut session = Self::build(cfg, device, platform, None, None)?;
        if let Some(run) = run {
            session.attach_run(run)?;
        }
        Ok(session)
    }

    /// Starts recording into a new run directory: takes its lock and writes platform.json. Lets a
    /// caller check the data and models (by building the session) before creating the directory.
    pub fn attach_run(&mut self, run: RunDir) -> Result<()> {
        if self.run.is_some() {
            return Err(Error::Other(format!("this session already records into {}", self.run_dir().map_or(String::new(), |r| r.path.display().to_string()))));
        }
        let lock = run.lock()?;
        write_json(&run.platform_path(), &self.platform)?;
        self._lock = Some(lock);
        self.run = Some(run);
        Ok(())
    }

    /// Reopens a run directory to train it further: its config.json, and its latest complete
    /// checkpoint when there is one (otherwise training starts again from step 0). Temporary files
    /// left by a killed process are removed.
    pub fn open(run: RunDir, device: B::Device, platform: PlatformRecord) -> Result<Self> {
        let lock = run.lock()?;
        run.clean_temporaries()?;
        let (cfg, checkpoint) = resume_point(&run)?;
        if !run.platform_path().exists() {
            write_json(&run.platform_path(), &platform)?;
        }
        let mut session = Self::build(cfg, device, platform, Some(run), Some(lock))?;
        if let Some(dir) = checkpoint {
            // A corrupted record can make burn's deserialisation panic: that is a bad file too.
            let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.load_checkpoint(&dir)));
            loaded.map_err(|_| Error::bad_file(&dir, "the checkpoint is corrupt (its records could not be decoded)"))??;
            session.restore_quality()?;
        }
        // The run's log continues from the checkpoint: rows logged after it are logged again.
        session.run.as_ref().expect("opened on a run").compact_metrics(&metrics_parquet(&session.history)?)?;
        Ok(session)
    }

    fn build(cfg: ExperimentConfig, device: B::Device, platform: PlatformRecord, run: Option<RunDir>, lock: Option<RunLock>) -> Result<Self> {
        let trainer = Trainer::new(cfg, device)?;
        let cfg = trainer.config();
        let reference: Vec<usize> = trainer.split().train.iter().copied().take(cfg.train.sample_count).collect();
        let real_diversity = mean_pairwise_distance(&trainer.dataset().batch_chw(&reference), reference.len());
        Ok(Session {
            trainer,
            extractor: None,
            real_features: None,
            quality: Vec::new(),
            eval_off: false,
            g_before_last: None,
            real_diversity,
            _lock: lock,
            history: Vec::new(),
            run,
            platform,
            interval: Interval::default(),
            stats_acc: None,
            train_seconds: 0.0,
            last_sample: None,
            last_checkpoint: None,
            verbose: true,
            stop: None,
        })
    }

    /// The GAN mathematics being recorded.
    pub fn trainer(&self) -> &Trainer<B> {
        &self.trainer
    }
    /// The configuration being trained.
    pub fn config(&self) -> &ExperimentConfig {
        self.trainer.config()
    }
    /// Generator updates done so far.
    pub fn step(&self) -> u64 {
        self.trainer.step_count()
    }
    /// Every metrics row logged so far.
    pub fn history(&self) -> &[MetricsRow] {
        &self.history
    }
    /// The run directory, when recording.
    pub fn run_dir(&self) -> Option<&RunDir> {
        self.run.as_ref()
    }
    /// The loaded dataset.
    pub fn dataset(&self) -> &ImageSet {
        self.trainer.dataset()
    }
    /// The fixed train / held-out split.
    pub fn split(&self) -> &Split {
        self.trainer.split()
    }
    /// The generator (training mode).
    pub fn generator(&self) -> &Generator<B> {
        self.trainer.generator()
    }
    /// The discriminator (training mode).
    pub fn discriminator(&self) -> &Discriminator<B> {
        self.trainer.discriminator()
    }

    /// Every float parameter of (generator, discriminator), for exact comparisons.
    pub fn parameters(&self) -> (Vec<f32>, Vec<f32>) {
        (crate::model::flat_parameters(self.generator()), crate::model::flat_parameters(self.discriminator()))
    }

    /// One trainer step, its statistics summed on the device for the open logging interval.
    fn train_step(&mut self) {
        if (self.step() + 1) % self.config().train.log_every == 0 {
            self.g_before_last = Some(crate::model::flat_parameters(self.generator()));
        }
        let StepStats(stats) = self.trainer.step();
        self.stats_acc = Some(match self.stats_acc.take() {
            Some(acc) => acc + stats,
            None => stats,
        });
    }

    /// Trains `n` steps (a bounded chunk), logging, sampling and checkpointing on the configured
    /// intervals, then writes a sample grid, a checkpoint and the summary.
    pub fn train_steps(&mut self, n: u64) -> Result<ChunkReport> {
        self.train_chunk(Some(n), None)
    }

    /// Trains until `budget` has passed (checked after every step; at least one step).
    pub fn train_for(&mut self, budget: Duration) -> Result<ChunkReport> {
        self.train_chunk(None, Some(budget))
    }

    fn train_chunk(&mut self, steps: Option<u64>, budget: Option<Duration>) -> Result<ChunkReport> {
        let from = self.step();
        let rows_before = self.history.len();
        let chunk_start = Instant::now();
        let mut chunk_train = 0.0;
        let mut interrupted = false;
        loop {
            let done = self.step() - from;
            if self.stop.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            if steps.is_some_and(|n| done >= n) || budget.is_some_and(|b| done > 0 && chunk_start.elapsed() >= b) {
                break;
            }
            let t = Instant::now();
            self.train_step();
            let dt = t.elapsed().as_secs_f64();
            chunk_train += dt;
            self.train_seconds += dt;
            self.interval.steps += 1;
            self.interval.seconds += dt;
            if self.step() % self.config().train.log_every == 0 {
                let row = self.log_row()?;
                if self.verbose {
                    let target = steps.map(|n| from + n);
                    let eta = match (steps, budget) {
                        (Some(n), _) => Some((from + n - self.step()) as f64 * chunk_train / (self.step() - from) as f64),
                        (None, Some(b)) => Some((b.as_secs_f64() - chunk_start.elapsed().as_secs_f64()).max(0.0)),
                        _ => None,
                    };
                    progress::say(&progress_line(&row, target, eta));
                }
                if row.alarms.contains("non_finite") {
                    self.write_summary()?;
                    let kept = match &self.last_checkpoint {
                        Some((step, _)) => format!("the last good checkpoint (step {step}) is kept"),
                        None => "no checkpoint was written before it".into(),
                    };
                    return Err(Error::Diverged {
                        step: self.step(),
                        what: format!("d_loss = {}, g_loss = {}, generator update = {}; {kept}", row.d_loss, row.g_loss, row.g_update),
                    });
                }
            }
            if self.step() % self.config().train.sample_every == 0 {
                self.save_sample()?;
            }
            if self.step() % self.config().train.checkpoint_every == 0 {
                self.save_checkpoint()?;
                self.evaluate_checkpoint()?;
            }
        }
        // The open logging interval carries over to the next chunk (and into checkpoints), so
        // chunked and resumed training log exactly the rows uninterrupted training logs.
        let sample = self.save_sample()?;
        let checkpoint = self.save_checkpoint()?;
        self.evaluate_checkpoint()?;
        self.write_summary()?;
        let done = self.step() - from;
        Ok(ChunkReport {
            from_step: from,
            to_step: self.step(),
            seconds: chunk_train,
            images_per_s: if chunk_train > 0.0 { (done * self.config().train.batch_size as u64) as f64 / chunk_train } else { 0.0 },
            rows: self.history[rows_before..].to_vec(),
            sample,
            checkpoint,
            interrupted,
        })
    }

    /// Closes the current logging interval into a metrics row (appended to the run's journal).
    fn log_row(&mut self) -> Result<MetricsRow> {
        let sums: Vec<f32> = match self.stats_acc.take() {
            Some(acc) => acc.into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading statistics: {e:?}")))?,
            None => vec![f32::NAN; 4],
        };
        let k = self.interval.steps.max(1) as f64;
        let secs = self.interval.seconds.max(1e-12);
        let g_update = match self.g_before_last.take() {
            Some(before) => relative_change(&before, &crate::model::flat_parameters(self.generator())),
            None => f64::NAN,
        };
        let samples = self.fixed_samples()?;
        let (lr_g, lr_d) = self.trainer.learning_rates();
        let diversity = mean_pairwise_distance(&samples, self.config().train.sample_count) / self.real_diversity.max(1e-12);
        let mut row = MetricsRow {
            step: self.step(),
            epoch: self.trainer.epochs(),
            d_loss: sums[0] as f64 / k,
            g_loss: sums[1] as f64 / k,
            d_real: sums[2] as f64 / k,
            d_fake: sums[3] as f64 / k,
            lr_g,
            lr_d,
            steps_per_s: k / secs,
            images_per_s: k * self.config().train.batch_size as f64 / secs,
            train_s: self.train_seconds,
            wall_unix: unix_now(),
            g_update,
            diversity,
            alarms: String::new(),
        };
        row.alarms = alarms(&self.config().health, &self.history, &row).join(",");
        self.interval = Interval::default();
        self.history.push(row.clone());
        if let Some(run) = &self.run {
            append_metrics_journal(&run.metrics_journal_path(), &row)?;
        }
        Ok(row)
    }

    /// The fixed-noise samples (generator in evaluation mode); CHW values in [-1, 1].
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        self.trainer.fixed_samples()
    }

    /// The fixed-noise sample grid.
    pub fn sample_grid(&self) -> Result<ImageGrid> {
        let shape = self.config().image_shape();
        ImageGrid::from_chw(&self.fixed_samples()?, self.config().train.sample_count, shape, display_scale(shape[1]))
    }

    fn save_sample(&mut self) -> Result<Option<PathBuf>> {
        let Some(run) = &self.run else { return Ok(None) };
        let path = run.sample_path(self.step());
        if self.last_sample.as_ref() != Some(&path) {
            self.sample_grid()?.save(&path)?;
            self.last_sample = Some(path.clone());
        }
        Ok(Some(path))
    }

    /// The run's numbers so far.
    pub fn summary(&self) -> Summary {
        let last = self.history.last();
        let images = self.step() * self.config().train.batch_size as u64;
        let get = |f: fn(&MetricsRow) -> f64| last.map(f).unwrap_or(f64::NAN);
        Summary {
            steps: self.step(),
            epochs: self.trainer.epochs(),
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

    fn write_summary(&self) -> Result<()> {
        match &self.run {
            Some(run) => write_json(&run.summary_path(), &self.summary()),
            None => Ok(()),
        }
    }
}
