//! Quality metrics end to end, with the shipped feature networks: sanity of the numbers on real
//! images, evaluation during training, the best checkpoint, and `gan-lab eval`.


use gan_lab::config::{preset, DataConfig};
use gan_lab::metrics::evaluate::sanity_table;
use gan_lab::metrics::features::FeatureExtractor;
use gan_lab::platform::{AnySession, BackendKind};
use gan_lab::run::{read_quality, RunDir};
use gan_lab::train::BestRecord;

#[test]
fn the_shipped_mnist_feature_network_loads_and_matches_its_card() {
    let fx = FeatureExtractor::load("mnist10k").unwrap();
    assert!(fx.card.heldout_accuracy >= 0.97, "{}", fx.card.heldout_accuracy);
    assert!(fx.name().starts_with("lenet-mnist10k@"));
}

#[test]
fn fld_is_near_zero_for_real_images_and_grows_with_noise_and_blur() {
    let fx = FeatureExtractor::load("mnist10k").unwrap();
    let set = gan_lab::data::load(&DataConfig { dataset: "mnist10k".into(), image_size: 28, channels: 1, limit: None, holdout_fraction: 0.1 }).unwrap();
    let rows = sanity_table(&fx, &set, 600).unwrap();
    let fld: Vec<f64> = rows.iter().map(|r| r.row.fld).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.case.as_str()).collect();
    assert_eq!(names[0], "real vs real");
    // Noise levels 1..3 and blur levels 4..6 must each be worse than the one before, and worse than real.
    for w in [&fld[1..4], &fld[4..7]] {
        assert!(w[0] > fld[0] && w[0] < w[1] && w[1] < w[2], "{names:?} {fld:?}");
    }
    assert!(rows[0].row.precision > 0.9 && rows[0].row.recall > 0.9, "{:?}", rows[0].row);
    assert!(fld[0] < 0.2 * fld[3], "real vs real {} is small next to heavy noise {}", fld[0], fld[3]);
}

