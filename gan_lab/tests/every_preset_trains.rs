//! A short CPU run of every preset on a tiny subset writes a complete run directory.


use gan_lab::config::{presets, ExperimentConfig};
use gan_lab::platform::{AnySession, BackendKind};
use gan_lab::run::{read_json, read_metrics, RunDir, Summary};
use std::path::PathBuf;

/// Taken by every test here: they run one at a time. Two runs of one seed were seen to differ
/// (2 in 10 runs of this file) while other tests of the file trained in the same process, and
/// several tests here compare runs bit for bit.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn temp_root(name: &str) -> PathBuf {
    let dir = gan_lab::test_scratch_dir(&format!("it_{name}"));
    dir
}

/// The preset shrunk for a test: 8 images per batch, 48 images, logs every 5 steps.
fn tiny(mut cfg: ExperimentConfig) -> ExperimentConfig {
    cfg.train.batch_size = 8;
    cfg.data.limit = Some(48);
    cfg.train.log_every = 5;
    cfg.train.sample_every = 10;
    cfg.train.checkpoint_every = 10;
    cfg.train.sample_count = 16;
    cfg
}

fn train_20_steps(cfg: ExperimentConfig, backend: BackendKind, root: &PathBuf) -> RunDir {
    let run = RunDir::create(root, &cfg).unwrap();
    let mut session = AnySession::new(cfg.clone(), backend, Some(1.0), Some(run.clone())).unwrap();
    session.set_verbose(false);
    let report = session.train_steps(20).unwrap();
    assert_eq!((report.from_step, report.to_step), (0, 20));
    assert_eq!(report.rows.len(), 4, "{}: one row per 5 steps", cfg.name);
    run
}

fn assert_complete(run: &RunDir, name: &str) {
    for f in ["config.json", "platform.json", "metrics.parquet", "summary.json", "samples/step-0000010.png", "samples/step-0000020.png"] {
        assert!(run.path.join(f).is_file(), "{name}: {f} missing");
    }
    for step in [10, 20] {
        for part in ["generator.mpk", "discriminator.mpk", "g_optim.mpk", "d_optim.mpk", "state.json", "metrics.parquet"] {
            let p = run.checkpoint_dir(step).join(part);
            assert!(p.is_file() && p.metadata().unwrap().len() > 100, "{name}: {} missing", p.display());
        }
    }
    assert!(!run.path.join(".lock").exists(), "{name}: the lock is released");
    let rows = read_metrics(&run.metrics_path()).unwrap();
    assert_eq!(rows.iter().map(|r| r.step).collect::<Vec<_>>(), vec![5, 10, 15, 20], "{name}");
    assert!(!run.metrics_journal_path().exists(), "{name}: the last checkpoint compacted the journal");
    // a critic's loss E[D(G(z))] − E[D(x)] may be negative; every other loss is a sum of costs
    let critic = run.config().unwrap().loss == gan_lab::config::LossKind::Wasserstein;
    for r in &rows {
        assert!(r.d_loss.is_finite() && r.g_loss.is_finite() && (critic || r.d_loss > 0.0), "{name}: {r:?}");
        assert!((0.0..=1.0).contains(&r.d_real) && (0.0..=1.0).contains(&r.d_fake), "{name}: {r:?}");
        assert!(r.images_per_s > 0.0, "{name}: {r:?}");
    }
    let s: Summary = read_json(&run.summary_path()).unwrap();
    assert!(s.finite && s.steps == 20 && s.images_seen == 160, "{name}: {s:?}");
    assert!(s.cost_usd.unwrap() > 0.0, "{name}: the price was recorded");
    let png = image::open(run.sample_path(20)).unwrap();
    assert!(png.width() > 0, "{name}");
    assert_eq!(run.config().unwrap().name, name);
}

