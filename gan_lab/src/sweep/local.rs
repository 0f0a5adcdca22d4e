//! The local executor: every run in its own worker process, N at a time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::status::{counts, record_failure, LOG_FILE};
use super::{plan_status, run_state, PlannedRun, RunState, SweepPlan};
use crate::error::{Error, Result};

/// How to run a sweep here.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Runs trained at once.
    pub workers: usize,
    /// CPU threads of each run.
    pub threads: usize,
    /// The `gan-lab` binary the workers run.
    pub exe: PathBuf,
    /// When raised (SIGTERM or Ctrl-C, see [`crate::signals::stop_on_signals`]): start no more
    /// runs and pass SIGTERM on, once, to the running workers, which stop with a checkpoint.
    pub stop: Arc<AtomicBool>,
}

fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The worker command for run `index`: `gan-lab sweep worker PLAN --runs-dir DIR --task I --threads T`.
pub fn worker_args(frozen_plan: &Path, runs_dir: &Path, index: usize, threads: usize) -> Vec<String> {
    vec![
        "sweep".into(),
        "worker".into(),
        frozen_plan.display().to_string(),
        "--runs-dir".into(),
        runs_dir.display().to_string(),
        "--task".into(),
        index.to_string(),
        "--threads".into(),
        threads.to_string(),
    ]
}

fn start(run: &PlannedRun, frozen_plan: &Path, runs_dir: &Path, opts: &LocalOptions) -> Result<Child> {
    let dir = run.dir(runs_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let log_path = dir.join(LOG_FILE);
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let _ = writeln!(log, "== local worker on {} at unix {:.0}", crate::run::host_name(), crate::run::unix_now());
    let err = log.try_clone().map_err(|e| Error::io(&log_path, e))?;
    let mut command = Command::new(&opts.exe);
    command.args(worker_args(frozen_plan, runs_dir, run.index, opts.threads)).stdin(Stdio::null()).stdout(log).stderr(err);
    // Its own process group: Ctrl-C in the terminal reaches only this executor, which passes one
    // SIGTERM on (a second signal would make the worker exit without its checkpoint).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().map_err(|e| Error::io(&opts.exe, e))
}

/// Asks a worker to stop cleanly.
fn terminate(child: &Child) {
    #[cfg(unix)]
    // SAFETY: kill with a pid we started and have not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    #[cfg(not(unix))]
    let _ = child;
}

/// The last non-empty line of a run's worker log (what to show when it failed).
fn last_log_line(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(LOG_FILE)).ok().and_then(|t| t.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_string)).unwrap_or_default()
}

/// Trains every run of the plan that is not finished or running elsewhere, `opts.workers` at a
/// time; a failed run does not stop the others. Returns every run's final state.
pub fn run_local(frozen_plan: &Path, plan: &SweepPlan, runs_dir: &Path, opts: &LocalOptions) -> Result<Vec<(PlannedRun, RunState)>> {
    let before = plan_status(plan, runs_dir)?;
    let todo: Vec<&PlannedRun> = before.iter().filter(|(_, s)| s.needs_training()).map(|(r, _)| r).collect();
    say(&format!(
        "sweep {}: {} runs ({}); {} to train here, {} at a time × {} threads; logs in <run>/{LOG_FILE}",
        plan.name,
        before.len(),
        counts(before.iter().map(|(_, s)| s)),
        todo.len(),
        opts.workers,
        opts.threads
    ));
    let started = Instant::now();
    let mut queue = todo.into_iter();
    let mut active: Vec<(Child, &PlannedRun, Instant)> = Vec::new();
    let mut finished = 0usize;
    let total = queue.len();
    let mut stopping = false;
    loop {
        if !stopping && opts.stop.load(Ordering::SeqCst) {
            stopping = true;
            let why = crate::signals::received().map_or("a stop request", |(_, name)| name);
            say(&format!("{why}: starting no more runs; the {} running stop at their next step with a checkpoint", active.len()));
            active.iter().for_each(|(child, _, _)| terminate(child));
            queue = Vec::new().into_iter();
        }
        while active.len() < opts.workers.max(1) {
            let Some(run) = queue.next() else { break };
            match start(run, frozen_plan, runs_dir, opts) {
                Ok(child) => {
                    say(&format!("started  {} ({}, seed {})", run.id, run.label(), run.seed));
                    active.push((child, run, Instant::now()));
                }
                Err(e) => {
                    finished += 1;
                    let _ = record_failure(&run.dir(runs_dir), &format!("could not start the worker: {e}"), 0);
                    say(&format!("[{finished}/{total}] failed   {}: could not start the worker: {e}", run.id));
                }
            }
        }
        if active.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut i = 0;
        while i < active.len() {
            match active[i].0.try_wait() {
                Ok(Some(exit)) => {
                    let (_, run, t0) = active.swap_remove(i);
                    finished += 1;
                    let state = run_state(runs_dir, run);
                    let mut detail = state.detail(&run.budget);
                    if !exit.success() && !matches!(state, RunState::Failed { .. }) {
                        detail = format!("worker exited with {exit}: {}", last_log_line(&run.dir(runs_dir)));
                    }
                    say(&format!("[{finished}/{total}] {:<8} {} in {:.1} s: {detail}", state.name(), run.id, t0.elapsed().as_secs_f64()));
                }
                Ok(None) => i += 1,
                Err(e) => return Err(Error::Other(format!("waiting for the worker of {}: {e}", active[i].1.id))),
            }
        }
    }
    let after = plan_status(plan, runs_dir)?;
    say(&format!("sweep {} finished in {:.1} s: {}", plan.name, started.elapsed().as_secs_f64(), counts(after.iter().map(|(_, s)| s))));
    Ok(after)
}
