//! What the cuda backend needs on a machine at run time, looked for without loading CUDA: the
//! NVIDIA driver (`libcuda.so`), NVRTC (`libnvrtc.so`: burn-cuda 0.21 compiles every kernel with it
//! when first used), the CUDA toolkit's headers (every kernel includes `cuda_runtime.h`, from the
//! folder cubecl-cuda picks: `CUDA_PATH`, else /usr/local/cuda, /opt/cuda, or /usr when
//! /usr/bin/nvcc exists), and an NVRTC no newer than the CUDA version the driver supports (the
//! driver refuses PTX from a newer one). `gan-lab doctor` shows each; the cuda backend refuses to
//! start with the first thing missing, in one sentence, instead of cubecl's panic.

use std::path::{Path, PathBuf};

use crate::doctor::{find_library, library_dirs, Check};

/// A CUDA version, e.g. 12.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CudaVersion {
    pub major: u32,
    pub minor: u32,
}

impl std::fmt::Display for CudaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What was found on this machine for the cuda backend.
#[derive(Debug, Clone, PartialEq)]
pub struct CudaSetup {
    /// `libcuda.so*`, the driver's library.
    pub driver: Option<PathBuf>,
    /// The highest CUDA version the driver supports (`nvidia-smi`'s "CUDA Version").
    pub driver_cuda: Option<CudaVersion>,
    /// `libnvrtc.so*`, and its version read from the file it resolves to (`libnvrtc.so.12.4.127`).
    pub nvrtc: Option<PathBuf>,
    pub nvrtc_version: Option<CudaVersion>,
    /// The toolkit folder cubecl-cuda uses, and whether its `include/cuda_runtime.h` exists.
    pub toolkit: Option<PathBuf>,
    pub headers: bool,
}

/// The toolkit folder cubecl-cuda 0.10 (burn 0.21) takes, in its order: `CUDA_PATH` as given,
/// /usr/local/cuda, /opt/cuda, or /usr when /usr/bin/nvcc exists.
pub fn toolkit_dir(cuda_path: Option<PathBuf>, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if cuda_path.is_some() {
        return cuda_path;
    }
    for dir in ["/usr/local/cuda", "/opt/cuda"] {
        if exists(Path::new(dir)) {
            return Some(PathBuf::from(dir));
        }
    }
    exists(Path::new("/usr/bin/nvcc")).then(|| PathBuf::from("/usr"))
}

/// The version in a library's real file name (`libnvrtc.so.12.4.127` → 12.4; a link is followed
/// first); None when the name carries no major and minor version.
pub fn library_version(path: &Path) -> Option<CudaVersion> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = real.file_name()?.to_str()?;
    let (_, numbers) = name.split_once(".so.")?;
    let mut parts = numbers.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => Some(CudaVersion { major, minor }),
        _ => None,
    }
}

/// The "CUDA Version: 12.4" that `nvidia-smi`'s table header shows.
pub fn driver_cuda_version(nvidia_smi_output: &str) -> Option<CudaVersion> {
    let (_, rest) = nvidia_smi_output.split_once("CUDA Version:")?;
    let text: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let (major, minor) = text.split_once('.')?;
    Some(CudaVersion { major: major.parse().ok()?, minor: minor.parse().ok()? })
}

impl CudaSetup {
    /// Looks at this machine: the library folders (see [`library_dirs`]), `CUDA_PATH` and the
    /// toolkit folders, and `nvidia-smi` when it is on the PATH.
    pub fn probe() -> Self {
        let dirs = library_dirs();
        let nvrtc = find_library("libnvrtc.so", &dirs);
        let toolkit = toolkit_dir(std::env::var_os("CUDA_PATH").map(PathBuf::from), Path::exists);
        let smi = std::process::Command::new("nvidia-smi").output().ok().filter(|o| o.status.success());
        CudaSetup {
            driver: find_library("libcuda.so", &dirs),
            driver_cuda: smi.and_then(|o| driver_cuda_version(&String::from_utf8_lossy(&o.stdout))),
            nvrtc_version: nvrtc.as_deref().and_then(library_version),
            nvrtc,
            headers: toolkit.as_ref().is_some_and(|t| t.join("include").join("cuda_runtime.h").is_file()),
            toolkit,
        }
    }

