//! `gan-lab`: the command line over the library (presets, train, runs).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gan_lab::config::{preset, presets, ExperimentConfig};
use gan_lab::platform::{parse_price, price_from_env, AnySession, BackendKind};
use gan_lab::run::{RunDir, RunTable};
use gan_lab::train::format_duration;
use gan_lab::{Error, Result};

#[derive(Parser)]
#[command(name = "gan-lab", version, about = "Train and compare GAN configurations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the presets, one line each; with --show NAME print that preset's JSON config.
    Presets {
        #[arg(long, value_name = "NAME")]
        show: Option<String>,
    },
    /// Train a configuration into a new run directory.
    Train(TrainArgs),
    /// Continue a run from its latest checkpoint: N more steps (or M more minutes).
    Resume(ResumeArgs),
    /// One row per run directory under DIR, as a table.
    Runs {
        /// Folder holding run directories.
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct TrainArgs {
    /// A preset name (see `gan-lab presets`).
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    preset: Option<String>,
    /// A JSON config file (see `gan-lab presets --show NAME` for the format).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Dataset: a shipped name, a gzip IDX file or a folder of images (overrides the config).
    #[arg(long)]
    dataset: Option<String>,
    /// flex (default), ndarray or cuda.
    #[arg(long, default_value = "flex")]
    backend: String,
    /// Seed (overrides the config).
    #[arg(long)]
    seed: Option<u64>,
    /// Generator steps to train (default: the config's train.steps).
    #[arg(long)]
    steps: Option<u64>,
    /// Train for this many minutes instead of a step count.
    #[arg(long, conflicts_with = "steps")]
    minutes: Option<f64>,
    /// Batch size (overrides the config).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Use only the first N images of the dataset.
    #[arg(long)]
    limit: Option<usize>,
    /// Folder that receives the run directory.
    #[arg(long, default_value = "runs")]
    runs_dir: PathBuf,
    /// CPU threads (default: every core; same as RAYON_NUM_THREADS).
    #[arg(long)]
    threads: Option<usize>,
    /// Price of this machine per hour in USD, to record the cost of the run
    /// (default: $GAN_LAB_PRICE_PER_HOUR).
    #[arg(long)]
    price_per_hour: Option<String>,
    /// Log, sample and checkpoint intervals (override the config).
    #[arg(long)]
    log_every: Option<u64>,
    #[arg(long)]
    sample_every: Option<u64>,
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ResumeArgs {
    /// The run directory.
    run: PathBuf,
    /// More generator steps to train (default: the config's train.steps minus the steps done).
    #[arg(long)]
    steps: Option<u64>,
    /// Train for this many more minutes instead.
    #[arg(long, conflicts_with = "steps")]
    minutes: Option<f64>,
    /// Backend (default: the one recorded in the run's platform.json).
    #[arg(long)]
    backend: Option<String>,
    /// CPU threads.
    #[arg(long)]
    threads: Option<usize>,
    /// Price of this machine per hour in USD (default: $GAN_LAB_PRICE_PER_HOUR).
    #[arg(long)]
    price_per_hour: Option<String>,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
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
        Command::Runs { dir } => runs(&dir),
    }
}

fn build_config(args: &TrainArgs) -> Result<ExperimentConfig> {
    let mut cfg = match (&args.preset, &args.config) {
        (Some(name), _) => preset(name)?,
        (None, Some(path)) => ExperimentConfig::from_json_file(path)?,
        (None, None) => return Err(Error::Other("give --preset NAME or --config FILE".into())),
    };
    if let Some(d) = &args.dataset {
        cfg.data.dataset = d.clone();
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(s) = args.steps {
        cfg.train.steps = s;
    }
    if let Some(b) = args.batch_size {
        cfg.train.batch_size = b;
    }
    if let Some(l) = args.limit {
        cfg.data.limit = Some(l);
    }
    if let Some(v) = args.log_every {
        cfg.train.log_every = v;
    }
    if let Some(v) = args.sample_every {
        cfg.train.sample_every = v;
    }
    if let Some(v) = args.checkpoint_every {
        cfg.train.checkpoint_every = v;
    }
    cfg.validate()?;
    Ok(cfg)
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

/// Trains one chunk (steps or minutes) and prints the outcome.
fn train_and_report(session: &mut AnySession, steps: u64, minutes: Option<f64>) -> Result<()> {
    let report = match minutes {
        Some(m) if m.is_finite() && m > 0.0 => session.train_for(Duration::from_secs_f64(m * 60.0))?,
        Some(m) => return Err(Error::Other(format!("--minutes must be > 0, got {m}"))),
        None => session.train_steps(steps)?,
    };
    let s = session.summary();
    println!(
        "done: {} steps in {} ({:.1} images/s) | D {:.3} G {:.3} | D(x) {:.2} D(G(z)) {:.2}",
        report.to_step,
        format_duration(report.seconds),
        report.images_per_s,
        s.d_loss,
        s.g_loss,
        s.d_real,
        s.d_fake
    );
    if let Some(sample) = &report.sample {
        println!("samples: {}", sample.display());
    }
    if let Some(cost) = s.cost_usd {
        println!("cost: ${cost:.4}");
    }
    Ok(())
}

fn resume(args: ResumeArgs) -> Result<()> {
    set_threads(args.threads)?;
    let run = RunDir::open(&args.run)?;
    let backend = match &args.backend {
        Some(b) => BackendKind::parse(b)?,
        None => match gan_lab::run::read_json::<gan_lab::run::PlatformRecord>(&run.platform_path()) {
            Ok(p) => BackendKind::parse(&p.backend)?,
            Err(_) => BackendKind::Flex,
        },
    };
    let mut session = AnySession::open(run, backend, price(&args.price_per_hour)?)?;
    session.set_verbose(!args.quiet);
    let done = session.step();
    let steps = args.steps.unwrap_or_else(|| session.config().train.steps.saturating_sub(done));
    println!("resuming {} at step {done} on {}", args.run.display(), backend.name());
    if steps == 0 && args.minutes.is_none() {
        println!("nothing to do: the run already has {done} of its {} steps (use --steps N for more)", session.config().train.steps);
        return Ok(());
    }
    train_and_report(&mut session, steps, args.minutes)
}

fn train(args: TrainArgs) -> Result<()> {
    set_threads(args.threads)?;
    let backend = BackendKind::parse(&args.backend)?;
    let price = price(&args.price_per_hour)?;
    let cfg = build_config(&args)?;
    let steps = cfg.train.steps;
    // Check the backend and the data before creating a run directory, so a typo leaves nothing behind.
    backend.check()?;
    gan_lab::data::load(&cfg.data)?;
    let run = RunDir::create(&args.runs_dir, &cfg)?;
    println!("run directory: {}", run.path.display());
    let mut session = AnySession::new(cfg, backend, price, Some(run.clone()))?;
    session.set_verbose(!args.quiet);
    train_and_report(&mut session, steps, args.minutes)
}

fn runs(dir: &std::path::Path) -> Result<()> {
    for (key, value) in [("POLARS_FMT_MAX_COLS", "40"), ("POLARS_FMT_MAX_ROWS", "200"), ("POLARS_FMT_STR_LEN", "60"), ("POLARS_TABLE_WIDTH", "400")] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    let table = RunTable::load(dir)?;
    for p in &table.problems {
        eprintln!("warning: skipped {p}");
    }
    if table.is_empty() {
        println!("no runs in {}", dir.display());
    } else {
        println!("{table}");
    }
    Ok(())
}
