//! The worker: trains one run of a plan to the plan's step budget (what both executors start).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::status::{record_failure, FAILED_FILE};
use super::{run_state, PlannedRun, RunBudget, RunState, SweepPlan, SweepRecord};
use crate::error::{Error, Result};
use crate::platform::{AnySession, BackendKind};
use crate::run::{format_duration, write_json, RunDir};

/// Creates the run's folder with its config (or checks the one there), then trains it from its
/// newest checkpoint (or from the start) up to the plan's budget. A finished run is left alone;
/// an error is also written to the run's `failed.json`. Raising `stop` (see
/// [`crate::signals::stop_on_signals`]) ends training after the step in progress with a checkpoint:
/// the run is then `Unfinished`, and a re-run continues it.
pub fn run_task(plan: &SweepPlan, runs_dir: &Path, index: usize, price_per_hour: Option<f64>, verbose: bool, stop: Option<Arc<AtomicBool>>) -> Result<RunState> {
    let runs = plan.expand()?;
    let n = runs.len();
    let run = runs.into_iter().nth(index).ok_or_else(|| Error::Other(format!("task {index} is out of range: plan '{}' has {n} runs (0–{})", plan.name, n.saturating_sub(1))))?;
    let state = run_state(runs_dir, &run);
    if state.is_finished() {
        println!("{}: {} ({}), nothing to do", run.id, state.name(), state.detail(&run.budget));
        return Ok(state);
    }
    let dir = run.dir(runs_dir);
    let result = match train(plan, &run, &dir, price_per_hour, verbose, stop) {
        // A diverged run is a result (its summary says so), not a failure to retry.
        Err(Error::Diverged { step, what }) => {
            println!("{}: diverged at step {step} ({what})", run.id);
            Ok(RunState::Diverged { step })
        }
        other => other,
    };
    if let Err(e) = &result {
        if dir.is_dir() {
            let step = run_state(runs_dir, &run).step();
            record_failure(&dir, &e.to_string(), step)?;
        }
    }
    result
}

fn train(plan: &SweepPlan, run: &PlannedRun, dir: &Path, price_per_hour: Option<f64>, verbose: bool, stop: Option<Arc<AtomicBool>>) -> Result<RunState> {
    let backend = BackendKind::parse(&run.backend)?;
    backend.check()?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let failed = dir.join(FAILED_FILE);
    if failed.exists() {
        std::fs::remove_file(&failed).map_err(|e| Error::io(&failed, e))?;
    }
    let rd = RunDir { path: dir.to_path_buf() };
    if rd.config_path().is_file() {
        let stored = rd.config()?;
        if stored.key() != run.config.key() {
            return Err(Error::bad_file(rd.config_path(), format!("holds another configuration (key {}) than run {} of the plan (key {})", stored.key(), run.id, run.config.key())));
        }
    } else {
        rd.init(&run.config)?;
    }
    let record = dir.join("sweep.json");
    if !record.exists() {
        write_json(&record, &SweepRecord::new(plan, run))?;
    }
    let mut session = AnySession::open(rd, Some(backend), price_per_hour)?;
    session.set_verbose(verbose);
    if let Some(stop) = stop {
        session.set_stop_flag(stop);
    }
    let seconds = |s: &AnySession| s.summary().train_seconds;
    let spent = |s: &AnySession| run.budget.is_spent(s.step(), seconds(s));
    println!("{} ({}, {} seed {}): {}", run.id, run.label(), run.backend, run.seed, progress(&run.budget, session.step(), seconds(&session)));
    // One chunk to a step budget; to a time budget, one chunk to each evaluation time in turn
    // (each chunk ends with a checkpoint and an evaluation).
    while !spent(&session) {
        let report = match run.budget {
            RunBudget::Steps(n) => session.train_steps(n - session.step())?,
            RunBudget::TrainSeconds { .. } => {
                let now = seconds(&session);
                let next = run.budget.stops().into_iter().find(|t| *t > now).expect("a budget not spent has a stop ahead");
                session.train_until(next)?
            }
        };
        if report.interrupted {
            let why = crate::signals::received().map_or("a stop request", |(_, name)| name);
            println!("{}: stopped by {why} at {}; checkpoint written, a re-run continues it", run.id, progress(&run.budget, report.to_step, seconds(&session)));
            return Ok(RunState::Unfinished { step: report.to_step });
        }
        let s = session.summary();
        println!(
            "{}: {} steps, {} of training, {:.1} images/s | {}",
            run.id, report.to_step, format_duration(s.train_seconds), report.images_per_s, s.losses_text()
        );
    }
    let s = session.summary();
    Ok(if s.finite { RunState::Done { step: s.steps } } else { RunState::Diverged { step: s.steps } })
}

/// `step 10 of 20`, or `step 300, 1m0s of 10m0s of training` for a time budget.
fn progress(budget: &RunBudget, step: u64, seconds: f64) -> String {
    match budget {
        RunBudget::Steps(n) => format!("step {step} of {n}"),
        RunBudget::TrainSeconds { .. } => format!("step {step}, {} of {}", format_duration(seconds), budget.describe()),
    }
}
