//! Where the GPU backends keep what they work out at run time, so that the next process starts in
//! a second: the PTX that NVRTC compiles for each cuda kernel at first use (dcgan28 on an H200:
//! 10.7 s from start to the 20th step with none cached, 1.2 s with all of them) and cubecl's
//! autotune choices (which convolution and matrix kernels are fastest for each shape). Both go
//! under `$GAN_LAB_HOME/cubecl` (default `~/.cache/gan_lab/cubecl`), outside any checkout, unless
//! the user's cubecl settings (`cubecl.toml`, or `burn.toml` with a `[cubecl]` section, in the
//! working folder or above it, as cubecl reads them) name a cache of their own.

use std::path::{Path, PathBuf};

#[cfg(any(feature = "cuda", feature = "wgpu"))]
use cubecl_runtime::config::{cache::CacheConfig, CubeClRuntimeConfig, RuntimeConfig};

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

/// The user's cubecl settings with gan_lab's caches where they leave a cache unset: autotune
/// choices in `home/cubecl` (cubecl's default, `target`, counts as unset), and PTX in
/// [`ptx_folder`] when the GPU and compiler are known (`None`: no PTX cache).
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub fn settings(mut user: CubeClRuntimeConfig, home: &Path, key: Option<&str>) -> CubeClRuntimeConfig {
    if matches!(user.autotune.cache, CacheConfig::Target) {
        user.autotune.cache = CacheConfig::File(cache_folder(home));
    }
    if user.compilation.cache.is_none() {
        user.compilation.cache = key.map(|key| CacheConfig::File(ptx_folder(home, key)));
    }
    user
}

/// Gives cubecl [`settings`] before its first use in this process: what cubecl itself would read
/// (its settings files, then its `CUBECL_*` environment variables) with gan_lab's caches filled
/// in. Nothing changes when the cache folder cannot be made (a read-only home) or cubecl has
/// already read its settings; the first call decides, later ones do nothing. `key` as
/// [`gpu_and_compiler`] makes it: the cuda backend passes its GPUs and NVRTC version, wgpu (which
/// compiles no PTX) passes `None`.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
pub fn configure(key: Option<&str>) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let home = crate::doctor::gan_lab_home();
        if std::fs::create_dir_all(cache_folder(&home)).is_err() {
            return;
        }
        let mut slot = CubeClRuntimeConfig::storage().lock();
        if slot.is_none() {
            let user = CubeClRuntimeConfig::from_current_dir().override_from_env();
            *slot = Some(std::sync::Arc::new(settings(user, &home, key)));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn cubecl_is_given_both_caches_under_home_where_the_user_set_none() {
        let home = Path::new("/h");
        let config = settings(CubeClRuntimeConfig::default(), home, Some("NVIDIA H200; nvrtc 13.0"));
        assert_eq!(config.autotune.cache.root(), Path::new("/h/cubecl"));
        assert_eq!(config.compilation.cache.map(|c| c.root()), Some(PathBuf::from("/h/cubecl/ptx/NVIDIA-H200--nvrtc-13.0")));
        assert!(settings(CubeClRuntimeConfig::default(), home, None).compilation.cache.is_none(), "no PTX cache without a GPU to key it by");
        let mut user = CubeClRuntimeConfig::default();
        user.autotune.cache = CacheConfig::File("/mine/tune".into());
        user.compilation.cache = Some(CacheConfig::File("/mine/ptx".into()));
        let kept = settings(user, home, Some("NVIDIA H200; nvrtc 13.0"));
        assert_eq!(kept.autotune.cache.root(), Path::new("/mine/tune"), "the user's autotune cache stays");
        assert_eq!(kept.compilation.cache.map(|c| c.root()), Some(PathBuf::from("/mine/ptx")), "the user's PTX cache stays");
    }
}
