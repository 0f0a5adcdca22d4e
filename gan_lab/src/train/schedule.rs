//! The optimisers' schedules: SGD's learning-rate decay per update and momentum ramp over epochs
//! (Goodfellow et al. 2014); the other optimisers keep their settings.

use crate::config::OptimizerConfig;

/// The learning rate of update number `updates` (SGD decays per update).
pub fn learning_rate(cfg: &OptimizerConfig, updates: u64) -> f64 {
    match *cfg {
        OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Rmsprop { lr, .. } => lr,
        OptimizerConfig::Sgd { lr, lr_decay, min_lr, .. } => (lr / lr_decay.powf(updates as f64)).max(min_lr),
    }
}

/// SGD's momentum in `epoch` (following its schedule); `None` for the other optimisers.
pub fn momentum_at(cfg: &OptimizerConfig, epoch: u64) -> Option<f64> {
    match *cfg {
        OptimizerConfig::Sgd { momentum, momentum_schedule: Some(s), .. } => {
            let t = (epoch as f64 - s.start_epoch as f64) / (s.saturate_epoch - s.start_epoch) as f64;
            Some(momentum + (s.final_momentum - momentum) * t.clamp(0.0, 1.0))
        }
        OptimizerConfig::Sgd { momentum, .. } => Some(momentum),
        OptimizerConfig::Adam { .. } | OptimizerConfig::Rmsprop { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MomentumSchedule;

    #[test]
    fn sgd_learning_rate_decays_per_update_down_to_its_floor() {
        let sgd = OptimizerConfig::Sgd { lr: 0.1, momentum: 0.5, momentum_schedule: None, lr_decay: 1.000004, min_lr: 1e-6 };
        assert_eq!(learning_rate(&sgd, 0), 0.1);
        assert!((learning_rate(&sgd, 100_000) - 0.1 / 1.000004f64.powi(100_000)).abs() < 1e-12);
        assert_eq!(learning_rate(&sgd, u32::MAX as u64), 1e-6);
    }

    #[test]
    fn momentum_ramps_linearly_between_the_schedule_epochs() {
        let sgd = OptimizerConfig::Sgd {
            lr: 0.1,
            momentum: 0.5,
            momentum_schedule: Some(MomentumSchedule { final_momentum: 0.7, start_epoch: 1, saturate_epoch: 251 }),
            lr_decay: 1.0,
            min_lr: 0.0,
        };
        assert_eq!(momentum_at(&sgd, 0), Some(0.5));
        assert!((momentum_at(&sgd, 126).unwrap() - 0.6).abs() < 1e-12);
        assert!((momentum_at(&sgd, 400).unwrap() - 0.7).abs() < 1e-12);
    }
}
