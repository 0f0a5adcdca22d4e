//! Presets named after their source. Each reproduces the architecture and hyper-parameters of a
//! published configuration (see the README's preset table for the references).

use super::*;
use super::loss_presets::{hinge_sn_dcgan28, r1_dcgan28, wgan_clip_mlp, wgan_gp_dcgan28, with_loss};

/// A named configuration with a one-line description of where it comes from.
#[derive(Debug, Clone)]
pub struct Preset {
    pub name: &'static str,
    pub summary: &'static str,
    pub config: ExperimentConfig,
}

/// Every preset, in the order `gan-lab presets` lists them.
pub fn presets() -> Vec<Preset> {
    vec![
        Preset {
            name: "goodfellow2014-mnist",
            summary: "Goodfellow et al. 2014: ReLU MLP generator, maxout discriminator with dropout, SGD + momentum 0.5→0.7",
            config: goodfellow2014_mnist(),
        },
        Preset {
            name: "flux-mlp-mnist",
            summary: "Flux vanilla-GAN tutorial: LeakyReLU MLPs, dropout 0.3 in D, Adam 2e-4, batch 128",
            config: flux_mlp_mnist(),
        },
        Preset {
            name: "flux-dcgan-mnist",
            summary: "Flux model-zoo DCGAN: BatchNorm+ReLU transposed-conv G, LeakyReLU+dropout conv D, Adam 2e-4",
            config: flux_dcgan_mnist(),
        },
        Preset {
            name: "dcgan28",
            summary: "PyTorch DCGAN tutorial at 28×28 (performance reference): BN G, BN+LeakyReLU D, Adam 2e-4 β1 0.5",
            config: dcgan28(),
        },
        Preset {
            name: "mlp-gan",
            summary: "MLP GAN 100-256-512-1024-784 / 784-1024-512-256-1, LeakyReLU 0.2, Adam 2e-4 β1 0.5 (performance reference)",
            config: mlp_gan(),
        },
        Preset {
            name: "pytorch-dcgan64",
            summary: "PyTorch DCGAN tutorial (64×64 RGB, ngf = ndf = 64) on twemoji-64",
            config: pytorch_dcgan64(),
        },
        Preset {
            name: "dcgan-emoji32",
            summary: "DCGAN scaled to 32×32 RGB on noto-emoji-32: colour machine art on 2 CPU cores",
            config: dcgan_emoji32(),
        },
        Preset {
            name: "diffaug-emoji32",
            summary: "Zhao et al. 2020 (DiffAugment): dcgan-emoji32 with colour, translation and cutout on every image D judges (p = 1)",
            config: with_augment(dcgan_emoji32(), "diffaug-emoji32", AugmentProbability::Fixed(1.0)),
        },
        Preset {
            name: "ada-emoji32",
            summary: "Karras et al. 2020 (ADA): dcgan-emoji32 with the same transforms, p adapted toward E[sign D(x)] = 0.6",
            config: with_augment(dcgan_emoji32(), "ada-emoji32", AugmentProbability::Adaptive { target: 0.6, images_to_full: 100_000, interval: 4 }),
        },
        Preset {
            name: "dcgan-stacked-mnist",
            summary: "dcgan28's recipe on Stacked MNIST (3 digits as RGB, 1000 modes): the mode-collapse benchmark of VEEGAN and PacGAN",
            config: dcgan_stacked_mnist(),
        },
        Preset {
            name: "pacdcgan2-stacked-mnist",
            summary: "Lin et al. 2018 (PacGAN): dcgan-stacked-mnist with D judging packs of 2 images (discriminator.pack = 2)",
            config: pacdcgan2_stacked_mnist(),
        },
        Preset {
            name: "lsgan-dcgan28",
            summary: "Mao et al. 2017 (LSGAN): the least-squares loss on dcgan28, everything else unchanged",
            config: with_loss(dcgan28(), "lsgan-dcgan28", LossKind::LeastSquares),
        },
        Preset {
            name: "hinge-dcgan28",
            summary: "Lim & Ye 2017 / SAGAN: the hinge loss on dcgan28, everything else unchanged",
            config: with_loss(dcgan28(), "hinge-dcgan28", LossKind::Hinge),
        },
        Preset {
            name: "hinge-sn-dcgan28",
            summary: "Miyato et al. 2018 (SN-GAN): dcgan28 with every D layer spectrally normalised (no BatchNorm in D) and the hinge loss",
            config: hinge_sn_dcgan28(),
        },
        Preset {
            name: "wgan-gp-dcgan28",
            summary: "Gulrajani et al. 2017 (WGAN-GP): dcgan28's critic without BatchNorm, gradient penalty λ 10, 5 critic steps, Adam 1e-4 β (0, 0.9)",
            config: wgan_gp_dcgan28(),
        },
        Preset {
            name: "r1-dcgan28",
            summary: "Mescheder et al. 2018: dcgan28 (no BatchNorm in D) with the R1 penalty γ 10 on real images, non-saturating loss",
            config: r1_dcgan28(),
        },
        Preset {
            name: "wgan-clip-mlp",
            summary: "Arjovsky et al. 2017 (WGAN): mlp-gan's layers as critic, weights clipped to ±0.01, 5 critic steps, RMSprop 5e-5",
            config: wgan_clip_mlp(),
        },
    ]
}

