//! `RunTable`: many run directories as one polars DataFrame, one row per run.

use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{read_json, read_quality, PlatformRecord, QualityRow, RunDir, Summary};
use crate::config::{Architecture, ExperimentConfig, OptimizerConfig};
use crate::error::{Error, Result};
use crate::sweep::{value_text, SweepRecord};

/// Column `name` of `df`, found by comparing names rather than through the frame's cached
/// schema. A notebook kernel links each cell with its own copy of polars, whose hash seeds differ,
/// so a DataFrame made in one cell is not found by name through its schema in the next one.
pub fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.columns().iter().find(|c| c.name().as_str() == name).ok_or_else(|| {
        Error::table(
            format!("column '{name}'"),
            format!("not found; the columns are {}", df.columns().iter().map(|c| c.name().to_string()).collect::<Vec<_>>().join(", ")),
        )
    })
}

/// One row per run directory found under a folder, plus the folders that could not be read.
#[derive(Debug, Clone)]
pub struct RunTable {
    pub frame: DataFrame,
    /// The run directory of each row, in row order.
    pub paths: Vec<std::path::PathBuf>,
    /// Sub-folders that look like runs but could not be read, each with the reason.
    pub problems: Vec<String>,
}

#[derive(Default)]
struct Columns {
    run: Vec<String>,
    config: Vec<String>,
    config_hash: Vec<String>,
    config_key: Vec<String>,
    seed: Vec<u64>,
    dataset: Vec<String>,
    architecture: Vec<String>,
    optimizer: Vec<String>,
    loss: Vec<String>,
    batch: Vec<u64>,
    backend: Vec<Option<String>>,
    threads: Vec<Option<u64>>,
    cpu: Vec<Option<String>>,
    steps: Vec<Option<u64>>,
    epochs: Vec<Option<f64>>,
    images_per_s: Vec<Option<f64>>,
    train_s: Vec<Option<f64>>,
    d_loss: Vec<Option<f64>>,
    g_loss: Vec<Option<f64>>,
    d_real: Vec<Option<f64>>,
    d_fake: Vec<Option<f64>>,
    cost_usd: Vec<Option<f64>>,
    fld: Vec<Option<f64>>,
    kid: Vec<Option<f64>>,
    precision: Vec<Option<f64>>,
    recall: Vec<Option<f64>>,
    coverage: Vec<Option<f64>>,
    density: Vec<Option<f64>>,
    class_coverage: Vec<Option<f64>>,
    modes: Vec<Option<f64>>,
    mode_kl: Vec<Option<f64>>,
    quality_step: Vec<Option<u64>>,
    quality_protocol: Vec<Option<String>>,
    status: Vec<String>,
    /// The sweep plan a run belongs to (its `sweep.json`), and the plan's axis values for it.
    plan: Vec<Option<String>>,
    axes: Vec<BTreeMap<String, String>>,
}

/// The prefix of the columns holding a sweep run's axis values: `axis.activation`, `axis.optimizer`.
pub const AXIS_PREFIX: &str = "axis.";

/// `G/D` kinds, then `+bn` when either network has BatchNorm and `+sn` when D is spectrally normalised.
fn architecture(cfg: &ExperimentConfig) -> String {
    let kind = |a: &Architecture| match a {
        Architecture::Mlp { .. } => "mlp",
        Architecture::Dcgan { .. } => "dcgan",
    };
    let bn = if cfg.generator.batch_norm || cfg.discriminator.batch_norm { "+bn" } else { "" };
    let sn = if cfg.discriminator.spectral_norm { "+sn" } else { "" };
    format!("{}/{}{bn}{sn}", kind(&cfg.generator.architecture), kind(&cfg.discriminator.architecture))
}

fn optimizer(cfg: &ExperimentConfig) -> String {
    let name = |o: &OptimizerConfig| match o {
        OptimizerConfig::Sgd { .. } => "sgd",
        OptimizerConfig::Adam { .. } => "adam",
        OptimizerConfig::Rmsprop { .. } => "rmsprop",
    };
    format!("{}/{}", name(&cfg.g_optimizer), name(&cfg.d_optimizer))
}

