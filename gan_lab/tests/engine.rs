//! The notebook side driving a real `gan-lab engine` process: chunks, errors that leave the engine
//! alive, and a client that vanishes mid-chunk (an interrupted kernel) losing nothing.


use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use gan_lab::lab::protocol::{Command as Cmd, Event};
use gan_lab::prelude::*;

fn use_test_binary() {
    static ONCE: Once = Once::new();
    // The binary cargo built for these tests, instead of a `cargo build` from inside a test.
    ONCE.call_once(|| std::env::set_var("GAN_LAB_ENGINE", env!("CARGO_BIN_EXE_gan-lab")));
}

fn temp(name: &str) -> PathBuf {
    let dir = gan_lab::test_scratch_dir(&format!("engine_{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn small_mlp() -> ExperimentConfig {
    let mut cfg = preset("mlp-gan").unwrap();
    cfg.data.limit = Some(256);
    cfg.train.batch_size = 16;
    cfg.train.log_every = 2;
    cfg.train.eval_samples = 0;
    cfg
}

fn options(runs: &std::path::Path) -> Options {
    Options { runs_dir: runs.to_path_buf(), threads: Some(1), ..Options::default() }
}

#[test]
fn an_experiment_trains_chunks_in_the_engine_and_reports_them() {
    use_test_binary();
    let runs = temp("chunks");
    let mut exp = Experiment::start_with(&small_mlp(), options(&runs)).unwrap();
    assert_eq!((exp.backend(), exp.threads(), exp.step()), (BackendKind::Flex, 1, 0));
    let first = exp.train_steps(4).unwrap();
    let second = exp.train_steps(3).unwrap();
    assert_eq!((first.from_step, first.to_step, second.from_step, second.to_step), (0, 4, 4, 7));
    assert!(second.images_per_s > 0.0 && second.wall_seconds >= second.train_seconds);
    assert_eq!(second.history.iter().map(|r| r.step).collect::<Vec<_>>(), vec![2, 4, 6], "the whole run's rows");
    // the rows come with the chunk events, exactly as the run's log holds them (NaN included)
    let line = gan_lab::run::metrics_line;
    let on_disk: Vec<String> = exp.run_dir().metrics().unwrap().iter().map(line).collect();
    assert_eq!(second.history.iter().map(line).collect::<Vec<_>>(), on_disk);
    let html = second.to_html().unwrap();
    assert!(html.contains("<svg") && html.contains("data:image/png;base64,"), "charts and the sample grid");
    assert!(html.contains("non_saturating_bce loss, mean of each logged interval; steps 0–6 of batch 16, "), "captions: {html}");
    assert!(!html.contains("<b>alarm</b>"));
    assert!(exp.run_dir().latest_checkpoint().unwrap().is_some_and(|(s, _)| s == 7));
    exp.stop().unwrap();
}

/// With D's images augmented, the chunk view shows p next to the losses (and not otherwise).
#[test]
fn a_chunk_of_an_augmented_run_shows_its_p() {
    use_test_binary();
    let runs = temp("augment");
    let mut cfg = small_mlp();
    cfg.discriminator.augment = Some(AugmentConfig { policy: vec![AugmentOp::Translation], p: AugmentProbability::Fixed(0.5) });
    let mut exp = Experiment::start_with(&cfg, options(&runs)).unwrap();
    let chunk = exp.train_steps(2).unwrap();
    assert_eq!(chunk.history.last().map(|r| r.augment_p), Some(0.5));
    let html = chunk.to_html().unwrap();
    assert!(html.contains("<th>aug p</th>") && html.contains(">0.5000</td>"), "{html}");
    exp.stop().unwrap();
    let mut plain = Experiment::start_with(&small_mlp(), options(&runs)).unwrap();
    assert!(!plain.train_steps(2).unwrap().to_html().unwrap().contains("aug p"));
    plain.stop().unwrap();
}

/// A raised alarm is explained under the chunk's numbers, with what to try.
#[test]
fn a_chunk_whose_discriminator_wins_suggests_augmentation() {
    use_test_binary();
    let runs = temp("advice");
    let mut cfg = small_mlp();
    (cfg.health.d_fake_floor, cfg.health.patience) = (0.999, 1); // every row counts as D winning
    let mut exp = Experiment::start_with(&cfg, options(&runs)).unwrap();
    let chunk = exp.train_steps(2).unwrap();
    assert_eq!(chunk.history.last().map(|r| r.alarms.as_str()), Some("d_winning"));
    let html = chunk.to_html().unwrap();
    assert!(html.contains("<b>alarm</b> d_winning: mean D(G(z)) stayed below 0.999 for 1 logged rows") && html.contains("discriminator.augment"), "{html}");
    exp.stop().unwrap();
}

#[test]
fn a_refused_command_leaves_the_engine_running() {
    use_test_binary();
    let runs = temp("refused");
    let mut bad = small_mlp();
    bad.train.batch_size = 0;
    let err = Experiment::start_with(&bad, options(&runs)).err().unwrap().to_string();
    assert!(err.contains("batch_size"), "{err}");

    let mut engine = gan_lab::lab::Engine::start(Some(1)).unwrap();
    let err = engine.request(&Cmd::Train { steps: Some(1), seconds: None }).unwrap_err().to_string();
    assert!(err.contains("no session yet"), "{err}");
    let mut nowhere = small_mlp();
    nowhere.data.dataset = "no/such/place".into();
    let err = engine
        .request(&Cmd::New { config: Box::new(nowhere), runs_dir: runs.clone(), backend: BackendKind::Flex, price_per_hour: None })
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/place"), "{err}");
    // Still alive: a good command after two bad ones works.
    let ready = engine.request(&Cmd::New { config: Box::new(small_mlp()), runs_dir: runs.clone(), backend: BackendKind::Flex, price_per_hour: None });
    assert!(matches!(ready, Ok(Event::Ready { step: 0, .. })), "{ready:?}");
    engine.stop().unwrap();
}

#[test]
fn the_backends_of_this_build_are_reported_with_reasons() {
    use_test_binary();
    let report = gan_lab::lab::backend_report().unwrap();
    let backends: Vec<BackendKind> = report.iter().map(|b| b.backend).collect();
    assert_eq!(backends, BackendKind::ALL);
    assert!(report[0].available && report[1].available);
    for gpu in &report[2..] {
        if !gpu.available {
            assert!(gpu.reason.as_deref().is_some_and(|r| r.contains(gpu.backend.name())), "{gpu:?}");
        }
    }
    assert!(available_backends().unwrap().starts_with(&[BackendKind::Flex, BackendKind::NdArray]));
}

#[test]
fn an_engine_whose_client_vanishes_ends_its_chunk_with_a_checkpoint_and_the_run_resumes() {
    use_test_binary();
    let runs = temp("vanish");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gan-lab"))
        .arg("engine")
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let new = Cmd::New { config: Box::new(small_mlp()), runs_dir: runs.clone(), backend: BackendKind::Flex, price_per_hour: None };
    writeln!(stdin, "{}", new.to_line()).unwrap();
    writeln!(stdin, "{}", Cmd::Train { steps: Some(1_000_000), seconds: None }.to_line()).unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(|l| l.ok());
    // Wait until it is training (a progress line), then vanish like a killed kernel.
    let run = match Event::parse(&lines.next().unwrap()) {
        Some(Ok(Event::Ready { run, .. })) => run,
        other => panic!("expected ready, got {other:?}"),
    };
    assert!(lines.next().unwrap().starts_with("step "));
    drop(stdin);
    let started = Instant::now();
    let chunk = lines.filter_map(|l| Event::parse(&l)).next().unwrap().unwrap();
    let Event::Chunk { to_step, interrupted, checkpoint, .. } = chunk else { panic!("expected a chunk, got {chunk:?}") };
    assert!(interrupted && to_step >= 2 && to_step < 1_000_000);
    assert!(checkpoint.is_some_and(|c| c.ends_with(format!("step-{to_step:07}"))));
    assert!(child.wait().unwrap().success());
    assert!(started.elapsed() < Duration::from_secs(60));

    let mut again = Experiment::open(&run, None).unwrap();
    assert_eq!(again.step(), to_step);
    assert_eq!(again.train_steps(2).unwrap().to_step, to_step + 2);
}

#[test]
fn after_a_divergence_the_engine_refuses_to_train_the_non_finite_weights_further() {
    use_test_binary();
    let runs = temp("diverged");
    let mut cfg = small_mlp();
    cfg.name = "exploding".into();
    let sgd = OptimizerConfig::Sgd { lr: 1e30, momentum: 0.0, momentum_schedule: None, lr_decay: 1.0, min_lr: 0.0 };
    cfg.g_optimizer = sgd.clone();
    cfg.d_optimizer = sgd;
    let mut exp = Experiment::start_with(&cfg, options(&runs)).unwrap();
    let err = exp.train_steps(20).err().expect("an lr of 1e30 diverges").to_string();
    assert!(err.contains("diverged at step"), "{err}");
    let again = exp.train_steps(2).err().expect("no more training").to_string();
    assert!(again.contains("trains it no further") && again.contains("Experiment::open"), "{again}");
}
