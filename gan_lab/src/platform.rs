//! Backends chosen at run time, and the record of where a run ran.
//!
//! burn keeps the backend as a type parameter; [`AnySession`] is the run-time choice, one variant
//! per compiled backend, each dispatching to the same monomorphised [`Session`] code.

use std::path::Path;
use std::time::Duration;

use burn::backend::{Autodiff, Flex, NdArray};

use crate::config::ExperimentConfig;
use crate::error::{Error, Result};
use crate::report::ImageGrid;
use crate::run::{read_json, MetricsRow, PlatformRecord, RunDir, Summary};
use crate::train::{ChunkReport, Session};

pub use crate::backend::BackendKind;

impl BackendKind {
    /// Ok when this build has the backend and this machine can run it; otherwise why not.
    pub fn check(self) -> Result<()> {
        match self {
            BackendKind::Flex | BackendKind::NdArray => Ok(()),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => cuda_device().map(|_| ()),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => wgpu_adapter().map(|_| ()),
            #[allow(unreachable_patterns)]
            gpu => Err(not_compiled(gpu)),
        }
    }
}

pub use crate::doctor::cpu_model;

/// Logical cores available to this process.
pub fn logical_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Worker threads the CPU backends use: `RAYON_NUM_THREADS` when set, else every logical core.
pub fn cpu_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or_else(logical_cores)
}

/// Price per hour from `GAN_LAB_PRICE_PER_HOUR` (USD), if set and valid.
pub fn price_from_env() -> Result<Option<f64>> {
    match std::env::var("GAN_LAB_PRICE_PER_HOUR") {
        Err(_) => Ok(None),
        Ok(v) => parse_price(&v).map(Some),
    }
}

/// A price per hour in USD: a finite number ≥ 0.
pub fn parse_price(v: &str) -> Result<f64> {
    match v.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(Error::Other(format!("price per hour must be a number ≥ 0 (USD), got '{v}'"))),
    }
}

fn gpu_name() -> Option<String> {
    let out = std::process::Command::new("nvidia-smi").args(["--query-gpu=name", "--format=csv,noheader"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string())
}

/// The platform record of a run on `backend`.
pub fn platform_record(backend: BackendKind, price_per_hour_usd: Option<f64>) -> PlatformRecord {
    let threads = cpu_threads();
    let device = match backend {
        BackendKind::Cuda => format!("cuda:0 ({})", gpu_name().unwrap_or_else(|| "unknown GPU".into())),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => format!("wgpu:0 ({})", wgpu_adapter().unwrap_or("no adapter")),
        #[cfg(not(feature = "wgpu"))]
        BackendKind::Wgpu => "wgpu:0 (not compiled in)".into(),
        BackendKind::Flex | BackendKind::NdArray => format!("cpu ({threads} threads)"),
    };
    let commit = env!("GAN_LAB_GIT_COMMIT");
    PlatformRecord {
        backend: backend.name().into(),
        device,
        cpu_model: cpu_model(),
        logical_cores: logical_cores(),
        threads,
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        gan_lab_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: (!commit.is_empty()).then(|| commit.to_string()),
        price_per_hour_usd,
    }
}

/// Runs a GPU runtime's initialisation, which panics when it cannot find a driver or device; the
/// panic's first line becomes `Err`, and nothing is printed.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn first_line_of_panic<T>(init: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::result::Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(init);
    std::panic::set_hook(hook);
    result.map_err(|payload| {
        let message = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("no message");
        message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message").to_string()
    })
}

/// The first CUDA device, checked once per process like the wgpu adapter (a run's start asks for
/// it twice: the backend check, then the session). What cubecl would panic on at the first kernel
/// (no driver, NVRTC or headers) is said first; cudarc loads the driver at first use and panics
/// without one: that becomes an error too, as does a malformed cubecl settings file. cubecl's
/// caches are set before its first use ([`crate::gpu_cache`]), the PTX one keyed by the GPUs and
/// the NVRTC version.
#[cfg(feature = "cuda")]
fn cuda_device() -> Result<burn::backend::cuda::CudaDevice> {
    static READY: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    let ready = READY.get_or_init(|| {
        let setup = crate::cuda_setup::CudaSetup::probe();
        if let Some(problem) = setup.problem() {
            return Err(problem);
        }
        let key = crate::doctor::nvidia_devices().ok().map(|gpus| crate::gpu_cache::gpu_and_compiler(&gpus, setup.nvrtc_version));
        first_line_of_panic(|| {
            crate::gpu_cache::configure(key.as_deref());
            let device = burn::backend::cuda::CudaDevice::default();
            burn::tensor::Tensor::<burn::backend::Cuda, 1>::zeros([1], &device).into_data();
        })
        .map_err(|first| format!("no usable CUDA driver or GPU (initialisation failed: {first})"))
    });
    match ready {
        Ok(()) => Ok(burn::backend::cuda::CudaDevice::default()),
        Err(reason) => Err(Error::Backend { backend: "cuda".into(), reason: reason.clone() }),
    }
}