impl Columns {
    fn push(&mut self, run: &RunDir, cfg: &ExperimentConfig, platform: Option<PlatformRecord>, summary: Option<Summary>, quality: Option<QualityRow>, sweep: Option<SweepRecord>) {
        self.plan.push(sweep.as_ref().map(|s| s.plan.clone()));
        self.axes.push(sweep.map(|s| s.values.iter().map(|(k, v)| (k.clone(), value_text(v))).collect()).unwrap_or_default());
        let q = quality.as_ref();
        self.fld.push(q.map(|q| q.fld));
        self.kid.push(q.map(|q| q.kid_mean));
        self.precision.push(q.map(|q| q.precision));
        self.recall.push(q.map(|q| q.recall));
        self.coverage.push(q.map(|q| q.coverage));
        self.density.push(q.map(|q| q.density));
        self.class_coverage.push(q.map(|q| q.class_coverage));
        // Stacked MNIST only: NaN elsewhere, an empty cell here.
        self.modes.push(q.map(|q| q.modes).filter(|v| v.is_finite()));
        self.mode_kl.push(q.map(|q| q.mode_kl).filter(|v| v.is_finite()));
        self.quality_step.push(q.map(|q| q.step));
        // Without the sample seed, which follows the run's seed: runs that differ only in their
        // seed show the same protocol.
        self.quality_protocol.push(q.map(|q| q.protocol.key_across_seeds()));
        self.run.push(run.name());
        self.config.push(cfg.name.clone());
        self.config_hash.push(cfg.hash());
        self.config_key.push(cfg.key());
        self.seed.push(cfg.seed);
        self.dataset.push(cfg.data.dataset.clone());
        self.architecture.push(architecture(cfg));
        self.optimizer.push(optimizer(cfg));
        self.loss.push(cfg.loss.name());
        self.batch.push(cfg.train.batch_size as u64);
        self.backend.push(platform.as_ref().map(|p| p.backend.clone()));
        self.threads.push(platform.as_ref().map(|p| p.threads as u64));
        self.cpu.push(platform.as_ref().map(|p| p.cpu_model.clone()));
        self.status.push(match &summary {
            None => "no summary yet".into(),
            Some(s) if !s.finite => "diverged".into(),
            Some(_) => "ok".into(),
        });
        let s = summary.as_ref();
        self.steps.push(s.map(|s| s.steps));
        self.epochs.push(s.map(|s| s.epochs));
        self.images_per_s.push(s.map(|s| s.images_per_s));
        self.train_s.push(s.map(|s| s.train_seconds));
        self.d_loss.push(s.map(|s| s.d_loss));
        self.g_loss.push(s.map(|s| s.g_loss));
        self.d_real.push(s.map(|s| s.d_real));
        self.d_fake.push(s.map(|s| s.d_fake));
        self.cost_usd.push(s.and_then(|s| s.cost_usd));
    }

