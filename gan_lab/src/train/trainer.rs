//! The GAN mathematics, and nothing else: [`Trainer`] owns both models, both optimisers, the RNGs
//! and the data cursor, and [`Trainer::step`] makes one training step. No files, clocks or
//! printing here: [`super::Session`] records what the trainer does into a run directory.
//!
//! One step = `d_steps` discriminator updates, then one generator update through the updated D,
//! reusing the last D step's fake batch (the PyTorch DCGAN tutorial's order). The loss is any
//! [`AdversarialLoss`] (`config.loss`), plus a gradient penalty when `discriminator.gradient_penalty`
//! sets one (its D runs on `Autodiff<B>` for that term; loss/penalty.rs); a critic with
//! `discriminator.weight_clip` is clamped after each of its updates (WGAN). With `train.g_ema`, a moving average of G's weights follows each G
//! update (ema.rs) and makes the samples. With `discriminator.augment`, every image D judges in
//! the losses, real or generated, is augmented first (augment.rs; the gradient penalty's points
//! are not), and an adaptive p follows ADA's rule after each step.

use burn::backend::Autodiff;
use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;

use super::TrainBackend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use super::augment::{augment, AugmentState};
use super::ema::{ema_start, ema_update};
use super::schedule::{learning_rate, momentum_at};
use super::{LabOptim, NetOptimizer};
use crate::config::{AugmentProbability, ExperimentConfig, LatentDistribution};
use crate::data::{self, Batcher, DataCursor, ImageSet, Split};
use crate::error::{Error, Result};
use crate::loss::AdversarialLoss;
use crate::model::{backend_rng_lock, build_seeded, clip_weights, Discriminator, Generator};

mod sampling;

