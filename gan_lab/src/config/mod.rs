//! Experiment configuration: everything that defines one GAN run, as JSON.
//!
//! Unknown JSON fields are an error. [`ExperimentConfig::validate`] returns one message per
//! broken rule. Named presets live in [`presets`].

mod loss_presets;
mod network;
mod presets;
mod settings;
mod validate;

pub use network::{
    Activation, Architecture, AugmentConfig, AugmentOp, AugmentProbability, ConvLayer, DropoutConfig, GradientPenalty, NetworkConfig, OutputActivation,
    PenaltyKind,
};

pub(crate) use validate::conv_out;

pub use presets::{preset, preset_names, presets, Preset};
pub use settings::{parse_setting, set_path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

use crate::error::{Error, Result};

/// One GAN experiment: data, both networks, loss, both optimisers, the training schedule, the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Short name used in run-directory names and tables (letters, digits, '-', '_').
    pub name: String,
    /// Which images to learn and at what size.
    pub data: DataConfig,
    /// The generator: latent vector → image.
    pub generator: NetworkConfig,
    /// The discriminator: image → one logit ("real" when positive).
    pub discriminator: NetworkConfig,
    /// The adversarial loss, computed on logits.
    pub loss: LossKind,
    /// Optimiser of the generator.
    pub g_optimizer: OptimizerConfig,
    /// Optimiser of the discriminator.
    pub d_optimizer: OptimizerConfig,
    /// Batch size, step counts, latent space and logging intervals.
    pub train: TrainConfig,
    /// Seed of every random choice: initial weights, data order, noise, dropout.
    pub seed: u64,
    /// Thresholds of the training-health alarms.
    #[serde(default)]
    pub health: HealthConfig,
}

/// When to raise training-health alarms (shown in progress lines and stored in metrics.parquet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// `d_winning` when mean D(G(z)) stays below this for `patience` logged rows in a row
    /// (default 0.1 and 8: measured runs in README, "Augmenting what D sees").
    pub d_fake_floor: f64,
    /// Rows the discriminator must win in a row before `d_winning` is raised (8 rows are 400
    /// steps at the presets' `log_every` 50).
    pub patience: u32,
    /// `g_stalled` when one generator update changes its weights by less than this (relative L2).
    pub min_g_update: f64,
    /// `low_diversity` when the fixed samples' mean pairwise distance falls below this fraction
    /// of real images' after having been above it (a mode-collapse hint).
    pub min_diversity: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig { d_fake_floor: 0.1, patience: 8, min_g_update: 1e-7, min_diversity: 0.2 }
    }
}

/// Which images, at what size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A shipped dataset name (`mnist10k`, `fashion-mnist-test10k`, `noto-emoji-32`, `twemoji-64`),
    /// a path to a gzip IDX images file, or a path to a folder of PNG/JPEG images.
    pub dataset: String,
    /// Image height and width in pixels (images are square).
    pub image_size: usize,
    /// 1 for grey, 3 for RGB.
    pub channels: usize,
    /// Use only the first N images of the dataset (before the held-out split); `null` for all.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Fraction of the images kept out of training for evaluation, in [0, 0.5]. The split is the
    /// same for every seed, so held-out sets of different runs are comparable.
    #[serde(default = "default_holdout")]
    pub holdout_fraction: f64,
}

fn default_holdout() -> f64 {
    0.1
}

/// Adversarial loss on the discriminator's raw outputs (each is one file in `gan_lab::loss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Goodfellow's original game (BCE): G minimises log(1 − D(G(z))).
    MinimaxBce,
    /// The "non-saturating" BCE variant used in practice: G maximises log D(G(z)).
    NonSaturatingBce,
    /// LSGAN (Mao et al. 2017): squared distance to the targets 1 (real) and 0 (fake).
    LeastSquares,
    /// Hinge (Lim & Ye 2017; SAGAN): D a margin classifier, G raises D's output.
    Hinge,
    /// WGAN (Arjovsky et al. 2017): a critic's mean difference; needs `discriminator.weight_clip`.
    Wasserstein,
}

impl LossKind {
    /// The name used in JSON (`"hinge"`), from the serde attributes above.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_owned)).expect("a unit variant serialises as its name")
    }
}

/// Optimiser of one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// SGD with (classical) momentum: v ← μv − lr·g; w ← w + v.
    Sgd {
        /// Initial learning rate.
        lr: f64,
        /// Initial momentum μ, in [0, 1).
        momentum: f64,
        /// Optional linear momentum ramp over epochs (Goodfellow 2014: 0.5 → 0.7 over 1–250).
        #[serde(default)]
        momentum_schedule: Option<MomentumSchedule>,
        /// The learning rate is divided by this factor after every update (1 = constant).
        #[serde(default = "one")]
        lr_decay: f64,
        /// Floor of the decayed learning rate.
        #[serde(default)]
        min_lr: f64,
    },
    /// Adam (Kingma & Ba), PyTorch's formulation.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay β1, in [0, 1).
        beta1: f64,
        /// Second-moment decay β2, in [0, 1).
        beta2: f64,
        /// Denominator term ε.
        #[serde(default = "adam_eps")]
        eps: f64,
    },
    /// RMSprop (Tieleman & Hinton), PyTorch's form without momentum: v ← αv + (1 − α)g²,
    /// w ← w − lr·g / (√v + ε). WGAN's optimiser (Arjovsky et al. 2017: lr 5e-5).
    Rmsprop {
        /// Learning rate.
        lr: f64,
        /// Decay of the running mean of squared gradients, in [0, 1) (PyTorch: 0.99).
        alpha: f64,
        /// Denominator term ε.
        #[serde(default = "adam_eps")]
        eps: f64,
    },
}

