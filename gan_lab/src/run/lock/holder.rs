//! Who holds a run lock and whether they still do: the record in `.lock` (pid, host, boot id,
//! start time, token) and the judgement of a holder as alive or stale.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::run::format_duration;

/// A lock from another machine whose heartbeat is older than this is stale (unless
/// `GAN_LAB_LOCK_STALE_MINUTES` says otherwise).
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// What `.lock` holds (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockRecord {
    pub pid: u32,
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id` of the holder's machine ("" where there is none).
    #[serde(default)]
    pub boot_id: String,
    /// The holder's start time in clock ticks after boot (`/proc/<pid>/stat` field 22; 0 unknown).
    #[serde(default)]
    pub start_ticks: u64,
    /// Random: whose lock this is.
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub since_unix: f64,
}

impl LockRecord {
    /// This process's record, with a fresh token.
    pub(super) fn mine() -> Self {
        let pid = std::process::id();
        LockRecord {
            pid,
            host: host_name(),
            boot_id: boot_id(),
            start_ticks: process_start_ticks(pid).unwrap_or(0),
            token: format!("{:016x}", rand::random::<u64>()),
            since_unix: crate::run::unix_now(),
        }
    }

    /// Reads a record: JSON, or the `<pid> <host>` of earlier versions.
    pub(super) fn parse(text: &str) -> Option<Self> {
        if let Ok(r) = serde_json::from_str::<LockRecord>(text) {
            return Some(r);
        }
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse::<u32>().ok()?;
        let host = parts.next().map(str::to_string).unwrap_or_else(host_name);
        Some(LockRecord { pid, host, boot_id: String::new(), start_ticks: 0, token: String::new(), since_unix: 0.0 })
    }
}

/// The process named in a run's `.lock`, and whether it still holds the run.
#[derive(Debug, Clone, PartialEq)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_s: f64,
    pub alive: bool,
    /// Why it counts as alive or stale, for messages.
    pub why: String,
    pub(super) token: String,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} on {}", self.pid, self.host)
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`, else "localhost").
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// This boot's id (Linux), "" elsewhere.
pub(super) fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// When `pid` started, in clock ticks after boot (Linux), or None when there is no such process.
pub(super) fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Seconds since this machine booted (Linux).
pub(super) fn uptime_s() -> Option<f64> {
    std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()
}

/// The stale age: `GAN_LAB_LOCK_STALE_MINUTES` (a number > 0) or [`STALE_AFTER`].
pub fn stale_after() -> Result<Duration> {
    match std::env::var("GAN_LAB_LOCK_STALE_MINUTES") {
        Ok(v) => {
            let bad = || Error::Other(format!("GAN_LAB_LOCK_STALE_MINUTES must be a number of minutes > 0, got '{v}'"));
            let minutes: f64 = v.trim().parse().map_err(|_| bad())?;
            if !(minutes > 0.0) {
                return Err(bad());
            }
            Duration::try_from_secs_f64(minutes * 60.0).map_err(|_| bad())
        }
        Err(_) => Ok(STALE_AFTER),
    }
}

/// Seconds since `path` was last modified (its heartbeat); 0 when the clock went backwards.
pub(super) fn age_s(path: &Path) -> Option<f64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(SystemTime::now().duration_since(modified).map(|d| d.as_secs_f64()).unwrap_or(0.0))
}

/// Judges a lock record whose heartbeat is `age_s` old.
pub(super) fn judge(record: &LockRecord, age_s: f64, stale_after: Duration) -> (bool, String) {
    let here = record.host == host_name();
    let same_boot = here && (record.boot_id.is_empty() || record.boot_id == boot_id());
    if same_boot && cfg!(target_os = "linux") {
        return match process_start_ticks(record.pid) {
            None => (false, format!("process {} is gone", record.pid)),
            Some(t) if record.start_ticks != 0 && t != record.start_ticks => (false, format!("pid {} now belongs to another process", record.pid)),
            Some(_) => (true, format!("process {} is running", record.pid)),
        };
    }
    if here && uptime_s().is_some_and(|up| age_s > up) {
        return (false, format!("its last heartbeat, {}, is older than this machine's restart", ago(age_s)));
    }
    if age_s > stale_after.as_secs_f64() {
        (false, format!("no heartbeat for {} (stale after {})", format_duration(age_s), format_duration(stale_after.as_secs_f64())))
    } else {
        (true, format!("heartbeat {}", ago(age_s)))
    }
}

pub(super) fn ago(s: f64) -> String {
    format!("{} ago", format_duration(s))
}
