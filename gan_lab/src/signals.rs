//! SIGTERM and SIGINT as a request to stop cleanly: Slurm's time limit (with `--signal`),
//! `scancel`, preemption, a spot reclaim and Ctrl-C set a flag that training checks after every
//! step; it then writes its sample grid, checkpoint and summary and releases the run lock. A second
//! signal while stopping ends the process at once (exit 128 + signal), as a second Ctrl-C should.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag the handler sets (a leaked `Arc`'s pointer: the handler may only touch atomics).
static FLAG: AtomicPtr<AtomicBool> = AtomicPtr::new(std::ptr::null_mut());
/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static INSTALLED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handlers for SIGTERM and SIGINT (once per process) and returns the flag they set;
/// give it to `AnySession::set_stop_flag`. Where there are no POSIX signals the flag is never set.
pub fn stop_on_signals() -> Arc<AtomicBool> {
    INSTALLED
        .get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(false));
            FLAG.store(Arc::into_raw(Arc::clone(&flag)) as *mut AtomicBool, Ordering::SeqCst);
            install();
            flag
        })
        .clone()
}

/// The signal that asked this process to stop, if one did: its number and name ("SIGTERM").
pub fn received() -> Option<(i32, &'static str)> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        n => Some((n, name(n))),
    }
}

/// A signal's name, as Slurm and kill print it.
pub fn name(signal: i32) -> &'static str {
    #[cfg(unix)]
    {
        match signal {
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            _ => "a signal",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = signal;
        "a signal"
    }
}

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe work here: atomics and _exit.
    if RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        // SAFETY: _exit is async-signal-safe; the user asked twice.
        unsafe { libc::_exit(128 + signal) };
    }
    let flag = FLAG.load(Ordering::SeqCst);
    if !flag.is_null() {
        // SAFETY: FLAG points into an Arc that is never freed (leaked in stop_on_signals).
        unsafe { (*flag).store(true, Ordering::SeqCst) };
    }
}

#[cfg(unix)]
fn install() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction with a plain handler and an empty mask is valid; the handler
        // only touches atomics and calls _exit.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
fn install() {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_signal_sets_the_stop_flag_and_is_remembered() {
        // The test harness runs tests in threads of one process: only this test raises a signal.
        let flag = stop_on_signals();
        assert!(Arc::ptr_eq(&flag, &stop_on_signals()), "installed once");
        assert!(!flag.load(Ordering::SeqCst) && received().is_none());
        // SAFETY: raise is safe to call; the handler installed above catches SIGTERM.
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(flag.load(Ordering::SeqCst));
        assert_eq!(received(), Some((libc::SIGTERM, "SIGTERM")));
    }
}
