//! The rules of one network (generator or discriminator): activations, dropout, the
//! discriminator-only settings (clip, penalty, augmentation) and the DCGAN layer arithmetic.

use super::Rules;
use crate::config::*;

/// Spatial size after a convolution, or None when the kernel does not fit.
pub(crate) fn conv_out(size: usize, layer: &ConvLayer) -> Option<usize> {
    let padded = size + 2 * layer.padding;
    (padded >= layer.kernel && layer.stride > 0).then(|| (padded - layer.kernel) / layer.stride + 1)
}

/// Spatial size after a transposed convolution, or None when it would be ≤ 0.
pub(crate) fn conv_transpose_out(size: usize, layer: &ConvLayer) -> Option<usize> {
    let grown = (size.checked_sub(1)?) * layer.stride + layer.kernel;
    grown.checked_sub(2 * layer.padding).filter(|&s| s > 0)
}

impl ExperimentConfig {
    pub(super) fn validate_network(&self, r: &mut Rules, name: &str, net: &NetworkConfig, is_generator: bool) {
        match net.activation {
            Activation::Relu => {}
            Activation::LeakyRelu { alpha } => r.check(alpha > 0.0 && alpha < 1.0, || {
                format!("{name}.activation.leaky_relu.alpha must be in (0, 1), got {alpha}")
            }),
            Activation::Maxout { pieces } => r.at_least(&format!("{name}.activation.maxout.pieces"), pieces as u64, 2),
        }
        if is_generator {
            r.check(net.output_activation.is_some(), || {
                "generator.output_activation must be \"tanh\" or \"sigmoid\", got null".into()
            });
        } else if let Some(act) = net.output_activation {
            r.0.push(format!(
                "discriminator.output_activation must be null (D outputs a logit; the sigmoid is in the loss), got {act:?}"
            ));
        }
        r.probability(&format!("{name}.dropout.input"), net.dropout.input);
        r.probability(&format!("{name}.dropout.hidden"), net.dropout.hidden);
        if is_generator && net.input_unit_range {
            r.0.push("generator.input_unit_range must be false (it maps a discriminator's image input), got true".into());
        }
        if let Some(std) = net.init_std {
            r.positive(&format!("{name}.init_std"), std);
        }
        match (net.weight_clip, is_generator) {
            (Some(c), true) => r.0.push(format!("generator.weight_clip must be null (it bounds a critic), got {c}")),
            (Some(c), false) => r.positive("discriminator.weight_clip", c),
            (None, _) => {}
        }
        if is_generator && net.spectral_norm {
            r.0.push("generator.spectral_norm must be false (it normalises a discriminator's layers), got true".into());
        }
        match (net.gradient_penalty, is_generator) {
            (Some(p), true) => r.0.push(format!("generator.gradient_penalty must be null (it regularises a discriminator), got {:?}", p.kind)),
            (Some(p), false) => {
                r.positive("discriminator.gradient_penalty.weight", p.weight);
                // Each image's gradient must depend on that image alone (Gulrajani et al. 2017
                // replace the critic's BatchNorm for this reason).
                r.check(!net.batch_norm, || {
                    "discriminator.gradient_penalty needs discriminator.batch_norm false (BatchNorm mixes the images of a batch, so one image's gradient would depend on the others), got true".into()
                });
            }
            (None, _) => {}
        }
        match (&net.augment, is_generator) {
            (Some(_), true) => r.0.push("generator.augment must be null (it augments what a discriminator sees), got a setting".into()),
            (Some(a), false) => augment_rules(r, a),
            (None, _) => {}
        }
        match (net.pack, is_generator) {
            (Some(m), true) => r.0.push(format!("generator.pack must be null (it packs what a discriminator judges), got {m}")),
            (Some(m), false) => {
                r.at_least("discriminator.pack", m as u64, 1);
                if m > 1 && net.gradient_penalty.is_some() {
                    r.0.push(format!("discriminator.pack {m} cannot go with a gradient_penalty (its per-image gradient norm is not defined for a pack), got both"));
                }
            }
            (None, _) => {}
        }
        match &net.architecture {
            Architecture::Mlp { hidden } => {
                for (i, &w) in hidden.iter().enumerate() {
                    r.at_least(&format!("{name}.architecture.mlp.hidden[{i}]"), w as u64, 1);
                }
            }
            Architecture::Dcgan { projection, layers } => {
                self.validate_dcgan(r, name, projection, layers, is_generator);
            }
        }
    }

