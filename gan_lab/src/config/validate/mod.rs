//! `ExperimentConfig::validate`: every rule checked once, one message per broken rule.

mod network;

pub(crate) use network::conv_out;
#[cfg(test)]
use network::conv_transpose_out;

use super::*;

/// Collects broken rules; each message names the field and the offending value.
struct Rules(Vec<String>);

impl Rules {
    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }

    fn probability(&mut self, field: &str, p: f64) {
        self.check((0.0..1.0).contains(&p), || format!("{field} must be in [0, 1), got {p}"));
    }

    fn positive(&mut self, field: &str, x: f64) {
        self.check(x.is_finite() && x > 0.0, || format!("{field} must be a finite number > 0, got {x}"));
    }

    fn at_least(&mut self, field: &str, x: u64, min: u64) {
        self.check(x >= min, || format!("{field} must be ≥ {min}, got {x}"));
    }
}

impl ExperimentConfig {
    /// Checks every rule and returns all broken ones at once.
    pub fn validate(&self) -> Result<()> {
        let mut r = Rules(Vec::new());
        r.check(
            !self.name.is_empty() && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            || format!("name must be non-empty and use only letters, digits, '-' and '_', got '{}'", self.name),
        );
        self.validate_data(&mut r);
        self.validate_network(&mut r, "generator", &self.generator, true);
        self.validate_network(&mut r, "discriminator", &self.discriminator, false);
        validate_optimizer(&mut r, "g_optimizer", &self.g_optimizer);
        validate_optimizer(&mut r, "d_optimizer", &self.d_optimizer);
        self.validate_train(&mut r);
        let lipschitz = self.discriminator.weight_clip.is_some()
            || self.discriminator.gradient_penalty.is_some_and(|p| p.kind == PenaltyKind::WganGp);
        r.check(self.loss != LossKind::Wasserstein || lipschitz, || {
            "loss \"wasserstein\" needs a Lipschitz critic: set discriminator.weight_clip (0.01 in Arjovsky et al. 2017) or a wgan_gp discriminator.gradient_penalty, got neither".into()
        });
        let h = &self.health;
        r.probability("health.d_fake_floor", h.d_fake_floor);
        r.at_least("health.patience", h.patience as u64, 1);
        r.check(h.min_g_update >= 0.0 && h.min_g_update.is_finite(), || format!("health.min_g_update must be a finite number ≥ 0, got {}", h.min_g_update));
        r.check((0.0..=1.0).contains(&h.min_diversity), || format!("health.min_diversity must be in [0, 1], got {}", h.min_diversity));
        if r.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(r.0))
        }
    }

    fn validate_data(&self, r: &mut Rules) {
        let d = &self.data;
        r.check(!d.dataset.trim().is_empty(), || "data.dataset must name a dataset or a path, got ''".into());
        r.check((4..=1024).contains(&d.image_size), || format!("data.image_size must be in [4, 1024], got {}", d.image_size));
        r.check(d.channels == 1 || d.channels == 3, || format!("data.channels must be 1 (grey) or 3 (RGB), got {}", d.channels));
        if let Some(limit) = d.limit {
            r.at_least("data.limit", limit as u64, 2);
        }
        r.check((0.0..=0.5).contains(&d.holdout_fraction), || {
            format!("data.holdout_fraction must be in [0, 0.5], got {}", d.holdout_fraction)
        });
    }

    fn validate_train(&self, r: &mut Rules) {
        let t = &self.train;
        let bn = self.generator.batch_norm || self.discriminator.batch_norm;
        r.at_least("train.batch_size", t.batch_size as u64, if bn { 2 } else { 1 });
        r.at_least("train.d_steps", t.d_steps as u64, 1);
        let pack = self.discriminator.pack();
        r.check(pack == 0 || t.batch_size % pack == 0, || {
            format!("train.batch_size must be a multiple of discriminator.pack ({pack}), got {}", t.batch_size)
        });
        r.at_least("train.steps", t.steps, 1);
        r.at_least("train.latent_size", t.latent_size as u64, 1);
        r.at_least("train.log_every", t.log_every, 1);
        r.at_least("train.sample_every", t.sample_every, 1);
        r.at_least("train.checkpoint_every", t.checkpoint_every, 1);
        r.at_least("train.keep_checkpoints", t.keep_checkpoints as u64, 1);
        if let Some(ema) = t.g_ema {
            r.check(ema.decay > 0.0 && ema.decay < 1.0, || format!("train.g_ema.decay must be in (0, 1), got {}", ema.decay));
        }
        r.check((1..=1024).contains(&t.sample_count), || format!("train.sample_count must be in [1, 1024], got {}", t.sample_count));
        if let Some(name) = &t.eval_features {
            match crate::data::SHIPPED.iter().find(|d| d.name == name) {
                None => r.check(false, || {
                    let known: Vec<&str> = crate::data::SHIPPED.iter().map(|d| d.name).collect();
                    format!("train.eval_features must name a shipped dataset ({}), got '{name}'", known.join(", "))
                }),
                // A grey network scores colour images channel by channel (as Stacked MNIST's are).
                Some(d) => r.check(d.channels == self.data.channels || d.channels == 1, || {
                    format!("train.eval_features '{name}' scores {}-channel images, but data.channels is {}", d.channels, self.data.channels)
                }),
            }
        }
    }
}

