//! The lab's optimiser: SGD with classical momentum (pylearn2's form, so Goodfellow 2014's schedule
//! is exact) and Adam (PyTorch's form), as one burn `SimpleOptimizer` so both networks have the
//! same optimiser type whatever the configuration says.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::SimpleOptimizer;
use burn::record::Record;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::OptimizerConfig;

/// The update rule and its constants. SGD momentum is shared through an atomic so the session can
/// follow a momentum schedule without rebuilding the optimiser (which would lose its state).
#[derive(Debug, Clone)]
pub enum LabOptim {
    Sgd { momentum: Arc<AtomicU64> },
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

/// Per-parameter state: SGD velocity, or Adam's moments and step count.
#[derive(Record, Clone)]
pub struct LabOptimState<B: Backend, const D: usize> {
    pub time: usize,
    pub first: Tensor<B, D>,
    pub second: Option<Tensor<B, D>>,
}

impl LabOptim {
    /// The rule for `cfg`.
    pub fn new(cfg: &OptimizerConfig) -> Self {
        match *cfg {
            OptimizerConfig::Sgd { momentum, .. } => LabOptim::Sgd { momentum: Arc::new(AtomicU64::new(momentum.to_bits())) },
            OptimizerConfig::Adam { beta1, beta2, eps, .. } => LabOptim::Adam { beta1, beta2, eps },
        }
    }

    /// Sets SGD's momentum for the following updates (no effect on Adam).
    pub fn set_momentum(&self, m: f64) {
        if let LabOptim::Sgd { momentum } = self {
            momentum.store(m.to_bits(), Ordering::Relaxed);
        }
    }

    /// SGD's current momentum, if SGD.
    pub fn momentum(&self) -> Option<f64> {
        match self {
            LabOptim::Sgd { momentum } => Some(f64::from_bits(momentum.load(Ordering::Relaxed))),
            LabOptim::Adam { .. } => None,
        }
    }
}

impl<B: Backend> SimpleOptimizer<B> for LabOptim {
    type State<const D: usize> = LabOptimState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        match self {
            LabOptim::Sgd { momentum } => {
                // v ← μ·v − lr·g ; w ← w + v
                let mu = f64::from_bits(momentum.load(Ordering::Relaxed));
                let step = grad.mul_scalar(-lr);
                let velocity = match state {
                    Some(s) => s.first.mul_scalar(mu).add(step),
                    None => step,
                };
                let time = 1;
                (tensor.add(velocity.clone()), Some(LabOptimState { time, first: velocity, second: None }))
            }
            &LabOptim::Adam { beta1, beta2, eps } => {
                let (time, m, v) = match state {
                    Some(s) => (
                        s.time + 1,
                        s.first.mul_scalar(beta1).add(grad.clone().mul_scalar(1.0 - beta1)),
                        s.second.expect("Adam state has a second moment").mul_scalar(beta2).add(grad.square().mul_scalar(1.0 - beta2)),
                    ),
                    None => (1, grad.clone().mul_scalar(1.0 - beta1), grad.square().mul_scalar(1.0 - beta2)),
                };
                let bc1 = 1.0 - beta1.powi(time as i32);
                let bc2 = 1.0 - beta2.powi(time as i32);
                // w ← w − lr · m̂ / (√v̂ + ε), with m̂ = m / bc1, v̂ = v / bc2 (PyTorch's order of operations)
                let denom = v.clone().div_scalar(bc2).sqrt().add_scalar(eps);
                let update = m.clone().div(denom).mul_scalar(lr / bc1);
                (tensor.sub(update), Some(LabOptimState { time, first: m, second: Some(v) }))
            }
        }
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        state.first = state.first.to_device(device);
        state.second = state.second.map(|s| s.to_device(device));
        state
    }
}

/// A network's optimiser: burn's adaptor around [`LabOptim`].
pub type NetOptimizer<M, B> = OptimizerAdaptor<LabOptim, M, B>;

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    fn t(v: &[f32]) -> Tensor<Flex, 1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Default::default())
    }

    fn run(opt: &LabOptim, lr: f64, grads: &[[f32; 2]]) -> Vec<f32> {
        let mut w = t(&[1.0, -2.0]);
        let mut state = None;
        for g in grads {
            let (nw, ns) = SimpleOptimizer::<Flex>::step(opt, lr, w, t(g), state);
            w = nw;
            state = ns;
        }
        w.into_data().to_vec::<f32>().unwrap()
    }

    const GRADS: [[f32; 2]; 3] = [[0.5, -1.0], [0.25, 2.0], [-1.0, 0.1]];

    // Expected values from `reference/optimizers.py` (torch.optim.Adam formulas and pylearn2's
    // momentum rule, in numpy).
    #[test]
    fn adam_matches_the_pytorch_reference_after_three_steps() {
        let w = run(&LabOptim::Adam { beta1: 0.5, beta2: 0.999, eps: 1e-8 }, 0.01, &GRADS);
        assert!((w[0] - 0.988_043_5).abs() < 1e-5 && (w[1] - -2.000_082_5).abs() < 1e-5, "{w:?}");
    }

    #[test]
    fn sgd_momentum_matches_the_reference_and_follows_a_changed_momentum() {
        let opt = LabOptim::Sgd { momentum: Arc::new(AtomicU64::new(0.5f64.to_bits())) };
        let w = run(&opt, 0.1, &GRADS);
        assert!((w[0] - 0.975).abs() < 1e-6 && (w[1] - -2.135).abs() < 1e-6, "{w:?}");
        opt.set_momentum(0.7);
        assert_eq!(opt.momentum(), Some(0.7));
    }
}
