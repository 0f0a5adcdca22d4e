//! Wasserstein GAN (Arjovsky et al. 2017): the critic estimates the earth-mover distance
//! E[D(x)] − E[D(G(z))] over 1-Lipschitz functions and G lowers it. The Lipschitz bound is not part
//! of the loss: WGAN clips the critic's weights after every update
//! (`discriminator.weight_clip`, e.g. 0.01) and takes several critic steps per G step
//! (`train.d_steps`, 5 in the paper); validation refuses this loss without a clip.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::AdversarialLoss;

/// Critic = E[D(G(z))] − E[D(x)]; G = −E[D(G(z))].
#[derive(Debug, Clone, Copy)]
pub struct Wasserstein;

impl AdversarialLoss for Wasserstein {
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        fake.mean() - real.mean()
    }
    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        fake.mean().neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{close, scalar, t, FAKE, REAL};

    // Expected values from `reference/losses.py`.
    #[test]
    fn wasserstein_matches_the_reference_values() {
        close("critic", scalar(Wasserstein.discriminator(t(&REAL), t(&FAKE))), -0.1667);
        close("G", scalar(Wasserstein.generator(t(&FAKE))), -0.3333);
    }
}
