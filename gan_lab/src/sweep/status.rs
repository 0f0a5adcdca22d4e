//! Where each run of a sweep stands, read from the run folders alone (not from a scheduler's
//! queue), so it works while jobs run on other nodes and after they are gone.

use serde::{Deserialize, Serialize};
use std::path::Path;

use super::budget::RunBudget;
use super::plan::PlannedRun;
use crate::error::Result;
use crate::run::{read_json, write_json, RunDir, Summary};

/// Written by a worker whose run failed (removed when a later attempt starts).
pub const FAILED_FILE: &str = "failed.json";
/// The worker's output (both executors append to it).
pub const LOG_FILE: &str = "worker.log";

/// What `failed.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub error: String,
    pub host: String,
    pub step: u64,
    pub unix: f64,
}

/// Records a failure in the run folder.
pub fn record_failure(dir: &Path, error: &str, step: u64) -> Result<()> {
    let f = Failure { error: error.to_string(), host: crate::run::host_name(), step, unix: crate::run::unix_now() };
    write_json(&dir.join(FAILED_FILE), &f)
}

/// The state of one planned run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// No folder yet.
    Pending,
    /// A process holds the run's lock.
    Running { holder: String, step: u64 },
    /// Trained to the plan's step budget.
    Done { step: u64 },
    /// Its losses became NaN or infinite at this step (a result, not retried).
    Diverged { step: u64 },
    /// The worker reported an error; a re-run retries it.
    Failed { error: String, step: u64 },
    /// Stopped short of the budget without an error (killed, out of time): a re-run resumes it.
    Unfinished { step: u64 },
}

impl RunState {
    /// `done`, `running`, `diverged`, `failed`, `unfinished` or `pending`.
    pub fn name(&self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running { .. } => "running",
            RunState::Done { .. } => "done",
            RunState::Diverged { .. } => "diverged",
            RunState::Failed { .. } => "failed",
            RunState::Unfinished { .. } => "unfinished",
        }
    }

    /// True when a worker has nothing (more) to do for this run.
    pub fn is_finished(&self) -> bool {
        matches!(self, RunState::Done { .. } | RunState::Diverged { .. })
    }

    /// True when an executor should start a worker for this run: not finished, and not held by
    /// a process right now.
    pub fn needs_training(&self) -> bool {
        !self.is_finished() && !matches!(self, RunState::Running { .. })
    }

    /// Steps recorded so far.
    pub fn step(&self) -> u64 {
        match self {
            RunState::Pending => 0,
            RunState::Running { step, .. } | RunState::Done { step } | RunState::Diverged { step } | RunState::Failed { step, .. } | RunState::Unfinished { step } => *step,
        }
    }

    /// One line for a status table, for a run with `budget`.
    pub fn detail(&self, budget: &RunBudget) -> String {
        let at = |step: &u64| match budget {
            RunBudget::Steps(n) => format!("step {step}/{n}"),
            RunBudget::TrainSeconds { .. } => format!("step {step} of {}", budget.describe()),
        };
        match self {
            RunState::Pending => String::new(),
            RunState::Running { holder, step } => format!("{holder}, {}", at(step)),
            RunState::Done { step } => format!("{step} steps"),
            RunState::Diverged { step } => format!("losses not finite at step {step}"),
            RunState::Failed { error, step } => format!("at step {step}: {error}"),
            RunState::Unfinished { step } => format!("stopped at {}; a re-run resumes it", at(step)),
        }
    }
}

/// Steps a run has on disk: its summary's count, or its newest complete checkpoint's.
fn steps_on_disk(run: &RunDir) -> (u64, Option<Summary>) {
    let summary = read_json::<Summary>(&run.summary_path()).ok();
    let checkpoint = run.latest_checkpoint().ok().flatten().map(|(s, _)| s).unwrap_or(0);
    (summary.as_ref().map_or(0, |s| s.steps).max(checkpoint), summary)
}

/// The state of `run` under `runs_dir`, against its budget.
pub fn run_state(runs_dir: &Path, run: &PlannedRun) -> RunState {
    let dir = run.dir(runs_dir);
    if !dir.is_dir() {
        return RunState::Pending;
    }
    let rd = RunDir { path: dir.clone() };
    let (step, summary) = steps_on_disk(&rd);
    if let Some(holder) = rd.lock_holder().filter(|h| h.alive) {
        return RunState::Running { holder: holder.to_string(), step };
    }
    if let Ok(f) = read_json::<Failure>(&dir.join(FAILED_FILE)) {
        return RunState::Failed { error: f.error, step: f.step.max(step) };
    }
    match summary {
        Some(s) if !s.finite => RunState::Diverged { step: s.steps },
        Some(s) if run.budget.is_spent(step, s.train_seconds) => RunState::Done { step },
        None if run.budget.is_spent(step, 0.0) => RunState::Done { step },
        _ => RunState::Unfinished { step },
    }
}

