//! The names a notebook or a program needs: `use gan_lab::prelude::*;`.

pub use crate::backend::BackendKind;
pub use crate::config::{
    preset, preset_names, presets, Activation, Architecture, AugmentConfig, AugmentOp, AugmentProbability, ConvLayer, DropoutConfig, ExperimentConfig,
    LatentDistribution, LossKind,
    OptimizerConfig, OutputActivation,
};
pub use crate::data::{ImageSet, SHIPPED};
pub use crate::error::{Error, Result};
pub use crate::lab::{
    doctor, history_charts, mode_name, pick, platform_chart, platform_table, quick_mode, run_sweep, runs_dir, show_dataset, sweep_status, sweep_table, available_backends, ChunkView,
    Experiment, Options, SweepStatus, Table,
};
pub use crate::report::{Bar, Chart, ImageGrid, Series, SideBySide};
pub use crate::run::{AnswerTable, GroupedTable, Measure, MetricsRow, Progress, QualityCurve, RunDir, RunTable, Summary, Verdict};
pub use crate::sweep::SweepPlan;
/// Training time for [`Experiment::train_for`].
pub use std::time::Duration;

#[cfg(feature = "engine")]
pub use crate::platform::AnySession;
#[cfg(feature = "engine")]
pub use crate::train::{ChunkReport, Session};