    fn frame(self) -> Result<DataFrame> {
        let n = self.run.len();
        let c = |name: &str, col: Column| col.with_name(name.into());
        let axis_names: BTreeSet<&String> = self.axes.iter().flat_map(|a| a.keys()).collect();
        let axis_columns: Vec<Column> = axis_names
            .iter()
            .map(|name| Column::new(format!("{AXIS_PREFIX}{name}").into(), self.axes.iter().map(|a| a.get(*name).cloned()).collect::<Vec<_>>()))
            .collect();
        let mut columns = vec![
            c("run", Column::new("".into(), self.run)),
            c("config", Column::new("".into(), self.config)),
            c("config_hash", Column::new("".into(), self.config_hash)),
            c("config_key", Column::new("".into(), self.config_key)),
            c("seed", Column::new("".into(), self.seed)),
            c("dataset", Column::new("".into(), self.dataset)),
            c("architecture", Column::new("".into(), self.architecture)),
            c("optimizer", Column::new("".into(), self.optimizer)),
            c("loss", Column::new("".into(), self.loss)),
            c("batch", Column::new("".into(), self.batch)),
            c("backend", Column::new("".into(), self.backend)),
            c("threads", Column::new("".into(), self.threads)),
            c("steps", Column::new("".into(), self.steps)),
            c("epochs", Column::new("".into(), self.epochs)),
            c("images_per_s", Column::new("".into(), self.images_per_s)),
            c("train_s", Column::new("".into(), self.train_s)),
            c("d_loss", Column::new("".into(), self.d_loss)),
            c("g_loss", Column::new("".into(), self.g_loss)),
            c("d_real", Column::new("".into(), self.d_real)),
            c("d_fake", Column::new("".into(), self.d_fake)),
            c("cost_usd", Column::new("".into(), self.cost_usd)),
            c("fld", Column::new("".into(), self.fld)),
            c("kid", Column::new("".into(), self.kid)),
            c("precision", Column::new("".into(), self.precision)),
            c("recall", Column::new("".into(), self.recall)),
            c("coverage", Column::new("".into(), self.coverage)),
            c("density", Column::new("".into(), self.density)),
            c("class_coverage", Column::new("".into(), self.class_coverage)),
            c("modes", Column::new("".into(), self.modes)),
            c("mode_kl", Column::new("".into(), self.mode_kl)),
            c("quality_step", Column::new("".into(), self.quality_step)),
            c("quality_protocol", Column::new("".into(), self.quality_protocol)),
            c("cpu", Column::new("".into(), self.cpu)),
            c("status", Column::new("".into(), self.status)),
            c("plan", Column::new("".into(), self.plan)),
        ];
        columns.extend(axis_columns);
        DataFrame::new(n, columns).map_err(|e| Error::table("building the run table", e))
    }
}

/// The run table's columns that come from a run's last quality evaluation (numbers of one
/// protocol are comparable only with numbers of the same protocol: `quality_protocol`).
pub const QUALITY_COLUMNS: [&str; 9] = ["fld", "kid", "precision", "recall", "coverage", "density", "class_coverage", "modes", "mode_kl"];

/// Reads a file a run may not have yet: absent → None; unreadable → None, with the reason noted.
fn read_optional<T>(path: &Path, read: impl FnOnce(&Path) -> Result<T>, problems: &mut Vec<String>) -> Option<T> {
    if !path.is_file() {
        return None;
    }
    read(path).map_err(|e| problems.push(e.to_string())).ok()
}

