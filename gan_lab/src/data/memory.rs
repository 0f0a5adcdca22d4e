//! Whether a dataset fits in memory, checked before it is read: the room this process has left,
//! and the one error that gives the size and suggests `data.limit`.

use crate::error::{Error, Result};

/// Bytes this process can still allocate, when known: the smallest of the machine's available
/// memory (`MemAvailable`), what is left under the cgroup's `memory.max` (Slurm's `--mem`,
/// containers) and what is left under the address-space limit (`ulimit -v`).
pub fn allocatable_bytes() -> Option<u64> {
    [meminfo_available(), cgroup_room(), address_space_room()].into_iter().flatten().min()
}

/// Refuses `images` images of `bytes_each` bytes (everything held per image while loading) when
/// they need more than `room` bytes. The message gives both sizes and an image count that fits.
pub fn check_fits(dataset: &str, images: usize, bytes_each: usize, room: Option<u64>) -> Result<()> {
    let need = (images as u128) * (bytes_each as u128);
    let Some(room) = room else { return Ok(()) };
    if need <= room as u128 {
        return Ok(());
    }
    let fits = room / 2 / bytes_each.max(1) as u64;
    let advice = if fits >= 2 {
        format!("load fewer with data.limit (e.g. --set data.limit={fits}, which needs {})", human(fits as u128 * bytes_each as u128))
    } else {
        "not even 2 of these images fit; use a machine (or a Slurm --mem) with more memory".to_string()
    };
    Err(Error::Dataset {
        dataset: dataset.into(),
        message: format!(
            "{images} images of {bytes_each} bytes need {} in memory, but this process has {} available; {advice}",
            human(need),
            human(room as u128),
        ),
    })
}

/// Bytes as a short decimal size ("1.5 GB").
pub fn human(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", units[unit]) }
}

/// A `Name:  123 kB` line of a /proc file, in bytes.
fn proc_kb(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    kb.checked_mul(1024)
}

fn meminfo_available() -> Option<u64> {
    proc_kb(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemAvailable:")
}

/// `memory.max` minus `memory.current` of this process's cgroup (v2), when it has a limit.
fn cgroup_room() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let max: u64 = std::fs::read_to_string(dir.join("memory.max")).ok()?.trim().parse().ok()?;
    let current: u64 = std::fs::read_to_string(dir.join("memory.current")).ok()?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

/// The address-space limit minus this process's virtual size, when there is a limit.
fn address_space_room() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
            return None;
        }
        let size = proc_kb(&std::fs::read_to_string("/proc/self/status").ok()?, "VmSize:")?;
        Some((limit.rlim_cur as u64).saturating_sub(size))
    }
    #[cfg(not(unix))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_past_the_room_is_refused_with_sizes_and_a_limit_that_fits() {
        let err = check_fits("bomb.gz", 70_000, 1_000_000, Some(4_000_000_000)).unwrap_err().to_string();
        assert!(err.contains("dataset 'bomb.gz': 70000 images of 1000000 bytes need 70.0 GB in memory"), "{err}");
        assert!(err.contains("has 4.0 GB available") && err.contains("--set data.limit=2000, which needs 2.0 GB"), "{err}");
        assert!(check_fits("ok", 4000, 1_000_000, Some(4_000_000_000)).is_ok());
        assert!(check_fits("unknown room", usize::MAX, usize::MAX, None).is_ok());
        let err = check_fits("huge images", 10, 3_000_000_000, Some(4_000_000_000)).unwrap_err().to_string();
        assert!(err.ends_with("available; not even 2 of these images fit; use a machine (or a Slurm --mem) with more memory"), "{err}");
    }

    #[test]
    fn proc_lines_are_read_in_bytes_and_sizes_print_short() {
        assert_eq!(proc_kb("MemTotal: 10 kB\nMemAvailable:    2048 kB\n", "MemAvailable:"), Some(2 << 20));
        assert_eq!(proc_kb("VmSize:\t  12 kB", "VmSize:"), Some(12 * 1024));
        assert_eq!(proc_kb("nothing", "VmSize:"), None);
        assert_eq!((human(999), human(1_500_000_000)), ("999 bytes".to_string(), "1.5 GB".to_string()));
    }

    #[test]
    fn this_process_knows_its_room_on_linux() {
        if cfg!(target_os = "linux") {
            let room = allocatable_bytes().expect("MemAvailable is always there on Linux");
            assert!(room > 1 << 20, "{room}");
        }
    }
}