fn validate_optimizer(r: &mut Rules, name: &str, opt: &OptimizerConfig) {
    match *opt {
        OptimizerConfig::Sgd { lr, momentum, momentum_schedule, lr_decay, min_lr } => {
            r.positive(&format!("{name}.sgd.lr"), lr);
            r.probability(&format!("{name}.sgd.momentum"), momentum);
            r.check(lr_decay.is_finite() && lr_decay >= 1.0, || format!("{name}.sgd.lr_decay must be ≥ 1 (1 = no decay), got {lr_decay}"));
            r.check(min_lr >= 0.0 && min_lr <= lr, || format!("{name}.sgd.min_lr must be in [0, lr = {lr}], got {min_lr}"));
            if let Some(s) = momentum_schedule {
                r.probability(&format!("{name}.sgd.momentum_schedule.final_momentum"), s.final_momentum);
                r.check(s.start_epoch < s.saturate_epoch, || {
                    format!("{name}.sgd.momentum_schedule.start_epoch must be < saturate_epoch {}, got {}", s.saturate_epoch, s.start_epoch)
                });
            }
        }
        OptimizerConfig::Adam { lr, beta1, beta2, eps } => {
            r.positive(&format!("{name}.adam.lr"), lr);
            r.probability(&format!("{name}.adam.beta1"), beta1);
            r.probability(&format!("{name}.adam.beta2"), beta2);
            r.positive(&format!("{name}.adam.eps"), eps);
        }
        OptimizerConfig::Rmsprop { lr, alpha, eps } => {
            r.positive(&format!("{name}.rmsprop.lr"), lr);
            r.probability(&format!("{name}.rmsprop.alpha"), alpha);
            r.positive(&format!("{name}.rmsprop.eps"), eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(edit: impl FnOnce(&mut ExperimentConfig)) -> Vec<String> {
        let mut c = preset("dcgan28").unwrap();
        edit(&mut c);
        match c.validate() {
            Err(Error::InvalidConfig(rules)) => rules,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    fn one_rule(edit: impl FnOnce(&mut ExperimentConfig), expected: &str) {
        let rules = broken(edit);
        assert_eq!(rules.len(), 1, "{rules:?}");
        assert_eq!(rules[0], expected);
    }

    #[test]
    fn dropout_outside_zero_one_is_rejected_with_its_value() {
        one_rule(|c| c.discriminator.dropout.hidden = 1.5, "discriminator.dropout.hidden must be in [0, 1), got 1.5");
        one_rule(|c| c.generator.dropout.input = -0.1, "generator.dropout.input must be in [0, 1), got -0.1");
    }

    #[test]
    fn names_with_spaces_or_slashes_are_rejected() {
        one_rule(|c| c.name = "my run/1".into(), "name must be non-empty and use only letters, digits, '-' and '_', got 'my run/1'");
    }

    #[test]
    fn data_rules_each_give_one_message() {
        let rules = broken(|c| c.data.channels = 2);
        assert_eq!(rules[0], "data.channels must be 1 (grey) or 3 (RGB), got 2");
        one_rule(|c| c.data.holdout_fraction = 0.9, "data.holdout_fraction must be in [0, 0.5], got 0.9");
        one_rule(|c| c.data.limit = Some(1), "data.limit must be ≥ 2, got 1");
        one_rule(|c| c.data.dataset = " ".into(), "data.dataset must name a dataset or a path, got ''");
    }

    #[test]
    fn image_size_outside_range_is_rejected() {
        let rules = broken(|c| c.data.image_size = 2);
        assert!(rules[0].starts_with("data.image_size must be in [4, 1024], got 2"), "{rules:?}");
    }

    #[test]
    fn activation_parameters_are_checked() {
        one_rule(
            |c| c.discriminator.activation = Activation::LeakyRelu { alpha: 1.0 },
            "discriminator.activation.leaky_relu.alpha must be in (0, 1), got 1",
        );
        one_rule(
            |c| c.generator.activation = Activation::Maxout { pieces: 1 },
            "generator.activation.maxout.pieces must be ≥ 2, got 1",
        );
    }

    #[test]
    fn output_activation_belongs_to_the_generator_only() {
        one_rule(|c| c.generator.output_activation = None, "generator.output_activation must be \"tanh\" or \"sigmoid\", got null");
        let rules = broken(|c| c.discriminator.output_activation = Some(OutputActivation::Sigmoid));
        assert!(rules[0].starts_with("discriminator.output_activation must be null"), "{rules:?}");
    }

    #[test]
    fn generator_layers_must_produce_the_image_size_and_channels() {
        one_rule(
            |c| c.data.image_size = 32,
            "generator.architecture.dcgan: the layers turn a 7×7 projection into 28×28, but data.image_size is 32×32",
        );
        let rules = broken(|c| {
            c.data.channels = 3;
        });
        assert_eq!(rules, vec!["generator.architecture.dcgan: the last layer has 1 channels, but data.channels is 3"]);
    }

    #[test]
    fn conv_layer_rules_are_checked() {
        one_rule(
            |c| {
                if let Architecture::Dcgan { layers, .. } = &mut c.discriminator.architecture {
                    layers[1].padding = 4;
                }
            },
            "discriminator.architecture.dcgan.layers[1].padding must be < kernel 4, got 4",
        );
        one_rule(
            |c| c.generator.architecture = Architecture::Dcgan { projection: Some([256, 7, 7]), layers: vec![] },
            "generator.architecture.dcgan.layers must have at least one layer, got none",
        );
        one_rule(
            |c| {
                if let Architecture::Dcgan { projection, .. } = &mut c.discriminator.architecture {
                    *projection = Some([1, 2, 2]);
                }
            },
            "discriminator.architecture.dcgan.projection is for the generator only; use null in the discriminator",
        );
    }

    #[test]
    fn optimiser_rules_are_checked() {
        one_rule(|c| c.g_optimizer = OptimizerConfig::Adam { lr: 0.0, beta1: 0.5, beta2: 0.999, eps: 1e-8 }, "g_optimizer.adam.lr must be a finite number > 0, got 0");
        one_rule(|c| c.d_optimizer = OptimizerConfig::Adam { lr: 1e-3, beta1: 1.0, beta2: 0.999, eps: 1e-8 }, "d_optimizer.adam.beta1 must be in [0, 1), got 1");
        let sgd = |decay: f64| OptimizerConfig::Sgd { lr: 0.1, momentum: 0.5, momentum_schedule: None, lr_decay: decay, min_lr: 0.0 };
        one_rule(|c| c.g_optimizer = sgd(0.5), "g_optimizer.sgd.lr_decay must be ≥ 1 (1 = no decay), got 0.5");
        one_rule(
            |c| {
                c.g_optimizer = OptimizerConfig::Sgd {
                    lr: 0.1,
                    momentum: 0.5,
                    momentum_schedule: Some(MomentumSchedule { final_momentum: 0.7, start_epoch: 9, saturate_epoch: 3 }),
                    lr_decay: 1.0,
                    min_lr: 0.0,
                }
            },
            "g_optimizer.sgd.momentum_schedule.start_epoch must be < saturate_epoch 3, got 9",
        );
    }

    #[test]
    fn training_schedule_rules_are_checked() {
        one_rule(|c| c.train.batch_size = 1, "train.batch_size must be ≥ 2, got 1");
        one_rule(|c| c.train.log_every = 0, "train.log_every must be ≥ 1, got 0");
        one_rule(|c| c.train.latent_size = 0, "train.latent_size must be ≥ 1, got 0");
        one_rule(|c| c.generator.init_std = Some(-1.0), "generator.init_std must be a finite number > 0, got -1");
        one_rule(|c| c.generator.input_unit_range = true, "generator.input_unit_range must be false (it maps a discriminator's image input), got true");
    }

    #[test]
    fn the_scoring_network_must_be_shipped_and_take_the_images_channels() {
        one_rule(
            |c| c.train.eval_features = Some("imagenet".into()),
            "train.eval_features must name a shipped dataset (mnist10k, fashion-mnist-test10k, noto-emoji-32, twemoji-64), got 'imagenet'",
        );
        one_rule(|c| c.train.eval_features = Some("noto-emoji-32".into()), "train.eval_features 'noto-emoji-32' scores 3-channel images, but data.channels is 1");
        let mut c = preset("dcgan28").unwrap();
        c.train.eval_features = Some("fashion-mnist-test10k".into());
        c.validate().unwrap();
        let unset = serde_json::to_string(&preset("dcgan28").unwrap()).unwrap();
        assert!(!unset.contains("eval_features"), "unset, it stays out of the JSON (and of the configuration key)");
    }

    #[test]
    fn loss_and_weight_clip_rules_are_checked() {
        one_rule(
            |c| c.loss = LossKind::Wasserstein,
            "loss \"wasserstein\" needs a Lipschitz critic: set discriminator.weight_clip (0.01 in Arjovsky et al. 2017) or a wgan_gp discriminator.gradient_penalty, got neither",
        );
        one_rule(|c| c.generator.weight_clip = Some(0.01), "generator.weight_clip must be null (it bounds a critic), got 0.01");
        one_rule(|c| c.discriminator.weight_clip = Some(0.0), "discriminator.weight_clip must be a finite number > 0, got 0");
        one_rule(|c| c.train.g_ema = Some(crate::config::GeneratorEma { decay: 1.0, start_step: 0 }), "train.g_ema.decay must be in (0, 1), got 1");
        one_rule(|c| c.generator.spectral_norm = true, "generator.spectral_norm must be false (it normalises a discriminator's layers), got true");
        one_rule(
            |c| c.d_optimizer = OptimizerConfig::Rmsprop { lr: 5e-5, alpha: 1.0, eps: 1e-8 },
            "d_optimizer.rmsprop.alpha must be in [0, 1), got 1",
        );
    }

    #[test]
    fn augmentation_rules_are_checked_and_the_defaults_are_diffaugment() {
        let aug = |p| Some(AugmentConfig { policy: vec![AugmentOp::Color, AugmentOp::Color], p });
        one_rule(|c| c.generator.augment = Some(AugmentConfig { policy: vec![AugmentOp::Cutout], p: AugmentProbability::Fixed(1.0) }), "generator.augment must be null (it augments what a discriminator sees), got a setting");
        let rules = broken(|c| c.discriminator.augment = aug(AugmentProbability::Fixed(0.0)));
        assert_eq!(rules, ["discriminator.augment.policy lists Color twice", "discriminator.augment.p.fixed must be in (0, 1], got 0"]);
        let rules = broken(|c| c.discriminator.augment = Some(AugmentConfig { policy: vec![], p: AugmentProbability::Adaptive { target: 1.0, images_to_full: 0, interval: 0 } }));
        assert_eq!(rules.len(), 4, "{rules:?}");
        let set = preset("dcgan28").unwrap().with_settings(&["discriminator.augment={}"]).unwrap();
        let a = set.discriminator.augment.unwrap();
        assert_eq!((a.policy, a.p), (vec![AugmentOp::Color, AugmentOp::Translation, AugmentOp::Cutout], AugmentProbability::Fixed(1.0)));
        let set = preset("dcgan28").unwrap().with_settings(&["discriminator.augment={\"p\": {\"adaptive\": {}}}"]).unwrap();
        assert_eq!(set.discriminator.augment.unwrap().p, AugmentProbability::Adaptive { target: 0.6, images_to_full: 100_000, interval: 4 });
    }

    #[test]
    fn gradient_penalty_rules_are_checked() {
        use crate::config::{GradientPenalty, PenaltyKind};
        let gp = |kind, weight| Some(GradientPenalty { kind, weight });
        // dcgan28's D has BatchNorm, which a per-image gradient cannot have
        one_rule(
            |c| c.discriminator.gradient_penalty = gp(PenaltyKind::R1, 10.0),
            "discriminator.gradient_penalty needs discriminator.batch_norm false (BatchNorm mixes the images of a batch, so one image's gradient would depend on the others), got true",
        );
        let no_bn = |c: &mut ExperimentConfig| c.discriminator.batch_norm = false;
        one_rule(
            |c| {
                no_bn(c);
                c.discriminator.gradient_penalty = gp(PenaltyKind::WganGp, -1.0);
            },
            "discriminator.gradient_penalty.weight must be a finite number > 0, got -1",
        );
        one_rule(|c| c.generator.gradient_penalty = gp(PenaltyKind::R1, 10.0), "generator.gradient_penalty must be null (it regularises a discriminator), got R1");
        // the weight may be omitted: both papers use 10
        let set = preset("r1-dcgan28").unwrap().with_settings(&["discriminator.gradient_penalty={\"kind\": \"wgan_gp\"}"]).unwrap();
        assert_eq!(set.discriminator.gradient_penalty, gp(PenaltyKind::WganGp, 10.0));
        // WGAN-GP makes the critic Lipschitz; R1 alone does not satisfy the Wasserstein rule
        let mut c = preset("dcgan28").unwrap();
        no_bn(&mut c);
        c.loss = LossKind::Wasserstein;
        c.discriminator.gradient_penalty = gp(PenaltyKind::WganGp, 10.0);
        c.validate().unwrap();
        c.discriminator.gradient_penalty = gp(PenaltyKind::R1, 10.0);
        assert_eq!(c.validate().unwrap_err().to_string().matches("Lipschitz").count(), 1);
    }

    #[test]
    fn several_broken_rules_are_all_reported() {
        let rules = broken(|c| {
            c.train.batch_size = 0;
            c.discriminator.dropout.input = 2.0;
            c.train.d_steps = 0;
        });
        assert_eq!(rules.len(), 3, "{rules:?}");
    }

    #[test]
    fn layer_size_arithmetic_matches_pytorch() {
        let l = ConvLayer { channels: 1, kernel: 4, stride: 2, padding: 1, dropout: None };
        assert_eq!(conv_out(28, &l), Some(14));
        assert_eq!(conv_transpose_out(7, &l), Some(14));
        let same = ConvLayer { channels: 1, kernel: 5, stride: 1, padding: 2, dropout: None };
        assert_eq!(conv_transpose_out(7, &same), Some(7));
        assert_eq!(conv_out(2, &ConvLayer { channels: 1, kernel: 5, stride: 1, padding: 0, dropout: None }), None);
    }

    #[test]
    fn packing_is_for_the_discriminator_and_divides_the_batch() {
        one_rule(|c| c.generator.pack = Some(2), "generator.pack must be null (it packs what a discriminator judges), got 2");
        one_rule(|c| c.discriminator.pack = Some(0), "discriminator.pack must be ≥ 1, got 0");
        one_rule(|c| c.discriminator.pack = Some(3), "train.batch_size must be a multiple of discriminator.pack (3), got 64");
        one_rule(
            |c| {
                c.discriminator.pack = Some(2);
                c.discriminator.batch_norm = false;
                c.discriminator.gradient_penalty = Some(GradientPenalty { kind: PenaltyKind::R1, weight: 10.0 });
            },
            "discriminator.pack 2 cannot go with a gradient_penalty (its per-image gradient norm is not defined for a pack), got both",
        );
        let mut ok = preset("dcgan28").unwrap();
        ok.discriminator.pack = Some(4);
        assert!(ok.validate().is_ok());
    }
}