/// Counts per state, in a fixed order: `done 3, running 1, pending 4`.
pub fn counts<'a>(states: impl IntoIterator<Item = &'a RunState>) -> String {
    let names: Vec<&str> = states.into_iter().map(RunState::name).collect();
    let order = ["done", "diverged", "running", "unfinished", "failed", "pending"];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|name| {
            let n = names.iter().filter(|s| **s == *name).count();
            (n > 0).then(|| format!("{name} {n}"))
        })
        .collect();
    if parts.is_empty() {
        "no runs".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::SweepPlan;

    fn summary(steps: u64, finite: bool) -> Summary {
        Summary {
            steps, epochs: 0.1, images_seen: 10, train_seconds: 1.0, images_per_s: 10.0, d_loss: 1.0, g_loss: 1.0, d_real: 0.5, d_fake: 0.5, finite,
            last_sample: None, last_checkpoint: None, cost_usd: None, finished_unix: 0.0,
        }
    }

    #[test]
    fn states_come_from_the_run_folders() {
        let root = crate::test_scratch_dir("sweep_status");
        let _ = std::fs::remove_dir_all(&root);
        let plan: SweepPlan = serde_json::from_str(r#"{"name": "st", "base": "mlp-gan", "seeds": [0, 1, 2, 3, 4, 5], "steps": 20}"#).unwrap();
        let runs = plan.expand().unwrap();
        let make = |i: usize| {
            let d = runs[i].dir(&root);
            std::fs::create_dir_all(&d).unwrap();
            d
        };
        write_json(&make(1).join("summary.json"), &summary(20, true)).unwrap();
        write_json(&make(2).join("summary.json"), &summary(7, false)).unwrap();
        write_json(&make(3).join("summary.json"), &summary(10, true)).unwrap();
        record_failure(&make(4), "dataset not found", 0).unwrap();
        std::fs::write(make(5).join(".lock"), format!("{} {}", std::process::id(), crate::run::host_name())).unwrap();
        let states: Vec<RunState> = runs.iter().map(|r| run_state(&root, r)).collect();
        let names: Vec<&str> = states.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["pending", "done", "diverged", "unfinished", "failed", "running"]);
        assert_eq!(counts(&states), "done 1, diverged 1, running 1, unfinished 1, failed 1, pending 1");
        assert!(states[4].detail(&runs[4].budget).contains("dataset not found"));
        // A lock left by a process that is gone does not count as running.
        std::fs::write(runs[5].dir(&root).join(".lock"), format!("{} {}", u32::MAX - 1, crate::run::host_name())).unwrap();
        assert_eq!(run_state(&root, &runs[5]), RunState::Unfinished { step: 0 });
        // One held on another host is taken to be alive.
        std::fs::write(runs[5].dir(&root).join(".lock"), "12 node-7").unwrap();
        assert_eq!(run_state(&root, &runs[5]).detail(&runs[5].budget), "process 12 on node-7, step 0/20");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_time_budget_is_spent_when_the_summary_has_that_much_training_time() {
        let root = crate::test_scratch_dir("sweep_status_time");
        let _ = std::fs::remove_dir_all(&root);
        let plan: SweepPlan = serde_json::from_str(r#"{"name": "t", "base": "mlp-gan", "seeds": [0, 1], "budget": {"minutes": 1}, "eval_every": {"seconds": 20}}"#).unwrap();
        let runs = plan.expand().unwrap();
        assert_eq!(runs[0].budget, RunBudget::TrainSeconds { seconds: 60.0, eval_every: Some(20.0) });
        assert_eq!(runs[0].budget.stops(), [20.0, 40.0, 60.0]);
        for (run, (steps, seconds)) in runs.iter().zip([(500, 59.9), (900, 60.2)]) {
            std::fs::create_dir_all(run.dir(&root)).unwrap();
            write_json(&run.dir(&root).join("summary.json"), &Summary { train_seconds: seconds, ..summary(steps, true) }).unwrap();
        }
        let states: Vec<RunState> = runs.iter().map(|r| run_state(&root, r)).collect();
        assert_eq!(states, [RunState::Unfinished { step: 500 }, RunState::Done { step: 900 }]);
        assert_eq!(states[0].detail(&runs[0].budget), format!("stopped at step 500 of {} of training; a re-run resumes it", crate::run::format_duration(60.0)));
        let _ = std::fs::remove_dir_all(&root);
    }
}