impl RunTable {
    /// Reads every run directory directly under `dir` (sorted by name, i.e. by start time).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_many(&[dir.as_ref()])
    }

    /// Reads the run directories of several folders (say, copied from different machines) into
    /// one table, sorted by run name. A run found in more than one folder (same folder name, i.e.
    /// the same run id) is read once: from the copy with the most steps, the first folder winning
    /// a tie; the others are listed in `problems`.
    pub fn load_many<P: AsRef<Path>>(dirs: &[P]) -> Result<Self> {
        let mut found: std::collections::BTreeMap<String, Vec<RunDir>> = std::collections::BTreeMap::new();
        for dir in dirs {
            let dir = dir.as_ref();
            let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
            paths.sort();
            for run in paths.into_iter().filter_map(|p| RunDir::open(&p).ok()) {
                found.entry(run.name()).or_default().push(run); // other folders are not runs
            }
        }
        let mut notes = Vec::new();
        let mut chosen = Vec::new();
        for (name, copies) in found {
            let steps = |r: &RunDir| read_json::<Summary>(&r.summary_path()).map_or(0, |s| s.steps);
            let best = copies.iter().enumerate().max_by_key(|(i, r)| (steps(r), std::cmp::Reverse(*i))).map(|(i, _)| i).unwrap_or(0);
            for (i, r) in copies.iter().enumerate().filter(|(i, _)| *i != best) {
                notes.push(format!("{}: a copy of run {name} (kept {}, {} steps; this one has {})", r.path.display(), copies[best].path.display(), steps(&copies[best]), steps(&copies[i])));
            }
            chosen.push(copies[best].clone());
        }
        let mut table = Self::read(chosen.into_iter())?;
        table.problems.extend(notes);
        Ok(table)
    }

    /// The given runs, in the given order.
    pub fn of(runs: &[&RunDir]) -> Result<Self> {
        Self::read(runs.iter().map(|r| (*r).clone()))
    }

    fn read(runs: impl Iterator<Item = RunDir>) -> Result<Self> {
        let mut cols = Columns::default();
        let mut problems = Vec::new();
        let mut rows = Vec::new();
        for run in runs {
            let cfg = match run.config() {
                Ok(c) => c,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            let platform = read_json::<PlatformRecord>(&run.platform_path()).ok();
            let summary = read_optional(&run.summary_path(), read_json::<Summary>, &mut problems);
            let quality = read_optional(&run.quality_path(), read_quality, &mut problems).and_then(|rows| rows.into_iter().last());
            let sweep = read_optional(&run.path.join("sweep.json"), read_json::<SweepRecord>, &mut problems);
            cols.push(&run, &cfg, platform, summary, quality, sweep);
            rows.push(run.path.clone());
        }
        Ok(RunTable { frame: cols.frame()?, paths: rows, problems })
    }

    /// The columns worth reading in a terminal, floats rounded to 4 decimals (the full frame keeps
    /// every column and full precision); Stacked MNIST's `modes` and `mode_kl` after `fld` when a
    /// run has them.
    pub fn compact(&self) -> Result<DataFrame> {
        const KEEP: [&str; 19] = [
            "run", "config", "dataset", "architecture", "optimizer", "loss", "backend", "batch", "steps", "images_per_s", "train_s", "d_loss", "g_loss", "d_real", "d_fake",
            "cost_usd", "fld", "quality_protocol", "status",
        ];
        let has_modes = self.numbers("modes")?.iter().any(|m| m.is_some_and(f64::is_finite));
        let mut names: Vec<&str> = KEEP.to_vec();
        if has_modes {
            let after_fld = names.iter().position(|n| *n == "fld").expect("fld is kept") + 1;
            names.splice(after_fld..after_fld, ["modes", "mode_kl"]);
        }
        let mut columns = Vec::new();
        for name in names {
            let col = column(&self.frame, name)?;
            let col = match col.f64() {
                Ok(f) => f.apply_values(|v| (v * 1e4).round() / 1e4).into_column(),
                Err(_) => col.clone(),
            };
            columns.push(col);
        }
        DataFrame::new(self.len(), columns).map_err(|e| Error::table("building the compact run table", e))
    }

    /// Numeric column `name`, one value per run (None where a run has none).
    pub fn numbers(&self, name: &str) -> Result<Vec<Option<f64>>> {
        let values = column(&self.frame, name)?.cast(&DataType::Float64).map_err(|e| Error::table(format!("run table column '{name}' as numbers"), e))?;
        let values = values.f64().map_err(|e| Error::table(format!("run table column '{name}'"), e))?;
        Ok((0..values.len()).map(|i| values.get(i)).collect())
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    /// True when no run was found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The compact table (see [`RunTable::compact`]).
impl std::fmt::Display for RunTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.compact() {
            Ok(df) => write!(f, "{df}"),
            Err(_) => write!(f, "{}", self.frame),
        }
    }
}

