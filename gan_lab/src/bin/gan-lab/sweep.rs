//! `gan-lab sweep`: list, run here or submit to Slurm a plan's runs, and their status.

use crate::args::{SweepAction, SweepArgs};
use crate::{price, set_threads};
use gan_lab::{Error, Result};

pub fn sweep(args: SweepArgs) -> Result<()> {
    use gan_lab::sweep::{self, local, slurm, status, SweepPlan};
    let runs_dir = sweep::absolute(&args.dir.runs_dir)?;
    let plan_path = match args.action {
        Some(SweepAction::Status { plan, dir }) => return sweep_status(&plan, &sweep::absolute(&dir.runs_dir)?),
        Some(SweepAction::Worker { plan, dir, task, process }) => {
            set_threads(process.threads)?;
            let plan = SweepPlan::from_json_file(&plan)?;
            let stop = gan_lab::signals::stop_on_signals();
            let state = sweep::worker::run_task(&plan, &sweep::absolute(&dir.runs_dir)?, task, price(&process.price_per_hour)?, !process.quiet, Some(stop))?;
            println!("state: {}", state.name());
            return Ok(());
        }
        None => args.plan.expect("clap requires the plan"),
    };
    let plan = SweepPlan::from_json_file(&plan_path)?;
    plan.validate()?;
    if args.list {
        for r in plan.expand()? {
            println!("{:>4}  {}  ({}, {}, seed {}, {})", r.index, r.id, r.label(), r.backend, r.seed, r.budget.describe());
        }
        return Ok(());
    }
    let exe = match args.exe {
        Some(p) => sweep::absolute(&p)?,
        None => std::env::current_exe().map_err(|e| Error::Other(format!("cannot find this program's path: {e}")))?,
    };
    match (args.local, args.slurm) {
        (Some(0), _) => Err(Error::Other("--local must be ≥ 1, got 0".into())),
        (Some(workers), _) => {
            let cores = gan_lab::platform::logical_cores();
            let threads = args.threads.unwrap_or((cores / workers).max(1));
            if threads == 0 {
                return Err(Error::Other("--threads must be ≥ 1, got 0".into()));
            }
            if workers * threads > cores {
                return Err(Error::Other(format!(
                    "--local {workers} × {threads} threads = {} threads on {} cores would oversubscribe them: lower --local or --threads",
                    workers * threads,
                    cores
                )));
            }
            let frozen = sweep::freeze(&plan, &runs_dir)?;
            let states = local::run_local(&frozen, &plan, &runs_dir, &local::LocalOptions { workers, threads, exe, stop: gan_lab::signals::stop_on_signals() })?;
            let failed: Vec<_> = states.iter().filter(|(_, s)| matches!(s, sweep::RunState::Failed { .. } | sweep::RunState::Unfinished { .. })).collect();
            for (r, s) in &failed {
                eprintln!("{} {}: {} (log: {})", s.name(), r.id, s.detail(&r.budget), r.dir(&runs_dir).join(status::LOG_FILE).display());
            }
            println!("table: gan-lab runs {} --group-by config", args.dir.runs_dir.display());
            if failed.is_empty() {
                Ok(())
            } else {
                Err(Error::Other(format!("{} of {} runs did not finish; run the same command again to retry them", failed.len(), states.len())))
            }
        }
        (None, true) => {
            let threads = args.threads.unwrap_or(2);
            if threads == 0 {
                return Err(Error::Other("--threads must be ≥ 1, got 0".into()));
            }
            let frozen = sweep::freeze(&plan, &runs_dir)?;
            let all = sweep::plan_status(&plan, &runs_dir)?;
            let todo: Vec<usize> = all.iter().filter(|(_, s)| s.needs_training()).map(|(r, _)| r.index).collect();
            if todo.is_empty() {
                println!("sweep {}: nothing to submit ({})", plan.name, status::counts(all.iter().map(|(_, s)| s)));
                return Ok(());
            }
            let runs: Vec<_> = all.into_iter().map(|(r, _)| r).collect();
            let opts = slurm::SlurmOptions { threads, exe, max_parallel: args.max_parallel, extra: args.slurm_args };
            let script = slurm::sbatch_script(&frozen, &plan, &runs, &todo, &runs_dir, &opts)?;
            let script_path = frozen.with_file_name(format!("submit-{}.sbatch", gan_lab::run::utc_stamp(gan_lab::run::unix_now() as u64)));
            gan_lab::run::write_atomic(&script_path, script.as_bytes())?;
            if args.dry_run {
                println!("wrote {} ({} tasks); submit it with: sbatch {}", script_path.display(), todo.len(), script_path.display());
                return Ok(());
            }
            let job = slurm::submit(&script_path)?;
            println!("submitted Slurm job {job}: {} tasks of sweep {} ({})", todo.len(), plan.name, script_path.display());
            println!("follow it with: gan-lab sweep status {} --runs-dir {}", plan_path.display(), args.dir.runs_dir.display());
            Ok(())
        }
        (None, false) => Err(Error::Other("say where to train: --local N (here, N runs at a time) or --slurm (an sbatch array); --list shows the runs".into())),
    }
}

fn sweep_status(plan_path: &std::path::Path, runs_dir: &std::path::Path) -> Result<()> {
    let plan = gan_lab::sweep::SweepPlan::from_json_file(plan_path)?;
    let runs = gan_lab::sweep::plan_status(&plan, runs_dir)?;
    print!("{}", gan_lab::lab::SweepStatus { plan, runs });
    Ok(())
}
