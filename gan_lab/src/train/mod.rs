//! Training a GAN into a run directory. A [`Session`] is a [`Trainer`] (trainer.rs: the GAN
//! mathematics) and a [`Recorder`] (recorder.rs: what is written and kept about it), driven in
//! bounded chunks (`train_steps`, `train_for`) so that a notebook or another process can train
//! chunk by chunk. After every chunk its state is on disk in the run directory.

mod augment;
mod checkpoint;
mod ema;
mod fused;
mod health;
mod optim;
mod progress;
mod quality;
mod recorder;
mod schedule;
mod trainer;
mod verify;

pub use augment::{augment, AugmentState};
pub use checkpoint::{changed_fields, TrainState, CHECKPOINT_FORMAT, GENERATOR_EMA};
pub use verify::{file_digest, FileDigest};
pub use ema::{ema_start, ema_update};
pub use fused::{FusedUpdate, TrainBackend};
pub use health::{alarms, mean_pairwise_distance, relative_change};
pub use optim::{LabOptim, LabOptimState, NetOptimizer};
pub use crate::run::format_duration;
pub use progress::progress_line;
pub use quality::{BestRecord, ManifoldLook};
pub use recorder::{sample_grid, Recorder};
pub use schedule::{learning_rate, momentum_at};
pub use trainer::{noise, seed_mix, StepStats, Trainer, TrainerRecords, TrainerState};

use std::path::PathBuf;
use std::time::{Duration, Instant};


use crate::config::ExperimentConfig;
use crate::data::{ImageSet, Split};
use crate::error::{Error, Result};
use crate::model::{Discriminator, Generator};
use crate::report::ImageGrid;
use crate::run::{metrics_parquet, write_json, MetricsRow, PlatformRecord, RunDir, Summary};

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

