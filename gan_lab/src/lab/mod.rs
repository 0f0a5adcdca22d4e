//! The notebook side of the lab: start an experiment in a release engine process, train it in
//! bounded chunks, and look at the result (charts, sample grid, numbers) as one HTML block.
//!
//! Nothing here needs burn, so a notebook kernel that loads gan_lab without the `engine` feature
//! builds in minutes, and training runs at the release binary's speed.

mod chunk;
mod compare;
mod datasets;
mod engine;
pub mod protocol;
#[cfg(feature = "engine")]
pub mod serve;
mod sweep;

pub use chunk::{history_charts, ChunkView};
pub use compare::{platform_chart, platform_table, Table};
pub use datasets::{show_dataset, DatasetView};
pub use engine::{engine_binary, workspace_root, Engine};
pub use sweep::{run_sweep, sweep_status, sweep_table, SweepStatus};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::ExperimentConfig;
use crate::error::{Error, Result};
use crate::backend::BackendKind;
use crate::run::{parse_metrics_line, read_quality, MetricsRow, QualityRow, RunDir};
use protocol::{Command, Event};

/// True when `GAN_LAB_QUICK` is set to anything but `0` or empty: notebooks then shrink every run
/// to a smoke test of a minute or two (CI, checks), instead of the full run that gives samples
/// worth looking at.
pub fn quick_mode() -> bool {
    std::env::var("GAN_LAB_QUICK").is_ok_and(|v| !v.trim().is_empty() && v.trim() != "0")
}

/// `quick` in quick mode, `full` otherwise.
pub fn pick<T>(quick: T, full: T) -> T {
    if quick_mode() {
        quick
    } else {
        full
    }
}

/// "quick" or "full".
pub fn mode_name() -> &'static str {
    pick("quick", "full")
}

/// Where notebooks put their runs: `$GAN_LAB_RUNS_DIR`, else `runs/` at the workspace root.
pub fn runs_dir() -> PathBuf {
    std::env::var_os("GAN_LAB_RUNS_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("runs"))
}

/// How to start an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The backend (default flex).
    pub backend: BackendKind,
    /// Folder that receives the run directory (default [`runs_dir`]).
    pub runs_dir: PathBuf,
    /// CPU threads of the engine (default: every core).
    pub threads: Option<usize>,
    /// Machine price per hour in USD, recorded to cost the run (default `$GAN_LAB_PRICE_PER_HOUR`).
    pub price_per_hour: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Options { backend: BackendKind::Flex, runs_dir: runs_dir(), threads: None, price_per_hour: None }
    }
}

/// One configuration being trained by an engine process, recorded in its run directory.
pub struct Experiment {
    engine: Engine,
    run: RunDir,
    config: ExperimentConfig,
    backend: BackendKind,
    threads: usize,
    step: u64,
    /// Every metrics row so far: read from the run once, then extended by each chunk's event.
    history: Vec<MetricsRow>,
}

impl Experiment {
    /// Validates `cfg`, starts an engine on flex with every core and creates the run directory.
    pub fn start(cfg: &ExperimentConfig) -> Result<Self> {
        Self::start_with(cfg, Options::default())
    }

    /// [`Experiment::start`] with explicit options.
    pub fn start_with(cfg: &ExperimentConfig, opts: Options) -> Result<Self> {
        cfg.validate()?;
        let mut engine = Engine::start(opts.threads)?;
        let answer = engine.request(&Command::New {
            config: Box::new(cfg.clone()),
            runs_dir: opts.runs_dir,
            backend: opts.backend,
            price_per_hour: opts.price_per_hour,
        })?;
        Self::ready(engine, answer)
    }

    /// Reopens a run directory at its latest checkpoint, on the backend it was trained on
    /// (or `backend` when given).
    pub fn open(run: impl AsRef<Path>, backend: Option<BackendKind>) -> Result<Self> {
        let mut engine = Engine::start(None)?;
        let answer = engine.request(&Command::Open { run: run.as_ref().to_path_buf(), backend, price_per_hour: None })?;
        Self::ready(engine, answer)
    }

    fn ready(engine: Engine, answer: Event) -> Result<Self> {
        match answer {
            Event::Ready { run, step, backend, threads, .. } => {
                let run = RunDir::open(run)?;
                let config = run.config()?;
                println!("run {} on {backend} ({threads} threads), at step {step}", run.name());
                let history = run.metrics()?;
                Ok(Experiment { engine, run, config, backend, threads, step, history })
            }
            other => Err(unexpected("ready", &other)),
        }
    }

    /// Trains `n` more steps; prints a progress line every `train.log_every` steps.
    pub fn train_steps(&mut self, n: u64) -> Result<ChunkView> {
        self.train(Command::Train { steps: Some(n), seconds: None })
    }

    /// Trains for `budget` (at least one step).
    pub fn train_for(&mut self, budget: Duration) -> Result<ChunkView> {
        self.train(Command::Train { steps: None, seconds: Some(budget.as_secs_f64()) })
    }