    /// The first thing that stops the cuda backend, as one sentence (None when nothing does).
    pub fn problem(&self) -> Option<String> {
        if self.driver.is_none() {
            return Some("the NVIDIA driver's libcuda.so was not found (searched LD_LIBRARY_PATH, CUDA_PATH, /usr/local/cuda and the system library folders): install the NVIDIA driver".into());
        }
        if self.nvrtc.is_none() {
            return Some("NVRTC (libnvrtc.so) was not found: burn-cuda compiles its kernels with it at run time; install the CUDA toolkit's NVRTC (package cuda-nvrtc-12-x in NVIDIA's repository) or add its folder to LD_LIBRARY_PATH".into());
        }
        let Some(toolkit) = &self.toolkit else {
            return Some("no CUDA toolkit folder: burn-cuda looks in CUDA_PATH, /usr/local/cuda, /opt/cuda, or /usr when /usr/bin/nvcc exists, for the headers its kernels include; set CUDA_PATH to the toolkit".into());
        };
        if !self.headers {
            let header = toolkit.join("include").join("cuda_runtime.h");
            return Some(format!(
                "{} not found: every kernel burn-cuda compiles includes it; install the toolkit's headers (package cuda-cudart-dev-12-x) or set CUDA_PATH to a toolkit that has them",
                header.display()
            ));
        }
        if let (Some(nvrtc), Some(driver)) = (self.nvrtc_version, self.driver_cuda) {
            if nvrtc > driver {
                return Some(format!(
                    "NVRTC {nvrtc} is newer than the CUDA version this driver supports ({driver}): the driver refuses the PTX it makes; install NVRTC {driver} or older, or a newer driver"
                ));
            }
        }
        None
    }

    /// Lines for `gan-lab doctor`: driver, NVRTC, headers, and whether the versions fit.
    pub fn checks(&self) -> Vec<Check> {
        let needs = "the cuda backend needs it";
        let mut checks = Vec::new();
        checks.push(match (&self.driver, self.driver_cuda) {
            (Some(p), Some(v)) => Check::ok("cuda driver", format!("{} (supports CUDA {v})", p.display())),
            (Some(p), None) => Check::ok("cuda driver", p.display().to_string()),
            (None, _) => Check::info("cuda driver", format!("libcuda.so* not found (the NVIDIA driver; searched LD_LIBRARY_PATH, CUDA_PATH, /usr/local/cuda and the system library folders): {needs}")),
        });
        checks.push(match (&self.nvrtc, self.nvrtc_version) {
            (Some(p), Some(v)) => Check::ok("nvrtc", format!("{} (CUDA {v})", p.display())),
            (Some(p), None) => Check::ok("nvrtc", format!("{} (version not in its file name)", p.display())),
            (None, _) => Check::info("nvrtc", format!("libnvrtc.so* not found (the CUDA runtime compiler, CUDA toolkit): {needs}")),
        });
        checks.push(match (&self.toolkit, self.headers) {
            (Some(t), true) => Check::ok("cuda headers", t.join("include").join("cuda_runtime.h").display().to_string()),
            (Some(t), false) => Check::info("cuda headers", format!("{} not found (kernels include it): {needs}", t.join("include").join("cuda_runtime.h").display())),
            (None, _) => Check::info("cuda headers", format!("no CUDA toolkit folder (CUDA_PATH, /usr/local/cuda, /opt/cuda, /usr with nvcc): {needs}")),
        });
        if let (Some(nvrtc), Some(driver)) = (self.nvrtc_version, self.driver_cuda) {
            checks.push(if nvrtc <= driver {
                Check::ok("cuda versions", format!("NVRTC {nvrtc} ≤ driver's CUDA {driver}"))
            } else {
                Check::missing("cuda versions", format!("NVRTC {nvrtc} is newer than the driver's CUDA {driver}: the driver refuses its PTX"))
            });
        }
        checks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u32, minor: u32) -> CudaVersion {
        CudaVersion { major, minor }
    }

