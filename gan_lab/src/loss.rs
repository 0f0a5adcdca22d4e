//! Adversarial losses on discriminator logits, computed stably with log-sigmoid
//! (−log σ(x) = softplus(−x), −log(1 − σ(x)) = softplus(x)).

use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::LossKind;

/// Discriminator loss: BCE(D(x), 1) + BCE(D(G(z)), 0), each averaged over the batch.
pub fn discriminator_loss<B: Backend>(real_logits: Tensor<B, 1>, fake_logits: Tensor<B, 1>) -> Tensor<B, 1> {
    let real = log_sigmoid(real_logits).mean().neg();
    let fake = log_sigmoid(fake_logits.neg()).mean().neg();
    real + fake
}

/// Generator loss on the logits D gives its samples.
pub fn generator_loss<B: Backend>(kind: LossKind, fake_logits: Tensor<B, 1>) -> Tensor<B, 1> {
    match kind {
        // minimise log(1 − D(G(z))) = log σ(−l)
        LossKind::MinimaxBce => log_sigmoid(fake_logits.neg()).mean(),
        // minimise −log D(G(z)) = −log σ(l)
        LossKind::NonSaturatingBce => log_sigmoid(fake_logits).mean().neg(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    fn t(v: &[f32]) -> Tensor<Flex, 1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
    }

    fn scalar(x: Tensor<Flex, 1>) -> f64 {
        x.into_scalar() as f64
    }

    // Expected values from `reference/losses.py` (PyTorch's BCEWithLogitsLoss formulas in numpy).
    #[test]
    fn discriminator_loss_matches_the_reference_values() {
        let d = scalar(discriminator_loss(t(&[2.0, -1.0, 0.5]), t(&[-3.0, 0.0, 4.0])));
        assert!((d - 2.2247_f64).abs() < 1e-4, "{d}");
    }

    #[test]
    fn generator_losses_match_the_reference_values() {
        let ns = scalar(generator_loss(LossKind::NonSaturatingBce, t(&[-3.0, 0.0, 4.0])));
        let mm = scalar(generator_loss(LossKind::MinimaxBce, t(&[-3.0, 0.0, 4.0])));
        assert!((ns - 1.2533_f64).abs() < 1e-4, "{ns}");
        assert!((mm - (-1.5866_f64)).abs() < 1e-4, "{mm}");
    }

    #[test]
    fn losses_stay_finite_for_huge_logits() {
        let d = scalar(discriminator_loss(t(&[1e4, -1e4]), t(&[1e4, -1e4])));
        assert!(d.is_finite() && (d - 1e4).abs() < 1.0, "{d}");
    }
}