fn one() -> f64 {
    1.0
}
fn adam_eps() -> f64 {
    1e-8
}

/// Momentum rises linearly from the optimiser's `momentum` at `start_epoch` to `final_momentum` at
/// `saturate_epoch` (pylearn2's MomentumAdjustor).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MomentumSchedule {
    pub final_momentum: f64,
    pub start_epoch: u64,
    pub saturate_epoch: u64,
}

/// Distribution of the latent vector z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatentDistribution {
    /// Standard normal N(0, 1).
    Normal,
    /// Uniform on [-1, 1].
    Uniform,
}

/// The training schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Images per batch (real and fake batches have this size).
    pub batch_size: usize,
    /// Discriminator updates per generator update (Goodfellow 2014's k).
    #[serde(default = "one_usize")]
    pub d_steps: usize,
    /// Generator updates a `gan-lab train` run makes unless `--steps` says otherwise.
    pub steps: u64,
    /// Length of z.
    pub latent_size: usize,
    /// Distribution of z.
    pub latent_distribution: LatentDistribution,
    /// A metrics row every this many steps.
    pub log_every: u64,
    /// A fixed-noise sample grid every this many steps.
    pub sample_every: u64,
    /// Generator + discriminator weights every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Images in each sample grid (a perfect square reads best: 64 → 8×8).
    #[serde(default = "default_samples")]
    pub sample_count: usize,
    /// Generated samples scored against as many real images (FLD, KID, precision/recall, …) at
    /// every checkpoint, when the dataset has a feature network; 0 turns evaluation off.
    #[serde(default = "default_eval")]
    pub eval_samples: usize,
    /// The shipped dataset whose feature network scores the samples, when not the training
    /// dataset's own: an image folder has none, and `noto-emoji-32`'s scores colour images of any
    /// size (resized to its 32×32). Omitted from the JSON when null, so older configs keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_features: Option<String>,
    /// Full checkpoints (everything needed to resume) kept; older ones keep only the generator.
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    /// Keep an exponential moving average of G's weights and use it for samples and evaluation.
    /// Omitted from the JSON when null, so older configs keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub g_ema: Option<GeneratorEma>,
    /// How G makes the sample grids and the samples evaluation scores (BatchNorm's running or
    /// batch statistics). Omitted from the JSON when it is the default, so older configs keep
    /// their hash.
    #[serde(default, skip_serializing_if = "Sampling::is_default")]
    pub sampling: Sampling,
}

/// How the generator makes the samples that are scored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Evaluation mode: BatchNorm normalises with the running statistics gathered in training, and
    /// dropout is off; a sample does not depend on the others made with it.
    #[default]
    RunningStatistics,
    /// Training mode, as PyTorch's DCGAN tutorial samples: BatchNorm normalises each batch of
    /// `train.batch_size` samples with that batch's own statistics, as G's output was during
    /// training, and dropout is on.
    BatchStatistics,
}

impl Sampling {
    /// The name quality tables and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Sampling::RunningStatistics => "running_statistics",
            Sampling::BatchStatistics => "batch_statistics",
        }
    }

    fn is_default(&self) -> bool {
        *self == Sampling::default()
    }

    /// The name back (an unknown one is an error naming it).
    pub fn parse(name: &str) -> Result<Self> {
        [Sampling::RunningStatistics, Sampling::BatchStatistics]
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::Other(format!("unknown sampling {name:?}: running_statistics or batch_statistics")))
    }
}

/// The moving average of G's weights (Karras et al. 2018; StudioGAN's `G_ema`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorEma {
    /// Weight of the old average at each G update, in (0, 1): 0.999 averages over ~1000 updates.
    pub decay: f64,
    /// Until this many G updates the average is G itself (early weights are not worth keeping).
    #[serde(default)]
    pub start_step: u64,
}

fn default_eval() -> usize {
    1000
}

fn default_keep() -> usize {
    2
}

fn one_usize() -> usize {
    1
}
fn default_samples() -> usize {
    64
}

/// 16 hex digits of the SHA-256 of `json` (configuration hashes and keys).
fn short_digest(json: &str) -> String {
    crate::hex(&Sha256::digest(json.as_bytes())[..8])
}