#[test]
fn training_evaluates_at_checkpoints_and_keeps_the_best_generator() {
    let root = gan_lab::test_scratch_dir("quality_it");
    let mut cfg = preset("mlp-gan").unwrap();
    cfg.data.limit = Some(400);
    cfg.train.batch_size = 32;
    cfg.train.log_every = 5;
    cfg.train.checkpoint_every = 10;
    cfg.train.eval_samples = 100;
    let run = RunDir::create(&root, &cfg).unwrap();
    let mut s = AnySession::new(cfg, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(20).unwrap();
    let rows = read_quality(&run.quality_path()).unwrap();
    assert_eq!(rows.iter().map(|r| r.step).collect::<Vec<_>>(), vec![10, 20]);
    for r in &rows {
        assert!(r.fld.is_finite() && r.fld > 0.0 && (0.0..=1.0).contains(&r.coverage), "{r:?}");
        assert_eq!((r.protocol.n_real, r.protocol.n_fake, r.protocol.real_split.as_str()), (100, 100, "all"));
    }
    let best: BestRecord = gan_lab::run::read_json(&run.best_path()).unwrap();
    let min = rows.iter().map(|r| r.fld).fold(f64::INFINITY, f64::min);
    assert_eq!(best.fld, min);
    assert!(run.path.join("checkpoints/best/generator.mpk").is_file());
    drop(s);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gan-lab"))
        .args(["eval", run.path.to_str().unwrap(), "--n", "200"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FLD") && text.contains("real 200 (all) vs fake 200"), "{text}");
    assert_eq!(read_quality(&run.quality_path()).unwrap().len(), 3);

    // --outside: the share inside the real manifold is the precision just printed, and the two
    // grids hold the samples on each side.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gan-lab"))
        .args(["eval", run.path.to_str().unwrap(), "--n", "200", "--outside"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let precision = read_quality(&run.quality_path()).unwrap().last().unwrap().precision;
    assert!(text.contains(&format!("inside the real manifold: {precision:.3} of 200 samples")), "{text}");
    let grids: Vec<bool> = ["outside", "inside"].iter().map(|side| run.path.join(format!("eval/step-0000020-{side}.png")).is_file()).collect();
    assert_eq!(grids, [precision < 1.0, precision > 0.0], "{text}");
}

#[test]
fn a_dataset_without_a_feature_network_turns_evaluation_off_with_a_message() {
    let root = gan_lab::test_scratch_dir("quality_off");
    let dir = root.join("art");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..24u8 {
        image::GrayImage::from_pixel(28, 28, image::Luma([i * 10])).save(dir.join(format!("{i}.png"))).unwrap();
    }
    let mut cfg = preset("mlp-gan").unwrap();
    cfg.data.dataset = dir.to_str().unwrap().into();
    cfg.train.batch_size = 8;
    cfg.train.log_every = 2;
    cfg.train.checkpoint_every = 2;
    let run = RunDir::create(&root.join("runs"), &cfg).unwrap();
    let mut s = AnySession::new(cfg, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(4).unwrap();
    assert!(!run.quality_path().exists());
    let err = s.evaluate(20, gan_lab::config::Sampling::RunningStatistics).unwrap_err().to_string();
    assert!(err.contains("gan-lab features train") && err.contains("--set train.eval_features="), "{err}");

    // Named, a shipped network of the same channels scores the folder's samples at every checkpoint.
    let mut scored = s.config().clone();
    scored.train.eval_features = Some("mnist10k".into());
    let run = RunDir::create(&root.join("runs"), &scored).unwrap();
    let mut s = AnySession::new(scored, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(4).unwrap();
    let rows = read_quality(&run.quality_path()).unwrap();
    assert_eq!(rows.iter().map(|q| q.step).collect::<Vec<_>>(), vec![2, 4]);
    assert!(rows.iter().all(|q| q.fld.is_finite() && q.protocol.extractor.starts_with("lenet-mnist10k@") && q.protocol.n_real == 24), "{rows:?}");
}

/// Stacked MNIST's mode count with the shipped MNIST network, on real stacked images (about every
/// mode, KL near 0), on a constant "generator" (1 mode) and on a set whose first channel is
/// always the same image (100 modes).
#[test]
fn stacked_mnist_modes_on_real_constant_and_fixed_first_channel_sets() {
    use gan_lab::data::stacked_mnist;
    use gan_lab::metrics::modes::{mode_coverage, stacked_digits};
    let fx = FeatureExtractor::load("mnist10k").unwrap();
    let mnist = gan_lab::data::load(&DataConfig { dataset: "mnist10k".into(), image_size: 28, channels: 1, limit: None, holdout_fraction: 0.1 }).unwrap();
    let coverage = |set: &gan_lab::data::ImageSet| {
        let idx: Vec<usize> = (0..set.len()).collect();
        mode_coverage(&stacked_digits(&fx, &set.batch_chw(&idx), set.len(), 28).unwrap()).unwrap()
    };
    let real = coverage(&stacked_mnist(&mnist, 5_000, 0, None).unwrap());
    // 5,000 draws over 1000 equally likely modes: 993 covered on average (1000 · (1 − e⁻⁵)), and
    // KL ≈ 999 / (2 · 5,000) ≈ 0.1 from sampling alone; misread digits add a little of both.
    eprintln!("real stacked: {real:?}");
    assert!(real.modes >= 980 && real.kl < 0.2, "{real:?}");
    let constant = stacked_mnist(&mnist, 1, 1, None).unwrap();
    let repeated = gan_lab::data::ImageSet { pixels: constant.pixels.repeat(500), ..constant };
    let one = coverage(&repeated);
    assert_eq!(one.modes, 1, "{one:?}");
    assert!((one.kl - 1000f64.ln()).abs() < 1e-9, "{one:?}");
    let fixed = coverage(&stacked_mnist(&mnist, 3_000, 2, Some(0)).unwrap());
    eprintln!("first channel fixed: {fixed:?}");
    assert_eq!(fixed.modes, 100, "{fixed:?}");
    assert!(fixed.kl > 10f64.ln() - 0.01 && fixed.kl < 10f64.ln() + 0.1, "{fixed:?}");
}

/// Batch-statistics sampling runs G as in training (each batch normalised by its own BatchNorm
/// statistics) on a copy: it gives other samples than the running statistics when G has
/// BatchNorm, the same without, and leaves the trainer's running statistics as they were.
#[test]
fn batch_statistics_sampling_differs_only_with_batch_norm_and_leaves_the_generator_unchanged() {
    use gan_lab::config::Sampling::{BatchStatistics, RunningStatistics};
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    for batch_norm in [true, false] {
        let mut cfg = preset("dcgan28").unwrap();
        cfg.generator.batch_norm = batch_norm;
        cfg.data.limit = Some(300);
        cfg.train.batch_size = 16;
        let mut s = AnySession::new(cfg, BackendKind::Flex, None, None).unwrap();
        s.set_verbose(false);
        s.train_steps(3).unwrap();
        let before = s.fixed_samples().unwrap();
        let AnySession::Flex(inner) = &s else { unreachable!("a flex session") };
        let running = inner.generate(40, RunningStatistics).unwrap();
        let batch = inner.generate(40, BatchStatistics).unwrap();
        assert_eq!(running.len(), 40 * 28 * 28);
        let diff = max_diff(&running, &batch);
        if batch_norm {
            assert!(diff > 1e-3, "batch statistics changed nothing: {diff}");
        } else {
            assert!(diff < 1e-5, "no BatchNorm, yet the samples differ by {diff}");
        }
        assert_eq!(s.fixed_samples().unwrap(), before, "sampling with batch statistics moved G's running statistics");
    }
}

/// `stacked-mnist` is built from its name; a packed discriminator trains on it; each evaluation
/// reads the three channels with the MNIST network and records the modes the samples cover.
#[test]
fn a_packed_discriminator_trains_on_stacked_mnist_and_evaluation_counts_its_modes() {
    let root = gan_lab::test_scratch_dir("quality_stacked");
    let mut cfg = preset("pacdcgan2-stacked-mnist").unwrap();
    cfg.data.limit = Some(300);
    cfg.train.batch_size = 16;
    cfg.train.log_every = 2;
    cfg.train.checkpoint_every = 4;
    cfg.train.eval_samples = 100;
    let run = RunDir::create(&root, &cfg).unwrap();
    let mut s = AnySession::new(cfg, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    let report = s.train_steps(4).unwrap();
    assert!(report.rows.iter().all(|r| r.d_loss.is_finite()), "{:?}", report.rows);
    let rows = read_quality(&run.quality_path()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let q = &rows[0];
    assert!(q.protocol.extractor.starts_with("lenet-mnist10k@") && q.protocol.layer.ends_with("per channel"), "{:?}", q.protocol);
    assert_eq!((q.protocol.n_fake, q.protocol.n_real), (100, 100));
    // 4 steps of training: few modes, far from uniform, but counted over 26,000 samples.
    assert!(q.modes >= 1.0 && q.modes <= 1000.0 && q.modes.fract() == 0.0, "{q:?}");
    assert!(q.mode_kl > 0.5 && q.mode_kl <= 1000f64.ln() + 1e-9, "{q:?}");
    assert!(q.fld.is_finite() && q.class_coverage > 0.0, "{q:?}");
    // The terminal's run table shows the modes beside FLD (and leaves them out where no run has them).
    let compact = gan_lab::run::RunTable::load(&root).unwrap().compact().unwrap();
    let names: Vec<&str> = compact.get_column_names().iter().map(|n| n.as_str()).collect();
    let fld = names.iter().position(|n| *n == "fld").unwrap();
    assert_eq!(&names[fld..fld + 3], ["fld", "modes", "mode_kl"]);
    assert_eq!(compact.column("modes").unwrap().f64().unwrap().get(0), Some(q.modes));
}
