//! Run directories: one folder per training run, never deleted or overwritten by the lab.
//!
//! ```text
//! runs/<YYYYMMDD-HHMMSS>-<name>-<id>/
//!   config.json        the ExperimentConfig (written first)
//!   platform.json      where it ran (CPU, cores, backend, device, version, commit, price)
//!   metrics.parquet    one row per logged step
//!   samples/step-NNNNNNN.png   fixed-noise sample grids
//!   checkpoints/step-NNNNNNN-{generator,discriminator}.mpk
//!   summary.json       final numbers (written when a training call ends)
//! ```
//! Every file is written to a temporary name, synced and renamed into place.

mod metrics;
mod table;

pub use metrics::{read_metrics, write_metrics, MetricsRow};
pub use table::RunTable;

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::ExperimentConfig;
use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Writes pretty JSON atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Json { path: path.into(), message: e.to_string() })?;
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file, naming it in any error.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Json { path: path.into(), message: e.to_string() })
}

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

/// Seconds since the UNIX epoch.
pub fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Final numbers of a run, rewritten at the end of every training call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub steps: u64,
    pub epochs: f64,
    pub images_seen: u64,
    pub train_seconds: f64,
    pub images_per_s: f64,
    pub d_loss: f64,
    pub g_loss: f64,
    pub d_real: f64,
    pub d_fake: f64,
    pub finite: bool,
    pub last_sample: Option<String>,
    pub last_checkpoint: Option<String>,
    pub cost_usd: Option<f64>,
    pub finished_unix: f64,
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

/// An existing or new run directory.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `<runs_dir>/<stamp>-<name>-<id>/` with `config.json` written first. Never reuses
    /// an existing folder.
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
                    write_atomic(&run.config_path(), cfg.to_json().as_bytes())?;
                    for sub in ["samples", "checkpoints"] {
                        std::fs::create_dir(run.path.join(sub)).map_err(|e| Error::io(run.path.join(sub), e))?;
                    }
                    return Ok(run);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Err(Error::Other(format!("could not find a free run-directory name in {}", runs_dir.display())))
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
    pub fn summary_path(&self) -> PathBuf {
        self.path.join("summary.json")
    }
    /// `samples/step-NNNNNNN.png`.
    pub fn sample_path(&self, step: u64) -> PathBuf {
        self.path.join("samples").join(format!("step-{step:07}.png"))
    }
    /// `checkpoints/step-NNNNNNN-<part>.mpk` without the extension (burn's recorder adds it).
    pub fn checkpoint_stem(&self, step: u64, part: &str) -> PathBuf {
        self.path.join("checkpoints").join(format!("step-{step:07}-{part}"))
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
    fn utc_stamps_match_known_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(1_795_913_759), "20261129-005559");
    }

    #[test]
    fn a_new_run_directory_has_its_config_and_subfolders_and_is_never_reused() {
        let root = std::env::temp_dir().join(format!("gan_lab_rundir_{}", std::process::id()));
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
    fn opening_a_folder_without_config_says_so() {
        let err = RunDir::open(std::env::temp_dir()).unwrap_err().to_string();
        assert!(err.contains("config.json is missing"), "{err}");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = std::env::temp_dir().join(format!("gan_lab_atomic_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir.join("a.txt"), b"one").unwrap();
        write_atomic(&dir.join("a.txt"), b"two").unwrap();
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