    #[test]
    fn the_toolkit_folder_is_found_in_cubecl_cudas_order() {
        let only = |dirs: &'static [&'static str]| move |p: &Path| dirs.iter().any(|d| Path::new(d) == p);
        assert_eq!(toolkit_dir(Some("/x/cuda".into()), only(&["/usr/local/cuda"])), Some("/x/cuda".into()), "CUDA_PATH first, as given");
        assert_eq!(toolkit_dir(None, only(&["/usr/local/cuda", "/opt/cuda"])), Some("/usr/local/cuda".into()));
        assert_eq!(toolkit_dir(None, only(&["/opt/cuda"])), Some("/opt/cuda".into()));
        assert_eq!(toolkit_dir(None, only(&["/usr/bin/nvcc"])), Some("/usr".into()));
        assert_eq!(toolkit_dir(None, only(&[])), None);
    }

    #[test]
    fn versions_come_from_the_library_file_and_nvidia_smi() {
        let dir = crate::test_scratch_dir("cuda_setup_versions");
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("libnvrtc.so.12.4.127");
        std::fs::write(&real, b"").unwrap();
        let link = dir.join("libnvrtc.so");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(library_version(&link), Some(v(12, 4)), "the link is followed");
        std::fs::write(dir.join("libnvrtc.so.12"), b"").unwrap();
        assert_eq!(library_version(&dir.join("libnvrtc.so.12")), None, "no minor version");
        let smi = "+-----------------------------------------------------------------------------+\n| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4     |\n";
        assert_eq!(driver_cuda_version(smi), Some(v(12, 4)));
        assert_eq!(driver_cuda_version("No devices were found"), None);
        assert!(v(12, 10) > v(12, 4) && v(11, 8) < v(12, 0));
    }

    /// Fake installations, each missing one thing: the first missing thing is the one sentence.
    #[test]
    fn each_missing_part_is_named_in_one_sentence() {
        let full = CudaSetup {
            driver: Some("/usr/lib/x86_64-linux-gnu/libcuda.so.1".into()),
            driver_cuda: Some(v(12, 4)),
            nvrtc: Some("/usr/local/cuda/lib64/libnvrtc.so.12".into()),
            nvrtc_version: Some(v(12, 4)),
            toolkit: Some("/usr/local/cuda".into()),
            headers: true,
        };
        assert_eq!(full.problem(), None);
        assert!(full.checks().iter().all(|c| c.status == "ok"), "{:?}", full.checks());
        let problem = |change: fn(&mut CudaSetup)| {
            let mut s = full.clone();
            change(&mut s);
            s.problem().expect("a problem")
        };
        let problems = [
            (problem(|s| s.driver = None), "the NVIDIA driver's libcuda.so was not found"),
            (problem(|s| s.nvrtc = None), "NVRTC (libnvrtc.so) was not found"),
            (problem(|s| s.toolkit = None), "no CUDA toolkit folder"),
            (problem(|s| s.headers = false), "/usr/local/cuda/include/cuda_runtime.h not found"),
            (problem(|s| s.nvrtc_version = Some(v(12, 8))), "NVRTC 12.8 is newer than the CUDA version this driver supports (12.4)"),
        ];
        for (p, start) in problems {
            assert!(p.starts_with(start), "{p}");
            assert!(!p.contains(". ") && !p.ends_with('.'), "one sentence, no full stop: {p}");
        }
        let mut old_driver = full.clone();
        old_driver.nvrtc_version = Some(v(12, 8));
        let versions = old_driver.checks().into_iter().find(|c| c.item == "cuda versions").unwrap();
        assert_eq!(versions.status, "missing");
        let unknown = CudaSetup { driver_cuda: None, ..full.clone() };
        assert!(unknown.checks().iter().all(|c| c.item != "cuda versions"), "no verdict without both versions");
    }
}
