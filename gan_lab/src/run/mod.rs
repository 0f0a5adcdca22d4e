//! Run directories: one folder per training run, never deleted or overwritten by the lab.
//!
//! ```text
//! runs/<YYYYMMDD-HHMMSS>-<name>-<id>/
//!   config.json        the ExperimentConfig (written when the folder is set up)
//!   platform.json      where it ran (CPU, cores, backend, device, version, commit, price)
//!   metrics.parquet    one row per logged step, up to the last checkpoint
//!   metrics-journal.tsv  the rows logged since (appended; compacted into metrics.parquet)
//!   samples/step-NNNNNNN.png   fixed-noise sample grids
//!   checkpoints/step-NNNNNNN-{generator,discriminator}.mpk
//!   summary.json       final numbers (written when a training call ends)
//! ```
//! Every file is written to a temporary name, synced and renamed into place.

mod alarms;
mod answers;
mod files;
mod group;
mod interval;
mod lock;
mod metrics;
mod over_time;
mod quality;
mod reach;
mod summary;
mod table;

pub use alarms::advice;
pub use answers::{Answer, AnswerTable, Measure};
pub use reach::{lower_is_better, train_seconds_at};
pub use summary::Summary;
pub use files::{parquet_bytes, read_json, read_parquet, sync_dir, write_atomic, write_json, write_parquet};
pub use lock::{host_name, LockHolder, RunLock};

pub use metrics::{
    append_metrics_journal, compare_losses, metrics_line, metrics_parquet, parse_metrics_line, read_metrics, read_metrics_journal, worst_of, write_metrics, MetricsRow, StepAgreement,
    AGREEMENT_FIELDS,
};
pub use over_time::{CurvePoint, Progress, QualityCurve};
pub use quality::{quality_frame, read_quality, write_quality, Protocol, QualityRow};
pub use group::{mean_std, GroupedTable, GROUPED_METRICS, REACH_METRICS};
pub use interval::{student_t_quantile, welch, Difference, Verdict};
pub use table::{column, metric_label, RunTable, AXIS_PREFIX};

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::ExperimentConfig;
use crate::error::{Error, Result};

/// UTC date-time of a UNIX time as `YYYYMMDD-HHMMSS`.
pub fn utc_stamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `1h02m`, `3m07s`, `12s`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// Seconds since the UNIX epoch.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Where a run ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformRecord {
    pub backend: String,
    pub device: String,
    pub cpu_model: String,
    pub logical_cores: usize,
    pub threads: usize,
    pub os: String,
    pub gan_lab_version: String,
    pub git_commit: Option<String>,
    pub price_per_hour_usd: Option<f64>,
}

/// A checkpoint folder of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointEntry {
    pub step: u64,
    pub path: PathBuf,
    pub complete: bool,
}

