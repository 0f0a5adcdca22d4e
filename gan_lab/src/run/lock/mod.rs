//! The run lock: `.lock` in a run directory names the process training the run, so that two
//! processes never train one run at once, on one machine or on cluster nodes sharing the runs
//! folder over NFS, EFS or Lustre.
//!
//! - **Taking** it is one atomic step, as git and Mercurial do on network filesystems: the
//!   holder's record is written to a temporary file, then `link()`ed to `.lock`, which fails when
//!   `.lock` exists. (A lost NFS reply is caught by the temporary file's link count.)
//! - **The record** names pid, host, boot id and the process's start time, so a pid reused after a
//!   reboot or by another program is not mistaken for the holder; a random token says whose it is.
//! - **A heartbeat** thread refreshes `.lock`'s mtime every [`HEARTBEAT`] while it is held.
//! - **A holder is alive** when, on this machine (same host and boot), its process exists with the
//!   recorded start time; elsewhere, when its heartbeat is younger than the stale age (10 minutes,
//!   or `GAN_LAB_LOCK_STALE_MINUTES`). A stale lock is taken over with a message naming the old
//!   holder; breaking it is serialised by a second lock, `.lock.break`, and the breaker re-reads
//!   `.lock` under it, so two processes taking over the same stale lock cannot both win.
//! - **Releasing** removes `.lock` only while its token is still ours.
//!
//! The record and the judging of a holder are in `holder.rs`; taking, the heartbeat and releasing
//! are here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, SystemTime};

mod holder;

use holder::{age_s, ago, judge};
pub use holder::{host_name, stale_after, LockHolder, LockRecord, STALE_AFTER};

use super::RunDir;
use crate::error::{Error, Result};

/// How often a holder refreshes its lock's mtime.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// A `.lock.break` older than this was left by a breaker that died in the act.
const BREAK_STALE_AFTER: Duration = Duration::from_secs(60);

/// Held while a process trains a run. A thread refreshes the heartbeat; dropping it stops the
/// thread and removes `.lock` when it is still ours.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    token: String,
    lost: Arc<AtomicBool>,
    heartbeat: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl RunLock {
    /// True once the heartbeat found `.lock` gone or another process's: training must stop.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.heartbeat.take() {
            drop(stop);
            let _ = thread.join();
        }
        if is_ours(&self.path, &self.token) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn is_ours(path: &Path, token: &str) -> bool {
    std::fs::read_to_string(path).ok().and_then(|t| LockRecord::parse(&t)).is_some_and(|r| r.token == token)
}

fn heartbeat(path: PathBuf, token: String, every: Duration, lost: Arc<AtomicBool>) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gan-lab-lock-heartbeat".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                if !is_ours(&path, &token) {
                    lost.store(true, Ordering::Relaxed);
                    return;
                }
                // A failed refresh (a network filesystem away for a moment) is retried next time.
                let _ = std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(SystemTime::now()));
            }
        })
        .expect("spawning the lock heartbeat thread");
    (tx, thread)
}

