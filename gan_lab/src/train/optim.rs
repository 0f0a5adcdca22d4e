//! The lab's optimiser: SGD with classical momentum (pylearn2's form, so Goodfellow 2014's schedule
//! is exact), Adam and RMSprop (PyTorch's forms), as one burn `SimpleOptimizer` so both networks
//! have the same optimiser type whatever the configuration says.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::SimpleOptimizer;
use burn::record::Record;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::fused::{AdamStep, FusedUpdate};
use crate::config::OptimizerConfig;

/// The update rule and its constants. SGD momentum is shared through an atomic so the session can
/// follow a momentum schedule without rebuilding the optimiser (which would lose its state).
#[derive(Debug, Clone)]
pub enum LabOptim {
    Sgd { momentum: Arc<AtomicU64> },
    Adam { beta1: f64, beta2: f64, eps: f64 },
    Rmsprop { alpha: f64, eps: f64 },
}

/// Per-parameter state: SGD velocity, Adam's moments and step count, or RMSprop's mean square.
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
            OptimizerConfig::Rmsprop { alpha, eps, .. } => LabOptim::Rmsprop { alpha, eps },
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
            LabOptim::Adam { .. } | LabOptim::Rmsprop { .. } => None,
        }
    }
}

impl<B: FusedUpdate> SimpleOptimizer<B> for LabOptim {
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
                let mu = f64::from_bits(momentum.load(Ordering::Relaxed));
                let (tensor, velocity) = B::sgd(mu, lr, tensor, grad, state.map(|s| s.first));
                (tensor, Some(LabOptimState { time: 1, first: velocity, second: None }))
            }
            &LabOptim::Adam { beta1, beta2, eps } => {
                let (time, m, v) = match state {
                    Some(s) => (s.time + 1, Some(s.first), Some(s.second.expect("Adam state has a second moment"))),
                    None => (1, None, None),
                };
                let c = adam_step(beta1, beta2, eps, lr, time);
                let (tensor, m, v) = B::adam(c, tensor, grad, m, v);
                (tensor, Some(LabOptimState { time, first: m, second: Some(v) }))
            }
            &LabOptim::Rmsprop { alpha, eps } => {
                let (tensor, square) = rmsprop_ops(alpha, eps, lr, tensor, grad, state.map(|s| s.first));
                (tensor, Some(LabOptimState { time: 1, first: square, second: None }))
            }
        }
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        state.first = state.first.to_device(device);
        state.second = state.second.map(|s| s.to_device(device));
        state
    }
}

/// Adam's constants for update number `time` (from 1), rounded to f32 as tensor scalars are.
fn adam_step(beta1: f64, beta2: f64, eps: f64, lr: f64, time: usize) -> AdamStep {
    AdamStep {
        beta1: beta1 as f32,
        one_minus_beta1: (1.0 - beta1) as f32,
        beta2: beta2 as f32,
        one_minus_beta2: (1.0 - beta2) as f32,
        bias_correction2: (1.0 - beta2.powi(time as i32)) as f32,
        eps: eps as f32,
        step_size: (lr / (1.0 - beta1.powi(time as i32))) as f32,
    }
}

/// Adam with tensor operations (every backend): m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
/// w ← w − lr · m̂ / (√v̂ + ε) with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ) (PyTorch's order of
/// operations). Returns (w, m, v).
pub(super) fn adam_ops<B: Backend, const D: usize>(
    c: AdamStep,
    w: Tensor<B, D>,
    g: Tensor<B, D>,
    m: Option<Tensor<B, D>>,
    v: Option<Tensor<B, D>>,
) -> (Tensor<B, D>, Tensor<B, D>, Tensor<B, D>) {
    let m_new = g.clone().mul_scalar(c.one_minus_beta1);
    let v_new = g.clone().mul(g).mul_scalar(c.one_minus_beta2);
    let (m, v) = match (m, v) {
        (Some(m), Some(v)) => (m.mul_scalar(c.beta1).add(m_new), v.mul_scalar(c.beta2).add(v_new)),
        _ => (m_new, v_new),
    };
    let denom = v.clone().div_scalar(c.bias_correction2).sqrt().add_scalar(c.eps);
    let update = m.clone().div(denom).mul_scalar(c.step_size);
    (w.sub(update), m, v)
}

