//! The run lock under contention between real processes: eight processes take one run's lock at
//! once, round after round, with and without a stale lock left in the way; exactly one wins.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use gan_lab::run::RunDir;

const TAKERS: usize = 8;
const ROUNDS: usize = 50;

/// One lock taker, started by [`eight_processes_taking_one_lock_never_both_win`]: takes the lock
/// of the run in `GAN_LAB_RACE_RUN`; the winner holds it until every loser has reported.
#[test]
#[ignore = "a child process of the lock race test"]
fn lock_race_child() {
    let run = RunDir::open(std::env::var("GAN_LAB_RACE_RUN").unwrap()).unwrap();
    let report = PathBuf::from(std::env::var("GAN_LAB_RACE_REPORT").unwrap());
    let me = std::env::var("GAN_LAB_RACE_ME").unwrap();
    match run.lock() {
        Ok(lock) => {
            std::fs::write(report.join(format!("won-{me}")), "").unwrap();
            let start = Instant::now();
            while losers(&report) < TAKERS - 1 && start.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(5));
            }
            drop(lock);
        }
        Err(e) if e.to_string().contains("this run is being trained by process") => {
            std::fs::write(report.join(format!("lost-{me}")), e.to_string()).unwrap();
        }
        Err(e) => std::fs::write(report.join(format!("error-{me}")), e.to_string()).unwrap(),
    }
}

fn losers(report: &Path) -> usize {
    std::fs::read_dir(report).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("lost-")).count()
}

/// Leaves the lock of a holder that is gone: a dead pid of this machine, or a silent other node.
fn seed_stale_lock(run: &RunDir, round: usize) {
    let path = run.path.join(".lock");
    let host = gan_lab::run::host_name();
    let (text, age) = if round % 2 == 0 {
        (format!(r#"{{"pid":{},"host":"{host}","boot_id":"","start_ticks":0,"token":"dead"}}"#, u32::MAX - 1), Duration::ZERO)
    } else {
        (r#"{"pid":4242,"host":"node-7","boot_id":"x","start_ticks":1,"token":"silent"}"#.to_string(), Duration::from_secs(3600))
    };
    std::fs::write(&path, text).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn eight_processes_taking_one_lock_never_both_win() {
    let root = gan_lab::test_scratch_dir("lock_race");
    let _ = std::fs::remove_dir_all(&root);
    let run = RunDir::create(&root, &gan_lab::config::preset("mlp-gan").unwrap()).unwrap();
    let started = Instant::now();
    for round in 0..ROUNDS {
        // Rounds 0, 2, 4… start from a free lock; the others from a stale one, alternately of this
        // machine and of another node, which all eight then try to take over at once.
        if round % 2 == 1 {
            seed_stale_lock(&run, round / 2);
        }
        let report = root.join(format!("round-{round}"));
        std::fs::create_dir_all(&report).unwrap();
        let children: Vec<_> = (0..TAKERS)
            .map(|i| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "lock_race_child", "--ignored", "--quiet", "--test-threads=1"])
                    .env("GAN_LAB_RACE_RUN", &run.path)
                    .env("GAN_LAB_RACE_REPORT", &report)
                    .env("GAN_LAB_RACE_ME", i.to_string())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success(), "round {round}: a lock taker failed");
        }
        let names: Vec<String> = std::fs::read_dir(&report).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        let won = names.iter().filter(|n| n.starts_with("won-")).count();
        let errors: Vec<String> = names.iter().filter(|n| n.starts_with("error-")).map(|n| std::fs::read_to_string(report.join(n)).unwrap()).collect();
        assert!(errors.is_empty(), "round {round}: {errors:?}");
        assert_eq!((won, losers(&report)), (1, TAKERS - 1), "round {round}: {names:?}");
        assert!(!run.path.join(".lock").exists(), "round {round}: the winner released the lock");
        let leftovers: Vec<_> = std::fs::read_dir(&run.path).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().starts_with(".lock")).collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
    eprintln!("{ROUNDS} rounds of {TAKERS} lock takers: one winner each, {:.1} s", started.elapsed().as_secs_f64());
}
