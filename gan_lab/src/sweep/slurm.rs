//! The Slurm executor: one sbatch array task per run, each running the same worker command as
//! the local executor. The runs folder, the frozen plan and the `gan-lab` binary must be on a
//! filesystem every node sees (EFS or FSx for Lustre on AWS ParallelCluster).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::local::worker_args;
use super::status::LOG_FILE;
use super::{PlannedRun, SweepPlan};
use crate::error::{Error, Result};

/// How to submit a sweep.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// CPU threads (and `--cpus-per-task`) of each run.
    pub threads: usize,
    /// The `gan-lab` binary the tasks run (a path every node sees).
    pub exe: PathBuf,
    /// At most this many tasks at once (the array's `%N`).
    pub max_parallel: Option<usize>,
    /// Extra sbatch options, one `#SBATCH` line each (e.g. `--partition=cpu`, `--time=2:00:00`).
    pub extra: Vec<String>,
}

/// `'text'` for bash, with embedded single quotes escaped.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Array indices as ranges: `0-3,5,7-9`.
pub fn array_spec(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { sorted[i].to_string() } else { format!("{}-{}", sorted[i], sorted[j]) });
        i = j + 1;
    }
    parts.join(",")
}

/// Checks what goes into an `#SBATCH` line unquoted: one line (a newline would add lines of its
/// own to the script), and for the log path no `%` (Slurm expands `%j`, `%A`, … in file names) and
/// no white space (sbatch splits the line there).
fn sbatch_value(what: &str, value: &str, is_path: bool) -> Result<()> {
    let bad = |c: char| c.is_control() || (is_path && (c == '%' || c.is_whitespace()));
    match value.chars().find(|&c| bad(c)) {
        Some(c) => Err(Error::Other(format!("{what} {value:?} cannot go into an #SBATCH line: it holds {c:?}"))),
        None => Ok(()),
    }
}

/// The sbatch script for the runs `todo` (indices into `all`, the plan's expansion). An error when
/// an `--slurm-arg` or the sweep folder cannot be written into an `#SBATCH` line as it is.
pub fn sbatch_script(frozen_plan: &Path, plan: &SweepPlan, all: &[PlannedRun], todo: &[usize], runs_dir: &Path, opts: &SlurmOptions) -> Result<String> {
    let sweep_dir = frozen_plan.parent().unwrap_or(runs_dir);
    sbatch_value("the sweep folder", &sweep_dir.display().to_string(), true)?;
    for e in &opts.extra {
        sbatch_value("--slurm-arg", e, false)?;
        if !e.starts_with('-') {
            return Err(Error::Other(format!("--slurm-arg {e:?} is not an sbatch option (they start with '-', e.g. --partition=cpu)")));
        }
    }
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name=gan-lab-{}\n", plan.name);
    s += &format!("#SBATCH --array={}{}\n", array_spec(todo), opts.max_parallel.map(|m| format!("%{m}")).unwrap_or_default());
    s += &format!("#SBATCH --cpus-per-task={}\n", opts.threads);
    s += "#SBATCH --ntasks=1\n";
    // SIGTERM to the worker (the batch shell execs it) 2 minutes before the time limit: it stops
    // after the step in progress with a checkpoint, and the next submission continues the run.
    if !opts.extra.iter().any(|e| e.starts_with("--signal")) {
        s += "#SBATCH --signal=B:TERM@120\n";
    }
    s += &format!("#SBATCH --output={}\n", sweep_dir.join("slurm-%A_%a.out").display());
    for e in &opts.extra {
        s += &format!("#SBATCH {e}\n");
    }
    s += &format!(
        "# Written by `gan-lab sweep --slurm`: one array task per run of plan '{}' ({} runs, {} submitted).\n\
         # Every task runs the worker command that `--local` runs and appends its output to\n\
         # <run folder>/{LOG_FILE}; `gan-lab sweep status` reads the run folders, not the queue.\n",
        plan.name,
        all.len(),
        todo.len()
    );
    s += "set -euo pipefail\n";
    s += "ids=(\n";
    for r in all {
        s += &format!("  {}\n", shell_quote(&r.id));
    }
    s += ")\n";
    s += &format!("runs_dir={}\n", shell_quote(&runs_dir.display().to_string()));
    s += "dir=\"$runs_dir/${ids[$SLURM_ARRAY_TASK_ID]}\"\n";
    s += "mkdir -p \"$dir\"\n";
    s += &format!(
        "echo \"== slurm job ${{SLURM_ARRAY_JOB_ID:-?}} task $SLURM_ARRAY_TASK_ID on $(hostname) at $(date -u +%FT%TZ)\" >> \"$dir/{LOG_FILE}\"\n"
    );
    let mut args = worker_args(frozen_plan, runs_dir, 0, opts.threads);
    let task = args.iter().position(|a| a == "--task").expect("worker args have --task") + 1;
    args[task] = "\"$SLURM_ARRAY_TASK_ID\"".into();
    let quoted: Vec<String> = args.iter().map(|a| if a.starts_with('"') { a.clone() } else { shell_quote(a) }).collect();
    s += &format!("exec {} {} >> \"$dir/{LOG_FILE}\" 2>&1\n", shell_quote(&opts.exe.display().to_string()), quoted.join(" "));
    Ok(s)
}

