//! The command channel between a notebook (or any program) and a `gan-lab engine` process.
//!
//! One JSON command per line on the engine's stdin; the engine answers with event lines on its
//! stdout, each prefixed with [`EVENT_PREFIX`]. Every other stdout line (progress lines, warnings)
//! is for the user and is passed through as it comes.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::backend::BackendKind;
use crate::config::ExperimentConfig;
use crate::error::{Error, Result};

/// Marks an event line on the engine's stdout.
pub const EVENT_PREFIX: &str = "@gan-lab-engine ";

/// What the client asks the engine to do. One training session per engine process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Build a session for `config` and create its run directory under `runs_dir`.
    New {
        config: Box<ExperimentConfig>,
        runs_dir: PathBuf,
        backend: BackendKind,
        price_per_hour: Option<f64>,
    },
    /// Reopen an existing run directory at its latest checkpoint.
    Open {
        run: PathBuf,
        backend: Option<BackendKind>,
        price_per_hour: Option<f64>,
    },
    /// Train a bounded chunk: `steps` more steps, or for `seconds`.
    Train { steps: Option<u64>, seconds: Option<f64> },
    /// Which backends this engine build can use on this machine.
    Backends,
    /// Finish and exit.
    Quit,
}

/// One backend of the engine build: usable here, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendStatus {
    pub backend: BackendKind,
    pub available: bool,
    pub reason: Option<String>,
}

/// What the engine reports back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The session exists; `run` is its run directory.
    Ready {
        run: PathBuf,
        step: u64,
        backend: BackendKind,
        threads: usize,
        version: String,
    },
    /// A chunk ended (`interrupted` when it stopped early because its client went away).
    Chunk {
        from_step: u64,
        to_step: u64,
        /// Seconds spent in training steps.
        train_seconds: f64,
        /// Seconds of the whole chunk, sample grids and checkpoints included.
        wall_seconds: f64,
        images_per_s: f64,
        sample: Option<PathBuf>,
        checkpoint: Option<PathBuf>,
        interrupted: bool,
        /// The metrics rows logged during the chunk, each as its `run::metrics_line` (exact,
        /// NaN and infinities included), so a client shows them without reading the run's files.
        #[serde(default)]
        rows: Vec<String>,
    },
    /// The answer to `backends`.
    Backends { backends: Vec<BackendStatus> },
    /// The command failed; the engine keeps running.
    Error { message: String },
    /// The engine is exiting.
    Bye,
}

impl Command {
    /// The command as one line (no newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("commands always serialise")
    }

    /// Parses one line of the engine's stdin.
    pub fn parse(line: &str) -> Result<Self> {
        serde_json::from_str(line).map_err(|e| Error::Other(format!("engine: bad command {line:?}: {e}")))
    }
}

impl Event {
    /// The event as one stdout line, prefix included (no newline).
    pub fn to_line(&self) -> String {
        format!("{EVENT_PREFIX}{}", serde_json::to_string(self).expect("events always serialise"))
    }

    /// `Some(event)` when `line` is an event line, `None` for user output.
    pub fn parse(line: &str) -> Option<Result<Self>> {
        let body = line.strip_prefix(EVENT_PREFIX)?;
        Some(serde_json::from_str(body).map_err(|e| Error::Other(format!("engine: bad event {body:?}: {e}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_one_line() {
        let cmds = [
            Command::New {
                config: Box::new(crate::config::preset("mlp-gan").unwrap()),
                runs_dir: "runs".into(),
                backend: BackendKind::Flex,
                price_per_hour: Some(0.1),
            },
            Command::Open { run: "runs/x".into(), backend: None, price_per_hour: None },
            Command::Train { steps: Some(10), seconds: None },
            Command::Backends,
            Command::Quit,
        ];
        for c in cmds {
            let line = c.to_line();
            assert!(!line.contains('\n'));
            assert_eq!(Command::parse(&line).unwrap(), c);
        }
    }

    #[test]
    fn only_prefixed_lines_are_events() {
        let e = Event::Error { message: "no such run".into() };
        assert_eq!(Event::parse(&e.to_line()).unwrap().unwrap(), e);
        assert!(Event::parse("step 10/20 | D 1.2").is_none());
        assert!(Event::parse(&format!("{EVENT_PREFIX}{{not json")).unwrap().is_err());
    }

    #[test]
    fn a_bad_command_names_the_line() {
        let err = Command::parse(r#"{"op":"fly"}"#).unwrap_err().to_string();
        assert!(err.contains("fly"), "{err}");
        let err = Command::parse(r#"{"op":"open","run":"runs/x","backend":"tpu","price_per_hour":null}"#).unwrap_err().to_string();
        assert!(err.contains("unknown variant `tpu`") && err.contains("`ndarray`"), "{err}");
    }
}
