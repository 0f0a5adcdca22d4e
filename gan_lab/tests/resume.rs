//! Nothing lost: resumed training is bit-identical to uninterrupted training, a kill -9 at any
//! moment leaves a run that opens, lists and resumes, and a changed configuration is refused.


use gan_lab::config::{preset, ExperimentConfig};
use gan_lab::platform::{AnySession, BackendKind};
use gan_lab::run::{MetricsRow, RunDir, RunTable};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn temp_root(name: &str) -> PathBuf {
    let dir = gan_lab::test_scratch_dir(&format!("resume_{name}"));
    dir
}

/// dcgan28 (BatchNorm + dropout + Adam) shrunk; checkpoints fall mid-way through a log interval.
fn small(name: &str) -> ExperimentConfig {
    let mut cfg = preset(name).unwrap();
    cfg.train.batch_size = 8;
    cfg.data.limit = Some(64);
    cfg.train.log_every = 3;
    cfg.train.sample_every = 4;
    cfg.train.checkpoint_every = 5;
    cfg.train.sample_count = 4;
    cfg
}

/// The rows without the timing columns, which legitimately differ.
fn numbers(rows: &[MetricsRow]) -> Vec<[f64; 7]> {
    rows.iter().map(|r| [r.step as f64, r.epoch, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.lr_g]).collect()
}

fn straight_versus_resumed(cfg: ExperimentConfig, first: u64, second: u64) {
    // One thread: flex splits parallel reductions by work stealing, so on a loaded machine two
    // multi-threaded runs can differ in the last bits whether or not they were resumed.
    rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| straight_versus_resumed_here(cfg, first, second))
}

fn straight_versus_resumed_here(cfg: ExperimentConfig, first: u64, second: u64) {
    let preset_name = cfg.name.clone();
    let root = temp_root(&preset_name);

    let straight_dir = RunDir::create(&root, &cfg).unwrap();
    let mut straight = AnySession::new(cfg.clone(), BackendKind::Flex, None, Some(straight_dir)).unwrap();
    straight.set_verbose(false);
    straight.train_steps(first + second).unwrap();

    let resumed_dir = RunDir::create(&root, &cfg).unwrap();
    let mut part = AnySession::new(cfg.clone(), BackendKind::Flex, None, Some(resumed_dir.clone())).unwrap();
    part.set_verbose(false);
    part.train_steps(first).unwrap();
    drop(part);
    let mut resumed = AnySession::open(resumed_dir, Some(BackendKind::Flex), None).unwrap();
    resumed.set_verbose(false);
    assert_eq!(resumed.step(), first);
    resumed.train_steps(second).unwrap();

    assert_eq!(numbers(straight.history()), numbers(resumed.history()), "{preset_name}: metric rows");
    let p = |rows: &[MetricsRow]| rows.iter().map(|r| r.augment_p).collect::<Vec<f64>>();
    assert_eq!(p(straight.history()), p(resumed.history()), "{preset_name}: augmentation p");
    let on_disk = resumed.run_dir().expect("recording").metrics().unwrap();
    assert_eq!(numbers(&on_disk), numbers(resumed.history()), "{preset_name}: the run's log holds every row once");
    assert!(!straight.history().is_empty());
    let (sg, sd) = straight.parameters();
    let (rg, rd) = resumed.parameters();
    assert!(sg == rg && sd == rd, "{preset_name}: weights differ after resume");
    assert_eq!(straight.fixed_samples().unwrap(), resumed.fixed_samples().unwrap(), "{preset_name}: samples");
    let (_, latest) = resumed.run_dir().unwrap().latest_checkpoint().unwrap().unwrap();
    assert_eq!(latest.join("generator_ema.mpk").is_file(), cfg.train.g_ema.is_some(), "{preset_name}: the average's file");
}

#[test]
fn resuming_a_dcgan_is_bit_identical_to_training_straight_through() {
    straight_versus_resumed(small("dcgan28"), 7, 6);
}

