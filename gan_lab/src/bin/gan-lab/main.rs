//! `gan-lab`: the command line over the library (presets, train, runs).

use std::process::ExitCode;
use std::time::Duration;

mod args;
mod runs;
mod sweep;

use args::{BenchArgs, Cli, Command, FeaturesCommand, ResumeArgs, TrainArgs};
use clap::Parser;
use runs::{answer_question, runs};
use sweep::sweep;
use gan_lab::config::{preset, presets, ExperimentConfig};
use gan_lab::platform::{parse_price, price_from_env, recorded_backend, AnySession, BackendKind};
use gan_lab::run::RunDir;
use gan_lab::train::format_duration;
use gan_lab::{Error, Result};

fn main() -> ExitCode {
    gan_lab::allocator::tune_allocator();
    let cli = Cli::parse();
    match run(cli) {
        // A run stopped by SIGTERM or SIGINT ends as a signalled process would (143, 130), after
        // its checkpoint is written and its lock released.
        Ok(()) => exit_code(ExitCode::SUCCESS),
        Err(Error::InvalidConfig(rules)) => {
            eprintln!("error: invalid configuration:\n  - {}", rules.join("\n  - "));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_code(ExitCode::FAILURE)
        }
    }
}

/// `otherwise`, or 128 + the signal when SIGTERM or SIGINT stopped the command (143, 130), as a
/// process ended by that signal reports it.
fn exit_code(otherwise: ExitCode) -> ExitCode {
    match gan_lab::signals::received() {
        Some((signal, _)) => ExitCode::from((128 + signal) as u8),
        None => otherwise,
    }
}

/// A command that only prints ends quietly when its reader goes away (`gan-lab runs | head -1`), as
/// cat and ripgrep do, instead of panicking on the failed write. Not for the commands that train:
/// they must get the chance to stop cleanly.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal, before any other thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> Result<()> {
    if matches!(
        cli.command,
        Command::Presets { .. } | Command::Runs { .. } | Command::Doctor { .. } | Command::Bench(_) | Command::Eval { .. } | Command::CompareLosses { .. } | Command::Features { .. }
    ) {
        quiet_on_closed_pipe();
    }
    match cli.command {
        Command::Presets { show: Some(name) } => {
            println!("{}", preset(&name)?.to_json());
            Ok(())
        }
        Command::Presets { show: None } => {
            let width = presets().iter().map(|p| p.name.len()).max().unwrap_or(0);
            for p in presets() {
                println!("{:width$}  {}", p.name, p.summary);
            }
            Ok(())
        }
        Command::Train(args) => train(args),
        Command::Resume(args) => resume(args),
        Command::Bench(args) => bench(args),
        Command::Features { command } => features(command),
        Command::Eval { run, n, sampling, outside } => eval(&run, n, sampling.as_deref(), outside),
        Command::Runs { dirs, group_by, baseline, metric, reach, html } => {
            if reach.is_some_and(|r| !r.is_finite()) {
                return Err(Error::Other(format!("--reach takes a finite number, got {}", reach.unwrap_or_default())));
            }
            if baseline.is_empty() && group_by.is_none() && (reach.is_some() || metric != "fld") {
                return Err(Error::Other("--metric and --reach go with --baseline (the answer table) or --group-by (time to quality per group)".into()));
            }
            let answers = (!baseline.is_empty()).then(|| answer_question(&baseline, metric.clone(), reach)).transpose()?;
            runs(&dirs, group_by.as_deref(), answers, reach.map(|r| (metric, r)), html.as_deref())
        }
        Command::Sweep(args) => sweep(args),
        Command::Doctor { json } => doctor(json),
        Command::CompareLosses { a, b, steps, tolerance } => compare_losses(&a, &b, steps, tolerance),
        Command::Engine => gan_lab::lab::serve::serve(),
    }
}