/// An existing or new run directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `<runs_dir>/<stamp>-<name>-<id>/` and sets it up (see [`RunDir::init`]). Never
    /// reuses an existing folder.
    pub fn create(runs_dir: &Path, cfg: &ExperimentConfig) -> Result<Self> {
        std::fs::create_dir_all(runs_dir).map_err(|e| Error::io(runs_dir, e))?;
        let now = unix_now();
        let stamp = utc_stamp(now as u64);
        for attempt in 0u64..1000 {
            let nonce = (now.fract() * 1e9) as u64 ^ (std::process::id() as u64).rotate_left(20) ^ attempt.wrapping_mul(0x9E37_79B9);
            let id = &format!("{:016x}", u64::from_str_radix(&cfg.hash(), 16).unwrap_or(0) ^ nonce)[10..];
            let path = runs_dir.join(format!("{stamp}-{}-{id}", cfg.name));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let run = RunDir { path };
                    run.init(cfg)?;
                    return Ok(run);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Err(Error::Other(format!("could not find a free run-directory name in {}", runs_dir.display())))
    }

    /// Sets up a run in this (existing) folder: `samples/`, `checkpoints/`, then `config.json`,
    /// written last so that a folder with a config is a complete run directory.
    pub fn init(&self, cfg: &ExperimentConfig) -> Result<()> {
        for sub in ["samples", "checkpoints"] {
            std::fs::create_dir_all(self.path.join(sub)).map_err(|e| Error::io(self.path.join(sub), e))?;
        }
        write_atomic(&self.config_path(), cfg.to_json().as_bytes())
    }

    /// Opens an existing run directory (it must hold a config.json).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let run = RunDir { path: path.into() };
        if !run.config_path().is_file() {
            return Err(Error::bad_file(&run.path, "not a run directory: config.json is missing"));
        }
        Ok(run)
    }

    /// Folder name.
    pub fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path.join("config.json")
    }
    pub fn platform_path(&self) -> PathBuf {
        self.path.join("platform.json")
    }
    pub fn metrics_path(&self) -> PathBuf {
        self.path.join("metrics.parquet")
    }
    /// Rows logged since metrics.parquet was last written (see `run::metrics`).
    pub fn metrics_journal_path(&self) -> PathBuf {
        self.path.join("metrics-journal.tsv")
    }

    /// Every metrics row logged so far: metrics.parquet, then the journal's rows after its last
    /// step. Empty when neither file exists yet.
    pub fn metrics(&self) -> Result<Vec<MetricsRow>> {
        let mut rows = if self.metrics_path().is_file() { read_metrics(&self.metrics_path())? } else { Vec::new() };
        if self.metrics_journal_path().is_file() {
            let last = rows.last().map(|r| r.step);
            rows.extend(read_metrics_journal(&self.metrics_journal_path())?.into_iter().filter(|r| last.is_none_or(|s| r.step > s)));
        }
        Ok(rows)
    }

    /// Writes `parquet` (every row so far, from [`metrics_parquet`]) as metrics.parquet and
    /// empties the journal (a crash between the two leaves journal rows the parquet file already
    /// holds, which [`RunDir::metrics`] skips).
    pub fn compact_metrics(&self, parquet: &[u8]) -> Result<()> {
        write_atomic(&self.metrics_path(), parquet)?;
        match std::fs::remove_file(self.metrics_journal_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(self.metrics_journal_path(), e)),
            _ => Ok(()),
        }
    }

    pub fn quality_path(&self) -> PathBuf {
        self.path.join("quality.parquet")
    }
    /// `checkpoints/best/best.json`: the step and FLD of the generator kept as the best.
    pub fn best_path(&self) -> PathBuf {
        self.path.join("checkpoints").join("best").join("best.json")
    }
    pub fn summary_path(&self) -> PathBuf {
        self.path.join("summary.json")
    }
    /// `samples/step-NNNNNNN.png`.
    pub fn sample_path(&self, step: u64) -> PathBuf {
        self.path.join("samples").join(format!("step-{step:07}.png"))
    }
    /// `checkpoints/step-NNNNNNN/`: a full checkpoint (see `train::checkpoint`).
    pub fn checkpoint_dir(&self, step: u64) -> PathBuf {
        self.path.join("checkpoints").join(format!("step-{step:07}"))
    }

    /// Every checkpoint folder with its step, oldest first; `complete` when it holds `state.json`
    /// (written last), otherwise only the generator weights are left (pruned).
    pub fn checkpoints(&self) -> Result<Vec<CheckpointEntry>> {
        let dir = self.path.join("checkpoints");
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(step) = name.strip_prefix("step-").and_then(|s| s.parse::<u64>().ok()) {
                if path.is_dir() {
                    let complete = path.join("state.json").is_file();
                    out.push(CheckpointEntry { step, path, complete });
                }
            }
        }
        out.sort_by_key(|c| c.step);
        Ok(out)
    }

    /// The newest complete checkpoint.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, PathBuf)>> {
        Ok(self.checkpoints()?.into_iter().rev().find(|c| c.complete).map(|c| (c.step, c.path)))
    }

    /// Keeps the newest `keep` complete checkpoints; older ones keep only `generator.mpk` (for
    /// evaluating quality over time). `state.json` goes first, so an interrupted prune leaves a
    /// checkpoint that is clearly incomplete rather than one that looks whole.
    pub fn prune_checkpoints(&self, keep: usize) -> Result<()> {
        let complete: Vec<CheckpointEntry> = self.checkpoints()?.into_iter().filter(|c| c.complete).collect();
        let n = complete.len().saturating_sub(keep.max(1));
        for c in &complete[..n] {
            for f in ["state.json", "discriminator.mpk", "g_optim.mpk", "d_optim.mpk", "metrics.parquet"] {
                let p = c.path.join(f);
                if p.exists() {
                    std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                }
            }
        }
        Ok(())
    }

    /// Removes temporary files and folders that a killed process left behind.
    pub fn clean_temporaries(&self) -> Result<()> {
        for dir in [self.path.clone(), self.path.join("checkpoints"), self.path.join("samples")] {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let p = entry.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with(".tmp-") || (name.starts_with('.') && name.contains(".tmp-")) {
                    let r = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
                    r.map_err(|e| Error::io(&p, e))?;
                }
            }
        }
        Ok(())
    }

    /// The run's configuration.
    pub fn config(&self) -> Result<ExperimentConfig> {
        ExperimentConfig::from_json_file(self.config_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_metrics_are_the_parquet_rows_then_the_journal_rows_after_them() {
        use metrics::tests::row;
        let run = RunDir { path: crate::test_scratch_dir("run_metrics") };
        std::fs::create_dir_all(&run.path).unwrap();
        assert!(run.metrics().unwrap().is_empty(), "nothing logged yet");
        for step in [5, 10] {
            append_metrics_journal(&run.metrics_journal_path(), &row(step)).unwrap();
        }
        assert_eq!(run.metrics().unwrap(), vec![row(5), row(10)], "journal only (no checkpoint yet)");
        run.compact_metrics(&metrics_parquet(&[row(5), row(10)]).unwrap()).unwrap();
        assert!(!run.metrics_journal_path().exists());
        append_metrics_journal(&run.metrics_journal_path(), &row(15)).unwrap();
        assert_eq!(run.metrics().unwrap(), vec![row(5), row(10), row(15)]);
        // killed between writing the parquet file and removing the journal: no row twice
        write_metrics(&run.metrics_path(), &[row(5), row(10), row(15)]).unwrap();
        assert_eq!(run.metrics().unwrap(), vec![row(5), row(10), row(15)]);
    }

    #[test]
    fn utc_stamps_match_known_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(1_795_913_759), "20261129-005559");
    }

    #[test]
    fn a_new_run_directory_has_its_config_and_subfolders_and_is_never_reused() {
        let root = crate::test_scratch_dir("rundir");
        let cfg = crate::config::preset("mlp-gan").unwrap();
        let a = RunDir::create(&root, &cfg).unwrap();
        let b = RunDir::create(&root, &cfg).unwrap();
        assert_ne!(a.path, b.path);
        assert_eq!(a.config().unwrap(), cfg);
        assert!(a.path.join("samples").is_dir() && a.path.join("checkpoints").is_dir());
        assert!(a.name().contains("-mlp-gan-"));
        assert_eq!(RunDir::open(&a.path).unwrap(), a);
    }

    #[test]
    fn only_complete_checkpoints_count_and_pruning_keeps_generators() {
        let root = crate::test_scratch_dir("ckpts");
        let run = RunDir::create(&root, &crate::config::preset("mlp-gan").unwrap()).unwrap();
        for step in [10, 20, 30] {
            let d = run.checkpoint_dir(step);
            std::fs::create_dir_all(&d).unwrap();
            for f in ["state.json", "generator.mpk", "discriminator.mpk"] {
                std::fs::write(d.join(f), "x").unwrap();
            }
        }
        std::fs::create_dir_all(run.checkpoint_dir(40)).unwrap();
        assert_eq!(run.latest_checkpoint().unwrap().unwrap().0, 30);
        run.prune_checkpoints(2).unwrap();
        assert!(!run.checkpoint_dir(10).join("state.json").exists());
        assert!(run.checkpoint_dir(10).join("generator.mpk").exists());
        assert!(run.checkpoint_dir(20).join("state.json").exists());
        std::fs::create_dir_all(run.path.join("checkpoints/.tmp-step-0000050-1")).unwrap();
        run.clean_temporaries().unwrap();
        assert!(!run.path.join("checkpoints/.tmp-step-0000050-1").exists());
    }

    #[test]
    fn opening_a_folder_without_config_says_so() {
        let err = RunDir::open(std::env::temp_dir()).unwrap_err().to_string();
        assert!(err.contains("config.json is missing"), "{err}");
    }
}