    fn validate_dcgan(&self, r: &mut Rules, name: &str, projection: &Option<[usize; 3]>, layers: &[ConvLayer], is_generator: bool) {
        let field = format!("{name}.architecture.dcgan");
        r.check(!layers.is_empty(), || format!("{field}.layers must have at least one layer, got none"));
        let mut broken = false;
        for (i, l) in layers.iter().enumerate() {
            let f = format!("{field}.layers[{i}]");
            let before = r.0.len();
            r.at_least(&format!("{f}.channels"), l.channels as u64, 1);
            r.at_least(&format!("{f}.kernel"), l.kernel as u64, 1);
            r.at_least(&format!("{f}.stride"), l.stride as u64, 1);
            r.check(l.padding < l.kernel.max(1), || format!("{f}.padding must be < kernel {}, got {}", l.kernel, l.padding));
            if let Some(p) = l.dropout {
                r.probability(&format!("{f}.dropout"), p);
            }
            broken |= r.0.len() > before;
        }
        let [c, h, w] = self.image_shape();
        if is_generator {
            let Some([pc, ph, pw]) = *projection else {
                r.0.push(format!("{field}.projection must be [channels, height, width] for the generator, got null"));
                return;
            };
            r.check(pc > 0 && ph > 0 && pw > 0, || format!("{field}.projection must be positive, got [{pc}, {ph}, {pw}]"));
            r.check(ph == pw, || format!("{field}.projection must be square, got {ph}×{pw}"));
            if broken || layers.is_empty() || ph == 0 {
                return;
            }
            let mut size = Some(ph);
            for l in layers {
                size = size.and_then(|s| conv_transpose_out(s, l));
            }
            let last = layers.last().unwrap().channels;
            r.check(size == Some(h), || {
                format!("{field}: the layers turn a {ph}×{pw} projection into {}, but data.image_size is {h}×{w}",
                    size.map_or("nothing".into(), |s| format!("{s}×{s}")))
            });
            r.check(last == c, || format!("{field}: the last layer has {last} channels, but data.channels is {c}"));
        } else {
            r.check(projection.is_none(), || format!("{field}.projection is for the generator only; use null in the discriminator"));
            if broken {
                return;
            }
            let mut size = Some(h);
            for (i, l) in layers.iter().enumerate() {
                size = size.and_then(|s| conv_out(s, l));
                if size.is_none() {
                    r.0.push(format!("{field}.layers[{i}]: kernel {} does not fit the feature map (padding {})", l.kernel, l.padding));
                    return;
                }
            }
        }
    }
}

fn augment_rules(r: &mut Rules, a: &AugmentConfig) {
    r.check(!a.policy.is_empty(), || "discriminator.augment.policy must list at least one of color, translation, cutout, got []".into());
    for (i, op) in a.policy.iter().enumerate() {
        r.check(!a.policy[..i].contains(op), || format!("discriminator.augment.policy lists {op:?} twice"));
    }
    match a.p {
        AugmentProbability::Fixed(p) => {
            r.check(p > 0.0 && p <= 1.0, || format!("discriminator.augment.p.fixed must be in (0, 1], got {p}"))
        }
        AugmentProbability::Adaptive { target, images_to_full, interval } => {
            r.check(target > 0.0 && target < 1.0, || format!("discriminator.augment.p.adaptive.target must be in (0, 1), got {target}"));
            r.at_least("discriminator.augment.p.adaptive.images_to_full", images_to_full, 1);
            r.at_least("discriminator.augment.p.adaptive.interval", interval, 1);
        }
    }
}
