//! One error type for the whole crate. Every message names the file, field or value at fault.

use std::path::PathBuf;

/// Result alias used by every fallible call in gan_lab.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the lab, each variant carrying what a user needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration broke one or more rules; each string is one broken rule. One line (a
    /// notebook kernel shows only the first line of an error); the CLI lists the rules one per line.
    #[error("invalid configuration: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file was readable but its contents are not what they should be.
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },

    /// A JSON document could not be parsed (unknown field, wrong type, syntax).
    #[error("{path}: {message}")]
    Json { path: PathBuf, message: String },

    /// A name (preset, dataset, backend) that the lab does not know.
    #[error("unknown {kind} '{name}'; known: {}", .known.join(", "))]
    Unknown {
        kind: &'static str,
        name: String,
        known: Vec<String>,
    },

    /// A dataset does not fit the configuration that asked for it.
    #[error("dataset '{dataset}': {message}")]
    Dataset { dataset: String, message: String },

    /// A backend or device that cannot be used on this machine or build.
    #[error("backend '{backend}' is not available: {reason}")]
    Backend { backend: String, reason: String },

    /// Training produced a non-finite number.
    #[error("training diverged at step {step}: {what}")]
    Diverged { step: u64, what: String },

    /// A table operation failed (parquet, DataFrame).
    #[error("{context}: {message}")]
    Table { context: String, message: String },

    /// The training engine process (see `lab::Engine`) failed or refused a command.
    #[error("training engine: {message}")]
    Engine { message: String },

    /// Anything else, with its context.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A file whose contents are wrong.
    pub fn bad_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A polars failure, with what we were doing.
    pub fn table(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Table {
            context: context.into(),
            message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_config_lists_every_broken_rule_on_one_line() {
        let e = Error::InvalidConfig(vec!["a must be > 0, got 0".into(), "b too".into()]);
        assert_eq!(e.to_string(), "invalid configuration: a must be > 0, got 0; b too");
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = Error::Unknown {
            kind: "preset",
            name: "nope".into(),
            known: vec!["dcgan28".into(), "mlp-gan".into()],
        };
        assert_eq!(e.to_string(), "unknown preset 'nope'; known: dcgan28, mlp-gan");
    }
}