/// splitmix64 of (seed, salt): unrelated streams for unrelated purposes (1 fixed sample noise,
/// 2 data order, 3 training noise, 4 evaluation noise, 1000 + step the backend RNG of a step).
pub fn seed_mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` latent vectors of length `latent`, flattened.
pub fn noise(rng: &mut ChaCha8Rng, n: usize, latent: usize, dist: LatentDistribution) -> Vec<f32> {
    match dist {
        LatentDistribution::Normal => {
            let d = Normal::new(0.0f32, 1.0).expect("unit normal");
            (0..n * latent).map(|_| d.sample(rng)).collect()
        }
        LatentDistribution::Uniform => {
            let d = Uniform::new_inclusive(-1.0f32, 1.0).expect("unit interval");
            (0..n * latent).map(|_| d.sample(rng)).collect()
        }
    }
}

/// What one step measured, still on the device: `[d_loss, g_loss, mean σ(D(x)), mean σ(D(G(z)))]`
/// of the step's last D update and its G update. Reading forces a device sync, so a recorder sums
/// these on the device and reads once per logging interval.
pub struct StepStats<B: Backend>(pub Tensor<B, 1>);

impl<B: Backend> StepStats<B> {
    /// The four values, in the order above.
    pub fn read(self) -> Result<[f32; 4]> {
        let v = self.0.into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading step statistics: {e:?}")))?;
        v.try_into().map_err(|v: Vec<f32>| Error::Other(format!("step statistics have {} values, expected 4", v.len())))
    }
}

/// The trainer's numbers that a checkpoint keeps besides the weights and optimiser states.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerState {
    pub step: u64,
    pub g_updates: u64,
    pub d_updates: u64,
    pub cursor: DataCursor,
    pub noise_rng: ChaCha8Rng,
    pub fixed_noise: Vec<f32>,
    pub augment: AugmentState,
}

/// The records of both networks and both optimisers, as burn saves and loads them.
pub struct TrainerRecords<B: TrainBackend> {
    pub generator: <Generator<B> as Module<B>>::Record,
    pub discriminator: <Discriminator<B> as Module<B>>::Record,
    pub g_optim: <NetOptimizer<Generator<B>, B> as Optimizer<Generator<B>, B>>::Record,
    pub d_optim: <NetOptimizer<Discriminator<B>, B> as Optimizer<Discriminator<B>, B>>::Record,
    /// The moving average of G's weights, when the configuration keeps one.
    pub g_ema: Option<<Generator<B::InnerBackend> as Module<B::InnerBackend>>::Record>,
}

/// A GAN in training on backend `B`.
pub struct Trainer<B: TrainBackend> {
    cfg: ExperimentConfig,
    device: B::Device,
    // Both models are taken out while a step moves them through the optimisers.
    g: Option<Generator<B>>,
    d: Option<Discriminator<B>>,
    /// The moving average of G's weights (`train.g_ema`).
    g_ema: Option<Generator<B::InnerBackend>>,
    g_opt: NetOptimizer<Generator<B>, B>,
    d_opt: NetOptimizer<Discriminator<B>, B>,
    g_rule: LabOptim,
    d_rule: LabOptim,
    data: ImageSet,
    split: Split,
    batcher: Batcher,
    noise_rng: ChaCha8Rng,
    fixed_noise: Vec<f32>,
    augment: AugmentState,
    step: u64,
    g_updates: u64,
    d_updates: u64,
}

impl<B: TrainBackend> Trainer<B> {
    /// Validates `cfg`, loads its data and builds both models from `cfg.seed`.
    pub fn new(cfg: ExperimentConfig, device: B::Device) -> Result<Self> {
        cfg.validate()?;
        let data = data::load(&cfg.data)?;
        let split = Split::new(data.len(), cfg.data.holdout_fraction);
        if split.train.len() < cfg.train.batch_size {
            return Err(Error::Dataset {
                dataset: cfg.data.dataset.clone(),
                message: format!(
                    "{} training images (after holding out {}) are fewer than one batch of {}",
                    split.train.len(),
                    split.holdout.len(),
                    cfg.train.batch_size
                ),
            });
        }
        let (g, d) = build_seeded(&device, cfg.seed, || (Generator::new(&cfg, &device), Discriminator::new(&cfg, &device)));
        let g_rule = LabOptim::new(&cfg.g_optimizer);
        let d_rule = LabOptim::new(&cfg.d_optimizer);
        let mut fixed_rng = ChaCha8Rng::seed_from_u64(seed_mix(cfg.seed, 1));
        let fixed_noise = noise(&mut fixed_rng, cfg.train.sample_count, cfg.train.latent_size, cfg.train.latent_distribution);
        let batcher = Batcher::new(split.train.clone(), seed_mix(cfg.seed, 2), DataCursor { epoch: 0, position: 0 });
        let g_ema = cfg.train.g_ema.map(|_| ema_start(&g));
        Ok(Trainer {
            augment: AugmentState::start(&cfg),
            g_ema,
            noise_rng: ChaCha8Rng::seed_from_u64(seed_mix(cfg.seed, 3)),
            g_opt: NetOptimizer::from(g_rule.clone()),
            d_opt: NetOptimizer::from(d_rule.clone()),
            g: Some(g),
            d: Some(d),
            g_rule,
            d_rule,
            cfg,
            device,
            data,
            split,
            batcher,
            fixed_noise,
            step: 0,
            g_updates: 0,
            d_updates: 0,
        })
    }

    /// One training step: `d_steps` D updates, then one G update.
    pub fn step(&mut self) -> StepStats<B::InnerBackend> {
        // Dropout masks come from the backend RNG: seeding it per step makes a resumed run draw
        // the same masks as an uninterrupted one.
        let _rng_guard = backend_rng_lock();
        B::seed(&self.device, seed_mix(self.cfg.seed, 1000 + self.step));
        let epoch = self.batcher.cursor.epoch;
        if let Some(m) = momentum_at(&self.cfg.d_optimizer, epoch) {
            self.d_rule.set_momentum(m);
        }
        if let Some(m) = momentum_at(&self.cfg.g_optimizer, epoch) {
            self.g_rule.set_momentum(m);
        }
        let loss = self.cfg.loss;
        let clip = self.cfg.discriminator.weight_clip;
        let penalty = self.cfg.discriminator.gradient_penalty;
        let g = self.g.take().expect("generator present");
        let mut d = self.d.take().expect("discriminator present");
        // What D sees: the images themselves, or augmented ones (drawn from a per-step stream, so
        // a resumed run augments as an uninterrupted one does).
        let policy = self.cfg.discriminator.augment.as_ref().map(|a| a.policy.clone());
        let p = self.augment.p;
        let adaptive = matches!(self.cfg.discriminator.augment.as_ref().map(|a| a.p), Some(AugmentProbability::Adaptive { .. }));
        let mut aug_rng = ChaCha8Rng::seed_from_u64(seed_mix(seed_mix(self.cfg.seed, 5), self.step));
        let mut seen = |x: Tensor<B, 4>| match &policy {
            Some(policy) if p > 0.0 => augment(x, policy, p, &mut aug_rng),
            _ => x,
        };

        // Discriminator (critic) updates on fresh real and fake batches.
        let mut last = None;
        let mut real_sign = None;
        for _ in 0..self.cfg.train.d_steps {
            let real = self.real_batch();
            let fake = g.forward(self.latent(self.cfg.train.batch_size));
            let real_out = d.forward(seen(real.clone()));
            let fake_out = d.forward(seen(fake.clone().detach()));
            if adaptive {
                real_sign = Some(real_out.clone().inner().sign().mean());
            }
            let mut d_loss = loss.discriminator(real_out.clone(), fake_out.clone());
            if let Some(gp) = penalty {
                let points = gp.points(real, fake.clone().detach(), &mut self.noise_rng);
                let lifted = Discriminator::<Autodiff<B>>::from_inner(d.clone()).no_grad();
                d_loss = d_loss + gp.value(|x| lifted.forward(x), points);
            }
            let stats = [d_loss.clone().inner(), sigmoid(real_out.inner()).mean(), sigmoid(fake_out.inner()).mean()];
            let grads = GradientsParams::from_grads(d_loss.backward(), &d);
            d = self.d_opt.step(learning_rate(&self.cfg.d_optimizer, self.d_updates), d, grads);
            if let Some(c) = clip {
                d = clip_weights(d, c);
            }
            self.d_updates += 1;
            last = Some((fake, stats));
        }
        let (fake, [d_loss, d_real, d_fake]) = last.expect("validated: d_steps ≥ 1");

        // Generator update through the updated D. It needs gradients through D, not of D's
        // weights: a copy of D whose parameters are untracked skips every weight gradient of D.
        let g_loss = loss.generator(d.clone().no_grad().forward(seen(fake)));
        let g_loss_value = g_loss.clone().inner();
        let grads = GradientsParams::from_grads(g_loss.backward(), &g);
        let g = self.g_opt.step(learning_rate(&self.cfg.g_optimizer, self.g_updates), g, grads);
        self.g_updates += 1;
        if let Some(ema) = self.cfg.train.g_ema {
            self.g_ema = Some(match self.g_ema.take() {
                Some(avg) if self.g_updates > ema.start_step => ema_update(avg, &g, ema.decay),
                _ => ema_start(&g),
            });
        }
        self.g = Some(g);
        self.d = Some(d);
        if let Some(sign) = real_sign {
            self.augment.observe(&self.cfg, sign.into_scalar().elem::<f64>());
        }
        self.step += 1;
        StepStats(Tensor::cat(vec![d_loss, g_loss_value, d_real, d_fake], 0))
    }

    fn real_batch(&mut self) -> Tensor<B, 4> {
        let idx = self.batcher.next_batch(self.cfg.train.batch_size);
        let [c, h, w] = self.cfg.image_shape();
        Tensor::from_data(TensorData::new(self.data.batch_chw(&idx), [idx.len(), c, h, w]), &self.device)
    }

    fn latent(&mut self, n: usize) -> Tensor<B, 2> {
        let z = noise(&mut self.noise_rng, n, self.cfg.train.latent_size, self.cfg.train.latent_distribution);
        Tensor::from_data(TensorData::new(z, [n, self.cfg.train.latent_size]), &self.device)
    }

    /// The numbers a checkpoint keeps (see [`TrainerState`]).
    pub fn state(&self) -> TrainerState {
        TrainerState {
            step: self.step,
            g_updates: self.g_updates,
            d_updates: self.d_updates,
            cursor: self.batcher.cursor,
            noise_rng: self.noise_rng.clone(),
            fixed_noise: self.fixed_noise.clone(),
            augment: self.augment,
        }
    }

    /// The weights and optimiser states a checkpoint keeps.
    pub fn records(&self) -> TrainerRecords<B> {
        TrainerRecords {
            generator: self.generator().clone().into_record(),
            discriminator: self.discriminator().clone().into_record(),
            g_optim: self.g_opt.to_record(),
            d_optim: self.d_opt.to_record(),
            g_ema: self.g_ema.clone().map(|avg| avg.into_record()),
        }
    }

    /// Continues from a checkpoint's state and records (of this configuration).
    pub fn restore(&mut self, state: TrainerState, records: TrainerRecords<B>) {
        let g = self.g.take().expect("generator present").load_record(records.generator);
        let d = self.d.take().expect("discriminator present").load_record(records.discriminator);
        self.g_ema = match records.g_ema {
            Some(r) => Some(g.valid().load_record(r)),
            None => self.cfg.train.g_ema.map(|_| ema_start(&g)),
        };
        self.g = Some(g);
        self.d = Some(d);
        self.g_opt = NetOptimizer::from(self.g_rule.clone()).load_record(records.g_optim);
        self.d_opt = NetOptimizer::from(self.d_rule.clone()).load_record(records.d_optim);
        self.step = state.step;
        self.g_updates = state.g_updates;
        self.d_updates = state.d_updates;
        self.batcher = Batcher::new(self.split.train.clone(), seed_mix(self.cfg.seed, 2), state.cursor);
        self.noise_rng = state.noise_rng;
        self.fixed_noise = state.fixed_noise;
        self.augment = state.augment;
    }

    /// The configuration being trained (validated).
    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }
    /// The device the models live on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }
    /// Generator updates done so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }
    /// The augmentation probability of the next step, when D's images are augmented.
    pub fn augment_p(&self) -> Option<f64> {
        self.cfg.discriminator.augment.as_ref().map(|_| self.augment.p)
    }
    /// Epochs of training data seen (fractional).
    pub fn epochs(&self) -> f64 {
        self.batcher.epochs()
    }
    /// Learning rates (G, D) of the next updates.
    pub fn learning_rates(&self) -> (f64, f64) {
        (learning_rate(&self.cfg.g_optimizer, self.g_updates), learning_rate(&self.cfg.d_optimizer, self.d_updates))
    }
    /// The loaded dataset.
    pub fn dataset(&self) -> &ImageSet {
        &self.data
    }
    /// The fixed train / held-out split.
    pub fn split(&self) -> &Split {
        &self.split
    }
    /// The generator (training mode).
    pub fn generator(&self) -> &Generator<B> {
        self.g.as_ref().expect("generator present between steps")
    }
    /// The discriminator (training mode).
    pub fn discriminator(&self) -> &Discriminator<B> {
        self.d.as_ref().expect("discriminator present between steps")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_reproducible_and_in_range() {
        let a = noise(&mut ChaCha8Rng::seed_from_u64(1), 10, 5, LatentDistribution::Uniform);
        assert_eq!(a, noise(&mut ChaCha8Rng::seed_from_u64(1), 10, 5, LatentDistribution::Uniform));
        assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)));
        let n = noise(&mut ChaCha8Rng::seed_from_u64(2), 1000, 10, LatentDistribution::Normal);
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        let var = n.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n.len() as f32;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.05, "{mean} {var}");
    }
}