fn build_config(args: &TrainArgs) -> Result<ExperimentConfig> {
    let base = match (&args.preset, &args.config) {
        (Some(name), _) => preset(name)?,
        (None, Some(path)) => ExperimentConfig::from_json_file(path)?,
        (None, None) => return Err(Error::Other("give --preset NAME or --config FILE".into())),
    };
    let mut settings = args.settings.clone();
    settings.extend(args.steps.map(|s| format!("train.steps={s}")));
    base.with_settings(&settings).map_err(|e| match (e, &args.config) {
        (Error::InvalidConfig(rules), Some(path)) => Error::bad_file(path, format!("invalid configuration: {}", rules.join("; "))),
        (e, _) => e,
    })
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(t) = threads {
        if t == 0 {
            return Err(Error::Other("--threads must be ≥ 1, got 0".into()));
        }
        // Read by rayon when its pool starts, which happens at the first tensor operation.
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
    Ok(())
}

fn price(flag: &Option<String>) -> Result<Option<f64>> {
    match flag {
        Some(p) => Ok(Some(parse_price(p)?)),
        None => price_from_env(),
    }
}

/// Trains one chunk (steps or minutes) and prints the outcome. SIGTERM or SIGINT stops it after the
/// step in progress, with its checkpoint written.
fn train_and_report(session: &mut AnySession, steps: u64, minutes: Option<Duration>) -> Result<()> {
    session.set_stop_flag(gan_lab::signals::stop_on_signals());
    let report = match minutes {
        Some(budget) => session.train_for(budget)?,
        None => session.train_steps(steps)?,
    };
    let s = session.summary();
    let losses = s.losses_text();
    if let (true, Some((_, signal))) = (report.interrupted, gan_lab::signals::received()) {
        let run = session.run_dir().map(|r| r.path.display().to_string()).unwrap_or_default();
        eprintln!("stopped by {signal} at step {}: sample grid, checkpoint and summary written; continue with: gan-lab resume {run}", report.to_step);
        return Ok(());
    }
    println!("done: {} steps in {} ({:.1} images/s) | {losses}", report.to_step, format_duration(report.seconds), report.images_per_s);
    if let Some(sample) = &report.sample {
        println!("samples: {}", sample.display());
    }
    if let Some(cost) = s.cost_usd {
        println!("cost: ${cost:.4}");
    }
    Ok(())
}

fn resume(args: ResumeArgs) -> Result<()> {
    set_threads(args.process.threads)?;
    // From the start: a signal while the run is being opened stops it before its first step.
    gan_lab::signals::stop_on_signals();
    let run = RunDir::open(&args.run)?;
    let backend = args.backend.as_deref().map(BackendKind::parse).transpose()?;
    let mut session = AnySession::open(run, backend, price(&args.process.price_per_hour)?)?;
    session.set_verbose(!args.process.quiet);
    let done = session.step();
    let steps = args.steps.unwrap_or_else(|| session.config().train.steps.saturating_sub(done));
    println!("resuming {} at step {done} on {}", args.run.display(), session.backend().name());
    if steps == 0 && args.minutes.is_none() {
        println!("nothing to do: the run already has {done} of its {} steps (use --steps N for more)", session.config().train.steps);
        return Ok(());
    }
    train_and_report(&mut session, steps, args.minutes)
}

fn train(args: TrainArgs) -> Result<()> {
    set_threads(args.process.threads)?;
    gan_lab::signals::stop_on_signals();
    let backend = BackendKind::parse(&args.backend)?;
    let price = price(&args.process.price_per_hour)?;
    let cfg = build_config(&args)?;
    let steps = cfg.train.steps;
    let mut session = AnySession::start(cfg, backend, price, &args.runs_dir)?;
    println!("run directory: {}", session.run_dir().expect("a started run records").path.display());
    session.set_verbose(!args.process.quiet);
    train_and_report(&mut session, steps, args.minutes)
}

fn bench(args: BenchArgs) -> Result<()> {
    use gan_lab::bench::{bench_csv, bench_frame, bench_one, sgemm_gflops, write_bench, BenchPlan};
    set_threads(args.threads)?;
    if let Some(n) = args.sgemm {
        println!("{:.1}", sgemm_gflops(n, 5)?);
        return Ok(());
    }
    if args.format != "table" && args.format != "csv" {
        return Err(Error::Other(format!("--format must be table or csv, got '{}'", args.format)));
    }
    let or = |v: Vec<String>, d: &[&str]| if v.is_empty() { d.iter().map(|s| s.to_string()).collect() } else { v };
    let presets = or(args.presets, &["dcgan28", "mlp-gan"]);
    let backends: Vec<BackendKind> = or(args.backends, &["flex"]).iter().map(|b| BackendKind::parse(b)).collect::<Result<_>>()?;
    let batches = if args.batches.is_empty() { vec![64] } else { args.batches };
    for p in &presets {
        preset(p)?;
    }
    for b in &backends {
        b.check()?;
    }
    let plan = BenchPlan { warmup_steps: args.warmup, reps: args.reps, steps_per_rep: args.steps };
    let mut rows = Vec::new();
    for p in &presets {
        for &batch in &batches {
            for &backend in &backends {
                let row = bench_one(p, batch, backend, plan)?;
                if args.format == "table" {
                    eprintln!("measured {p} batch {batch} on {}: {:.1} images/s", backend.name(), row.images_per_s);
                }
                rows.push(row);
            }
        }
    }
    if args.format == "csv" {
        print!("{}", bench_csv(&rows));
    } else {
        polars_display_settings();
        println!("{}", bench_frame(&rows)?);
    }
    if let Some(out) = &args.out {
        write_bench(out, &rows)?;
    }
    Ok(())
}

fn features(command: FeaturesCommand) -> Result<()> {
    use gan_lab::metrics::features::{labelled_datasets, native_shape, train_feature_net, FeatureExtractor};
    match command {
        FeaturesCommand::Train { dataset, all, epochs, seed, threads } => {
            set_threads(threads)?;
            let list: Vec<String> = if all { labelled_datasets().iter().map(|s| s.to_string()).collect() } else { dataset.into_iter().collect() };
            for d in &list {
                native_shape(d)?;
            }
            for d in list {
                println!("training the feature network of {d} ({epochs} epochs, seed {seed})");
                let card = train_feature_net(&d, epochs, seed, true)?;
                println!(
                    "{d}: held-out accuracy {:.2}% on {} images; weights sha256 {}",
                    100.0 * card.heldout_accuracy,
                    card.heldout_images,
                    card.weights_sha256
                );
            }
            Ok(())
        }
        FeaturesCommand::Check { dataset, n } => {
            let fx = FeatureExtractor::load(&dataset)?;
            let (size, channels) = native_shape(&dataset)?;
            let set = gan_lab::data::load(&gan_lab::config::DataConfig {
                dataset: dataset.clone(),
                image_size: size,
                channels,
                limit: None,
                holdout_fraction: 0.1,
            })?;
            println!("{} on {dataset}, {n} vs {n} images", fx.name());
            println!("{:<14} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6}", "case", "FLD", "KID", "±", "prec", "recall", "dens", "cover", "s");
            for r in gan_lab::metrics::evaluate::sanity_table(&fx, &set, n)? {
                let q = r.row;
                println!(
                    "{:<14} {:>9.3} {:>9.5} {:>9.5} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>6.1}",
                    r.case, q.fld, q.kid_mean, q.kid_std, q.precision, q.recall, q.density, q.coverage, q.eval_s
                );
            }
            Ok(())
        }
    }
}

fn eval(run: &std::path::Path, n: usize, sampling: Option<&str>, outside: bool) -> Result<()> {
    let run = RunDir::open(run)?;
    // Scores do not depend on the backend: a GPU run is evaluated on the CPU where no GPU is.
    let backend = Some(recorded_backend(&run)?).filter(|b| b.check().is_ok()).unwrap_or(BackendKind::Flex);
    let mut session = AnySession::open(run.clone(), Some(backend), None)?;
    let sampling = match sampling {
        Some(name) => gan_lab::config::Sampling::parse(name)?,
        None => session.config().train.sampling,
    };
    let (row, look) = if outside {
        let (row, look) = session.evaluate_with_look(n, sampling)?;
        (row, Some(look))
    } else {
        (session.evaluate(n, sampling)?, None)
    };
    let mut rows = if run.quality_path().is_file() { gan_lab::run::read_quality(&run.quality_path())? } else { Vec::new() };
    rows.push(row.clone());
    gan_lab::run::write_quality(&run.quality_path(), &rows)?;
    println!("step {} | {} {} | real {} ({}) vs fake {} | seed {}", row.step, row.protocol.extractor, row.protocol.layer, row.protocol.n_real, row.protocol.real_split, row.protocol.n_fake, row.protocol.seed);
    println!("sampling: {}", row.protocol.sampling.name());
    println!("FLD {:.4}  KID {:.5} ± {:.5}", row.fld, row.kid_mean, row.kid_std);
    println!("precision {:.3}  recall {:.3}  density {:.3}  coverage {:.3}", row.precision, row.recall, row.density, row.coverage);
    println!("classes hit {:.0}%  KL to uniform {:.3}", 100.0 * row.class_coverage, row.class_kl);
    if row.modes.is_finite() {
        use gan_lab::metrics::modes::{MODE_SAMPLES, STACKED_MODES};
        let samples = MODE_SAMPLES.max(row.protocol.n_fake);
        println!("Stacked MNIST modes {:.0} of {STACKED_MODES}  KL to uniform {:.3} (over {samples} samples)", row.modes, row.mode_kl);
    }
    println!("nearest training image: samples {:.3}, held-out real {:.3}", row.nn_fake_train, row.nn_real_train);
    println!("evaluation took {:.1} s (not counted as training time)", row.eval_s);
    if let Some(look) = look {
        let q = |p| look.ratio_quantile(p);
        println!(
            "inside the real manifold: {:.3} of {} samples; distance to the nearest real ball in radii (1 = on its edge): 10% {:.2}, 50% {:.2}, 90% {:.2}, 99% {:.2}",
            look.inside_share(), look.samples.len(), q(0.1), q(0.5), q(0.9), q(0.99)
        );
        let dir = run.path.join("eval");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        for (inside, name) in [(false, "outside"), (true, "inside")] {
            if let Some(grid) = look.grid(inside, 64)? {
                let path = dir.join(format!("step-{:07}-{name}.png", look.step));
                grid.save(&path)?;
                println!("{name}: {}", path.display());
            }
        }
    }
    Ok(())
}

/// Wide tables for the terminal (each setting only when the user has not chosen one).
fn polars_display_settings() {
    for (key, value) in [("POLARS_FMT_MAX_COLS", "40"), ("POLARS_FMT_MAX_ROWS", "200"), ("POLARS_FMT_STR_LEN", "60"), ("POLARS_TABLE_WIDTH", "400")] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
}

fn doctor(json: bool) -> Result<()> {
    use gan_lab::doctor::{environment_checks, Check, DoctorReport};
    let mut checks = Vec::new();
    for backend in BackendKind::ALL {
        let item = format!("backend {backend}");
        checks.push(match backend.check() {
            Ok(()) => Check::ok(&item, format!("compiled in; {}", gan_lab::platform::platform_record(backend, None).device)),
            Err(Error::Backend { reason, .. }) => Check::missing(&item, reason),
            Err(e) => Check::missing(&item, e.to_string()),
        });
    }
    checks.extend(environment_checks());
    let report = DoctorReport { checks, platform: Some(gan_lab::platform::platform_record(BackendKind::Flex, price_from_env()?)) };
    if json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| Error::Other(format!("doctor report as JSON: {e}")))?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn compare_losses(a: &std::path::Path, b: &std::path::Path, steps: usize, tolerance: f64) -> Result<()> {
    use gan_lab::run::{compare_losses, worst_of, AGREEMENT_FIELDS};
    let rows = |p: &std::path::Path| RunDir::open(p)?.metrics();
    let (ra, rb) = (rows(a)?, rows(b)?);
    let agreement = compare_losses(&ra, &rb, steps);
    if agreement.is_empty() {
        return Err(Error::Other(format!("{} and {} logged no step in common", a.display(), b.display())));
    }
    println!("relative difference |a − b| / max(|a|, |b|) per logged step");
    println!("{:>7} {}", "step", AGREEMENT_FIELDS.iter().map(|f| format!("{f:>10}")).collect::<String>());
    for s in &agreement {
        println!("{:>7} {}", s.step, s.relative.iter().map(|v| format!("{v:>10.2e}")).collect::<String>());
    }
    let worst = worst_of(&agreement);
    if worst.is_finite() && worst <= tolerance {
        println!("agree: largest relative difference {worst:.2e} ≤ {tolerance:.0e} over {} steps", agreement.len());
        Ok(())
    } else {
        Err(Error::Other(format!("the runs differ: largest relative difference {worst:.2e} > {tolerance:.0e} over {} steps", agreement.len())))
    }
}
