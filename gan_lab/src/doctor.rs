//! `gan-lab doctor`: what this machine and this build can do, and why not where they cannot —
//! backends compiled in, devices, what CUDA needs at run time (`cuda_setup`), the notebook kernel, the
//! build caches, and the platform record a run would store.
//!
//! The checks that need burn (backends, platform record) come from the binary; everything else is
//! here, so a notebook kernel without the `engine` feature can run them too.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::run::PlatformRecord;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked (`backend cuda`, `kernel spec`, …).
    pub item: String,
    /// `ok`, `missing` (something a feature needs is absent) or `info`.
    pub status: String,
    /// What was found, or why not.
    pub detail: String,
}

impl Check {
    pub fn ok(item: &str, detail: impl Into<String>) -> Self {
        Check { item: item.into(), status: "ok".into(), detail: detail.into() }
    }
    pub fn missing(item: &str, detail: impl Into<String>) -> Self {
        Check { item: item.into(), status: "missing".into(), detail: detail.into() }
    }
    pub fn info(item: &str, detail: impl Into<String>) -> Self {
        Check { item: item.into(), status: "info".into(), detail: detail.into() }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoctorReport {
    pub checks: Vec<Check>,
    /// What a run on the default backend would record in platform.json.
    pub platform: Option<PlatformRecord>,
}

impl std::fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.checks.iter().map(|c| c.item.chars().count()).max().unwrap_or(0);
        for c in &self.checks {
            writeln!(f, "{:<7} {:<width$}  {}", c.status, c.item, c.detail)?;
        }
        if let Some(p) = &self.platform {
            writeln!(f, "platform record of a run here (platform.json):")?;
            writeln!(f, "{}", serde_json::to_string_pretty(p).unwrap_or_default())?;
        }
        Ok(())
    }
}

impl DoctorReport {
    /// The check for `item`, if any.
    pub fn get(&self, item: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.item == item)
    }

    pub fn to_html(&self) -> String {
        let rows: String = self
            .checks
            .iter()
            .map(|c| {
                let colour = match c.status.as_str() {
                    "ok" => "#1a7f37",
                    "missing" => "#b35900",
                    _ => "#555",
                };
                format!(
                    "<tr><td style=\"color:{colour};text-align:left\"><b>{}</b></td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
                    crate::report::escape(&c.status),
                    crate::report::escape(&c.item),
                    crate::report::escape(&c.detail)
                )
            })
            .collect();
        let platform = self
            .platform
            .as_ref()
            .map(|p| format!("<details><summary>platform record</summary><pre>{}</pre></details>", crate::report::escape(&serde_json::to_string_pretty(p).unwrap_or_default())))
            .unwrap_or_default();
        format!("<table class=\"gan-lab-doctor\"><tr><th style=\"text-align:left\">status</th><th style=\"text-align:left\">item</th><th style=\"text-align:left\">detail</th></tr>{rows}</table>{platform}")
    }

    pub fn evcxr_display(&self) {
        crate::report::evcxr_html(&self.to_html());
    }
}

/// Folders the dynamic loader searches for the CUDA libraries, in order: `LD_LIBRARY_PATH`, the
/// CUDA toolkit (`CUDA_PATH`, /usr/local/cuda), then the system's library folders.
pub fn library_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH").unwrap_or_default().split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect();
    if let Some(cuda) = std::env::var_os("CUDA_PATH") {
        dirs.push(PathBuf::from(&cuda).join("lib64"));
    }
    for d in [
        "/usr/local/cuda/lib64",
        "/usr/local/cuda/targets/x86_64-linux/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/lib/wsl/lib",
        "/usr/local/lib",
    ] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// The first file in `dirs` whose name starts with `prefix` (e.g. `libnvrtc.so`).
pub fn find_library(prefix: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d) else { continue };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix))).collect();
        names.sort();
        if let Some(p) = names.into_iter().next() {
            return Some(p);
        }
    }
    None
}

/// The NVIDIA GPUs `nvidia-smi` lists (name, driver, memory), or why there are none.
pub fn nvidia_devices() -> Result<Vec<String>, String> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
        .output()
        .map_err(|e| if e.kind() == std::io::ErrorKind::NotFound { "nvidia-smi not found (no NVIDIA driver installed)".to_string() } else { format!("nvidia-smi: {e}") })?;
    if !out.status.success() {
        let text = format!("{}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no message").to_string();
        return Err(format!("nvidia-smi failed: {first}"));
    }
    let gpus: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    if gpus.is_empty() {
        Err("nvidia-smi lists no GPU".into())
    } else {
        Ok(gpus)
    }
}

