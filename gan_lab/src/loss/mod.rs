//! Adversarial losses: each is one type implementing [`AdversarialLoss`] in a file of its own, and
//! one arm in [`LossKind`]'s dispatch below. All take the discriminator's raw outputs (logits for
//! the BCE losses, critic values for the others), averaged over the batch.
//!
//! To add a loss: a file with a unit struct and its `impl AdversarialLoss` (with tests against a
//! numpy reference in `reference/losses.py`), a variant of `config::LossKind`, and its arm in
//! [`LossKind::discriminator`] / [`LossKind::generator`]. Nothing in training or recording changes.
//!
//! Gradient penalties (WGAN-GP, R1; penalty.rs) are terms of D's loss that need D itself, not only
//! its outputs: `GradientPenalty::points` and `GradientPenalty::value`.

mod bce;
mod hinge;
mod least_squares;
mod penalty;
mod wasserstein;

pub use bce::{MinimaxBce, NonSaturatingBce};
pub use hinge::Hinge;
pub use least_squares::LeastSquares;
pub use wasserstein::Wasserstein;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::LossKind;

/// One adversarial game: what D minimises on (real, fake) outputs and what G minimises on the
/// outputs D gives its samples. Both return a one-element tensor.
pub trait AdversarialLoss {
    /// Discriminator (critic) loss.
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1>;
    /// Generator loss.
    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1>;
}

impl AdversarialLoss for LossKind {
    fn discriminator<B: Backend>(&self, real: Tensor<B, 1>, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        match self {
            LossKind::MinimaxBce => MinimaxBce.discriminator(real, fake),
            LossKind::NonSaturatingBce => NonSaturatingBce.discriminator(real, fake),
            LossKind::LeastSquares => LeastSquares.discriminator(real, fake),
            LossKind::Hinge => Hinge.discriminator(real, fake),
            LossKind::Wasserstein => Wasserstein.discriminator(real, fake),
        }
    }

    fn generator<B: Backend>(&self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        match self {
            LossKind::MinimaxBce => MinimaxBce.generator(fake),
            LossKind::NonSaturatingBce => NonSaturatingBce.generator(fake),
            LossKind::LeastSquares => LeastSquares.generator(fake),
            LossKind::Hinge => Hinge.generator(fake),
            LossKind::Wasserstein => Wasserstein.generator(fake),
        }
    }
}

/// Test helpers shared by the loss files: the inputs of `reference/losses.py` and a scalar read.
#[cfg(test)]
pub(crate) mod testing {
    use burn::backend::Flex;
    use burn::tensor::{Tensor, TensorData};

    pub const REAL: [f32; 3] = [2.0, -1.0, 0.5];
    pub const FAKE: [f32; 3] = [-3.0, 0.0, 4.0];

    pub fn t(v: &[f32]) -> Tensor<Flex, 1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
    }

    pub fn scalar(x: Tensor<Flex, 1>) -> f64 {
        x.into_scalar() as f64
    }

    /// Asserts |got − want| < 1e-4 with both in the message.
    pub fn close(what: &str, got: f64, want: f64) {
        assert!((got - want).abs() < 1e-4, "{what}: got {got}, reference {want}");
    }
}