/// A run-table or metrics column as a chart axis: what it measures and in which unit (the name
/// itself for columns this list does not know).
pub fn metric_label(column: &str) -> String {
    let text = match column {
        "d_loss" => "D loss (the run's loss, per image)",
        "g_loss" => "G loss (the run's loss, per image)",
        "d_real" => "mean D(x), probability",
        "d_fake" => "mean D(G(z)), probability",
        "images_per_s" => "images/s in training steps",
        "train_s" => "training time, s",
        "steps" => "generator steps",
        "diversity" => "sample diversity, × real images'",
        "augment_p" => "augmentation probability p",
        "cost_usd" => "cost, USD",
        "fld" => "FLD, feature distance (lower is better)",
        "kid" | "kid_mean" => "KID (lower is better)",
        "precision" | "recall" | "coverage" => return format!("{column}, 0–1 (higher is better)"),
        "density" => "density (≈1 for real images)",
        "class_coverage" => "share of classes generated",
        "class_kl" => "KL(class histogram ‖ uniform), nats",
        "modes" => "Stacked MNIST modes covered, of 1000 (higher is better)",
        "mode_kl" => "KL(mode histogram ‖ uniform), nats (lower is better)",
        "time_to_quality" => "training time to the quality threshold, s",
        "cost_to_quality" => "cost to the quality threshold, USD",
        other => other,
    };
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::write_json;

    #[test]
    fn runs_with_and_without_summary_become_rows_and_broken_ones_are_reported() {
        let root = crate::test_scratch_dir("table");
        let _ = std::fs::remove_dir_all(&root);
        let cfg = crate::config::preset("dcgan28").unwrap();
        let done = RunDir::create(&root, &cfg).unwrap();
        let summary = Summary {
            steps: 20, epochs: 0.1, images_seen: 1280, train_seconds: 4.0, images_per_s: 320.0, d_loss: 1.2, g_loss: 0.8,
            d_real: 0.55, d_fake: 0.45, finite: true, last_sample: None, last_checkpoint: None, cost_usd: Some(0.01), finished_unix: 0.0,
        };
        write_json(&done.summary_path(), &summary).unwrap();
        RunDir::create(&root, &cfg).unwrap();
        let broken = RunDir::create(&root, &cfg).unwrap();
        std::fs::write(broken.config_path(), "{").unwrap();
        std::fs::create_dir_all(root.join("not-a-run")).unwrap();

        let table = RunTable::load(&root).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table.problems.len(), 1);
        assert!(table.problems[0].contains("config.json"), "{:?}", table.problems);
        let status = table.frame.column("status").unwrap().str().unwrap().clone();
        let statuses: Vec<&str> = (0..status.len()).filter_map(|i| status.get(i)).collect();
        assert!(statuses.contains(&"ok") && statuses.contains(&"no summary yet"));
        assert_eq!(table.frame.column("architecture").unwrap().str().unwrap().get(0), Some("dcgan/dcgan+bn"));
        assert_eq!(architecture(&crate::config::preset("hinge-sn-dcgan28").unwrap()), "dcgan/dcgan+bn+sn", "spectral norm is part of the label");
        assert!(table.frame.get_column_names().iter().any(|c| c.as_str() == "images_per_s"));
        assert!(table.to_string().contains("shape: (2,"));
        let compact = table.compact().unwrap();
        assert!(compact.get_column_names().iter().all(|c| c.as_str() != "modes"), "no Stacked MNIST run: no modes column");
    }

    #[test]
    fn folders_from_two_machines_merge_with_each_run_once_taking_the_longest_copy() {
        let root = crate::test_scratch_dir("table_merge");
        let _ = std::fs::remove_dir_all(&root);
        let cfg = crate::config::preset("mlp-gan").unwrap();
        let a = RunDir::create(&root.join("a"), &cfg).unwrap();
        let only_b = RunDir::create(&root.join("b"), &cfg).unwrap();
        let copy = root.join("b").join(a.name());
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(a.config_path(), copy.join("config.json")).unwrap();
        let summary = |steps| Summary {
            steps, epochs: 0.1, images_seen: 1280, train_seconds: 4.0, images_per_s: 320.0, d_loss: 1.2, g_loss: 0.8,
            d_real: 0.55, d_fake: 0.45, finite: true, last_sample: None, last_checkpoint: None, cost_usd: None, finished_unix: 0.0,
        };
        write_json(&a.summary_path(), &summary(10)).unwrap();
        write_json(&copy.join("summary.json"), &summary(30)).unwrap();
        let table = RunTable::load_many(&[root.join("a"), root.join("b")]).unwrap();
        assert_eq!(table.len(), 2);
        assert!(table.paths.contains(&copy) && table.paths.contains(&only_b.path), "{:?}", table.paths);
        assert_eq!(table.problems.len(), 1, "{:?}", table.problems);
        assert!(table.problems[0].contains("kept") && table.problems[0].contains("30 steps"), "{:?}", table.problems);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_missing_runs_folder_is_an_error_naming_it() {
        let err = RunTable::load("/nonexistent/runs-folder").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/runs-folder"), "{err}");
    }
}
