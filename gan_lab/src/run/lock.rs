//! The run lock: `.lock` in a run directory names the process training it (`<pid> <host>`), so two
//! processes never train one run at once.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunDir;
use crate::error::{Error, Result};

/// Held while a process trains a run; removes `.lock` when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The process named in a run's `.lock`.
#[derive(Debug, Clone, PartialEq)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub alive: bool,
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

impl RunDir {
    /// Takes the run's lock (`.lock` holding `<pid> <host>`), so that two processes never train
    /// the same run at once. A lock left by a dead process of this host is taken over; one held
    /// on another host (a cluster node sharing the runs folder) is respected.
    pub fn lock(&self) -> Result<RunLock> {
        let path = self.path.join(".lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    write!(f, "{} {}", std::process::id(), host_name()).map_err(|e| Error::io(&path, e))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if let Some(holder) = self.lock_holder().filter(|h| h.alive) {
                        return Err(Error::bad_file(&self.path, format!("this run is being trained by {holder} (delete .lock if that is wrong)")));
                    }
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                }
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Err(Error::bad_file(&path, "could not take the run lock"))
    }

    /// Who holds `.lock`, if anyone: a process of this host is alive when `/proc/<pid>` exists;
    /// one of another host is taken to be alive (it cannot be checked from here).
    pub fn lock_holder(&self) -> Option<LockHolder> {
        let text = std::fs::read_to_string(self.path.join(".lock")).ok()?;
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse::<u32>().ok()?;
        let host = parts.next().unwrap_or("").to_string();
        let here = host.is_empty() || host == host_name();
        let alive = !here || (cfg!(target_os = "linux") && Path::new(&format!("/proc/{pid}")).exists());
        Some(LockHolder { pid, host: if here { host_name() } else { host }, alive })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_lock_excludes_a_second_holder_and_is_released_on_drop() {
        let root = crate::test_scratch_dir("lock");
        let run = RunDir::create(&root, &crate::config::preset("mlp-gan").unwrap()).unwrap();
        let lock = run.lock().unwrap();
        let err = run.lock().unwrap_err().to_string();
        assert!(err.contains("being trained by process"), "{err}");
        drop(lock);
        let _again = run.lock().unwrap();
        std::fs::write(run.path.join(".lock"), "999999999").unwrap();
        drop(_again);
        std::fs::write(run.path.join(".lock"), "999999999").unwrap();
        run.lock().expect("a stale lock is taken over");
    }
}
