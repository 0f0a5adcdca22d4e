//! Least-squares GAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks"), the 0-1
//! coding (a = 0, b = c = 1): D regresses real outputs to 1 and fake ones to 0, G pulls its
//! samples' outputs to 1. Penalising distance from the target, not the side of the boundary, keeps
//! gradients for samples D already classifies correctly.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::AdversarialLoss;

/// D = ½E[(D(x) − 1)²] + ½E[D(G(z))²]; G = ½E[(D(G(z)) − 1)²].
#[derive(Debug, Clone, Copy)]
pub struct LeastSquares;

impl AdversarialLoss for LeastSquares {
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        (real.sub_scalar(1.0).powi_scalar(2).mean() + fake.powi_scalar(2).mean()).mul_scalar(0.5)
    }
    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        fake.sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{close, scalar, t, FAKE, REAL};

    // Expected values from `reference/losses.py`.
    #[test]
    fn least_squares_matches_the_reference_values() {
        close("D", scalar(LeastSquares.discriminator(t(&REAL), t(&FAKE))), 5.0417);
        close("G", scalar(LeastSquares.generator(t(&FAKE))), 4.3333);
    }

    #[test]
    fn the_optimum_costs_nothing() {
        close("D at its targets", scalar(LeastSquares.discriminator(t(&[1.0, 1.0]), t(&[0.0, 0.0]))), 0.0);
        close("G at its target", scalar(LeastSquares.generator(t(&[1.0, 1.0]))), 0.0);
    }
}
