//! What the wgpu backend needs on Linux at run time, looked for without loading Vulkan: the Vulkan
//! loader (`libvulkan.so.1`, which wgpu opens when first used) and at least one Vulkan driver,
//! registered as an ICD file in the folders the loader reads (`VK_DRIVER_FILES` /
//! `VK_ICD_FILENAMES` when set). A GPU's driver installs one (`nvidia_icd.json`, `radeon_icd…`);
//! Mesa's lavapipe (`lvp_icd…`, package mesa-vulkan-drivers) is a software one that runs on the
//! CPU. `gan-lab doctor` shows both; the wgpu backend refuses to start with the first one missing,
//! in one sentence. macOS (Metal) and Windows (DX12) need neither.

use std::path::{Path, PathBuf};

use crate::doctor::{find_library, library_dirs, Check};

/// A Vulkan driver registered with the loader: its ICD file and what the file says.
#[derive(Debug, Clone, PartialEq)]
pub struct VulkanDriver {
    pub icd: PathBuf,
    /// The driver library the ICD file names (`library_path`).
    pub library: String,
    /// The Vulkan version the ICD file declares (`api_version`).
    pub api_version: String,
}

/// What was found on this machine for the wgpu backend's Vulkan path.
#[derive(Debug, Clone, PartialEq)]
pub struct VulkanSetup {
    /// `libvulkan.so.1`, the loader.
    pub loader: Option<PathBuf>,
    pub drivers: Vec<VulkanDriver>,
    /// Where the drivers were looked for (see [`icd_locations`]).
    pub searched: Vec<PathBuf>,
    /// Whether this platform uses Vulkan at all (Linux); elsewhere wgpu uses Metal or DX12.
    pub applies: bool,
}

/// The folders the Vulkan loader reads ICD files from, in its order: `VK_DRIVER_FILES` or the older
/// `VK_ICD_FILENAMES` when set (files or folders, `:`-separated), else the XDG config and data
/// folders, /etc and /usr/local/share and /usr/share.
pub fn icd_locations() -> Vec<PathBuf> {
    let explicit = std::env::var("VK_DRIVER_FILES").or_else(|_| std::env::var("VK_ICD_FILENAMES")).unwrap_or_default();
    if !explicit.is_empty() {
        return explicit.split(':').filter(|s| !s.is_empty()).map(PathBuf::from).collect();
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".config")));
    let data = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".local/share")));
    let mut dirs: Vec<PathBuf> = config.into_iter().map(|c| c.join("vulkan/icd.d")).collect();
    dirs.extend(["/etc/xdg/vulkan/icd.d", "/etc/vulkan/icd.d"].map(PathBuf::from));
    dirs.extend(data.into_iter().map(|d| d.join("vulkan/icd.d")));
    dirs.extend(["/usr/local/share/vulkan/icd.d", "/usr/share/vulkan/icd.d"].map(PathBuf::from));
    dirs
}

/// The drivers registered in `locations` (ICD files, or folders of them), sorted by file; a file
/// that is not an ICD file is skipped.
pub fn drivers_in(locations: &[PathBuf]) -> Vec<VulkanDriver> {
    let mut files: Vec<PathBuf> = Vec::new();
    for location in locations {
        if location.is_file() {
            files.push(location.clone());
        } else if let Ok(entries) = std::fs::read_dir(location) {
            let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
            found.sort();
            files.extend(found);
        }
    }
    files.into_iter().filter_map(|icd| read_icd(&icd)).collect()
}

fn read_icd(path: &Path) -> Option<VulkanDriver> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let icd = json.get("ICD")?;
    let field = |name: &str| icd.get(name).and_then(|v| v.as_str()).unwrap_or("").to_string();
    Some(VulkanDriver { icd: path.to_path_buf(), library: field("library_path"), api_version: field("api_version") })
}

impl VulkanSetup {
    /// Looks at this machine: the library folders for the loader, the ICD folders for drivers.
    pub fn probe() -> Self {
        let applies = cfg!(target_os = "linux");
        let searched = if applies { icd_locations() } else { Vec::new() };
        VulkanSetup {
            loader: applies.then(|| find_library("libvulkan.so.1", &library_dirs())).flatten(),
            drivers: drivers_in(&searched),
            searched,
            applies,
        }
    }

