//! The command line's arguments (clap): every subcommand and its options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "gan-lab", version, about = "Train and compare GAN configurations")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// List the presets, one line each; with --show NAME print that preset's JSON config.
    Presets {
        #[arg(long, value_name = "NAME")]
        show: Option<String>,
    },
    /// Train a configuration into a new run directory.
    Train(TrainArgs),
    /// Continue a run from its latest checkpoint: N more steps (or M more minutes).
    Resume(ResumeArgs),
    /// Measure training throughput: full steps on in-memory data, warm-up excluded.
    Bench(BenchArgs),
    /// Feature networks for the quality metrics: train one (reproducibly) or check one.
    Features {
        #[command(subcommand)]
        command: FeaturesCommand,
    },
    /// Score a run's latest checkpoint: FLD, KID, precision/recall, density/coverage, class
    /// coverage, memorisation check; appended to the run's quality.parquet.
    Eval {
        /// The run directory.
        run: PathBuf,
        /// Generated samples (and as many real images).
        #[arg(long, default_value_t = 10000)]
        n: usize,
        /// How G makes the samples: running_statistics (evaluation mode) or batch_statistics
        /// (training mode, each batch of train.batch_size normalised by its own statistics; the
        /// default: the run's train.sampling).
        #[arg(long)]
        sampling: Option<String>,
        /// Also show which samples precision rejects: the share inside the real manifold, how far
        /// the others miss (quantiles of the distance to the nearest real ball, in radii), and
        /// grids of the first 64 outside and inside in RUN/eval/step-NNNNNNN-{outside,inside}.png.
        #[arg(long)]
        outside: bool,
    },
    /// Serve one training session over stdin/stdout (JSON lines): what notebooks drive. See
    /// `gan_lab::lab::protocol` for the commands.
    Engine,
    /// One row per run directory under DIR (several folders merge, each run once); with
    /// --group-by one row per group with mean ± std over its runs; with --baseline a sweep's
    /// answer table.
    Runs {
        /// Folders holding run directories.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Group by `config` (the configuration without its seed, per backend) or by columns,
        /// comma-separated (e.g. `architecture,optimizer`).
        #[arg(long, value_name = "COLUMNS")]
        group_by: Option<String>,
        /// The answer table of a sweep instead: each axis value against this baseline, all other
        /// axes at the baseline, with the difference over seeds, its 95 % Welch interval and a
        /// verdict. One AXIS=VALUE for each axis that varies (repeatable), e.g.
        /// `--baseline activation=leaky_relu --baseline optimizer=adam --baseline backend=flex`.
        #[arg(long, value_name = "AXIS=VALUE", conflicts_with = "group_by")]
        baseline: Vec<String>,
        /// What the answer table compares: fld (default), kid, precision, recall, coverage,
        /// class_coverage, class_kl, images_per_s, train_s or cost_usd at each run's end.
        #[arg(long, value_name = "METRIC", default_value = "fld")]
        metric: String,
        /// Time to quality: the training seconds until METRIC first reached this value, e.g.
        /// `--metric fld --reach 50`. With --baseline the answer table compares it; with
        /// --group-by each group gets its mean ± std, its cost, and how many runs got there.
        #[arg(long, value_name = "VALUE")]
        reach: Option<f64>,
        /// Also write the table as a standalone HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Compare two runs' logged losses step by step — say, one checkpoint resumed on two
    /// backends: the relative difference of D and G loss, D(x) and D(G(z)) at each step both logged.
    CompareLosses {
        a: PathBuf,
        b: PathBuf,
        /// Steps compared (the first ones both runs logged).
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// Largest relative difference accepted; above it the command fails.
        #[arg(long, default_value_t = 1e-3)]
        tolerance: f64,
    },
    /// What this machine and build can do: backends compiled in, GPUs, CUDA driver and NVRTC,
    /// the notebook kernel, build caches, and the platform record a run would store.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Train a plan's grid of configurations × seeds: here, N at a time (--local N), or as a
    /// Slurm array (--slurm). Finished runs are skipped, unfinished ones resumed.
    Sweep(SweepArgs),
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    /// The plan file (JSON; see the README's "Sweeps").
    #[arg(required = true)]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub dir: RunsDirArg,
    /// Train here, N runs at a time.
    #[arg(long, value_name = "N", conflicts_with = "slurm")]
    pub local: Option<usize>,
    /// Submit one Slurm array task per unfinished run (sbatch must be on PATH).
    #[arg(long)]
    pub slurm: bool,
    /// CPU threads per run (default: cores / N with --local, 2 with --slurm).
    #[arg(long)]
    pub threads: Option<usize>,
    /// With --slurm: at most this many tasks at once (the array's %N).
    #[arg(long, value_name = "N")]
    pub max_parallel: Option<usize>,
    /// With --slurm: one more #SBATCH option, e.g. --slurm-arg=--partition=cpu (repeatable).
    #[arg(long = "slurm-arg", value_name = "OPTION", allow_hyphen_values = true)]
    pub slurm_args: Vec<String>,
    /// With --slurm: write the batch script and show where, without submitting it.
    #[arg(long)]
    pub dry_run: bool,
    /// The gan-lab binary the workers run (default: this one; on a cluster, a path every node sees).
    #[arg(long, value_name = "FILE")]
    pub exe: Option<PathBuf>,
    /// Print the runs the plan makes, with their ids, and stop.
    #[arg(long)]
    pub list: bool,
}

