//! Presets of the loss family (Lucic et al. 2018; Kurach et al. 2019): one of the architecture
//! presets with another loss, a Lipschitz bound or a regulariser of D, each named after its source.

use super::presets::{adam, dcgan28, mlp_gan};
use super::*;

/// `base` with another loss and name: the loss family compared on one architecture.
pub(super) fn with_loss(base: ExperimentConfig, name: &str, loss: LossKind) -> ExperimentConfig {
    ExperimentConfig { name: name.into(), loss, ..base }
}

/// SN-GAN (Miyato et al. 2018): dcgan28 whose discriminator has every layer spectrally normalised
/// and no BatchNorm (SN replaces it there), trained with the hinge loss; Adam 2e-4, β = (0.5, 0.999),
/// one D step per G step is the paper's setting C.
pub(super) fn hinge_sn_dcgan28() -> ExperimentConfig {
    let mut c = with_loss(dcgan28(), "hinge-sn-dcgan28", LossKind::Hinge);
    c.discriminator.spectral_norm = true;
    c.discriminator.batch_norm = false;
    c
}

/// WGAN with weight clipping (Arjovsky et al. 2017, Algorithm 1): RMSprop lr 5e-5, clip c = 0.01,
/// n_critic = 5, batch 64, on mlp-gan's layers (the critic without dropout, like the paper's).
pub(super) fn wgan_clip_mlp() -> ExperimentConfig {
    let mut c = with_loss(mlp_gan(), "wgan-clip-mlp", LossKind::Wasserstein);
    let rmsprop = OptimizerConfig::Rmsprop { lr: 5e-5, alpha: 0.99, eps: 1e-8 };
    c.g_optimizer = rmsprop.clone();
    c.d_optimizer = rmsprop;
    c.discriminator.dropout = DropoutConfig::default();
    c.discriminator.weight_clip = Some(0.01);
    c.train.d_steps = 5;
    c
}

/// WGAN-GP (Gulrajani et al. 2017, Algorithm 1): λ = 10, n_critic = 5, Adam lr 1e-4, β = (0, 0.9),
/// on dcgan28's layers; the critic has no BatchNorm (the paper drops it for the penalty) and no
/// dropout.
pub(super) fn wgan_gp_dcgan28() -> ExperimentConfig {
    let mut c = with_loss(dcgan28(), "wgan-gp-dcgan28", LossKind::Wasserstein);
    without_batch_norm_or_dropout(&mut c.discriminator);
    c.discriminator.gradient_penalty = Some(GradientPenalty { kind: PenaltyKind::WganGp, weight: 10.0 });
    let adam = adam(1e-4, 0.0, 0.9);
    c.g_optimizer = adam.clone();
    c.d_optimizer = adam;
    c.train.d_steps = 5;
    c
}

/// R1 (Mescheder et al. 2018): the non-saturating loss of dcgan28 plus (γ/2)·E‖∂D/∂x‖² on real
/// images, γ = 10; D without BatchNorm (the penalty is per image) and without dropout.
pub(super) fn r1_dcgan28() -> ExperimentConfig {
    let mut c = ExperimentConfig { name: "r1-dcgan28".into(), ..dcgan28() };
    without_batch_norm_or_dropout(&mut c.discriminator);
    c.discriminator.gradient_penalty = Some(GradientPenalty { kind: PenaltyKind::R1, weight: 10.0 });
    c
}

fn without_batch_norm_or_dropout(d: &mut NetworkConfig) {
    d.batch_norm = false;
    d.dropout = DropoutConfig::default();
    if let Architecture::Dcgan { layers, .. } = &mut d.architecture {
        layers.iter_mut().for_each(|l| l.dropout = None);
    }
}
