//! The names a notebook or a program needs: `use gan_lab::prelude::*;`.

pub use crate::config::{
    preset, preset_names, presets, Activation, Architecture, ConvLayer, ExperimentConfig, LatentDistribution, LossKind,
    OptimizerConfig, OutputActivation,
};
pub use crate::data::{ImageSet, SHIPPED};
pub use crate::error::{Error, Result};
pub use crate::report::ImageGrid;
pub use crate::run::{MetricsRow, RunDir, RunTable, Summary};

#[cfg(feature = "engine")]
pub use crate::platform::{AnySession, BackendKind};
#[cfg(feature = "engine")]
pub use crate::train::{ChunkReport, Session};