#[test]
fn resuming_the_wgan_critic_is_bit_identical_to_training_straight_through() {
    // RMSprop state, five critic steps per step and weight clipping after each
    straight_versus_resumed(small("wgan-clip-mlp"), 4, 5);
}

#[test]
fn resuming_a_spectrally_normalised_critic_is_bit_identical_to_training_straight_through() {
    // the power-iteration vectors are running state: checkpointed and compared with the weights
    straight_versus_resumed(small("hinge-sn-dcgan28"), 6, 5);
}

#[test]
fn resuming_a_gradient_penalised_critic_is_bit_identical_to_training_straight_through() {
    // WGAN-GP draws each image's ε from the training noise stream, which the checkpoint keeps
    straight_versus_resumed(small("wgan-gp-dcgan28"), 4, 3);
}

#[test]
fn resuming_with_a_generator_average_is_bit_identical_to_training_straight_through() {
    // the average starts after 3 updates, before the first checkpoint; samples come from it
    let mut cfg = small("dcgan28");
    cfg.name = "dcgan28-ema".into();
    cfg.train.g_ema = Some(gan_lab::config::GeneratorEma { decay: 0.9, start_step: 3 });
    straight_versus_resumed(cfg, 6, 5);
}

#[test]
fn resuming_with_adaptive_augmentation_is_bit_identical_to_training_straight_through() {
    // p moves every 2 steps by 8·2/80 = 0.2, so it changes before and after the checkpoint at step
    // 5, which falls inside an ADA interval (its running sign sum is checkpointed)
    let mut cfg = small("dcgan28");
    cfg.name = "dcgan28-ada".into();
    cfg.discriminator.augment = Some(gan_lab::config::AugmentConfig {
        policy: vec![gan_lab::config::AugmentOp::Color, gan_lab::config::AugmentOp::Translation, gan_lab::config::AugmentOp::Cutout],
        p: gan_lab::config::AugmentProbability::Adaptive { target: 0.6, images_to_full: 80, interval: 2 },
    });
    straight_versus_resumed(cfg, 5, 6);
}

#[test]
fn resuming_the_sgd_maxout_gan_is_bit_identical_to_training_straight_through() {
    straight_versus_resumed(small("goodfellow2014-mnist"), 5, 7);
}

#[test]
fn a_checkpoint_of_another_configuration_is_refused_naming_the_changed_fields() {
    let root = temp_root("changed");
    let cfg = small("mlp-gan");
    let run = RunDir::create(&root, &cfg).unwrap();
    let mut s = AnySession::new(cfg.clone(), BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(5).unwrap();
    drop(s);
    let mut changed = cfg.clone();
    changed.train.batch_size = 16;
    changed.seed = 9;
    std::fs::write(run.config_path(), changed.to_json()).unwrap();
    let err = AnySession::open(run, Some(BackendKind::Flex), None).err().unwrap().to_string();
    assert!(err.contains("another configuration") && err.contains("seed, train.batch_size"), "{err}");
}

#[test]
fn a_truncated_checkpoint_file_is_an_error_naming_it() {
    let root = temp_root("truncated");
    let cfg = small("mlp-gan");
    let run = RunDir::create(&root, &cfg).unwrap();
    let mut s = AnySession::new(cfg, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(5).unwrap();
    drop(s);
    let g = run.checkpoint_dir(5).join("generator.mpk");
    let bytes = std::fs::read(&g).unwrap();
    std::fs::write(&g, &bytes[..bytes.len() / 2]).unwrap();
    let err = AnySession::open(run, Some(BackendKind::Flex), None).err().unwrap().to_string();
    assert!(err.contains("generator.mpk") && err.contains(&format!("{} bytes, the checkpoint recorded {}", bytes.len() / 2, bytes.len())), "{err}");
    assert!(err.contains("no checkpoint verifies"), "{err}");
}

/// A tiny deterministic generator of kill delays.
fn delays(n: usize) -> Vec<Duration> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(150 + x % 2200)
        })
        .collect()
}