    fn train(&mut self, cmd: Command) -> Result<ChunkView> {
        let started = Instant::now();
        let answer = match self.engine.request(&cmd) {
            Ok(answer) => answer,
            Err(e) => {
                // rows logged before the failure (a divergence, say) are in the run's log
                self.history = self.run.metrics()?;
                return Err(e);
            }
        };
        let client_seconds = started.elapsed().as_secs_f64();
        match answer {
            Event::Chunk { from_step, to_step, train_seconds, wall_seconds, images_per_s, sample, interrupted, rows, .. } => {
                self.step = to_step;
                for line in &rows {
                    let row = parse_metrics_line(line).ok_or_else(|| Error::Engine { message: format!("a chunk event carries a malformed metrics row: '{line}'") })?;
                    self.history.push(row);
                }
                let history = self.history.clone();
                ChunkView::new(self, from_step, to_step, train_seconds, wall_seconds.max(client_seconds), images_per_s, sample, interrupted, history)
            }
            other => Err(unexpected("chunk", &other)),
        }
    }

    /// The quality rows measured so far (the engine evaluates at every checkpoint, with
    /// `train.eval_samples` samples, when the dataset has a feature network).
    pub fn quality(&self) -> Result<Vec<QualityRow>> {
        rows_if_present(&self.run.quality_path(), read_quality)
    }

    /// The latest quality row, or an error saying why there is none.
    pub fn last_quality(&self) -> Result<QualityRow> {
        self.quality()?.pop().ok_or_else(|| {
            Error::Other(format!("run {} has no quality metrics yet (train.eval_samples = {}; they are measured at checkpoints)", self.run.name(), self.config.train.eval_samples))
        })
    }

    /// Every metrics row logged so far.
    pub fn history(&self) -> Result<Vec<MetricsRow>> {
        Ok(self.history.clone())
    }

    pub fn run_dir(&self) -> &RunDir {
        &self.run
    }
    pub fn config(&self) -> &ExperimentConfig {
        &self.config
    }
    pub fn backend(&self) -> BackendKind {
        self.backend
    }
    pub fn threads(&self) -> usize {
        self.threads
    }
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Ends the engine process (dropping the experiment does the same).
    pub fn stop(mut self) -> Result<()> {
        self.engine.stop()
    }
}

/// Every backend of the engine build, with whether it can be used here and why not.
pub fn backend_report() -> Result<Vec<protocol::BackendStatus>> {
    let mut engine = Engine::start(None)?;
    match engine.request(&Command::Backends)? {
        Event::Backends { backends } => Ok(backends),
        other => Err(unexpected("backends", &other)),
    }
}

/// The backends usable on this machine with this engine build.
pub fn available_backends() -> Result<Vec<BackendKind>> {
    Ok(backend_report()?.into_iter().filter(|b| b.available).map(|b| b.backend).collect())
}

/// The rows of a run file, or none before the engine has written it.
fn rows_if_present<T>(path: &Path, read: fn(&Path) -> Result<Vec<T>>) -> Result<Vec<T>> {
    if path.is_file() {
        read(path)
    } else {
        Ok(Vec::new())
    }
}

fn unexpected(wanted: &str, got: &Event) -> Error {
    Error::Engine { message: format!("expected a '{wanted}' answer, got {got:?}") }
}

/// The `gan-lab doctor` report of the engine this notebook uses (backends compiled in, GPUs, CUDA
/// libraries, kernel spec, caches, platform record), as a table.
pub fn doctor() -> Result<crate::doctor::DoctorReport> {
    let exe = engine_binary()?;
    let out = std::process::Command::new(&exe).args(["doctor", "--json"]).output().map_err(|e| Error::io(&exe, e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Engine { message: format!("gan-lab doctor failed: {}", err.trim().replace('\n', " | ")) });
    }
    serde_json::from_slice(&out.stdout).map_err(|e| Error::Engine { message: format!("gan-lab doctor printed no report ({e})") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_mode_follows_the_environment_variable() {
        // One test owns the variable: tests run in parallel threads of one process.
        std::env::remove_var("GAN_LAB_QUICK");
        assert!(!quick_mode());
        assert_eq!(pick(1, 2), 2);
        for on in ["1", "yes"] {
            std::env::set_var("GAN_LAB_QUICK", on);
            assert!(quick_mode());
            assert_eq!(mode_name(), "quick");
        }
        for off in ["0", "", " "] {
            std::env::set_var("GAN_LAB_QUICK", off);
            assert!(!quick_mode(), "{off:?}");
        }
        std::env::remove_var("GAN_LAB_QUICK");
    }

    #[test]
    fn the_default_runs_folder_is_at_the_workspace_root() {
        if std::env::var_os("GAN_LAB_RUNS_DIR").is_none() {
            assert_eq!(runs_dir(), workspace_root().join("runs"));
            assert!(workspace_root().join("Cargo.toml").is_file());
        }
    }
}
