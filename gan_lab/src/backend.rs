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
    /// Any GPU through burn-wgpu: Vulkan, Metal or DX12 (needs the `wgpu` cargo feature and a
    /// driver; Mesa's lavapipe runs it on a CPU).
    Wgpu,
}

impl BackendKind {
    /// Every backend, in the order `doctor` and the notebooks list them.
    pub const ALL: [BackendKind; 4] = [BackendKind::Flex, BackendKind::NdArray, BackendKind::Cuda, BackendKind::Wgpu];
    /// Every backend name `--backend` accepts: [`Self::ALL`]'s names, in its order.
    pub fn names() -> [&'static str; 4] {
        Self::ALL.map(Self::name)
    }

    /// Parses `flex`, `ndarray`, `cuda` or `wgpu`.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| Error::Unknown { kind: "backend", name: name.into(), known: Self::names().map(String::from).to_vec() })
    }

    /// The backend's name.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::NdArray => "ndarray",
            BackendKind::Cuda => "cuda",
            BackendKind::Wgpu => "wgpu",
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
        for name in BackendKind::names() {
            let b = BackendKind::parse(name).unwrap();
            assert_eq!((b.name(), b.to_string()), (name, name.to_string()));
            assert_eq!(serde_json::to_string(&b).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<BackendKind>(&format!("\"{name}\"")).unwrap(), b);
        }
        let err = "tpu".parse::<BackendKind>().unwrap_err().to_string();
        assert!(err.contains("tpu") && err.contains("flex, ndarray, cuda, wgpu"), "{err}");
    }
}