#[test]
fn kill_9_at_random_moments_leaves_runs_that_open_list_and_resume() {
    let root = temp_root("kill");
    let runs = root.join("runs");
    let bin = env!("CARGO_BIN_EXE_gan-lab");
    let trials = delays(12);
    for delay in &trials {
        let mut child = Command::new(bin)
            .args(["train", "--preset", "mlp-gan", "--set", "data.limit=256", "--set", "train.batch_size=16", "--steps", "1000000"])
            .args(["--set", "train.log_every=2", "--set", "train.sample_every=3", "--set", "train.checkpoint_every=4", "--quiet", "--threads", "1"])
            .arg("--runs-dir")
            .arg(&runs)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(*delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let table = RunTable::load(&runs).unwrap();
    assert!(table.problems.is_empty(), "{:?}", table.problems);
    let dirs: Vec<PathBuf> = std::fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path()).collect();
    // A kill before the process made its run folder (a loaded machine starts slower than the
    // shortest delay) leaves nothing to resume, which is fine; every folder made must be a run.
    assert_eq!(table.len(), dirs.len());
    assert!(dirs.len() + 2 >= trials.len(), "only {} of {} processes made a run folder", dirs.len(), trials.len());
    let mut resumed_from_checkpoint = 0;
    for dir in dirs {
        let run = RunDir::open(&dir).unwrap();
        let before = run.latest_checkpoint().unwrap().map_or(0, |(s, _)| s);
        resumed_from_checkpoint += usize::from(before > 0);
        let out = Command::new(bin).args(["resume", dir.to_str().unwrap(), "--steps", "2", "--quiet"]).output().unwrap();
        assert!(out.status.success(), "{}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
        let (after, _) = run.latest_checkpoint().unwrap().unwrap();
        assert_eq!(after, before + 2, "{}", dir.display());
    }
    eprintln!(
        "kill -9 trials: {} processes killed, {} runs made, all open, list and resume; {resumed_from_checkpoint} from a checkpoint, {} from step 0",
        trials.len(),
        table.len(),
        table.len() - resumed_from_checkpoint
    );
    assert!(resumed_from_checkpoint >= trials.len() / 2, "most kills land after the first checkpoint");
}

#[test]
fn processes_training_into_the_same_runs_folder_never_collide() {
    let runs = temp_root("concurrent").join("runs");
    let bin = env!("CARGO_BIN_EXE_gan-lab");
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(bin)
                .args(["train", "--preset", "mlp-gan", "--set", "data.limit=64", "--set", "train.batch_size=8", "--steps", "4", "--set", "train.log_every=2"])
                .args(["--quiet", "--threads", "1", "--runs-dir"])
                .arg(&runs)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
        })
        .collect();
    for c in children {
        let out = c.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let table = RunTable::load(&runs).unwrap();
    assert_eq!(table.len(), 4);
    let status = table.frame.column("status").unwrap().str().unwrap().clone();
    assert!((0..4).all(|i| status.get(i) == Some("ok")));
}

#[test]
fn a_run_directory_with_a_missing_file_gives_a_clear_error() {
    let root = temp_root("missing");
    let cfg = small("mlp-gan");
    let run = RunDir::create(&root, &cfg).unwrap();
    std::fs::remove_file(run.config_path()).unwrap();
    let err = RunDir::open(&run.path).unwrap_err().to_string();
    assert!(err.contains("config.json is missing"), "{err}");
    let run = RunDir::create(&root, &cfg).unwrap();
    let mut s = AnySession::new(cfg, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(5).unwrap();
    drop(s);
    std::fs::remove_file(run.checkpoint_dir(5).join("d_optim.mpk")).unwrap();
    let err = AnySession::open(run, Some(BackendKind::Flex), None).err().unwrap().to_string();
    assert!(err.contains("d_optim.mpk"), "{err}");
}

fn sigterm(child: &std::process::Child) {
    // SAFETY: kill with the pid of a child we have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
}

/// Waits for `child`, at most `limit`; returns its exit code and how long it took.
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> (Option<i32>, Duration) {
    let t0 = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), t0.elapsed());
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn stderr_of(child: &mut std::process::Child) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut s).unwrap();
    s
}