/// The wgpu adapter this process trains on, set up once per process: wgpu's default device (a
/// discrete GPU before an integrated one before a software one; `CUBECL_WGPU_DEFAULT_DEVICE`,
/// e.g. `Cpu`, overrides), described as "name, graphics API, driver". Every wgpu session then
/// uses `WgpuDevice::DefaultDevice`, which this set up.
#[cfg(feature = "wgpu")]
fn wgpu_adapter() -> Result<&'static str> {
    use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup, WgpuDevice};
    static ADAPTER: std::sync::OnceLock<std::result::Result<String, String>> = std::sync::OnceLock::new();
    let adapter = ADAPTER.get_or_init(|| {
        if let Some(problem) = crate::vulkan_setup::VulkanSetup::probe().problem() {
            return Err(problem);
        }
        first_line_of_panic(|| {
            crate::gpu_cache::configure(None);
            let info = init_setup::<AutoGraphicsApi>(&WgpuDevice::DefaultDevice, Default::default()).adapter.get_info();
            format!("{}, {:?}, {} {}", info.name, info.backend, info.driver, info.driver_info).trim().to_string()
        })
        .map_err(|first| format!("wgpu found no usable GPU adapter (initialisation failed: {first}); `gan-lab doctor` lists the Vulkan drivers it sees"))
    });
    adapter.as_deref().map_err(|reason| Error::Backend { backend: "wgpu".into(), reason: reason.to_string() })
}

/// Why a backend this build lacks cannot be used, and the build that has it.
#[allow(dead_code)]
fn not_compiled(backend: BackendKind) -> Error {
    Error::Backend {
        backend: backend.name().into(),
        reason: format!("this build has no {backend} support; rebuild with `cargo build --release --features {backend}`"),
    }
}

/// The backend a run recorded in its platform.json; flex for a run without one (older runs). An
/// unreadable record or an unknown backend name is an error naming the file.
pub fn recorded_backend(run: &RunDir) -> Result<BackendKind> {
    let path = run.platform_path();
    if !path.exists() {
        return Ok(BackendKind::Flex);
    }
    let record: PlatformRecord = read_json(&path)?;
    BackendKind::parse(&record.backend).map_err(|e| Error::bad_file(&path, e.to_string()))
}

/// A [`Session`] on a backend chosen at run time.
pub enum AnySession {
    Flex(Session<Autodiff<Flex>>),
    NdArray(Session<Autodiff<NdArray>>),
    #[cfg(feature = "cuda")]
    Cuda(Session<Autodiff<burn::backend::Cuda>>),
    #[cfg(feature = "wgpu")]
    Wgpu(Session<Autodiff<burn::backend::Wgpu>>),
}

macro_rules! each {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            AnySession::Flex($s) => $body,
            AnySession::NdArray($s) => $body,
            #[cfg(feature = "cuda")]
            AnySession::Cuda($s) => $body,
            #[cfg(feature = "wgpu")]
            AnySession::Wgpu($s) => $body,
        }
    };
}

impl AnySession {
    /// Builds a session for `cfg` on `backend`, recording into `run` when given.
    pub fn new(cfg: ExperimentConfig, backend: BackendKind, price_per_hour_usd: Option<f64>, run: Option<RunDir>) -> Result<Self> {
        crate::denormals::flush_denormals();
        let platform = platform_record(backend, price_per_hour_usd);
        match backend {
            BackendKind::Flex => Ok(AnySession::Flex(Session::new(cfg, Default::default(), platform, run)?)),
            BackendKind::NdArray => Ok(AnySession::NdArray(Session::new(cfg, Default::default(), platform, run)?)),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => Ok(AnySession::Cuda(Session::new(cfg, cuda_device()?, platform, run)?)),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => Ok(AnySession::Wgpu(Session::new(cfg, wgpu_adapter().map(|_| Default::default())?, platform, run)?)),
            #[allow(unreachable_patterns)]
            gpu => Err(not_compiled(gpu)),
        }
    }

