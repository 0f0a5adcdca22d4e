//! gan_lab: a lab for comparing GAN configurations.
//!
//! The data path: [`config`] (an `ExperimentConfig` or a named preset) → [`train::Trainer`]
//! (models from [`model`], a loss from [`loss`], the GAN step) recorded by a [`train::Recorder`],
//! the two driven in chunks by a [`train::Session`] on a backend chosen at run time ([`platform`])
//! → a run directory ([`run`]: config, platform, metrics.parquet, sample grids, checkpoints,
//! summary) → [`run::RunTable`] over many runs.
//!
//! | module | holds |
//! |---|---|
//! | [`backend`] | the backends by name (flex, ndarray, cuda, wgpu) |
//! | [`config`] | `ExperimentConfig`, validation rules, presets named after their source |
//! | [`data`] | gzip IDX and image-folder readers, shipped datasets, the [-1, 1] normalisation, split, batch order |
//! | [`model`] | generator and discriminator (MLP and DCGAN, maxout, BatchNorm, dropout) — `engine` feature |
//! | [`loss`] | the adversarial losses, one file each: BCE (minimax, non-saturating), least squares, hinge, Wasserstein — `engine` feature |
//! | [`train`] | `Trainer` (the GAN step), `Recorder` (logs, samples, checkpoints, evaluation), `Session` (both, in chunks), G's moving average, the optimisers — `engine` feature |
//! | [`platform`] | backend choice (flex, ndarray, cuda, wgpu) and the platform record — `engine` feature |
//! | [`run`] | run directories, atomic writes, metrics.parquet, `RunTable`, a sweep's answer table (Welch intervals over seeds) |
//! | [`metrics`] | FLD/FID, KID, precision/recall, density/coverage, class coverage; the feature network (`engine`) |
//! | [`lab`] | the notebook side: `Experiment` driving a release `gan-lab engine` process, chunk reports, quick/full mode |
//! | [`report`] | sample grids (PNG), charts (SVG), HTML tables and evcxr display |
//! | [`signals`] | SIGTERM and SIGINT as a request to stop training cleanly |
//! | [`sweep`] | plans of configurations × seeds, stable run ids, local and Slurm executors, sweep status |
//! | [`bench`] | training-throughput benchmark (`gan-lab bench`) — `engine` feature |
//! | [`doctor`] | what this machine and build can do: backends, GPUs, CUDA libraries, kernel spec, caches |
//! | [`cuda_setup`], [`vulkan_setup`] | what the cuda and wgpu backends need at run time, found without loading them |
//! | [`gpu_cache`] | where the GPU backends keep compiled kernels and autotune choices (cubecl's settings with `cuda` or `wgpu`) |
//! | [`error`] | the one error type |

pub mod backend;
pub mod config;
pub mod cuda_setup;
pub mod data;
pub mod doctor;
pub mod error;
pub mod flops;
pub mod gpu_cache;
pub mod lab;
pub mod metrics;
pub mod prelude;
pub mod report;
pub mod run;
pub mod signals;
pub mod sweep;
pub mod vulkan_setup;

#[cfg(feature = "engine")]
pub mod allocator;
#[cfg(feature = "engine")]
pub mod bench;
#[cfg(feature = "engine")]
pub mod denormals;
#[cfg(feature = "engine")]
pub mod loss;
#[cfg(feature = "engine")]
pub mod model;
#[cfg(feature = "engine")]
pub mod platform;
#[cfg(feature = "engine")]
pub mod train;

pub use error::{Error, Result};

/// polars, re-exported so a notebook can name the DataFrame type of a `RunTable`.
pub use polars;

/// Lower-case hexadecimal of `bytes` (digests and hashes in file names and JSON).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Scratch folder of the crate's own tests: `<tmp>/gan_lab_tests/<pid>/<name>` (absent on return).
/// The first call in a process removes the folders of test processes that have ended, so test
/// runs do not pile up in the temporary folder.
#[doc(hidden)]
pub fn test_scratch_dir(name: &str) -> std::path::PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let root = std::env::temp_dir().join("gan_lab_tests");
    SWEPT.call_once(|| {
        let Ok(entries) = std::fs::read_dir(&root) else { return };
        for entry in entries.flatten() {
            let pid = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok());
            let alive = pid.is_some_and(|pid| !cfg!(target_os = "linux") || std::path::Path::new(&format!("/proc/{pid}")).exists());
            if pid.is_some() && !alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
    let dir = root.join(std::process::id().to_string()).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