#[test]
fn sigterm_at_random_moments_stops_with_a_checkpoint_at_the_step_reached_and_resume_continues() {
    let runs = temp_root("sigterm").join("runs");
    let bin = env!("CARGO_BIN_EXE_gan-lab");
    let mut exits = Vec::new();
    // The first delay lands while the run is being set up, before its first step.
    for (i, delay) in std::iter::once(Duration::from_millis(30)).chain(delays(5)).enumerate() {
        let mut child = Command::new(bin)
            .args(["train", "--preset", "mlp-gan", "--set", "data.limit=256", "--set", "train.batch_size=16", "--steps", "1000000"])
            .args(["--set", "train.log_every=2", "--set", "train.checkpoint_every=7", "--quiet", "--threads", "1"])
            .arg("--runs-dir")
            .arg(runs.join(i.to_string()))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        sigterm(&child);
        let (code, took) = wait_at_most(&mut child, Duration::from_secs(30));
        let err = stderr_of(&mut child);
        exits.push(took.as_secs_f64());
        assert_eq!(code, Some(143), "{err}");
        let dir = std::fs::read_dir(runs.join(i.to_string())).unwrap().next().unwrap().unwrap().path();
        let run = RunDir::open(&dir).unwrap();
        assert!(!dir.join(".lock").exists(), "the lock is released");
        let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.summary_path()).unwrap()).unwrap();
        let step = summary["steps"].as_u64().unwrap();
        assert_eq!(run.latest_checkpoint().unwrap().map(|(s, _)| s), Some(step), "the checkpoint is at the step reached");
        assert!(err.contains(&format!("stopped by SIGTERM at step {step}: sample grid, checkpoint and summary written; continue with: gan-lab resume {}", dir.display())), "{err}");
        let out = Command::new(bin).args(["resume", dir.to_str().unwrap(), "--steps", "2", "--quiet", "--threads", "1"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("resuming {} at step {step} ", dir.display())));
        assert_eq!(run.latest_checkpoint().unwrap().map(|(s, _)| s), Some(step + 2));
    }
    let worst = exits.iter().cloned().fold(0.0, f64::max);
    eprintln!("SIGTERM to exit: {} s (worst {worst:.2} s)", exits.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(", "));
}

#[test]
fn two_resumes_of_one_run_at_once_train_it_in_one_process_only() {
    let runs = temp_root("two_resumes").join("runs");
    let bin = env!("CARGO_BIN_EXE_gan-lab");
    let out = Command::new(bin)
        .args(["train", "--preset", "mlp-gan", "--set", "data.limit=256", "--set", "train.batch_size=16", "--steps", "2", "--quiet", "--threads", "1"])
        .arg("--runs-dir")
        .arg(&runs)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let rounds = 5;
    for round in 0..rounds {
        let start = || {
            Command::new(bin)
                .args(["resume", dir.to_str().unwrap(), "--steps", "1000000", "--quiet", "--threads", "1"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let mut both = [start(), start()];
        // The loser gives up at once; then the winner, still training, is stopped.
        let t0 = std::time::Instant::now();
        let loser = loop {
            if let Some(i) = (0..2).find(|&i| both[i].try_wait().unwrap().is_some()) {
                break i;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "round {round}: both are still training");
            std::thread::sleep(Duration::from_millis(10));
        };
        let winner = 1 - loser;
        let err = stderr_of(&mut both[loser]);
        assert!(err.contains("this run is being trained by process") && err.contains("delete .lock if that is wrong"), "round {round}: {err}");
        assert!(both[winner].try_wait().unwrap().is_none(), "round {round}: the winner is still training");
        sigterm(&both[winner]);
        let (code, _) = wait_at_most(&mut both[winner], Duration::from_secs(30));
        assert_eq!(code, Some(143), "round {round}: {}", stderr_of(&mut both[winner]));
        assert!(!dir.join(".lock").exists());
    }
    eprintln!("{rounds} rounds of two resumes at once: one trained each time");
}