/// Names of every preset.
pub fn preset_names() -> Vec<String> {
    presets().into_iter().map(|p| p.name.to_string()).collect()
}

/// The configuration of the preset `name`, or an error listing the known names.
pub fn preset(name: &str) -> Result<ExperimentConfig> {
    presets()
        .into_iter()
        .find(|p| p.name == name)
        .map(|p| p.config)
        .ok_or_else(|| Error::Unknown {
            kind: "preset",
            name: name.to_string(),
            known: preset_names(),
        })
}

fn data(dataset: &str, image_size: usize, channels: usize) -> DataConfig {
    DataConfig {
        dataset: dataset.into(),
        image_size,
        channels,
        limit: None,
        holdout_fraction: 0.1,
    }
}

fn train(batch_size: usize, steps: u64) -> TrainConfig {
    TrainConfig {
        batch_size,
        d_steps: 1,
        steps,
        latent_size: 100,
        latent_distribution: LatentDistribution::Normal,
        log_every: 50,
        sample_every: 500,
        checkpoint_every: 1000,
        sample_count: 64,
        eval_samples: 1000,
        eval_features: None,
        keep_checkpoints: 2,
        g_ema: None,
        sampling: Sampling::RunningStatistics,
    }
}

pub(super) fn adam(lr: f64, beta1: f64, beta2: f64) -> OptimizerConfig {
    OptimizerConfig::Adam {
        lr,
        beta1,
        beta2,
        eps: 1e-8,
    }
}

fn conv(channels: usize, kernel: usize, stride: usize, padding: usize) -> ConvLayer {
    ConvLayer {
        channels,
        kernel,
        stride,
        padding,
        dropout: None,
    }
}

fn with_dropout(layer: ConvLayer, p: f64) -> ConvLayer {
    ConvLayer {
        dropout: Some(p),
        ..layer
    }
}

fn net(architecture: Architecture, activation: Activation, batch_norm: bool) -> NetworkConfig {
    NetworkConfig {
        architecture,
        activation,
        output_activation: None,
        batch_norm,
        dropout: DropoutConfig::default(),
        init_std: None,
        input_unit_range: false,
        weight_clip: None,
        spectral_norm: false,
        gradient_penalty: None,
        augment: None,
        pack: None,
    }
}

const LEAKY: Activation = Activation::LeakyRelu { alpha: 0.2 };

/// Goodfellow et al. 2014 (the adversarial repository's mnist.yaml): G 100 → ReLU 1200 → ReLU 1200
/// → sigmoid 784; D maxout 240×5 → maxout 240×5 → 1 with dropout (input 0.2, hidden 0.5); SGD lr 0.1
/// divided by 1.000004 per update (floor 1e-6), momentum 0.5 → 0.7 over epochs 1–250; batch 100;
/// z ~ U(-1, 1). Initial weights: the yaml's irange (G 0.05, D 0.005) as normals of equal variance.
/// G uses the non-saturating loss, as the paper recommends and its code did.
fn goodfellow2014_mnist() -> ExperimentConfig {
    let sgd = OptimizerConfig::Sgd {
        lr: 0.1,
        momentum: 0.5,
        momentum_schedule: Some(MomentumSchedule {
            final_momentum: 0.7,
            start_epoch: 1,
            saturate_epoch: 250,
        }),
        lr_decay: 1.000004,
        min_lr: 1e-6,
    };
    let mut g = net(Architecture::Mlp { hidden: vec![1200, 1200] }, Activation::Relu, false);
    g.output_activation = Some(OutputActivation::Sigmoid);
    g.init_std = Some(0.05 / 3f64.sqrt());
    let mut d = net(Architecture::Mlp { hidden: vec![240, 240] }, Activation::Maxout { pieces: 5 }, false);
    d.dropout = DropoutConfig { input: 0.2, hidden: 0.5 };
    d.init_std = Some(0.005 / 3f64.sqrt());
    // pylearn2's MNIST pixels are in [0, 1]: with [-1, 1] inputs (784 background pixels at -1
    // instead of 0) this SGD at lr 0.1 diverged to NaN within 400 steps.
    d.input_unit_range = true;
    let mut t = train(100, 5000);
    t.latent_distribution = LatentDistribution::Uniform;
    ExperimentConfig {
        name: "goodfellow2014-mnist".into(),
        data: data("mnist10k", 28, 1),
        generator: g,
        discriminator: d,
        loss: LossKind::NonSaturatingBce,
        g_optimizer: sgd.clone(),
        d_optimizer: sgd,
        train: t,
        seed: 0,
        health: HealthConfig::default(),
    }
}

