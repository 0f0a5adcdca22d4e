//! One network's configuration (generator or discriminator): layer structure, activations,
//! BatchNorm, dropout, initialisation and the discriminator-only settings.

use serde::{Deserialize, Serialize};

/// One network (generator or discriminator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Layer structure.
    pub architecture: Architecture,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Generator only: squashing of the image output. Must be `null` for the discriminator, whose
    /// output is a logit (its sigmoid is inside the loss).
    #[serde(default)]
    pub output_activation: Option<OutputActivation>,
    /// BatchNorm after hidden layers. When on: after every hidden layer of the generator, and after
    /// every hidden layer but the first of the discriminator (the DCGAN paper's rule). Layers that
    /// are followed by BatchNorm have no bias.
    pub batch_norm: bool,
    /// Dropout probabilities (chance of zeroing a unit) while training.
    #[serde(default)]
    pub dropout: DropoutConfig,
    /// Initial weights ~ N(0, std) (BatchNorm scales ~ N(1, std), biases 0); `null` keeps burn's
    /// default (Kaiming-uniform, like PyTorch's default for Linear and Conv).
    #[serde(default)]
    pub init_std: Option<f64>,
    /// Discriminator only: map the [-1, 1] images to [0, 1] before the first layer, for models
    /// whose source trained on [0, 1] pixels (Goodfellow 2014's pylearn2 MNIST). With a sigmoid
    /// generator this makes D see exactly σ(·), as in the source; samples and metrics stay in [-1, 1].
    #[serde(default)]
    pub input_unit_range: bool,
    /// Discriminator only: after every update, clamp each weight to [−c, c] (WGAN's Lipschitz
    /// bound; 0.01 in the paper). Omitted from the JSON when null, so older configs keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_clip: Option<f64>,
    /// Discriminator only: divide every layer's weight by its largest singular value, estimated
    /// by one power-iteration step per training forward pass (Miyato et al. 2018). Omitted from
    /// the JSON when false, so older configs keep their hash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spectral_norm: bool,
    /// Discriminator only: a penalty on the norm of D's gradient in its input, added to D's loss
    /// (WGAN-GP or R1; see `loss/penalty.rs`). Omitted from the JSON when null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_penalty: Option<GradientPenalty>,
    /// Discriminator only: augment every image D judges, real and generated (DiffAugment / ADA;
    /// see `train/augment.rs`). Omitted from the JSON when null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<AugmentConfig>,
    /// Discriminator only: PacGAN packing (Lin et al. 2018). D judges `pack` images of one kind
    /// at once, concatenated along the channels, and gives one logit for the pack, so a generator
    /// that repeats itself is easier to tell apart. `train.batch_size` must be a multiple. Omitted
    /// from the JSON when null (no packing, as 1), so older configs keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<usize>,
}

impl NetworkConfig {
    /// Images D judges at once (1 without packing).
    pub fn pack(&self) -> usize {
        self.pack.unwrap_or(1)
    }
}

/// Differentiable augmentation of what the discriminator sees, e.g.
/// `{"policy": ["color", "translation", "cutout"], "p": {"adaptive": {"target": 0.6}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Transforms, in the order applied; all three (DiffAugment's policy) when omitted.
    #[serde(default = "default_policy")]
    pub policy: Vec<AugmentOp>,
    /// How likely each transform is applied to each image; `{"fixed": 1.0}` when omitted.
    #[serde(default = "default_probability")]
    pub p: AugmentProbability,
}

fn default_policy() -> Vec<AugmentOp> {
    vec![AugmentOp::Color, AugmentOp::Translation, AugmentOp::Cutout]
}

fn default_probability() -> AugmentProbability {
    AugmentProbability::Fixed(1.0)
}

/// One DiffAugment transform (defined in `train/augment.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AugmentOp {
    /// Brightness, saturation and contrast (three transforms for p).
    Color,
    /// A shift by up to ⅛ of the image size, zero-filled.
    Translation,
    /// A square of half the image size set to 0.
    Cutout,
}