/// Creates `path` holding `text`, only if it does not exist yet: a temporary file linked into
/// place. Ok(false) when `path` exists.
fn create_by_link(path: &Path, text: &str, token: &str) -> Result<bool> {
    let tmp = path.with_file_name(format!("{}.{token}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("lock")));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let won = match &linked {
        Ok(()) => Ok(true),
        // On NFS the link may have been made although its reply was lost: then the temporary file
        // has two names.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(link_count(&tmp) == Some(2)),
        Err(e) => Err(Error::io(path, std::io::Error::new(e.kind(), format!("cannot link the lock into place ({e}); the runs folder's filesystem must support hard links")))),
    };
    let _ = std::fs::remove_file(&tmp);
    won
}

fn link_count(path: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.nlink())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl RunDir {
    fn lock_path(&self) -> PathBuf {
        self.path.join(".lock")
    }

    /// Takes the run's lock (see the module documentation): an error naming the holder, its host
    /// and its heartbeat's age when another live process holds it; a stale lock is taken over,
    /// with a message on stderr naming the old holder.
    pub fn lock(&self) -> Result<RunLock> {
        self.lock_with(HEARTBEAT, stale_after()?)
    }

    /// [`RunDir::lock`] with a given heartbeat interval and stale age.
    pub fn lock_with(&self, every: Duration, stale_after: Duration) -> Result<RunLock> {
        let path = self.lock_path();
        let record = LockRecord::mine();
        let text = serde_json::to_string(&record).expect("a lock record serialises");
        for attempt in 0..200u32 {
            if create_by_link(&path, &text, &record.token)? {
                let lost = Arc::new(AtomicBool::new(false));
                let beat = heartbeat(path.clone(), record.token.clone(), every, lost.clone());
                return Ok(RunLock { path, token: record.token, lost, heartbeat: Some(beat) });
            }
            match self.holder_with(stale_after) {
                Some(h) if h.alive => {
                    return Err(Error::bad_file(&self.path, format!("this run is being trained by {h} ({}); delete .lock if that is wrong", h.why)));
                }
                Some(stale) => {
                    if self.break_stale(&stale)? {
                        eprintln!("note: taking over the run lock of {stale} in {}: {}", self.path.display(), stale.why);
                    }
                }
                // Gone between our link and our read, or unreadable for a moment: try again.
                None => {}
            }
            std::thread::sleep(Duration::from_millis(5 + u64::from(attempt % 20) * 2));
        }
        Err(Error::bad_file(&path, "could not take the run lock: other processes kept taking and releasing it"))
    }

    /// Removes the stale lock `seen`, under `.lock.break`, if `.lock` is still that one. Ok(false)
    /// when another process is breaking it or it changed.
    fn break_stale(&self, seen: &LockHolder) -> Result<bool> {
        let breaker = self.path.join(".lock.break");
        let token = format!("{:016x}", rand::random::<u64>());
        if !create_by_link(&breaker, &token, &token)? {
            if age_s(&breaker).is_some_and(|a| a > BREAK_STALE_AFTER.as_secs_f64()) {
                let _ = std::fs::remove_file(&breaker);
            }
            return Ok(false);
        }
        let path = self.lock_path();
        let still = std::fs::read_to_string(&path).ok().and_then(|t| LockRecord::parse(&t));
        let removed = match still {
            Some(r) if r.token == seen.token && r.pid == seen.pid => std::fs::remove_file(&path).is_ok(),
            _ => false,
        };
        let _ = std::fs::remove_file(&breaker);
        Ok(removed)
    }

    /// Who holds `.lock`, if anyone, judged with the stale age of [`stale_after`].
    pub fn lock_holder(&self) -> Option<LockHolder> {
        self.holder_with(stale_after().unwrap_or(STALE_AFTER))
    }

    fn holder_with(&self, stale_after: Duration) -> Option<LockHolder> {
        let path = self.lock_path();
        let text = std::fs::read_to_string(&path).ok()?;
        let age = age_s(&path)?;
        let (alive, why) = match LockRecord::parse(&text) {
            Some(record) => {
                let (alive, why) = judge(&record, age, stale_after);
                return Some(LockHolder { pid: record.pid, host: record.host, heartbeat_age_s: age, alive, why, token: record.token });
            }
            // Not a record (an older program's half-written file, or garbage): stale once old.
            None => (age < 60.0, format!("an unreadable lock file, {}", ago(age))),
        };
        Some(LockHolder { pid: 0, host: "an unknown host".into(), heartbeat_age_s: age, alive, why, token: String::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::holder::process_start_ticks;
    use super::*;

    fn run(name: &str) -> RunDir {
        let root = crate::test_scratch_dir(name);
        let _ = std::fs::remove_dir_all(&root);
        RunDir::create(&root, &crate::config::preset("mlp-gan").unwrap()).unwrap()
    }

    fn write_lock(run: &RunDir, record: &LockRecord, age: Duration) {
        let path = run.path.join(".lock");
        std::fs::write(&path, serde_json::to_string(record).unwrap()).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(SystemTime::now() - age).unwrap();
    }

    fn foreign(pid: u32) -> LockRecord {
        LockRecord { pid, host: "node-7".into(), boot_id: "another-boot".into(), start_ticks: 12, token: "theirs".into(), since_unix: 0.0 }
    }

    #[test]
    fn a_run_lock_excludes_a_second_holder_and_is_released_on_drop() {
        let run = run("lock");
        let lock = run.lock().unwrap();
        let err = run.lock().unwrap_err().to_string();
        assert!(err.contains(&format!("being trained by process {} on {} (process {} is running)", std::process::id(), host_name(), std::process::id())), "{err}");
        drop(lock);
        assert!(!run.path.join(".lock").exists());
        let _again = run.lock().unwrap();
    }

    #[test]
    fn locks_of_dead_or_reused_pids_of_this_machine_are_taken_over() {
        let run = run("lock_local_stale");
        let mut dead = LockRecord::mine();
        dead.pid = u32::MAX - 1;
        dead.token = "dead".into();
        write_lock(&run, &dead, Duration::ZERO);
        assert_eq!(run.lock_holder().unwrap().why, format!("process {} is gone", u32::MAX - 1));
        drop(run.lock().expect("a dead holder's lock is taken over"));
        // pid 1 is alive, but did not start when the record says: the pid was reused.
        let mut reused = LockRecord::mine();
        reused.pid = 1;
        reused.start_ticks = process_start_ticks(1).unwrap() + 1;
        write_lock(&run, &reused, Duration::ZERO);
        let holder = run.lock_holder().unwrap();
        assert!(!holder.alive && holder.why == "pid 1 now belongs to another process", "{holder:?}");
        drop(run.lock().expect("a reused pid is not a live holder"));
        // The lock format of earlier versions still reads.
        std::fs::write(run.path.join(".lock"), format!("{} {}", u32::MAX - 1, host_name())).unwrap();
        drop(run.lock().expect("an old-format stale lock is taken over"));
    }

    #[test]
    fn a_foreign_lock_is_refused_while_its_heartbeat_is_fresh_and_taken_over_when_stale() {
        let run = run("lock_foreign");
        write_lock(&run, &foreign(4242), Duration::from_secs(90));
        let err = run.lock_with(HEARTBEAT, STALE_AFTER).unwrap_err().to_string();
        assert!(err.contains("being trained by process 4242 on node-7 (heartbeat 1m30s ago)"), "{err}");
        write_lock(&run, &foreign(4242), Duration::from_secs(11 * 60));
        let holder = run.holder_with(STALE_AFTER).unwrap();
        assert_eq!(holder.why, "no heartbeat for 11m00s (stale after 10m00s)");
        let lock = run.lock_with(HEARTBEAT, STALE_AFTER).expect("a stale foreign lock is taken over");
        assert!(run.holder_with(STALE_AFTER).unwrap().alive);
        drop(lock);
    }

    #[test]
    fn the_heartbeat_refreshes_the_lock_and_release_removes_only_our_own() {
        let run = run("lock_heartbeat");
        let lock = run.lock_with(Duration::from_millis(20), STALE_AFTER).unwrap();
        let path = run.path.join(".lock");
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(SystemTime::now() - Duration::from_secs(300)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(age_s(&path).unwrap() < 60.0, "the heartbeat refreshed the mtime");
        assert!(!lock.lost());
        // Another process took the lock over (we were judged stale): we notice, and leave it be.
        write_lock(&run, &foreign(4242), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(200));
        assert!(lock.lost());
        drop(lock);
        assert!(LockRecord::parse(&std::fs::read_to_string(&path).unwrap()).unwrap().token == "theirs");
    }

    #[test]
    fn a_breaker_that_died_does_not_block_the_takeover_for_long() {
        let run = run("lock_break");
        write_lock(&run, &foreign(4242), Duration::from_secs(3600));
        let breaker = run.path.join(".lock.break");
        std::fs::write(&breaker, "x").unwrap();
        std::fs::File::options().write(true).open(&breaker).unwrap().set_modified(SystemTime::now() - Duration::from_secs(120)).unwrap();
        drop(run.lock_with(HEARTBEAT, STALE_AFTER).expect("the old breaker is cleared and the lock taken"));
        assert!(!breaker.exists());
    }
}