fn mlp_pair(name: &str, beta1: f64, batch: usize) -> ExperimentConfig {
    let mut g = net(Architecture::Mlp { hidden: vec![256, 512, 1024] }, LEAKY, false);
    g.output_activation = Some(OutputActivation::Tanh);
    let mut d = net(Architecture::Mlp { hidden: vec![1024, 512, 256] }, LEAKY, false);
    d.dropout = DropoutConfig { input: 0.0, hidden: 0.3 };
    ExperimentConfig {
        name: name.into(),
        data: data("mnist10k", 28, 1),
        generator: g,
        discriminator: d,
        loss: LossKind::NonSaturatingBce,
        g_optimizer: adam(2e-4, beta1, 0.999),
        d_optimizer: adam(2e-4, beta1, 0.999),
        train: train(batch, 5000),
        seed: 0,
        health: HealthConfig::default(),
    }
}

/// Flux's vanilla-GAN tutorial: Adam with Flux's default β (0.9, 0.999), batch 128.
fn flux_mlp_mnist() -> ExperimentConfig {
    mlp_pair("flux-mlp-mnist", 0.9, 128)
}

/// The performance reference MLP GAN: the same layers with the DCGAN paper's β1 = 0.5, batch 64.
pub(super) fn mlp_gan() -> ExperimentConfig {
    mlp_pair("mlp-gan", 0.5, 64)
}

/// Flux model-zoo DCGAN for MNIST: G Dense(100 → 7·7·256)+BN+ReLU, ConvT 5×5 s1 → 128 +BN+ReLU,
/// ConvT 4×4 s2 → 64 +BN+ReLU, ConvT 4×4 s2 → 1, tanh; D Conv 4×4 s2 → 64, LeakyReLU 0.2, dropout
/// 0.25, Conv 4×4 s2 → 128, LeakyReLU, dropout 0.25, Dense 6272 → 1; Adam 2e-4; batch 128; N(0, 0.02).
fn flux_dcgan_mnist() -> ExperimentConfig {
    let mut g = net(
        Architecture::Dcgan {
            projection: Some([256, 7, 7]),
            layers: vec![conv(128, 5, 1, 2), conv(64, 4, 2, 1), conv(1, 4, 2, 1)],
        },
        Activation::Relu,
        true,
    );
    g.output_activation = Some(OutputActivation::Tanh);
    g.init_std = Some(0.02);
    let mut d = net(
        Architecture::Dcgan {
            projection: None,
            layers: vec![conv(64, 4, 2, 1), conv(128, 4, 2, 1)],
        },
        LEAKY,
        false,
    );
    d.dropout.hidden = 0.25;
    d.init_std = Some(0.02);
    ExperimentConfig {
        name: "flux-dcgan-mnist".into(),
        data: data("mnist10k", 28, 1),
        generator: g,
        discriminator: d,
        loss: LossKind::NonSaturatingBce,
        g_optimizer: adam(2e-4, 0.9, 0.999),
        d_optimizer: adam(2e-4, 0.9, 0.999),
        train: train(128, 3000),
        seed: 0,
        health: HealthConfig::default(),
    }
}

