//! Hinge loss (Lim & Ye 2017, "Geometric GAN"; used by SAGAN and BigGAN): D is a margin
//! classifier that stops pushing an output once it is past ±1; G raises D's output on its samples.

use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::AdversarialLoss;

/// D = E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]; G = −E[D(G(z))].
#[derive(Debug, Clone, Copy)]
pub struct Hinge;

impl AdversarialLoss for Hinge {
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        relu(real.neg().add_scalar(1.0)).mean() + relu(fake.add_scalar(1.0)).mean()
    }
    /// WGAN's generator loss: raise D's output on the samples.
    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        super::Wasserstein.generator(fake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{close, scalar, t, FAKE, REAL};

    // Expected values from `reference/losses.py`.
    #[test]
    fn hinge_matches_the_reference_values() {
        close("D", scalar(Hinge.discriminator(t(&REAL), t(&FAKE))), 2.8333);
        close("G", scalar(Hinge.generator(t(&FAKE))), -0.3333);
    }

    #[test]
    fn outputs_past_the_margin_cost_the_discriminator_nothing() {
        close("D", scalar(Hinge.discriminator(t(&[1.0, 5.0]), t(&[-1.0, -7.0]))), 0.0);
    }
}