/// The probability p of each transform.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AugmentProbability {
    /// Always this p (1 is DiffAugment).
    Fixed(f64),
    /// ADA's rule: p starts at 0; every `interval` steps, r = E[sign D(x_real)] over those steps,
    /// and p moves by ± batch · interval / `images_to_full` toward r = `target`, within [0, 1].
    Adaptive {
        #[serde(default = "default_target")]
        target: f64,
        #[serde(default = "default_images_to_full")]
        images_to_full: u64,
        #[serde(default = "default_interval")]
        interval: u64,
    },
}

fn default_target() -> f64 {
    0.6
}

fn default_images_to_full() -> u64 {
    100_000
}

fn default_interval() -> u64 {
    4
}

/// A gradient penalty on the discriminator: `weight` × a mean over the batch of a function of
/// ‖∂D/∂x‖₂ at points `kind` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientPenalty {
    /// Where the gradient is taken and what is penalised.
    pub kind: PenaltyKind,
    /// The penalty's weight λ in D's loss; 10 when omitted (both papers' value).
    #[serde(default = "default_penalty_weight")]
    pub weight: f64,
}

fn default_penalty_weight() -> f64 {
    10.0
}

/// The two gradient penalties of the large GAN studies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PenaltyKind {
    /// Gulrajani et al. 2017: λ · E[(‖∂D/∂x̂‖ − 1)²] at x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1] per image.
    WganGp,
    /// Mescheder et al. 2018: (λ / 2) · E[‖∂D/∂x‖²] at the real images.
    R1,
}

impl NetworkConfig {
    /// `MLP 1200-1200` or `DCGAN 128-64-1` (hidden widths, or each layer's output channels).
    pub fn architecture_kind(&self) -> String {
        let join = |v: Vec<usize>| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("-");
        match &self.architecture {
            Architecture::Mlp { hidden } => format!("MLP {}", join(hidden.clone())),
            Architecture::Dcgan { layers, .. } => format!("DCGAN {}", join(layers.iter().map(|l| l.channels).collect())),
        }
    }
}

/// Dropout rates, in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutConfig {
    /// Applied to the network's input (Goodfellow 2014: 0.2 on D's input).
    #[serde(default)]
    pub input: f64,
    /// Applied after every hidden activation, unless a DCGAN layer sets its own.
    #[serde(default)]
    pub hidden: f64,
}

/// Layer structure of a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Architecture {
    /// Fully connected: hidden widths in order; the output layer (image or logit) is added.
    Mlp {
        /// Width of each hidden layer, input side first.
        hidden: Vec<usize>,
    },
    /// Convolutional. Generator: a linear projection of the latent vector to `projection`
    /// (channels, height, width), then transposed convolutions; the last layer's channels are the
    /// image channels. Discriminator: convolutions, then a linear layer to one logit.
    Dcgan {
        /// Generator only: shape [channels, height, width] the latent vector is projected to.
        #[serde(default)]
        projection: Option<[usize; 3]>,
        /// Convolution (D) or transposed convolution (G) layers, input side first.
        layers: Vec<ConvLayer>,
    },
}

/// One convolution or transposed-convolution layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvLayer {
    /// Output channels.
    pub channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Dropout after this layer's activation, overriding the network's `dropout.hidden`.
    #[serde(default)]
    pub dropout: Option<f64>,
}

/// Hidden-layer activation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// x for x > 0, αx otherwise.
    LeakyRelu {
        /// Slope for negative inputs, in (0, 1).
        alpha: f64,
    },
    /// Maxout (Goodfellow et al. 2013): each unit is the max of `pieces` linear pieces.
    Maxout {
        /// Number of linear pieces per unit, ≥ 2.
        pieces: usize,
    },
}

impl Activation {
    /// Linear pieces per unit: a maxout(k) layer is k times as wide before its activation.
    pub fn pieces(self) -> usize {
        match self {
            Activation::Maxout { pieces } => pieces,
            _ => 1,
        }
    }
}

/// Generator output squashing. Images live in [-1, 1]; `sigmoid` is rescaled as 2σ(x) − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputActivation {
    Tanh,
    Sigmoid,
}
