//! The client side of a `gan-lab engine` process: finds (or builds) the release binary, starts it,
//! sends commands and streams its progress lines while waiting for the answer.
//!
//! Why a separate process: a notebook kernel compiles gan_lab with debug assertions and overflow
//! checks (evcxr has no setting that turns them off), which makes training several times slower,
//! and pulling burn into the kernel costs a long first build. The engine is the same release binary
//! as `gan-lab train`, so a notebook trains at the binary's speed; a crash in training leaves the
//! kernel and its variables alone; and when the kernel is interrupted, the engine sees its stdin
//! close, ends the step it is in, writes a checkpoint and exits.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::protocol::{Command, Event};
use crate::error::{Error, Result};

/// Lines of the engine's stderr kept for error messages.
const STDERR_TAIL: usize = 20;

enum Line {
    Event(Result<Event>),
    Output(String),
}

/// A running `gan-lab engine` process.
pub struct Engine {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    binary: PathBuf,
}

/// The engine binary: `$GAN_LAB_ENGINE` when set, else `gan-lab` built (or found up to date) by
/// `cargo build --release` in the workspace this crate comes from, with the features in
/// `$GAN_LAB_ENGINE_FEATURES` (e.g. `cuda`). Looked up once per process.
pub fn engine_binary() -> Result<PathBuf> {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    if let Some(p) = FOUND.get() {
        return Ok(p.clone());
    }
    let path = match std::env::var_os("GAN_LAB_ENGINE") {
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_file() {
                return Err(Error::bad_file(p, "GAN_LAB_ENGINE does not name a file"));
            }
            p
        }
        None => build_engine()?,
    };
    Ok(FOUND.get_or_init(|| path).clone())
}

/// The workspace this copy of gan_lab was compiled from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn build_engine() -> Result<PathBuf> {
    let root = workspace_root();
    let mut cmd = Process::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root)
        .args(["build", "--release", "--locked", "-p", "gan_lab", "--bin", "gan-lab", "--message-format=json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(features) = std::env::var("GAN_LAB_ENGINE_FEATURES") {
        if !features.trim().is_empty() {
            cmd.args(["--features", features.trim()]);
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| Error::Engine {
        message: format!("cannot run cargo in {} to build the engine: {e} (install Rust, or set GAN_LAB_ENGINE to a gan-lab binary)", root.display()),
    })?;
    // cargo's own messages (Compiling …) go to the user as they come: a cold build takes minutes.
    let stderr = child.stderr.take().expect("piped");
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let tail_writer = Arc::clone(&tail);
    let echo = std::thread::spawn(move || forward_stderr(stderr, &tail_writer, |l| l.contains("Compiling gan_lab") || l.starts_with("error")));
    let mut executable = None;
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.map_err(|e| Error::Engine { message: format!("reading cargo's output: {e}") })?;
        if let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) {
            if msg["reason"] == "compiler-artifact" {
                if let Some(exe) = msg["executable"].as_str() {
                    executable = Some(PathBuf::from(exe));
                }
            }
        }
    }
    let status = child.wait().map_err(|e| Error::Engine { message: format!("waiting for cargo: {e}") })?;
    let _ = echo.join();
    match (status.success(), executable) {
        (true, Some(exe)) => {
            if started.elapsed() > Duration::from_secs(5) {
                eprintln!("built the gan-lab engine in {:.0} s: {}", started.elapsed().as_secs_f64(), exe.display());
            }
            Ok(exe)
        }
        (ok, _) => Err(Error::Engine {
            message: format!(
                "`cargo build --release --bin gan-lab` in {} {}; last lines: {}",
                root.display(),
                if ok { "reported no executable" } else { "failed" },
                joined(&tail)
            ),
        }),
    }
}

/// Copies a child's stderr to ours when `show` says so, keeping the last lines for errors.
pub(super) fn forward_stderr(stderr: impl std::io::Read, tail: &Mutex<VecDeque<String>>, show: impl Fn(&str) -> bool) {
    for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
        if show(line.trim_start()) {
            eprintln!("{line}");
        }
        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() == STDERR_TAIL {
            t.pop_front();
        }
        t.push_back(line);
    }
}

/// The kept lines on one line (a notebook kernel shows only the first line of an error).
fn joined(tail: &Mutex<VecDeque<String>>) -> String {
    tail.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ")
}

impl Engine {
    /// Starts an engine with `threads` CPU threads (default: every core).
    pub fn start(threads: Option<usize>) -> Result<Self> {
        if threads == Some(0) {
            return Err(Error::Other("threads must be ≥ 1, got 0".into()));
        }
        let binary = engine_binary()?;
        let mut cmd = Process::new(&binary);
        cmd.arg("engine").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(t) = threads {
            cmd.env("RAYON_NUM_THREADS", t.to_string());
        }
        let mut child = cmd.spawn().map_err(|e| Error::Engine { message: format!("cannot start {}: {e}", binary.display()) })?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let msg = match Event::parse(&line) {
                    Some(event) => Line::Event(event),
                    None => Line::Output(line),
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        std::thread::spawn(move || forward_stderr(stderr, &tail, |_| true));
        let stdin = child.stdin.take();
        Ok(Engine { child, stdin, lines, stderr_tail, binary })
    }

    /// Sends `cmd` and waits for its answer, printing the engine's output lines as they arrive.
    /// An `error` event becomes `Err`; so does the engine exiting without an answer.
    pub fn request(&mut self, cmd: &Command) -> Result<Event> {
        let line = cmd.to_line();
        let sent = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{line}").and_then(|_| stdin.flush()).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.died("could not send it a command"));
        }
        loop {
            match self.lines.recv() {
                Ok(Line::Output(text)) => println!("{text}"),
                Ok(Line::Event(Ok(Event::Error { message }))) => return Err(Error::Engine { message }),
                Ok(Line::Event(event)) => return event,
                Err(_) => return Err(self.died("it exited before answering")),
            }
        }
    }

    fn died(&mut self, what: &str) -> Error {
        // Give the stderr reader a moment to collect the last words.
        let status = wait_for(&mut self.child, Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(100));
        Error::Engine {
            message: format!(
                "the training engine ({}) stopped: {what}; exit status {}; last messages: {}",
                self.binary.display(),
                status.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into()),
                joined(&self.stderr_tail)
            ),
        }
    }

    /// Asks the engine to exit and waits for it (killing it after 30 s).
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "{}", Command::Quit.to_line());
            drop(stdin);
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(30)) {
            if let Line::Output(text) = line {
                println!("{text}");
            }
        }
        if wait_for(&mut self.child, Duration::from_secs(30)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Waits up to `limit` for `child` to exit.
fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}