#[test]
fn every_preset_trains_20_steps_on_flex_and_writes_a_complete_run_directory() {
    let _serial = one_at_a_time();
    let root = temp_root("flex");
    for p in presets() {
        let run = train_20_steps(tiny(p.config), BackendKind::Flex, &root);
        assert_complete(&run, p.name);
    }
}

#[test]
fn the_ndarray_backend_trains_the_mlp_reference_too() {
    let _serial = one_at_a_time();
    let root = temp_root("ndarray");
    let run = train_20_steps(tiny(gan_lab::config::preset("mlp-gan").unwrap()), BackendKind::NdArray, &root);
    assert_complete(&run, "mlp-gan");
    let platform: gan_lab::run::PlatformRecord = read_json(&run.platform_path()).unwrap();
    assert_eq!(platform.backend, "ndarray");
}

#[test]
fn the_same_seed_gives_the_same_losses_and_another_seed_does_not() {
    let _serial = one_at_a_time();
    // One thread: flex splits parallel reductions by work stealing, so two multi-threaded runs
    // on a loaded machine can differ in the last bits.
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let run = |seed: u64| {
        let mut cfg = tiny(gan_lab::config::preset("dcgan28").unwrap());
        cfg.seed = seed;
        one_thread.install(|| {
            let mut s = AnySession::new(cfg, BackendKind::Flex, None, None).unwrap();
            s.set_verbose(false);
            s.train_steps(10).unwrap().rows.iter().map(|r| r.d_loss).collect::<Vec<_>>()
        })
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
}

/// burn draws a parameter's initial weights at its first use: a trainer must draw them while it
/// holds the seeded RNG, or its weights depend on whatever drew from the RNG before their first use
/// (another session's step, or reading the parameters first). (Here, not beside the trainer: the
/// crate's unit tests build models without the RNG lock, in parallel.)
#[test]
fn two_trainers_of_one_seed_start_from_the_same_weights_whatever_drew_in_between() {
    let _serial = one_at_a_time();
    use burn::tensor::Tensor;
    use gan_lab::model::{backend_rng_lock, flat_parameters};
    use gan_lab::train::Trainer;
    type A = burn::backend::Autodiff<burn::backend::Flex>;
    let cfg = tiny(gan_lab::config::preset("dcgan28").unwrap());
    let mut a = Trainer::<A>::new(cfg.clone(), Default::default()).unwrap();
    let mut b = Trainer::<A>::new(cfg, Default::default()).unwrap();
    let ga = flat_parameters(a.generator());
    let guard = backend_rng_lock();
    let _other_draws = Tensor::<A, 1>::random([1000], burn::tensor::Distribution::Default, &Default::default());
    drop(guard);
    assert!(ga == flat_parameters(b.generator()), "G's initial weights differ");
    assert!(flat_parameters(a.discriminator()) == flat_parameters(b.discriminator()), "D's initial weights differ");
    assert_eq!(a.step().read().unwrap(), b.step().read().unwrap(), "the first step");
}

/// With `train.g_ema` the samples come from the average: equal to G's own before `start_step`,
/// different after it.
#[test]
fn samples_come_from_the_generator_average_once_it_starts() {
    let _serial = one_at_a_time();
    use burn::module::AutodiffModule;
    use gan_lab::train::Trainer;
    type A = burn::backend::Autodiff<burn::backend::Flex>;
    let mut cfg = tiny(gan_lab::config::preset("dcgan28").unwrap());
    cfg.train.g_ema = Some(gan_lab::config::GeneratorEma { decay: 0.9, start_step: 2 });
    let mut t = Trainer::<A>::new(cfg, Default::default()).unwrap();
    let own = |t: &Trainer<A>| gan_lab::model::flat_parameters(&t.generator().valid());
    let average = |t: &Trainer<A>| gan_lab::model::flat_parameters(&t.sampler());
    for _ in 0..2 {
        t.step();
    }
    assert!(own(&t) == average(&t), "before start_step the average is G");
    t.step();
    assert!(own(&t) != average(&t), "after it the average lags G");
}

#[test]
fn train_for_stops_after_its_time_budget() {
    let _serial = one_at_a_time();
    let mut s = AnySession::new(tiny(gan_lab::config::preset("mlp-gan").unwrap()), BackendKind::Flex, None, None).unwrap();
    s.set_verbose(false);
    let report = s.train_for(std::time::Duration::from_millis(300)).unwrap();
    assert!(report.to_step >= 1);
    assert!(report.seconds < 5.0, "{}", report.seconds);
}

/// The G update runs D with untracked weights (no weight gradients of D are computed there); the
/// D update must still see and change every weight of D, and the G update every weight of G.
#[test]
fn a_step_changes_every_parameter_of_both_networks() {
    let _serial = one_at_a_time();
    let mut cfg = tiny(gan_lab::config::preset("dcgan28").unwrap());
    cfg.train.log_every = 1000;
    let mut session = AnySession::new(cfg, BackendKind::Flex, None, None).unwrap();
    session.set_verbose(false);
    let (g0, d0) = session.parameters();
    session.train_steps(2).unwrap();
    let (g1, d1) = session.parameters();
    for (name, before, after) in [("G", g0, g1), ("D", d0, d1)] {
        let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        // BatchNorm running statistics are parameters of the record too and change as well
        assert!(changed as f64 > 0.99 * before.len() as f64, "{name}: {changed} of {} values changed", before.len());
    }
}

/// The same configuration trains to the same numbers on both CPU backends (flex with gan_lab's
/// kernels, ndarray with burn's): dcgan28 without dropout (the backends draw different dropout
/// masks), three steps from the same seed.
#[test]
fn flex_and_ndarray_take_the_same_steps() {
    let _serial = one_at_a_time();
    let mut cfg = tiny(gan_lab::config::preset("dcgan28").unwrap());
    if let gan_lab::config::Architecture::Dcgan { layers, .. } = &mut cfg.discriminator.architecture {
        layers.iter_mut().for_each(|l| l.dropout = None);
    }
    cfg.train.log_every = 1;
    let steps = |backend| {
        let mut s = AnySession::new(cfg.clone(), backend, None, None).unwrap();
        s.set_verbose(false);
        s.train_steps(3).unwrap();
        (s.history().iter().map(|r| [r.d_loss, r.g_loss, r.d_real, r.d_fake]).collect::<Vec<_>>(), s.parameters())
    };
    let (flex, (fg, fd)) = steps(BackendKind::Flex);
    let (ndarray, (ng, nd)) = steps(BackendKind::NdArray);
    assert_eq!(flex.len(), 3);
    // The first step's numbers as they were when this test was written: a change means the
    // weights are drawn differently (e.g. a weight read, and so drawn, before its turn), which
    // changes every seed's run.
    let first = [1.1366117000579834, 1.8373267650604248, 0.5091350674629211, 0.28791752457618713];
    assert!(flex[0].iter().zip(first).all(|(a, b)| (a - b).abs() < 1e-6), "first step {:?}, expected {first:?}", flex[0]);
    for (a, b) in flex.iter().zip(&ndarray) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0), "flex {a:?} vs ndarray {b:?}");
        }
    }
    // Adam moves every weight by about lr per step whatever the gradient's size, so a weight
    // whose gradient is nearly zero can move either way on two backends: all weights within the
    // three steps' reach (3 · 2 · lr), and nine in ten the same (97 % here).
    for (name, a, b) in [("G", &fg, &ng), ("D", &fd, &nd)] {
        let diffs: Vec<f32> = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).collect();
        let worst = diffs.iter().copied().fold(0f32, f32::max);
        let same = diffs.iter().filter(|&&d| d < 1e-5).count() as f64 / diffs.len() as f64;
        assert!(worst < 1.2e-3 && same > 0.9, "{name}: largest difference {worst}, {:.4} % within 1e-5", 100.0 * same);
    }
}