    /// Starts a new run of `cfg`: checks the backend, builds the session (data, models) and only
    /// then creates its directory under `runs_dir`, so a bad dataset or backend leaves nothing
    /// behind; warns on stderr about files skipped in an image folder. The one way a run starts
    /// (`gan-lab train`, the engine's `new`).
    pub fn start(cfg: ExperimentConfig, backend: BackendKind, price_per_hour_usd: Option<f64>, runs_dir: &Path) -> Result<Self> {
        backend.check()?;
        let mut session = Self::new(cfg, backend, price_per_hour_usd, None)?;
        if let [first, ..] = session.skipped_files() {
            eprintln!("warning: skipped {} files that are not .png/.jpg/.jpeg images (e.g. {})", session.skipped_files().len(), first.display());
        }
        let run = RunDir::create(runs_dir, session.config())?;
        session.attach_run(run)?;
        Ok(session)
    }

    /// Reopens `run` for more training (see [`Session::open`]) on `backend`, or when `None` on
    /// the backend its platform.json records. The one way a run continues (`gan-lab resume`, the
    /// engine's `open`, a sweep worker).
    pub fn open(run: RunDir, backend: Option<BackendKind>, price_per_hour_usd: Option<f64>) -> Result<Self> {
        let backend = match backend {
            Some(b) => b,
            None => recorded_backend(&run)?,
        };
        backend.check()?;
        crate::denormals::flush_denormals();
        let platform = platform_record(backend, price_per_hour_usd);
        match backend {
            BackendKind::Flex => Ok(AnySession::Flex(Session::open(run, Default::default(), platform)?)),
            BackendKind::NdArray => Ok(AnySession::NdArray(Session::open(run, Default::default(), platform)?)),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => Ok(AnySession::Cuda(Session::open(run, cuda_device()?, platform)?)),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => Ok(AnySession::Wgpu(Session::open(run, wgpu_adapter().map(|_| Default::default())?, platform)?)),
            #[allow(unreachable_patterns)]
            gpu => Err(not_compiled(gpu)),
        }
    }

    /// The backend this session trains on.
    pub fn backend(&self) -> BackendKind {
        match self {
            AnySession::Flex(_) => BackendKind::Flex,
            AnySession::NdArray(_) => BackendKind::NdArray,
            #[cfg(feature = "cuda")]
            AnySession::Cuda(_) => BackendKind::Cuda,
            #[cfg(feature = "wgpu")]
            AnySession::Wgpu(_) => BackendKind::Wgpu,
        }
    }