#[derive(clap::Args)]
pub struct RunsDirArg {
    /// Folder that receives the run directories.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

#[derive(Subcommand)]
pub enum SweepAction {
    /// done / running / failed / unfinished / pending for each run of a plan, read from the run
    /// folders (not from a scheduler's queue).
    Status {
        plan: PathBuf,
        #[command(flatten)]
        dir: RunsDirArg,
    },
    /// Train run number TASK of a plan to its step budget (what --local and --slurm run for
    /// every run).
    Worker {
        plan: PathBuf,
        #[command(flatten)]
        dir: RunsDirArg,
        #[arg(long)]
        task: usize,
        #[command(flatten)]
        process: ProcessArgs,
    },
}

/// How a training process runs: threads, price, progress lines.
#[derive(clap::Args)]
pub struct ProcessArgs {
    /// CPU threads (default: every core; same as RAYON_NUM_THREADS).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Price of this machine per hour in USD, to record the cost of the run
    /// (default: $GAN_LAB_PRICE_PER_HOUR).
    #[arg(long)]
    pub price_per_hour: Option<String>,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// A preset name (see `gan-lab presets`).
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    pub preset: Option<String>,
    /// A JSON config file (see `gan-lab presets --show NAME` for the format).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// flex (default), ndarray or cuda.
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Change a setting by its dotted path in the JSON config (repeatable), e.g.
    /// `--set train.batch_size=16 --set data.dataset=path/to/images --set seed=7`. The value is
    /// read as JSON when it parses, else as a string.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub settings: Vec<String>,
    /// Generator steps to train (sets train.steps; default: the config's).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Train for this many minutes instead of a step count.
    #[arg(long, conflicts_with = "steps", value_parser = parse_minutes)]
    pub minutes: Option<Duration>,
    /// Folder that receives the run directory.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    #[command(flatten)]
    pub process: ProcessArgs,
}

#[derive(clap::Args)]
pub struct ResumeArgs {
    /// The run directory.
    pub run: PathBuf,
    /// More generator steps to train (default: the config's train.steps minus the steps done).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Train for this many more minutes instead.
    #[arg(long, conflicts_with = "steps", value_parser = parse_minutes)]
    pub minutes: Option<Duration>,
    /// Backend (default: the one recorded in the run's platform.json).
    #[arg(long)]
    pub backend: Option<String>,
    #[command(flatten)]
    pub process: ProcessArgs,
}

#[derive(Subcommand)]
pub enum FeaturesCommand {
    /// Train the feature network of a labelled shipped dataset (seeded) and write its weights and
    /// card next to the data.
    Train {
        /// mnist10k, fashion-mnist-test10k, noto-emoji-32 or twemoji-64.
        #[arg(long, required_unless_present = "all")]
        dataset: Option<String>,
        /// Every labelled shipped dataset.
        #[arg(long, conflicts_with = "dataset")]
        all: bool,
        #[arg(long, default_value_t = 4)]
        epochs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// The metrics for real vs real, and real vs noised and blurred real at 3 levels each.
    Check {
        #[arg(long)]
        dataset: String,
        /// Images per side.
        #[arg(long, default_value_t = 2000)]
        n: usize,
    },
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Presets to measure (repeatable; default: dcgan28 and mlp-gan).
    #[arg(long = "preset")]
    pub presets: Vec<String>,
    /// Batch sizes (repeatable; default 64).
    #[arg(long = "batch")]
    pub batches: Vec<usize>,
    /// Backends (repeatable; default flex).
    #[arg(long = "backend")]
    pub backends: Vec<String>,
    /// CPU threads (one value per process: rayon's pool is fixed once started).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Untimed steps before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Timed repetitions.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Steps per repetition.
    #[arg(long, default_value_t = 5)]
    pub steps: u64,
    /// table (default) or csv.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Also write the rows to this parquet file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the GFLOP/s of an N×N×N f32 matrix product on the flex backend (this CPU's ceiling
    /// for the GFLOP/s column) and exit.
    #[arg(long, value_name = "N")]
    pub sgemm: Option<usize>,
}

/// `--minutes M`: checked when the arguments are read, before anything is created.
fn parse_minutes(s: &str) -> Result<Duration, String> {
    let m: f64 = s.trim().parse().map_err(|_| format!("not a number of minutes: '{s}'"))?;
    gan_lab::train::time_budget(m, 60.0, "--minutes").map_err(|e| e.to_string())
}