impl ExperimentConfig {
    /// Reads a JSON config file. Unknown fields and wrong types are errors naming the file.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_str(&text).map_err(|e| match e {
            Error::Json { message, .. } => Error::Json {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses a JSON config. Unknown fields and wrong types are errors.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Json {
            path: "<config>".into(),
            message: e.to_string(),
        })
    }

    /// Pretty JSON, the format of `config.json` in run directories.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serialises")
    }

    /// Short stable hash (16 hex digits of SHA-256 over the canonical JSON): two runs with the
    /// same hash trained the same configuration.
    pub fn hash(&self) -> String {
        short_digest(&serde_json::to_string(self).expect("config serialises"))
    }

    /// Hash of the configuration without its seed, step budget and alarm thresholds: runs that
    /// differ only in those trained the same configuration (what sweeps name their runs after and
    /// tables group by). The thresholds only watch training, so tuning them never renames a run.
    pub fn key(&self) -> String {
        let mut c = self.clone();
        c.seed = 0;
        c.train.steps = 0;
        let mut json = serde_json::to_value(&c).expect("config serialises");
        if let Some(fields) = json.as_object_mut() {
            fields.remove("health");
        }
        short_digest(&json.to_string())
    }

    /// Image shape [channels, height, width].
    pub fn image_shape(&self) -> [usize; 3] {
        [self.data.channels, self.data.image_size, self.data.image_size]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_through_json_unchanged() {
        for p in presets() {
            let json = p.config.to_json();
            let back = ExperimentConfig::from_json_str(&json).unwrap();
            assert_eq!(back, p.config, "preset {}", p.name);
            assert_eq!(back.hash(), p.config.hash());
        }
    }

    #[test]
    fn unknown_json_fields_are_an_error_that_names_the_field() {
        let mut v: serde_json::Value = serde_json::from_str(&preset("dcgan28").unwrap().to_json()).unwrap();
        v["train"]["batchsize"] = 64.into();
        let err = ExperimentConfig::from_json_str(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains("unknown field `batchsize`"), "{err}");
    }

    #[test]
    fn a_config_file_error_names_the_file() {
        let dir = crate::test_scratch_dir("cfg");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.json");
        std::fs::write(&path, "{ \"name\": 3 }").unwrap();
        let err = ExperimentConfig::from_json_file(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        let missing = ExperimentConfig::from_json_file(dir.join("absent.json")).unwrap_err().to_string();
        assert!(missing.contains("absent.json"), "{missing}");
    }

    #[test]
    fn a_config_without_weight_clip_or_spectral_norm_keeps_the_json_and_hash_it_had_before_the_fields_existed() {
        let json = preset("dcgan28").unwrap().to_json();
        assert!(!json.contains("weight_clip") && !json.contains("spectral_norm"), "{json}");
        let sn = preset("hinge-sn-dcgan28").unwrap();
        assert!(sn.to_json().contains("\"spectral_norm\": true"));
        assert_eq!(ExperimentConfig::from_json_str(&sn.to_json()).unwrap(), sn);
        let wgan = preset("wgan-clip-mlp").unwrap();
        assert!(wgan.to_json().contains("\"weight_clip\": 0.01"));
        assert_eq!(ExperimentConfig::from_json_str(&wgan.to_json()).unwrap(), wgan);
        assert_eq!(wgan.loss.name(), "wasserstein");
        assert_eq!(LossKind::NonSaturatingBce.name(), "non_saturating_bce");
    }

    #[test]
    fn sampling_and_packing_stay_out_of_the_json_at_their_defaults_and_round_trip_otherwise() {
        let json = preset("dcgan28").unwrap().to_json();
        assert!(!json.contains("sampling") && !json.contains("pack"), "{json}");
        let mut c = preset("pacdcgan2-stacked-mnist").unwrap();
        c.train.sampling = Sampling::BatchStatistics;
        let json = c.to_json();
        assert!(json.contains("\"sampling\": \"batch_statistics\"") && json.contains("\"pack\": 2"), "{json}");
        assert_eq!(ExperimentConfig::from_json_str(&json).unwrap(), c);
        for s in [Sampling::RunningStatistics, Sampling::BatchStatistics] {
            assert_eq!(Sampling::parse(s.name()).unwrap(), s);
        }
        assert!(Sampling::parse("eval").unwrap_err().to_string().contains("running_statistics or batch_statistics"));
    }

    #[test]
    fn the_hash_changes_when_any_setting_changes() {
        let a = preset("mlp-gan").unwrap();
        let mut b = a.clone();
        b.train.batch_size = 65;
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 16);
    }

    #[test]
    fn the_key_ignores_seed_step_budget_and_alarm_thresholds_but_nothing_else() {
        let a = preset("mlp-gan").unwrap();
        let mut b = a.clone();
        b.seed = 7;
        b.train.steps = 12;
        b.health.d_fake_floor = 0.3;
        b.health.patience = 2;
        assert_eq!(a.key(), b.key());
        assert_ne!(a.hash(), b.hash());
        b.train.batch_size = 32;
        assert_ne!(a.key(), b.key());
    }
}