/// SGD with classical momentum with tensor operations: v ← μ·v − lr·g ; w ← w + v. Returns (w, v).
pub(super) fn sgd_ops<B: Backend, const D: usize>(mu: f64, lr: f64, w: Tensor<B, D>, g: Tensor<B, D>, velocity: Option<Tensor<B, D>>) -> (Tensor<B, D>, Tensor<B, D>) {
    let step = g.mul_scalar(-lr as f32);
    let velocity = match velocity {
        Some(v) => v.mul_scalar(mu as f32).add(step),
        None => step,
    };
    (w.add(velocity.clone()), velocity)
}

/// RMSprop with tensor operations (PyTorch's order): v ← α·v + (1 − α)·g², w ← w − lr·g / (√v + ε).
/// Returns (w, v).
fn rmsprop_ops<B: Backend, const D: usize>(alpha: f64, eps: f64, lr: f64, w: Tensor<B, D>, g: Tensor<B, D>, square: Option<Tensor<B, D>>) -> (Tensor<B, D>, Tensor<B, D>) {
    let g2 = g.clone().mul(g.clone()).mul_scalar((1.0 - alpha) as f32);
    let square = match square {
        Some(v) => v.mul_scalar(alpha as f32).add(g2),
        None => g2,
    };
    let update = g.div(square.clone().sqrt().add_scalar(eps as f32)).mul_scalar(lr as f32);
    (w.sub(update), square)
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

    #[test]
    fn rmsprop_matches_the_pytorch_reference_after_three_steps() {
        let w = run(&LabOptim::Rmsprop { alpha: 0.99, eps: 1e-8 }, 0.01, &GRADS);
        assert!((w[0] - 0.942_572_7).abs() < 1e-5 && (w[1] - -1.994_026_9).abs() < 1e-5, "{w:?}");
    }

    fn random(n: usize, seed: u64) -> Tensor<Flex, 1> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        t(&(0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect::<Vec<_>>())
    }

    fn bits(x: &Tensor<Flex, 1>) -> Vec<u32> {
        x.clone().into_data().to_vec::<f32>().unwrap().iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn the_fused_updates_give_the_bits_of_the_tensor_operations() {
        // 40 000 values: several parallel chunks
        let n = 40_000;
        let (mut w_fused, mut w_ops) = (random(n, 1), random(n, 1));
        let (mut m_fused, mut v_fused, mut m_ops, mut v_ops) = (None, None, None, None);
        for time in 1..=3 {
            let g = random(n, 10 + time as u64);
            let c = adam_step(0.5, 0.999, 1e-8, 2e-4, time);
            let (w, m, v) = <Flex as FusedUpdate>::adam(c, w_fused, g.clone(), m_fused, v_fused);
            (w_fused, m_fused, v_fused) = (w, Some(m), Some(v));
            let (w, m, v) = adam_ops(c, w_ops, g, m_ops, v_ops);
            (w_ops, m_ops, v_ops) = (w, Some(m), Some(v));
            assert_eq!(bits(&w_fused), bits(&w_ops), "Adam weights after update {time}");
            assert_eq!(bits(m_fused.as_ref().unwrap()), bits(m_ops.as_ref().unwrap()), "first moment");
            assert_eq!(bits(v_fused.as_ref().unwrap()), bits(v_ops.as_ref().unwrap()), "second moment");
        }
        let (mut w_fused, mut w_ops, mut vel_fused, mut vel_ops) = (random(n, 2), random(n, 2), None, None);
        for step in 0..3 {
            let g = random(n, 20 + step);
            let (w, v) = <Flex as FusedUpdate>::sgd(0.7, 0.1, w_fused, g.clone(), vel_fused);
            (w_fused, vel_fused) = (w, Some(v));
            let (w, v) = sgd_ops(0.7, 0.1, w_ops, g, vel_ops);
            (w_ops, vel_ops) = (w, Some(v));
            assert_eq!(bits(&w_fused), bits(&w_ops), "SGD weights after update {step}");
        }
    }

    #[test]
    fn a_tensor_shared_with_another_owner_is_not_changed_by_a_fused_update() {
        let w = random(100, 3);
        let kept = w.clone();
        let before = bits(&kept);
        let c = adam_step(0.5, 0.999, 1e-8, 0.1, 1);
        let (updated, _, _) = <Flex as FusedUpdate>::adam(c, w, random(100, 4), None, None);
        assert_eq!(bits(&kept), before);
        assert_ne!(bits(&updated), before);
    }
}
