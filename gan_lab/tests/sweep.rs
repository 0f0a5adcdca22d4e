//! The local sweep executor end to end, through the `gan-lab` binary: a 4-run quick plan trained
//! 2 at a time, a re-run that skips it, a raised budget that resumes it, a failed run that does not
//! stop the others.


use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gan_lab::run::{read_json, RunTable, Summary};
use gan_lab::sweep::{plan_status, RunState, SweepPlan};

fn gan_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-lab")).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn scratch(name: &str) -> PathBuf {
    let dir = gan_lab::test_scratch_dir(&format!("sweep_{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_plan(dir: &Path, steps: u64, extra_axis: &str) -> PathBuf {
    let plan = format!(
        r#"{{
  "name": "it",
  "base": "mlp-gan",
  "set": {{"data.limit": 640, "train.log_every": 5, "train.sample_every": 10, "train.checkpoint_every": 10, "train.eval_samples": 0}},
  "axes": {{"optimizer": ["sgd", "adam"]{extra_axis}}},
  "seeds": [0, 1],
  "steps": {steps}
}}"#
    );
    let path = dir.join("plan.json");
    std::fs::write(&path, plan).unwrap();
    path
}

fn str_path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_local_sweep_trains_every_run_once_and_resumes_when_the_budget_grows() {
    let dir = scratch("local");
    let runs = dir.join("runs");
    let plan_path = write_plan(&dir, 10, "");
    let out = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("4 runs (pending 4); 4 to train here, 2 at a time × 1 threads"), "{log}");
    assert!(log.contains("finished in") && log.contains(": done 4"), "{log}");

    let plan = SweepPlan::from_json_file(&plan_path).unwrap();
    for (run, state) in plan_status(&plan, &runs).unwrap() {
        assert_eq!(state, RunState::Done { step: 10 }, "{}", run.id);
        let dir = run.dir(&runs);
        for f in ["config.json", "sweep.json", "summary.json", "metrics.parquet", "worker.log"] {
            assert!(dir.join(f).is_file(), "{} has no {f}", dir.display());
        }
        assert!(!dir.join(".lock").exists());
    }

    // The same plan again: nothing to train.
    let again = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    assert!(again.status.success() && text(&again).contains("(done 4); 0 to train here"), "{}", text(&again));

    // A larger budget keeps the run ids and continues each run from its checkpoint.
    let plan_path = write_plan(&dir, 20, "");
    let more = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    assert!(more.status.success(), "{}", text(&more));
    assert!(text(&more).contains("(unfinished 4); 4 to train here"), "{}", text(&more));
    let plan = SweepPlan::from_json_file(&plan_path).unwrap();
    for (run, state) in plan_status(&plan, &runs).unwrap() {
        assert_eq!(state, RunState::Done { step: 20 }, "{}", run.id);
        let worker_log = std::fs::read_to_string(run.dir(&runs).join("worker.log")).unwrap();
        assert!(worker_log.contains("step 10 of 20"), "{worker_log}");
    }
    assert_eq!(std::fs::read_dir(&runs).unwrap().filter(|e| e.as_ref().unwrap().path().join("config.json").is_file()).count(), 4);

    // One row per run, one group per optimiser with both seeds.
    let table = RunTable::load(&runs).unwrap();
    assert_eq!(table.len(), 4);
    let grouped = table.group_by(&["config"]).unwrap();
    assert_eq!(grouped.len(), 2);
    let printed = text(&gan_lab(&["runs", str_path(&runs), "--group-by", "config"]));
    assert!(printed.starts_with("4 runs in 2 groups"), "{printed}");
    assert!(printed.contains("it-adam") && printed.contains("it-sgd") && printed.contains("0,1"), "{printed}");

    let status = text(&gan_lab(&["sweep", "status", str_path(&plan_path), "--runs-dir", str_path(&runs)]));
    assert!(status.ends_with("sweep it: 4 runs: done 4\n"), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_run_does_not_stop_the_others_and_is_retried_by_a_re_run() {
    let dir = scratch("failed");
    let runs = dir.join("runs");
    let missing = dir.join("later-images.idx.gz");
    let plan_path = write_plan(&dir, 5, &format!(r#", "dataset": ["mnist10k", "{}"]"#, missing.display()));
    let out = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("done 4, failed 4"), "{log}");
    assert!(log.contains("4 of 8 runs did not finish; run the same command again to retry them"), "{log}");
    assert!(log.contains("unknown dataset") && log.contains("later-images.idx.gz"), "{log}");
    let plan = SweepPlan::from_json_file(&plan_path).unwrap();
    let failed: Vec<_> = plan_status(&plan, &runs).unwrap().into_iter().filter(|(_, s)| s.name() == "failed").collect();
    assert_eq!(failed.len(), 4);
    assert!(failed[0].1.detail(&failed[0].0.budget).contains("unknown dataset"), "{:?}", failed[0].1);

    // The file arrives; the same command trains only the four that failed.
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/mnist10k/mnist10k-images-idx3-ubyte.gz"), &missing).unwrap();
    let again = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    let log = text(&again);
    assert!(again.status.success(), "{log}");
    assert!(log.contains("8 runs (done 4, failed 4); 4 to train here") && log.contains(": done 8"), "{log}");
    assert!(plan_status(&plan, &runs).unwrap().iter().all(|(r, _)| !r.dir(&runs).join("failed.json").exists()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_worker_names_a_task_outside_the_plan() {
    let dir = scratch("range");
    let plan_path = write_plan(&dir, 5, "");
    let out = gan_lab(&["sweep", "worker", str_path(&plan_path), "--runs-dir", str_path(&dir.join("runs")), "--task", "9"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("task 9 is out of range: plan 'it' has 4 runs (0–3)"), "{}", text(&out));
    let none = gan_lab(&["sweep", str_path(&plan_path)]);
    assert!(text(&none).contains("say where to train: --local N"), "{}", text(&none));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unfinished_run_left_by_a_killed_worker_resumes_from_its_checkpoint() {
    let dir = scratch("killed");
    let runs = dir.join("runs");
    let plan_path = write_plan(&dir, 10, "");
    let plan = SweepPlan::from_json_file(&plan_path).unwrap();
    // Train task 0 for its first 10 steps, then pretend a worker died during a 20-step budget:
    // a stale lock of a process that no longer exists and no newer summary.
    let first = gan_lab(&["sweep", "worker", str_path(&plan_path), "--runs-dir", str_path(&runs), "--task", "0", "--threads", "1", "--quiet"]);
    assert!(first.status.success(), "{}", text(&first));
    let run0 = plan.expand().unwrap().remove(0);
    std::fs::write(run0.dir(&runs).join(".lock"), format!("{} {}", u32::MAX - 3, gan_lab::run::host_name())).unwrap();
    let plan_path = write_plan(&dir, 20, "");
    let status = text(&gan_lab(&["sweep", "status", str_path(&plan_path), "--runs-dir", str_path(&runs)]));
    assert!(status.contains("stopped at step 10/20; a re-run resumes it") && status.ends_with("unfinished 1, pending 3\n"), "{status}");
    let worker = gan_lab(&["sweep", "worker", str_path(&plan_path), "--runs-dir", str_path(&runs), "--task", "0", "--threads", "1", "--quiet"]);
    assert!(worker.status.success(), "{}", text(&worker));
    let summary: Summary = read_json(&run0.dir(&runs).join("summary.json")).unwrap();
    assert_eq!(summary.steps, 20);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_stops_a_local_sweep_with_checkpoints_and_leaves_its_runs_to_a_re_run() {
    let dir = scratch("sigint");
    let runs = dir.join("runs");
    let plan_path = write_plan(&dir, 1_000_000, "");
    let plan = SweepPlan::from_json_file(&plan_path).unwrap();
    let executor = Command::new(env!("CARGO_BIN_EXE_gan-lab"))
        .args(["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both workers train (a progress line in each log), then Ctrl-C the executor.
    let training = |i: usize| std::fs::read_to_string(plan.expand().unwrap()[i].dir(&runs).join("worker.log")).is_ok_and(|l| l.contains("step 5/"));
    let t0 = std::time::Instant::now();
    while !(training(0) && training(1)) {
        assert!(t0.elapsed().as_secs() < 120, "the workers did not start training");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill with the pid of a child we have not reaped.
    unsafe { libc::kill(executor.id() as libc::pid_t, libc::SIGINT) };
    let t0 = std::time::Instant::now();
    let out = executor.wait_with_output().unwrap();
    let log = text(&out);
    assert!(t0.elapsed().as_secs() < 30, "{log}");
    assert_eq!(out.status.code(), Some(130), "{log}");
    assert!(log.contains("SIGINT: starting no more runs; the 2 running stop at their next step with a checkpoint"), "{log}");
    let states = plan_status(&plan, &runs).unwrap();
    for (run, state) in &states[..2] {
        let RunState::Unfinished { step } = state else { panic!("{}: {state:?}", run.id) };
        let worker_log = std::fs::read_to_string(run.dir(&runs).join("worker.log")).unwrap();
        assert!(worker_log.contains(&format!("{}: stopped by SIGTERM at step {step} of 1000000; checkpoint written, a re-run continues it", run.id)), "{worker_log}");
        assert!(!run.dir(&runs).join(".lock").exists());
    }
    assert!(states[2..].iter().all(|(_, s)| *s == RunState::Pending), "{states:?}");
    let status = text(&gan_lab(&["sweep", "status", str_path(&plan_path), "--runs-dir", str_path(&runs)]));
    assert!(status.contains("a re-run resumes it") && status.ends_with("unfinished 2, pending 2\n"), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A time budget through the real binary: every run trains until its training time reaches the
/// budget, ending a chunk (checkpoint and evaluation) at each `eval_every` on the way, so every
/// run is evaluated at the same training times whatever its batch size; the answer table and time
/// to quality read those runs.
#[test]
fn a_time_budget_evaluates_every_run_at_the_same_training_times() {
    let dir = scratch("time_budget");
    let runs = dir.join("runs");
    let plan_path = dir.join("plan.json");
    std::fs::write(
        &plan_path,
        r#"{
  "name": "tb",
  "base": "mlp-gan",
  "set": {"data.limit": 640, "train.log_every": 5, "train.eval_samples": 64},
  "axes": {"batch_size": [16, 64]},
  "seeds": [0, 1],
  "budget": {"seconds": 1.5},
  "eval_every": {"seconds": 0.5}
}"#,
    )
    .unwrap();
    let out = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    let log = text(&out);
    assert!(out.status.success() && log.contains(": done 4"), "{log}");
    let plan = SweepPlan::from_json_file(&plan_path).unwrap();
    for (run, state) in plan_status(&plan, &runs).unwrap() {
        assert!(matches!(state, RunState::Done { .. }), "{}: {state:?}", run.id);
        let summary: Summary = read_json(&run.dir(&runs).join("summary.json")).unwrap();
        assert!(summary.train_seconds >= 1.5, "{}: {} s", run.id, summary.train_seconds);
    }
    let table = RunTable::load(&runs).unwrap();
    for curve in table.quality_curves("fld", gan_lab::run::Progress::TrainSeconds).unwrap() {
        let at: Vec<f64> = curve.points.iter().map(|p| p.x).collect();
        assert_eq!((at.len(), curve.points.iter().map(|p| p.runs).collect::<Vec<_>>()), (3, vec![2, 2, 2]), "{}: {:?}", curve.label, curve.points);
        // Each chunk ends after the step that crosses its time: within a step of 0.5, 1.0, 1.5 s.
        for (x, want) in at.iter().zip([0.5, 1.0, 1.5]) {
            assert!(*x >= want && *x < want + 0.5, "{}: evaluated at {at:?}", curve.label);
        }
    }
    let again = gan_lab(&["sweep", str_path(&plan_path), "--runs-dir", str_path(&runs), "--local", "2", "--threads", "1"]);
    assert!(text(&again).contains("0 to train here"), "{}", text(&again));
    let answers = gan_lab(&["runs", str_path(&runs), "--baseline", "batch_size=64", "--metric", "images_per_s"]);
    assert!(answers.status.success() && text(&answers).contains("batch_size") && text(&answers).contains("images_per_s: each value against the baseline"), "{}", text(&answers));
}