    /// Trains `n` steps.
    pub fn train_steps(&mut self, n: u64) -> Result<ChunkReport> {
        each!(self, s => s.train_steps(n))
    }
    /// Trains for a duration.
    pub fn train_for(&mut self, budget: Duration) -> Result<ChunkReport> {
        each!(self, s => s.train_for(budget))
    }
    /// Trains until the run's cumulative training seconds reach `train_seconds`.
    pub fn train_until(&mut self, train_seconds: f64) -> Result<ChunkReport> {
        each!(self, s => s.train_until(train_seconds))
    }
    /// The fixed-noise sample grid.
    pub fn sample_grid(&self) -> Result<ImageGrid> {
        each!(self, s => s.sample_grid())
    }
    /// The numbers so far.
    pub fn summary(&self) -> Summary {
        each!(self, s => s.summary())
    }
    /// Every metrics row so far.
    pub fn history(&self) -> &[MetricsRow] {
        each!(self, s => s.history())
    }
    /// Steps done.
    pub fn step(&self) -> u64 {
        each!(self, s => s.step())
    }
    /// The configuration.
    pub fn config(&self) -> &ExperimentConfig {
        each!(self, s => s.config())
    }
    /// The run directory, when recording.
    pub fn run_dir(&self) -> Option<&RunDir> {
        each!(self, s => s.run_dir())
    }
    /// Scores the current generator on `n` samples (see [`Session::evaluate`]).
    pub fn evaluate(&mut self, n: usize, sampling: crate::config::Sampling) -> Result<crate::run::QualityRow> {
        each!(self, s => s.evaluate(n, sampling))
    }
    /// [`Self::evaluate`] and where its samples lie (see [`Session::evaluate_with_look`]).
    pub fn evaluate_with_look(&mut self, n: usize, sampling: crate::config::Sampling) -> Result<(crate::run::QualityRow, crate::train::ManifoldLook)> {
        each!(self, s => s.evaluate_with_look(n, sampling))
    }
    /// Every quality row recorded so far.
    pub fn quality(&self) -> &[crate::run::QualityRow] {
        each!(self, s => s.quality())
    }
    /// Every float parameter of (generator, discriminator).
    pub fn parameters(&self) -> (Vec<f32>, Vec<f32>) {
        each!(self, s => s.parameters())
    }
    /// Fixed-noise samples, CHW in [-1, 1].
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        each!(self, s => s.fixed_samples())
    }
    /// Starts recording into a new run directory (see [`Session::attach_run`]).
    pub fn attach_run(&mut self, run: RunDir) -> Result<()> {
        each!(self, s => s.attach_run(run))
    }
    /// Files skipped while reading an image folder (not images).
    pub fn skipped_files(&self) -> &[std::path::PathBuf] {
        each!(self, s => &s.dataset().skipped)
    }
    /// Turns progress lines on or off.
    pub fn set_verbose(&mut self, verbose: bool) {
        each!(self, s => s.set_verbose(verbose))
    }
    /// See [`Session::stop`].
    pub fn set_stop_flag(&mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        each!(self, s => s.stop = Some(flag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reopens_on_its_recorded_backend_flex_without_a_record_and_an_unknown_one_is_an_error() {
        let run = RunDir { path: crate::test_scratch_dir("recorded_backend") };
        std::fs::create_dir_all(&run.path).unwrap();
        assert_eq!(recorded_backend(&run).unwrap(), BackendKind::Flex);
        let mut record = serde_json::to_value(platform_record(BackendKind::NdArray, None)).unwrap();
        crate::run::write_json(&run.platform_path(), &record).unwrap();
        assert_eq!(recorded_backend(&run).unwrap(), BackendKind::NdArray);
        record["backend"] = "tpu".into();
        crate::run::write_json(&run.platform_path(), &record).unwrap();
        let err = recorded_backend(&run).unwrap_err().to_string();
        assert!(err.contains("platform.json") && err.contains("tpu"), "{err}");
    }

    #[test]
    fn prices_must_be_non_negative_numbers() {
        assert_eq!(parse_price(" 0.526 ").unwrap(), 0.526);
        assert!(parse_price("-1").is_err());
        assert!(parse_price("cheap").unwrap_err().to_string().contains("'cheap'"));
    }

    #[test]
    fn the_platform_record_names_backend_cores_and_version() {
        let p = platform_record(BackendKind::Flex, Some(0.1));
        assert_eq!(p.backend, "flex");
        assert!(p.logical_cores >= 1 && p.threads >= 1);
        assert!(p.device.starts_with("cpu ("));
        assert_eq!(p.gan_lab_version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn a_session_flushes_subnormals_on_every_thread_of_its_pool() {
        // A diverging run's subnormal gradients made some of its steps 8× slower (see `denormals`).
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| {
            let mut cfg = crate::config::preset("mlp-gan").unwrap();
            cfg.data.limit = Some(128);
            AnySession::new(cfg, BackendKind::Flex, None, None).unwrap();
        });
        assert_eq!(pool.broadcast(|_| crate::denormals::flushing()), [true; 2]);
    }

    #[test]
    fn asking_for_a_gpu_backend_the_build_lacks_says_how_to_get_it() {
        let lacking = [(BackendKind::Cuda, cfg!(feature = "cuda")), (BackendKind::Wgpu, cfg!(feature = "wgpu"))];
        for (backend, _) in lacking.into_iter().filter(|(_, compiled)| !compiled) {
            let cfg = crate::config::preset("mlp-gan").unwrap();
            let err = AnySession::new(cfg, backend, None, None).err().unwrap().to_string();
            assert!(err.contains(&format!("--features {backend}")), "{err}");
            assert_eq!(backend.check().unwrap_err().to_string(), err);
        }
    }
}