/// Where Jupyter looks for kernel specs (`JUPYTER_PATH`, the user's data folder, the lab's venv,
/// SageMaker's Jupyter environment, the system's folders).
pub fn kernel_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("JUPYTER_PATH").unwrap_or_default().split(':').filter(|s| !s.is_empty()).map(|p| Path::new(p).join("kernels")).collect();
    if let Some(d) = std::env::var_os("JUPYTER_DATA_DIR") {
        dirs.push(PathBuf::from(d).join("kernels"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(&home).join(".local/share/jupyter/kernels"));
        dirs.push(PathBuf::from(&home).join("anaconda3/envs/JupyterSystemEnv/share/jupyter/kernels"));
    }
    dirs.push(gan_lab_home().join("venv/share/jupyter/kernels"));
    dirs.push(PathBuf::from("/usr/local/share/jupyter/kernels"));
    dirs.push(PathBuf::from("/usr/share/jupyter/kernels"));
    dirs
}

/// `$GAN_LAB_HOME`, else `~/.cache/gan_lab`.
pub fn gan_lab_home() -> PathBuf {
    match std::env::var_os("GAN_LAB_HOME") {
        Some(h) => PathBuf::from(h),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache/gan_lab"),
    }
}

/// The `rust` kernel spec: its file and the kernel program it starts, checked to exist.
pub fn kernel_check() -> Check {
    for dir in kernel_dirs() {
        let spec = dir.join("rust").join("kernel.json");
        let Ok(text) = std::fs::read_to_string(&spec) else { continue };
        let program = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["argv"][0].as_str().map(PathBuf::from));
        return match program {
            Some(p) if p.is_file() => Check::ok("evcxr kernel", format!("{} → {}", spec.display(), p.display())),
            Some(p) => Check::missing("evcxr kernel", format!("{} names {}, which does not exist: run environment/setup.sh", spec.display(), p.display())),
            None => Check::missing("evcxr kernel", format!("{} has no argv: run environment/setup.sh", spec.display())),
        };
    }
    Check::missing("evcxr kernel", "no 'rust' kernel spec registered with Jupyter: run environment/setup.sh")
}

/// Bytes under `dir` (0 when absent), without following links.
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

fn cache_check(item: &str, dir: &Path, why: &str) -> Check {
    if dir.is_dir() {
        Check::info(item, format!("{} ({:.1} GB{why})", dir.display(), folder_bytes(dir) as f64 / 1e9))
    } else {
        Check::info(item, format!("{} (not created yet{why})", dir.display()))
    }
}

/// The checks that need no burn: toolchain, devices, CUDA libraries, kernel spec, caches.
pub fn environment_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    match std::process::Command::new("rustc").arg("--version").output() {
        Ok(o) if o.status.success() => checks.push(Check::ok("rust toolchain", String::from_utf8_lossy(&o.stdout).trim().to_string())),
        _ => checks.push(Check::missing("rust toolchain", "rustc not on PATH: notebooks compile their cells with it (environment/setup.sh installs it)")),
    }
    checks.push(Check::info("cpu", format!("{} × {}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), cpu_model())));
    match nvidia_devices() {
        Ok(gpus) => checks.push(Check::ok("nvidia gpu", gpus.join("; "))),
        Err(why) => checks.push(Check::info("nvidia gpu", why)),
    }
    checks.extend(crate::cuda_setup::CudaSetup::probe().checks());
    checks.extend(crate::vulkan_setup::VulkanSetup::probe().checks());
    checks.push(kernel_check());
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    match target {
        Some(t) => checks.push(cache_check("build cache", &t, ", CARGO_TARGET_DIR")),
        None => checks.push(Check::info("build cache", "CARGO_TARGET_DIR not set: builds go to target/ in the checkout (set it to share one cache; setup.sh uses ~/.cache/gan_lab/target)")),
    }
    checks.push(cache_check("kernel cache", &gan_lab_home().join("evcxr"), ", notebook build folders"));
    checks.push(cache_check("gpu kernel cache", &crate::gpu_cache::cache_folder(&gan_lab_home()), ", cuda's compiled kernels and cubecl's autotune choices"));
    checks
}

/// CPU model from /proc/cpuinfo (Linux), else the architecture.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_is_found_by_prefix_in_the_first_folder_that_has_it() {
        let root = crate::test_scratch_dir("doctor");
        let (a, b) = (root.join("a"), root.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("libnvrtc.so.12"), b"").unwrap();
        std::fs::write(b.join("libnvrtc-builtins.so.12"), b"").unwrap();
        assert_eq!(find_library("libnvrtc.so", &[a.clone(), b.clone()]), Some(b.join("libnvrtc.so.12")));
        assert_eq!(find_library("libcuda.so", &[a, b]), None);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_report_prints_one_line_per_check_and_the_platform_record() {
        let report = DoctorReport { checks: vec![Check::ok("backend flex", "cpu (2 threads)"), Check::missing("backend cuda", "no GPU")], platform: None };
        let text = report.to_string();
        assert_eq!(text, "ok      backend flex  cpu (2 threads)\nmissing backend cuda  no GPU\n");
        assert!(report.to_html().contains(">backend cuda</td>"));
        assert_eq!(report.get("backend cuda").unwrap().status, "missing");
    }
}
