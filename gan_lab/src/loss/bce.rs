//! Binary cross-entropy on logits (Goodfellow et al. 2014), computed stably with log-sigmoid
//! (−log σ(x) = softplus(−x), −log(1 − σ(x)) = softplus(x)). Both variants share D's loss
//! BCE(D(x), 1) + BCE(D(G(z)), 0) and differ in G's.

use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::AdversarialLoss;

/// Goodfellow's original game: G minimises log(1 − D(G(z))) = log σ(−l).
#[derive(Debug, Clone, Copy)]
pub struct MinimaxBce;

/// The "non-saturating" variant used in practice: G minimises −log D(G(z)) = −log σ(l).
#[derive(Debug, Clone, Copy)]
pub struct NonSaturatingBce;

fn bce_discriminator<B: Backend>(real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
    log_sigmoid(real).mean().neg() + log_sigmoid(fake.neg()).mean().neg()
}

impl AdversarialLoss for MinimaxBce {
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        bce_discriminator(real, fake)
    }
    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        log_sigmoid(fake.neg()).mean()
    }
}

impl AdversarialLoss for NonSaturatingBce {
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        bce_discriminator(real, fake)
    }
    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        log_sigmoid(fake).mean().neg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::{close, scalar, t, FAKE, REAL};

    // Expected values from `reference/losses.py` (PyTorch's BCEWithLogitsLoss formulas in numpy).
    #[test]
    fn the_bce_losses_match_the_reference_values() {
        close("D", scalar(NonSaturatingBce.discriminator(t(&REAL), t(&FAKE))), 2.2247);
        close("D (minimax)", scalar(MinimaxBce.discriminator(t(&REAL), t(&FAKE))), 2.2247);
        close("G non-saturating", scalar(NonSaturatingBce.generator(t(&FAKE))), 1.2533);
        close("G minimax", scalar(MinimaxBce.generator(t(&FAKE))), -1.5866);
    }

    #[test]
    fn losses_stay_finite_for_huge_logits() {
        let d = scalar(NonSaturatingBce.discriminator(t(&[1e4, -1e4]), t(&[1e4, -1e4])));
        assert!(d.is_finite() && (d - 1e4).abs() < 1.0, "{d}");
    }
}