/// A DCGAN pair in the PyTorch tutorial's style: projection + BN + ReLU, transposed convolutions 4×4
/// s2 p1 halving channels, tanh; D convolutions 4×4 s2 p1 doubling channels, LeakyReLU 0.2, BN on all
/// but the first, a linear layer to the logit; Adam 2e-4 β (0.5, 0.999); N(0, 0.02) weights.
fn dcgan_pair(name: &str, data: DataConfig, projection: [usize; 3], g_channels: &[usize], d_channels: &[usize], batch: usize, steps: u64) -> ExperimentConfig {
    let mut g_layers: Vec<ConvLayer> = g_channels.iter().map(|&c| conv(c, 4, 2, 1)).collect();
    g_layers.push(conv(data.channels, 4, 2, 1));
    let mut g = net(Architecture::Dcgan { projection: Some(projection), layers: g_layers }, Activation::Relu, true);
    g.output_activation = Some(OutputActivation::Tanh);
    g.init_std = Some(0.02);
    let d_layers = d_channels.iter().map(|&c| conv(c, 4, 2, 1)).collect();
    let mut d = net(Architecture::Dcgan { projection: None, layers: d_layers }, LEAKY, true);
    d.init_std = Some(0.02);
    ExperimentConfig {
        name: name.into(),
        data,
        generator: g,
        discriminator: d,
        loss: LossKind::NonSaturatingBce,
        g_optimizer: adam(2e-4, 0.5, 0.999),
        d_optimizer: adam(2e-4, 0.5, 0.999),
        train: train(batch, steps),
        seed: 0,
        health: HealthConfig::default(),
    }
}

/// PyTorch's DCGAN tutorial shrunk to 28×28 (the performance reference): G Linear 100 → 7·7·256
/// (no bias) + BN + ReLU, ConvT 256 → 128 + BN + ReLU, ConvT 128 → 1 + tanh; D Conv 1 → 64 + LeakyReLU
/// + dropout 0.3, Conv 64 → 128 (no bias) + BN + LeakyReLU, Linear 6272 → 1; batch 64.
pub(super) fn dcgan28() -> ExperimentConfig {
    let mut c = dcgan_pair("dcgan28", data("mnist10k", 28, 1), [256, 7, 7], &[128], &[64, 128], 64, 5000);
    if let Architecture::Dcgan { layers, .. } = &mut c.discriminator.architecture {
        layers[0] = with_dropout(layers[0], 0.3);
    }
    c
}

/// dcgan28's recipe for Stacked MNIST (28×28, 3 channels): G 100 → 256·7·7 → 128 → 3; D 3 → 64 →
/// 128 → 1 (BatchNorm on the second), without dropout; batch 64. Evaluation reads each channel
/// with the MNIST network and counts the modes (`metrics::modes`).
fn dcgan_stacked_mnist() -> ExperimentConfig {
    dcgan_pair("dcgan-stacked-mnist", data(crate::data::STACKED_MNIST, 28, 3), [256, 7, 7], &[128], &[64, 128], 64, 5000)
}

/// PacGAN's remedy on the same pair: D's first layer takes 2 images' 6 channels and gives one
/// logit per pack; everything else as dcgan-stacked-mnist.
fn pacdcgan2_stacked_mnist() -> ExperimentConfig {
    let mut c = dcgan_stacked_mnist();
    c.name = "pacdcgan2-stacked-mnist".into();
    c.discriminator.pack = Some(2);
    c
}

/// The PyTorch DCGAN tutorial at 64×64 RGB: G 100 → 512·4·4 → 256 → 128 → 64 → 3; D 3 → 64 → 128 →
/// 256 → 512 → 1 (the tutorial's 4×4 first ConvT and last Conv are the equivalent linear layers);
/// batch 128.
fn pytorch_dcgan64() -> ExperimentConfig {
    dcgan_pair("pytorch-dcgan64", data("twemoji-64", 64, 3), [512, 4, 4], &[256, 128, 64], &[64, 128, 256, 512], 128, 3000)
}

/// The same recipe at 32×32 RGB on noto-emoji-32: G 100 → 256·4·4 → 128 → 64 → 3; D 3 → 64 → 128 →
/// 256 → 1; batch 64.
fn dcgan_emoji32() -> ExperimentConfig {
    dcgan_pair("dcgan-emoji32", data("noto-emoji-32", 32, 3), [256, 4, 4], &[128, 64], &[64, 128, 256], 64, 3000)
}

/// `base` renamed, with DiffAugment's three transforms on D's images at probability `p`.
fn with_augment(base: ExperimentConfig, name: &str, p: AugmentProbability) -> ExperimentConfig {
    let mut c = ExperimentConfig { name: name.into(), ..base };
    c.discriminator.augment = Some(AugmentConfig { policy: vec![AugmentOp::Color, AugmentOp::Translation, AugmentOp::Cutout], p });
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_named_after_itself() {
        for p in presets() {
            p.config.validate().unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(p.config.name, p.name);
        }
    }

    #[test]
    fn an_unknown_preset_is_an_error_listing_the_known_ones() {
        let err = preset("dcgan-29").unwrap_err().to_string();
        assert!(err.contains("unknown preset 'dcgan-29'") && err.contains("dcgan28"), "{err}");
    }

    #[test]
    fn preset_names_are_unique() {
        let mut names = preset_names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), presets().len());
    }
}