/// Submits a batch script with `sbatch --parsable`; returns the job id.
pub fn submit(script: &Path) -> Result<String> {
    let out = Command::new("sbatch").arg("--parsable").arg(script).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Other("sbatch not found on PATH: --slurm runs on a Slurm login node (or write the script with --dry-run, or use --local N)".into())
        } else {
            Error::io(script, e)
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Other(format!("sbatch failed ({}): {}", out.status, err.trim().replace('\n', " | "))));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() {
        return Err(Error::Other(format!("sbatch printed no job id (stdout: '{}')", text.trim())));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_indices_collapse_into_ranges() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
        assert_eq!(array_spec(&[4]), "4");
        assert_eq!(array_spec(&[2, 1, 1]), "1-2");
    }

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(shell_quote("/shared/runs"), "/shared/runs");
        assert_eq!(shell_quote("/my runs/it's"), r"'/my runs/it'\''s'");
    }

    #[test]
    fn the_script_runs_one_task_per_unfinished_run_with_the_worker_command() {
        let plan: SweepPlan = serde_json::from_str(r#"{"name": "sl", "base": "mlp-gan", "seeds": [0, 1, 2], "steps": 10}"#).unwrap();
        let all = plan.expand().unwrap();
        let opts = SlurmOptions { threads: 2, exe: "/shared/bin/gan-lab".into(), max_parallel: Some(2), extra: vec!["--partition=cpu".into()] };
        let script = sbatch_script(Path::new("/shared/runs/.sweeps/sl-x/plan.json"), &plan, &all, &[0, 2], Path::new("/shared/runs"), &opts).unwrap();
        assert!(script.starts_with("#!/bin/bash\n#SBATCH --job-name=gan-lab-sl\n#SBATCH --array=0,2%2\n#SBATCH --cpus-per-task=2\n#SBATCH --ntasks=1\n#SBATCH --signal=B:TERM@120\n"), "{script}");
        assert!(script.contains("#SBATCH --output=/shared/runs/.sweeps/sl-x/slurm-%A_%a.out\n#SBATCH --partition=cpu\n"), "{script}");
        assert!(script.contains(&format!("  {}\n", all[1].id)), "every id is listed so task numbers stay plan indices");
        assert!(
            script.contains("exec /shared/bin/gan-lab sweep worker /shared/runs/.sweeps/sl-x/plan.json --runs-dir /shared/runs --task \"$SLURM_ARRAY_TASK_ID\" --threads 2 >> \"$dir/worker.log\" 2>&1\n"),
            "{script}"
        );
    }

    #[test]
    fn values_that_would_change_the_script_are_refused() {
        let plan: SweepPlan = serde_json::from_str(r#"{"name": "sl", "base": "mlp-gan", "seeds": [0], "steps": 10}"#).unwrap();
        let all = plan.expand().unwrap();
        let script = |extra: &str, sweep_dir: &str| {
            let opts = SlurmOptions { threads: 2, exe: "/shared/bin/gan-lab".into(), max_parallel: None, extra: vec![extra.into()] };
            let frozen = Path::new(sweep_dir).join("plan.json");
            sbatch_script(&frozen, &plan, &all, &[0], Path::new("/shared/runs"), &opts).map(|_| ()).map_err(|e| e.to_string())
        };
        assert_eq!(script("--partition=cpu", "/shared/runs/.sweeps/sl").err(), None);
        assert_eq!(
            script("--partition=cpu\nrm -rf ~", "/shared/runs/.sweeps/sl").unwrap_err(),
            "--slurm-arg \"--partition=cpu\\nrm -rf ~\" cannot go into an #SBATCH line: it holds '\\n'"
        );
        assert!(script("partition=cpu", "/shared/runs/.sweeps/sl").unwrap_err().contains("is not an sbatch option"));
        assert!(script("-p cpu", "/shared/100%/.sweeps/sl").unwrap_err().contains("it holds '%'"));
        assert!(script("-p cpu", "/shared/my runs/.sweeps/sl").unwrap_err().contains("it holds ' '"));
    }
}
