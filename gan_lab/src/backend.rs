//! The compute backends by name: what a run trains on, what a notebook asks for and what a run
//! records. A plain enum, compiled without the training engine (a notebook kernel has it); the
//! engine's side (building a session on one, checking a GPU) is in `platform.rs`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A compute backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn's flex CPU backend (default: ~20× faster than ndarray for convolutions).
    Flex,
    /// burn's ndarray CPU backend (kept for comparison).
    NdArray,
    /// NVIDIA GPU through burn-cuda (needs the `cuda` cargo feature and a driver).
    Cuda,
}

impl BackendKind {
    /// Every backend name `--backend` accepts.
    pub const NAMES: [&'static str; 3] = ["flex", "ndarray", "cuda"];

    /// Parses `flex`, `ndarray` or `cuda`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "flex" => Ok(BackendKind::Flex),
            "ndarray" => Ok(BackendKind::NdArray),
            "cuda" => Ok(BackendKind::Cuda),
            _ => Err(Error::Unknown { kind: "backend", name: name.into(), known: Self::NAMES.iter().map(|s| s.to_string()).collect() }),
        }
    }

    /// The backend's name.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::NdArray => "ndarray",
            BackendKind::Cuda => "cuda",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        Self::parse(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_unknown_ones_list_the_choices() {
        for name in BackendKind::NAMES {
            let b = BackendKind::parse(name).unwrap();
            assert_eq!((b.name(), b.to_string()), (name, name.to_string()));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<BackendKind>(&format!("\"{name}\"")).unwrap(), b);
        }
        let err = "tpu".parse::<BackendKind>().unwrap_err().to_string();
        assert!(err.contains("tpu") && err.contains("flex, ndarray, cuda"), "{err}");
    }
}
