//! Where the GPU backends keep what they work out at run time, so that the next process starts in
//! a second: the PTX that NVRTC compiles for each cuda kernel at first use (dcgan28 on an H200:
//! 10.7 s from start to the 20th step with none cached, 1.2 s with all of them) and cubecl's
//! autotune choices (which convolution and matrix kernels are fastest for each shape). Both go
//! under `$GAN_LAB_HOME/cubecl` (default `~/.cache/gan_lab/cubecl`), outside any checkout. A
//! cubecl settings file (`cubecl.toml`, or `burn.toml` with a `[cubecl]` section) in the working
//! folder or above it is the user's choice: then cubecl reads it as it always does.

use std::path::{Path, PathBuf};

#[cfg(any(feature = "cuda", feature = "wgpu"))]
use cubecl_runtime::config::{cache::CacheConfig, CubeClRuntimeConfig, RuntimeConfig};

/// The files cubecl reads its settings from, looked for in the working folder and each above it.
const SETTINGS_FILES: [&str; 4] = ["cubecl.toml", "CubeCL.toml", "burn.toml", "Burn.toml"];

/// The first cubecl settings file in `dir` or a folder above it.
pub fn settings_file(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().flat_map(|d| SETTINGS_FILES.iter().map(move |f| d.join(f))).find(|p| p.is_file())
}

/// The folder that holds both caches.
pub fn cache_folder(home: &Path) -> PathBuf {
    home.join("cubecl")
}

/// The GPUs and compiler that PTX is kept for: each distinct GPU line of `nvidia-smi` (name,
/// driver, memory) once, however many cards a machine has, and the NVRTC version.
pub fn gpu_and_compiler(gpus: &[String], nvrtc: Option<crate::cuda_setup::CudaVersion>) -> String {
    let mut distinct: Vec<&str> = gpus.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let nvrtc = nvrtc.map_or_else(|| "unknown".to_string(), |v| v.to_string());
    format!("{}; nvrtc {nvrtc}", distinct.join("; "))
}

/// The PTX folder for one kind of GPU and compiler. cubecl keys its PTX by kernel alone, and PTX
/// built for one GPU architecture does not load on another, so a home folder that several
/// machines share (a cluster's) needs a folder per GPU model and NVRTC version.
pub fn ptx_folder(home: &Path, key: &str) -> PathBuf {
    let name: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect();
    cache_folder(home).join("ptx").join(name)
}

/// The settings gan_lab gives cubecl: autotune choices in `home/cubecl`, and PTX in
/// [`ptx_folder`] when the GPU and compiler are known (`None`: no PTX cache); the rest as cubecl's
/// defaults and its `CUBECL_*` environment variables make it.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub fn settings(home: &Path, key: Option<&str>) -> CubeClRuntimeConfig {
    let mut config = CubeClRuntimeConfig::default().override_from_env();
    config.autotune.cache = CacheConfig::File(cache_folder(home));
    config.compilation.cache = key.map(|key| CacheConfig::File(ptx_folder(home, key)));
    config
}

/// Gives cubecl [`settings`] before its first use in this process, unless a settings file of the
/// user's is found, the cache folder cannot be made (a read-only home: cubecl's defaults then),
/// or cubecl has already read its settings; the first call decides, later ones do nothing.
/// `key` as [`gpu_and_compiler`] makes it: the cuda backend passes its GPUs and NVRTC version,
/// wgpu (which compiles no PTX) passes `None`.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub fn configure(key: Option<&str>) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        if settings_file(&cwd).is_some() {
            return;
        }
        let home = crate::doctor::gan_lab_home();
        if std::fs::create_dir_all(cache_folder(&home)).is_err() {
            return;
        }
        let config = settings(&home, key);
        let mut slot = CubeClRuntimeConfig::storage().lock();
        if slot.is_none() {
            *slot = Some(std::sync::Arc::new(config));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_file_is_found_in_the_folder_or_above_it() {
        let root = std::env::temp_dir().join(format!("gan_lab_gpu_cache_{}", std::process::id()));
        let deep = root.join("a").join("b");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(settings_file(&deep), None);
        std::fs::write(root.join("a").join("burn.toml"), "[cubecl]\n").unwrap();
        assert_eq!(settings_file(&deep), Some(root.join("a").join("burn.toml")));
        std::fs::write(deep.join("cubecl.toml"), "").unwrap();
        assert_eq!(settings_file(&deep), Some(deep.join("cubecl.toml")), "the nearest folder first");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn each_gpu_and_compiler_has_its_own_ptx_folder_under_home() {
        let home = Path::new("/h");
        let h200 = ptx_folder(home, "NVIDIA H200, 580.159.04, 143771 MiB; nvrtc 13.0");
        assert_eq!(h200, Path::new("/h/cubecl/ptx/NVIDIA-H200--580.159.04--143771-MiB--nvrtc-13.0"));
        assert_ne!(h200, ptx_folder(home, "NVIDIA A100-SXM4-80GB, 580.159.04, 81920 MiB; nvrtc 13.0"));
    }

    #[test]
    fn eight_cards_of_one_model_share_one_ptx_folder_whose_name_fits_a_file_system() {
        let h200 = "NVIDIA H200, 580.159.04, 143771 MiB".to_string();
        let v13 = Some(crate::cuda_setup::CudaVersion { major: 13, minor: 0 });
        let one = gpu_and_compiler(std::slice::from_ref(&h200), v13);
        assert_eq!(one, "NVIDIA H200, 580.159.04, 143771 MiB; nvrtc 13.0");
        assert_eq!(gpu_and_compiler(&vec![h200.clone(); 8], v13), one);
        let folder = ptx_folder(Path::new("/h"), &gpu_and_compiler(&vec![h200.clone(); 8], v13));
        assert!(folder.file_name().unwrap().len() < 255, "{}", folder.display());
        let mixed = gpu_and_compiler(&["NVIDIA L4, 580.159.04, 23034 MiB".to_string(), h200.clone(), h200], None);
        assert_eq!(mixed, "NVIDIA H200, 580.159.04, 143771 MiB; NVIDIA L4, 580.159.04, 23034 MiB; nvrtc unknown");
    }

    #[cfg(any(feature = "cuda", feature = "wgpu"))]
    #[test]
    fn cubecl_is_given_both_caches_under_home() {
        let home = Path::new("/h");
        let config = settings(home, Some("NVIDIA H200; nvrtc 13.0"));
        assert_eq!(config.autotune.cache.root(), Path::new("/h/cubecl"));
        assert_eq!(config.compilation.cache.map(|c| c.root()), Some(PathBuf::from("/h/cubecl/ptx/NVIDIA-H200--nvrtc-13.0")));
        assert!(settings(home, None).compilation.cache.is_none(), "no PTX cache without a GPU to key it by");
    }
}