    /// The first thing that stops the wgpu backend, as one sentence (None when nothing does, or off
    /// Linux).
    pub fn problem(&self) -> Option<String> {
        if !self.applies {
            return None;
        }
        if self.loader.is_none() {
            return Some("the Vulkan loader libvulkan.so.1 was not found (searched LD_LIBRARY_PATH and the system library folders): wgpu reaches the GPU through it; install it (Debian/Ubuntu: libvulkan1)".into());
        }
        if self.drivers.is_empty() {
            return Some(format!(
                "no Vulkan driver is registered (no ICD file in {}): install your GPU's Vulkan driver, or mesa-vulkan-drivers for lavapipe, which runs Vulkan on the CPU",
                self.searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
        None
    }

    /// Lines for `gan-lab doctor`: the loader and the drivers (nothing off Linux).
    pub fn checks(&self) -> Vec<Check> {
        if !self.applies {
            return Vec::new();
        }
        let needs = "the wgpu backend needs it";
        let loader = match &self.loader {
            Some(p) => Check::ok("vulkan loader", p.display().to_string()),
            None => Check::info("vulkan loader", format!("libvulkan.so.1 not found (Debian/Ubuntu: libvulkan1): {needs}")),
        };
        let drivers = if self.drivers.is_empty() {
            Check::info("vulkan drivers", format!("no ICD file (a GPU's Vulkan driver, or mesa-vulkan-drivers for lavapipe on the CPU): {needs}"))
        } else {
            let list: Vec<String> = self
                .drivers
                .iter()
                .map(|d| format!("{} (Vulkan {})", d.icd.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(), d.api_version))
                .collect();
            Check::ok("vulkan drivers", list.join(", "))
        };
        vec![loader, drivers]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_are_read_from_icd_files_and_other_files_are_skipped() {
        let dir = crate::test_scratch_dir("vulkan_icd");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lvp_icd.x86_64.json"), r#"{"ICD": {"api_version": "1.3.230", "library_path": "/usr/lib/libvulkan_lvp.so"}, "file_format_version": "1.0.0"}"#).unwrap();
        std::fs::write(dir.join("broken.json"), "{not json").unwrap();
        std::fs::write(dir.join("readme.txt"), "not a driver").unwrap();
        let drivers = drivers_in(&[dir.clone(), dir.join("absent")]);
        assert_eq!(drivers, vec![VulkanDriver { icd: dir.join("lvp_icd.x86_64.json"), library: "/usr/lib/libvulkan_lvp.so".into(), api_version: "1.3.230".into() }]);
        // a file named directly counts too
        assert_eq!(drivers_in(&[dir.join("lvp_icd.x86_64.json")]), drivers);
    }

    #[test]
    fn each_missing_part_is_named_in_one_sentence() {
        let driver = VulkanDriver { icd: "/usr/share/vulkan/icd.d/nvidia_icd.json".into(), library: "libGLX_nvidia.so.0".into(), api_version: "1.3.277".into() };
        let full = VulkanSetup {
            loader: Some("/usr/lib/x86_64-linux-gnu/libvulkan.so.1".into()),
            drivers: vec![driver],
            searched: vec!["/etc/vulkan/icd.d".into(), "/usr/share/vulkan/icd.d".into()],
            applies: true,
        };
        assert_eq!(full.problem(), None);
        assert_eq!(full.checks().iter().map(|c| c.status.as_str()).collect::<Vec<_>>(), ["ok", "ok"]);
        assert!(full.checks()[1].detail.contains("nvidia_icd.json (Vulkan 1.3.277)"));

        let no_loader = VulkanSetup { loader: None, ..full.clone() };
        assert!(no_loader.problem().unwrap().contains("libvulkan1"), "{:?}", no_loader.problem());
        let no_driver = VulkanSetup { drivers: Vec::new(), ..full.clone() };
        let why = no_driver.problem().unwrap();
        assert!(why.contains("no Vulkan driver") && why.contains("mesa-vulkan-drivers"), "{why}");
        assert!(why.contains("(no ICD file in /etc/vulkan/icd.d, /usr/share/vulkan/icd.d)"), "names where it looked: {why}");
        for setup in [no_loader, no_driver] {
            assert_eq!(setup.problem().unwrap().lines().count(), 1);
        }
        let elsewhere = VulkanSetup { loader: None, drivers: Vec::new(), searched: Vec::new(), applies: false };
        assert_eq!((elsewhere.problem(), elsewhere.checks().len()), (None, 0));
    }
}