/// A GAN being trained on backend `B`, recorded into a run directory when it has one.
pub struct Session<B: TrainBackend> {
    trainer: Trainer<B>,
    recorder: Recorder<B>,
    /// When raised (by another thread or a signal handler, see [`crate::signals`]), the current
    /// chunk ends after the step in progress and still writes its sample grid, checkpoint and
    /// summary (without the checkpoint's quality evaluation, to end within seconds).
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl<B: TrainBackend> Session<B> {
    /// Validates `cfg`, loads its data, builds the models and, when `run` is given, takes the
    /// run's lock and records the platform there.
    pub fn new(cfg: ExperimentConfig, device: B::Device, platform: PlatformRecord, run: Option<RunDir>) -> Result<Self> {
        let trainer = Trainer::new(cfg, device)?;
        let recorder = Recorder::new(&trainer, platform, None, None);
        let mut session = Session { trainer, recorder, stop: None };
        if let Some(run) = run {
            session.attach_run(run)?;
        }
        Ok(session)
    }

    /// Starts recording into a new run directory: takes its lock and writes platform.json. Lets a
    /// caller check the data and models (by building the session) before creating the directory.
    pub fn attach_run(&mut self, run: RunDir) -> Result<()> {
        self.recorder.attach(run)
    }

    /// Reopens a run directory to train it further: its config.json, and its newest checkpoint
    /// that verifies (verify.rs; a corrupt newer one is moved aside with a note), otherwise
    /// training starts again from step 0. Temporary files left by a killed process are removed.
    pub fn open(run: RunDir, device: B::Device, platform: PlatformRecord) -> Result<Self> {
        let lock = run.lock()?;
        run.clean_temporaries()?;
        let cfg = run.config()?;
        if !run.platform_path().exists() {
            write_json(&run.platform_path(), &platform)?;
        }
        let mut trainer = Trainer::new(cfg, device)?;
        let mut recorder = Recorder::new(&trainer, platform, Some(run.clone()), Some(lock));
        if let Some((dir, checked)) = checkpoint::newest_verified(&run, &trainer)? {
            recorder.restore_checkpoint(&mut trainer, &dir, checked)?;
        }
        // The run's log continues from the checkpoint: rows logged after it are logged again.
        run.compact_metrics(&metrics_parquet(&recorder.history)?)?;
        Ok(Session { trainer, recorder, stop: None })
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
        &self.recorder.history
    }
    /// Every quality row recorded so far.
    pub fn quality(&self) -> &[crate::run::QualityRow] {
        &self.recorder.evaluation.rows
    }
    /// The run directory, when recording.
    pub fn run_dir(&self) -> Option<&RunDir> {
        self.recorder.run.as_ref()
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
    /// Turns progress lines on or off.
    pub fn set_verbose(&mut self, verbose: bool) {
        self.recorder.verbose = verbose;
    }

    /// Every float parameter of (generator, discriminator), for exact comparisons.
    pub fn parameters(&self) -> (Vec<f32>, Vec<f32>) {
        (crate::model::flat_parameters(self.generator()), crate::model::flat_parameters(self.discriminator()))
    }

    /// The fixed-noise samples (see [`Trainer::fixed_samples`]); CHW values in [-1, 1].
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        self.trainer.fixed_samples()
    }

    /// The fixed-noise sample grid.
    pub fn sample_grid(&self) -> Result<ImageGrid> {
        sample_grid(&self.trainer)
    }

    /// `n` samples from the fixed evaluation noise (see [`Trainer::generate`]).
    pub fn generate(&self, n: usize, sampling: crate::config::Sampling) -> Result<Vec<f32>> {
        self.trainer.generate(n, sampling)
    }

    /// Scores the current generator on `n` samples made as `sampling` says against `n` real
    /// images; the row is returned, not recorded.
    pub fn evaluate(&mut self, n: usize, sampling: crate::config::Sampling) -> Result<crate::run::QualityRow> {
        self.recorder.evaluation.evaluate(&self.trainer, n, sampling)
    }

    /// [`Self::evaluate`], and where the same samples lie against precision's real manifold:
    /// which are inside, how far the others miss, and the samples themselves (see [`ManifoldLook`]).
    pub fn evaluate_with_look(&mut self, n: usize, sampling: crate::config::Sampling) -> Result<(crate::run::QualityRow, ManifoldLook)> {
        self.recorder.evaluation.evaluate_with_look(&self.trainer, n, sampling)
    }

    /// The run's numbers so far.
    pub fn summary(&self) -> Summary {
        self.recorder.summary(&self.trainer)
    }

    /// Trains `n` steps (a bounded chunk), logging, sampling and checkpointing on the configured
    /// intervals, then writes a sample grid, a checkpoint and the summary.
    pub fn train_steps(&mut self, n: u64) -> Result<ChunkReport> {
        self.train_chunk(ChunkEnd::Steps(n))
    }

    /// Trains until `budget` has passed (checked after every step; at least one step).
    pub fn train_for(&mut self, budget: Duration) -> Result<ChunkReport> {
        self.train_chunk(ChunkEnd::Wall(budget))
    }

    /// Trains until the run's training time — summed over its steps and across resumes, sampling,
    /// checkpoints and evaluation left out — reaches `train_seconds` (at least one step): what
    /// equal-time budgets and evaluation points are measured in.
    pub fn train_until(&mut self, train_seconds: f64) -> Result<ChunkReport> {
        self.train_chunk(ChunkEnd::TrainSeconds(train_seconds))
    }

    fn train_chunk(&mut self, end: ChunkEnd) -> Result<ChunkReport> {
        let (trainer, rec) = (&mut self.trainer, &mut self.recorder);
        let from = trainer.step_count();
        let rows_before = rec.history.len();
        let chunk_start = Instant::now();
        let mut chunk_train = 0.0;
        let mut interrupted = false;
        loop {
            let done = trainer.step_count() - from;
            if self.stop.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            let over = match end {
                ChunkEnd::Steps(n) => done >= n,
                ChunkEnd::Wall(b) => done > 0 && chunk_start.elapsed() >= b,
                ChunkEnd::TrainSeconds(t) => done > 0 && rec.train_seconds >= t,
            };
            if over {
                break;
            }
            if rec.lock_lost() {
                let run = rec.run.as_ref().map(|r| r.path.display().to_string()).unwrap_or_default();
                return Err(Error::Other(format!(
                    "stopped at step {}: another process took over the lock of {run} (this one's heartbeat was judged stale); nothing more is written here",
                    trainer.step_count()
                )));
            }
            let t = Instant::now();
            rec.before_step(trainer);
            let stats = trainer.step();
            let dt = t.elapsed().as_secs_f64();
            chunk_train += dt;
            rec.add_step(stats, dt);
            let step = trainer.step_count();
            let t = &trainer.config().train;
            let (log_every, sample_every, checkpoint_every) = (t.log_every, t.sample_every, t.checkpoint_every);
            if step % log_every == 0 {
                let row = rec.log_row(trainer)?;
                if rec.verbose {
                    let (last_step, eta) = match end {
                        ChunkEnd::Steps(n) => (Some(from + n), (from + n - step) as f64 * chunk_train / (step - from) as f64),
                        ChunkEnd::Wall(b) => (None, b.as_secs_f64() - chunk_start.elapsed().as_secs_f64()),
                        ChunkEnd::TrainSeconds(t) => (None, t - rec.train_seconds),
                    };
                    progress::say(&progress_line(&row, last_step, Some(eta.max(0.0))));
                    for text in rec.new_advice(&row, trainer) {
                        progress::say(&format!("note: {text}"));
                    }
                }
                if row.alarms.contains("non_finite") {
                    rec.write_summary(trainer)?;
                    let kept = match &rec.last_checkpoint {
                        Some((step, _)) => format!("the last good checkpoint (step {step}) is kept"),
                        None => "no checkpoint was written before it".into(),
                    };
                    return Err(Error::Diverged {
                        step,
                        what: format!("d_loss = {}, g_loss = {}, generator update = {}; {kept}", row.d_loss, row.g_loss, row.g_update),
                    });
                }
            }
            if step % sample_every == 0 {
                rec.save_sample(trainer)?;
            }
            if step % checkpoint_every == 0 {
                rec.save_checkpoint(trainer)?;
                rec.evaluate_checkpoint(trainer)?;
            }
        }
        // The open logging interval carries over to the next chunk (and into checkpoints), so
        // chunked and resumed training log exactly the rows uninterrupted training logs.
        let sample = rec.save_sample(trainer)?;
        let checkpoint = rec.save_checkpoint(trainer)?;
        // A stop request (SIGTERM before a time limit) must end within seconds: no evaluation.
        if !interrupted {
            rec.evaluate_checkpoint(trainer)?;
        }
        rec.write_summary(trainer)?;
        let done = trainer.step_count() - from;
        Ok(ChunkReport {
            from_step: from,
            to_step: trainer.step_count(),
            seconds: chunk_train,
            images_per_s: if chunk_train > 0.0 { (done * trainer.config().train.batch_size as u64) as f64 / chunk_train } else { 0.0 },
            rows: rec.history[rows_before..].to_vec(),
            sample,
            checkpoint,
            interrupted,
        })
    }
}

/// Where a chunk of training ends.
#[derive(Debug, Clone, Copy)]
enum ChunkEnd {
    /// After this many steps.
    Steps(u64),
    /// Once this much wall-clock time has passed.
    Wall(Duration),
    /// Once the run's cumulative training seconds reach this.
    TrainSeconds(f64),
}

/// A training time budget of `amount` units of `unit_seconds` each: a number > 0 whose duration a
/// `Duration` can hold (up to about 5·10¹¹ years). The error names `what` and the amount given.
pub fn time_budget(amount: f64, unit_seconds: f64, what: &str) -> Result<Duration> {
    if !(amount > 0.0) {
        return Err(Error::Other(format!("{what} must be a number > 0, got {amount:?}")));
    }
    Duration::try_from_secs_f64(amount * unit_seconds).map_err(|_| Error::Other(format!("{what} is too large for a time budget, got {amount:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_budget_is_positive_finite_and_representable() {
        assert_eq!(time_budget(1.5, 60.0, "--minutes").unwrap(), Duration::from_secs(90));
        for (bad, message) in [
            (0.0, "--minutes must be a number > 0, got 0.0"),
            (-5.0, "--minutes must be a number > 0, got -5.0"),
            (f64::NAN, "--minutes must be a number > 0, got NaN"),
            (1e300, "--minutes is too large for a time budget, got 1e300"),
            (f64::INFINITY, "--minutes is too large for a time budget, got inf"),
        ] {
            assert_eq!(time_budget(bad, 60.0, "--minutes").unwrap_err().to_string(), message);
        }
    }
}
