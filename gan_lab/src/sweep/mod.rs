//! Sweeps: a plan (base configuration × axes × seeds × backends) expanded into runs with stable
//! ids, trained here N at a time ([`local`]) or as a Slurm array ([`slurm`]), each run by the same
//! worker command (`gan-lab sweep worker`), its state read back from its folder ([`status`]).
//!
//! ```text
//! <runs>/<run id>/                 one run folder per planned run (see `run`), plus
//!   sweep.json                     which plan, axis values, backend and seed it belongs to
//!   worker.log                     the worker's output, every attempt appended
//!   failed.json                    the error of the last failed attempt (removed on retry)
//! <runs>/.sweeps/<plan>-<hash>/    the frozen plan the workers read, Slurm script and logs
//! ```

mod axes;
mod budget;
pub mod local;
mod plan;
mod rules;
pub mod slurm;
pub mod status;
#[cfg(feature = "engine")]
pub mod worker;

pub use axes::{value_text, SHORTCUTS};
pub use budget::{Amount, RunBudget};
pub use plan::{PlannedRun, SweepPlan};
pub use status::{run_state, RunState};

use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What `sweep.json` in a run folder holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    pub plan: String,
    pub plan_hash: String,
    pub run_id: String,
    pub values: serde_json::Map<String, serde_json::Value>,
    pub backend: String,
    pub seed: u64,
    /// The run's step budget, or (time budgets) its training seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_seconds: Option<f64>,
    /// With a time budget, the plan's `eval_every` in training seconds: the run's evaluation
    /// points. Absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_every_seconds: Option<f64>,
}

impl SweepRecord {
    pub fn new(plan: &SweepPlan, run: &PlannedRun) -> Self {
        let (steps, train_seconds, eval_every_seconds) = match run.budget {
            RunBudget::Steps(n) => (Some(n), None, None),
            RunBudget::TrainSeconds { seconds, eval_every } => (None, Some(seconds), eval_every),
        };
        SweepRecord {
            plan: plan.name.clone(),
            plan_hash: plan.hash(),
            run_id: run.id.clone(),
            values: run.values.iter().cloned().collect(),
            backend: run.backend.clone(),
            seed: run.seed,
            steps,
            train_seconds,
            eval_every_seconds,
        }
    }

    /// The training times at which the run was meant to be evaluated (see [`RunBudget::stops`]);
    /// empty for a step budget or an older record.
    pub fn evaluation_times(&self) -> Vec<f64> {
        match (self.train_seconds, self.eval_every_seconds) {
            (Some(seconds), Some(every)) => RunBudget::TrainSeconds { seconds, eval_every: Some(every) }.stops(),
            _ => Vec::new(),
        }
    }
}

/// `<runs_dir>/.sweeps/<plan>-<hash>/`: where the frozen plan, Slurm script and Slurm logs go.
pub fn sweep_dir(plan: &SweepPlan, runs_dir: &Path) -> PathBuf {
    runs_dir.join(".sweeps").join(format!("{}-{}", plan.name, &plan.hash()[..8]))
}

/// Writes the plan, as the workers will read it, into its sweep folder (once; a plan file
/// edited later does not change a sweep in flight). A `base_config` file is frozen too: its bytes
/// are copied to `.sweeps/bases/<sha256>.json` and the frozen plan names that copy, so editing the
/// base during a sweep changes nothing, and an edited base makes a new sweep as an edited plan
/// does. Returns the frozen plan's path.
pub fn freeze(plan: &SweepPlan, runs_dir: &Path) -> Result<PathBuf> {
    let mut plan = plan.clone();
    if let Some(b) = &plan.base_config {
        let bytes = std::fs::read(b).map_err(|e| Error::io(b, e))?;
        let digest = crate::hex(&sha2::Sha256::digest(&bytes)[..8]);
        let bases = absolute(&runs_dir.join(".sweeps").join("bases"))?;
        std::fs::create_dir_all(&bases).map_err(|e| Error::io(&bases, e))?;
        let copy = bases.join(format!("{digest}.json"));
        if !copy.is_file() {
            crate::run::write_atomic(&copy, &bytes)?;
        }
        plan.base_config = Some(copy);
    }
    let plan = &plan;
    let dir = sweep_dir(plan, runs_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join("plan.json");
    if !path.is_file() {
        crate::run::write_atomic(&path, plan.to_json().as_bytes())?;
    }
    Ok(path)
}

/// A path made absolute against the current folder (workers run elsewhere).
pub fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

/// Every run of `plan` with its state under `runs_dir`.
pub fn plan_status(plan: &SweepPlan, runs_dir: &Path) -> Result<Vec<(PlannedRun, RunState)>> {
    Ok(plan.expand()?.into_iter().map(|r| {
        let s = run_state(runs_dir, &r);
        (r, s)
    }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_plan_keeps_its_base_config_when_the_file_is_edited_during_the_sweep() {
        let dir = crate::test_scratch_dir("freeze_base");
        std::fs::create_dir_all(&dir).unwrap();
        let base = dir.join("base.json");
        let mut cfg = crate::config::preset("mlp-gan").unwrap();
        cfg.train.batch_size = 32;
        std::fs::write(&base, cfg.to_json()).unwrap();
        let plan = SweepPlan::from_json_str(&format!(r#"{{"name": "b", "base_config": {:?}, "seeds": [0], "steps": 5}}"#, base)).unwrap();
        let frozen = freeze(&plan, &dir.join("runs")).unwrap();
        cfg.train.batch_size = 16;
        std::fs::write(&base, cfg.to_json()).unwrap();
        let runs = SweepPlan::from_json_file(&frozen).unwrap().expand().unwrap();
        assert_eq!(runs[0].config.train.batch_size, 32, "the sweep in flight trains the base as it was");
        // the edited base is another sweep
        let again = freeze(&plan, &dir.join("runs")).unwrap();
        assert_ne!(again, frozen);
        assert_eq!(SweepPlan::from_json_file(&again).unwrap().expand().unwrap()[0].config.train.batch_size, 16);
    }
}
