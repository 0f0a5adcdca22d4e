//! Counting the work of a training step, to turn images/s into GFLOP/s and a share of the CPU's
//! matrix-multiply ceiling.
//!
//! Counted: the multiply-adds of linear layers, convolutions and transposed convolutions (2 FLOPs
//! each); BatchNorm, activations, losses and optimiser updates are a few FLOPs per element and are
//! left out, as in the usual accounting. A backward pass costs twice its forward pass (input
//! gradients and weight gradients). Per image, one step of the loop both gan_lab and the PyTorch
//! reference run — G(z); D on real and on fake with backward; G through D with backward — is
//! `3·F(G) + 9·F(D)` with F the forward FLOPs: G forward + backward (3), D forward + backward on
//! real and fake (6), D forward + backward in the G update (3). The count is nominal: an
//! implementation that skips work (D's weight gradients in the G update) is credited with the same
//! number of FLOPs, so GFLOP/s stays proportional to images/s.

use crate::config::{conv_out, Architecture, ExperimentConfig};

/// Forward FLOPs per image of the generator and of the discriminator, layer shapes as
/// `model::Generator::new` / `model::Discriminator::new` build them.
pub fn forward_flops(cfg: &ExperimentConfig) -> (f64, f64) {
    let [c, h, w] = cfg.image_shape();
    let pixels = c * h * w;
    let (gk, dk) = (cfg.generator.activation.pieces(), cfg.discriminator.activation.pieces());
    let mut g = 0usize;
    match &cfg.generator.architecture {
        Architecture::Mlp { hidden } => {
            let mut d_in = cfg.train.latent_size;
            for &units in hidden {
                g += d_in * units * gk;
                d_in = units;
            }
            g += d_in * pixels;
        }
        Architecture::Dcgan { projection, layers } => {
            let [pc, ph, pw] = projection.unwrap_or([0, 0, 0]);
            g += cfg.train.latent_size * pc * gk * ph * pw;
            let (mut c_in, mut size) = (pc, ph);
            for (i, layer) in layers.iter().enumerate() {
                let width = if i + 1 == layers.len() { layer.channels } else { layer.channels * gk };
                // every input pixel scatters a k×k patch into each output channel
                g += size * size * c_in * width * layer.kernel * layer.kernel;
                size = ((size - 1) * layer.stride + layer.kernel).saturating_sub(2 * layer.padding);
                c_in = layer.channels;
            }
        }
    }
    // With packing D judges `pack` images as one input of all their channels: a pack's FLOPs,
    // shared by its images.
    let pack = cfg.discriminator.pack();
    let mut d = 0usize;
    match &cfg.discriminator.architecture {
        Architecture::Mlp { hidden } => {
            let mut d_in = pixels * pack;
            for &units in hidden {
                d += d_in * units * dk;
                d_in = units;
            }
            d += d_in;
        }
        Architecture::Dcgan { layers, .. } => {
            let (mut c_in, mut size) = (c * pack, h);
            for layer in layers {
                size = conv_out(size, layer).unwrap_or(0);
                d += size * size * c_in * layer.channels * dk * layer.kernel * layer.kernel;
                c_in = layer.channels;
            }
            d += c_in * size * size;
        }
    }
    (2.0 * g as f64, 2.0 * d as f64 / pack as f64)
}

/// FLOPs per image of one training step (`3·F(G) + 9·F(D)`, see the module notes); `d_steps`
/// discriminator updates per step add `6·F(D) + F(G)` each beyond the first.
pub fn step_flops_per_image(cfg: &ExperimentConfig) -> f64 {
    let (g, d) = forward_flops(cfg);
    let extra = cfg.train.d_steps.saturating_sub(1) as f64;
    3.0 * g + 9.0 * d + extra * (g + 6.0 * d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::preset;

    // Expected values: `python -m gan_torch_bench.flops` (bench/pytorch), which counts the PyTorch
    // reference models' multiply-adds with forward hooks.
    #[test]
    fn forward_and_step_flops_match_the_pytorch_reference_models() {
        for (name, g, d, step) in [
            ("dcgan28", 54_691_840.0, 13_259_008.0, 283_406_592.0),
            ("mlp-gan", 2_967_552.0, 2_916_864.0, 35_154_432.0),
            ("dcgan-emoji32", 35_946_496.0, 35_135_488.0, 424_058_880.0),
            ("pytorch-dcgan64", 209_256_448.0, 207_634_432.0, 2_496_479_232.0),
        ] {
            let cfg = preset(name).unwrap();
            assert_eq!(forward_flops(&cfg), (g, d), "{name}");
            assert_eq!(step_flops_per_image(&cfg), step, "{name}");
        }
    }

    #[test]
    fn maxout_layers_count_every_piece() {
        let cfg = preset("goodfellow2014-mnist").unwrap();
        // D: 784 → 240×5 → 240×5 → 1; G: 100 → 1200 → 1200 → 784
        let (g, d) = forward_flops(&cfg);
        assert_eq!(d, 2.0 * (784.0 * 1200.0 + 240.0 * 1200.0 + 240.0));
        assert_eq!(g, 2.0 * (100.0 * 1200.0 + 1200.0 * 1200.0 + 1200.0 * 784.0));
    }

    #[test]
    fn extra_discriminator_steps_add_their_work() {
        let mut cfg = preset("dcgan28").unwrap();
        let one = step_flops_per_image(&cfg);
        cfg.train.d_steps = 2;
        let (g, d) = forward_flops(&cfg);
        assert_eq!(step_flops_per_image(&cfg), one + g + 6.0 * d);
    }

    #[test]
    fn a_packed_discriminator_shares_the_work_of_a_pack_among_its_images() {
        // dcgan28's D packed by 2: conv 2 → 64 over 14×14, conv 64 → 128 over 7×7, 6272 → 1, per pack.
        let mut cfg = preset("dcgan28").unwrap();
        cfg.discriminator.pack = Some(2);
        let per_pack = 14.0 * 14.0 * 2.0 * 64.0 * 16.0 + 7.0 * 7.0 * 64.0 * 128.0 * 16.0 + 6272.0;
        assert_eq!(forward_flops(&cfg).1, 2.0 * per_pack / 2.0);
    }
}
