//! The explicit GAN loop. A [`Session`] owns both models, both optimisers, the RNGs and the data
//! cursor, and trains in bounded chunks (`train_steps`, `train_for`) so that a notebook or another
//! process can drive it chunk by chunk; after every chunk its state is on disk in the run directory.
//!
//! One step = `d_steps` discriminator updates, then one generator update through the updated D,
//! reusing the last D step's fake batch (the PyTorch DCGAN tutorial's order).

mod checkpoint;
mod fused;
mod health;
mod optim;
mod progress;
mod quality;

pub use health::{alarms, mean_pairwise_distance, relative_change};
pub use checkpoint::{changed_fields, resume_point, TrainState, CHECKPOINT_FORMAT};
pub use optim::{LabOptim, LabOptimState, NetOptimizer};
pub use progress::{format_duration, progress_line};
pub use quality::BestRecord;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::config::{ExperimentConfig, LatentDistribution, OptimizerConfig};
use crate::data::{self, Batcher, DataCursor, ImageSet, Split};
use crate::error::{Error, Result};
use crate::loss::{discriminator_loss, generator_loss};
use crate::model::{backend_rng_lock, Discriminator, Generator};
use crate::report::{display_scale, ImageGrid};
use crate::run::{unix_now, write_json, write_metrics, MetricsRow, PlatformRecord, RunDir, RunLock, Summary};

/// What one `train_steps` / `train_for` call did.
#[derive(Debug, Clone)]
pub struct ChunkReport {
    pub from_step: u64,
    pub to_step: u64,
    pub seconds: f64,
    pub images_per_s: f64,
    /// Metrics rows logged during the chunk.
    pub rows: Vec<MetricsRow>,
    /// The sample grid written at the end of the chunk.
    pub sample: Option<PathBuf>,
    pub checkpoint: Option<PathBuf>,
    /// The chunk ended early because the stop flag was raised.
    pub interrupted: bool,
}

/// Sums over the current logging interval.
#[derive(Debug, Clone, Default)]
struct Interval {
    steps: u64,
    seconds: f64,
}

/// A GAN being trained on backend `B`.
pub struct Session<B: AutodiffBackend> {
    cfg: ExperimentConfig,
    device: B::Device,
    g: Option<Generator<B>>,
    d: Option<Discriminator<B>>,
    g_opt: NetOptimizer<Generator<B>, B>,
    d_opt: NetOptimizer<Discriminator<B>, B>,
    g_rule: LabOptim,
    d_rule: LabOptim,
    data: ImageSet,
    split: Split,
    batcher: Batcher,
    noise_rng: ChaCha8Rng,
    fixed_noise: Vec<f32>,
    step: u64,
    g_updates: u64,
    d_updates: u64,
    history: Vec<MetricsRow>,
    run: Option<RunDir>,
    _lock: Option<RunLock>,
    platform: PlatformRecord,
    interval: Interval,
    stats_acc: Option<Tensor<B::InnerBackend, 1>>,
    train_seconds: f64,
    last_sample: Option<PathBuf>,
    last_checkpoint: Option<(u64, PathBuf)>,
    /// Generator weights before the update that closes the current logging interval.
    g_before_last: Option<Vec<f32>>,
    /// Mean pairwise distance of `sample_count` fixed real training images.
    real_diversity: f64,
    extractor: Option<crate::metrics::features::FeatureExtractor>,
    real_features: Option<quality::RealFeatures>,
    quality: Vec<crate::run::QualityRow>,
    eval_off: bool,
    /// Print a progress line at every logged step.
    pub verbose: bool,
    /// When raised (by another thread), the current chunk ends after the step in progress and
    /// still writes its sample grid and checkpoint.
    pub stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

fn seed_mix(seed: u64, salt: u64) -> u64 {
    // splitmix64 of the pair: unrelated streams for unrelated purposes.
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` latent vectors of length `latent`, flattened.
fn noise(rng: &mut ChaCha8Rng, n: usize, latent: usize, dist: LatentDistribution) -> Vec<f32> {
    match dist {
        LatentDistribution::Normal => {
            let d = Normal::new(0.0f32, 1.0).unwrap();
            (0..n * latent).map(|_| d.sample(rng)).collect()
        }
        LatentDistribution::Uniform => {
            let d = Uniform::new_inclusive(-1.0f32, 1.0).unwrap();
            (0..n * latent).map(|_| d.sample(rng)).collect()
        }
    }
}

fn learning_rate(cfg: &OptimizerConfig, updates: u64) -> f64 {
    match *cfg {
        OptimizerConfig::Adam { lr, .. } => lr,
        OptimizerConfig::Sgd { lr, lr_decay, min_lr, .. } => (lr / lr_decay.powf(updates as f64)).max(min_lr),
    }
}

fn momentum_at(cfg: &OptimizerConfig, epoch: u64) -> Option<f64> {
    match *cfg {
        OptimizerConfig::Sgd { momentum, momentum_schedule: Some(s), .. } => {
            let t = (epoch as f64 - s.start_epoch as f64) / (s.saturate_epoch - s.start_epoch) as f64;
            Some(momentum + (s.final_momentum - momentum) * t.clamp(0.0, 1.0))
        }
        OptimizerConfig::Sgd { momentum, .. } => Some(momentum),
        OptimizerConfig::Adam { .. } => None,
    }
}

impl<B: AutodiffBackend> Session<B> {
    /// Validates `cfg`, loads its data, builds the models and, when `run` is given, takes the
    /// run's lock and records the platform there.
    pub fn new(cfg: ExperimentConfig, device: B::Device, platform: PlatformRecord, run: Option<RunDir>) -> Result<Self> {
        let mut session = Self::build(cfg, device, platform, None, None)?;
        if let Some(run) = run {
            session.attach_run(run)?;
        }
        Ok(session)
    }

    /// Starts recording into a new run directory: takes its lock and writes platform.json. Lets a
    /// caller check the data and models (by building the session) before creating the directory.
    pub fn attach_run(&mut self, run: RunDir) -> Result<()> {
        if self.run.is_some() {
            return Err(Error::Other(format!("this session already records into {}", self.run_dir().map_or(String::new(), |r| r.path.display().to_string()))));
        }
        let lock = run.lock()?;
        write_json(&run.platform_path(), &self.platform)?;
        self._lock = Some(lock);
        self.run = Some(run);
        Ok(())
    }

    /// Reopens a run directory to train it further: its config.json, and its latest complete
    /// checkpoint when there is one (otherwise training starts again from step 0). Temporary files
    /// left by a killed process are removed.
    pub fn open(run: RunDir, device: B::Device, platform: PlatformRecord) -> Result<Self> {
        let lock = run.lock()?;
        run.clean_temporaries()?;
        let (cfg, checkpoint) = resume_point(&run)?;
        if !run.platform_path().exists() {
            write_json(&run.platform_path(), &platform)?;
        }
        let mut session = Self::build(cfg, device, platform, Some(run), Some(lock))?;
        if let Some(dir) = checkpoint {
            // A corrupted record can make burn's deserialisation panic: that is a bad file too.
            let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.load_checkpoint(&dir)));
            loaded.map_err(|_| Error::bad_file(&dir, "the checkpoint is corrupt (its records could not be decoded)"))??;
            session.restore_quality()?;
        }
        Ok(session)
    }

    fn build(cfg: ExperimentConfig, device: B::Device, platform: PlatformRecord, run: Option<RunDir>, lock: Option<RunLock>) -> Result<Self> {
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
        let rng_guard = backend_rng_lock();
        B::seed(&device, cfg.seed);
        let g = Generator::new(&cfg, &device);
        let d = Discriminator::new(&cfg, &device);
        drop(rng_guard);
        let g_rule = LabOptim::new(&cfg.g_optimizer);
        let d_rule = LabOptim::new(&cfg.d_optimizer);
        let mut fixed_rng = ChaCha8Rng::seed_from_u64(seed_mix(cfg.seed, 1));
        let fixed_noise = noise(&mut fixed_rng, cfg.train.sample_count, cfg.train.latent_size, cfg.train.latent_distribution);
        let batcher = Batcher::new(split.train.clone(), seed_mix(cfg.seed, 2), DataCursor { epoch: 0, position: 0 });
        let reference: Vec<usize> = split.train.iter().copied().take(cfg.train.sample_count).collect();
        let real_diversity = mean_pairwise_distance(&data.batch_chw(&reference), reference.len());
        Ok(Session {
            extractor: None,
            real_features: None,
            quality: Vec::new(),
            eval_off: false,
            g_before_last: None,
            real_diversity,
            _lock: lock,
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
            history: Vec::new(),
            run,
            platform,
            interval: Interval::default(),
            stats_acc: None,
            train_seconds: 0.0,
            last_sample: None,
            last_checkpoint: None,
            verbose: true,
            stop: None,
        })
    }

    /// The configuration being trained.
    pub fn config(&self) -> &ExperimentConfig {
        &self.cfg
    }
    /// Generator updates done so far.
    pub fn step(&self) -> u64 {
        self.step
    }
    /// Every metrics row logged so far.
    pub fn history(&self) -> &[MetricsRow] {
        &self.history
    }
    /// The run directory, when recording.
    pub fn run_dir(&self) -> Option<&RunDir> {
        self.run.as_ref()
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

    /// Every float parameter of (generator, discriminator), for exact comparisons.
    pub fn parameters(&self) -> (Vec<f32>, Vec<f32>) {
        (crate::model::flat_parameters(self.generator()), crate::model::flat_parameters(self.discriminator()))
    }

    fn real_batch(&mut self) -> Tensor<B, 4> {
        let idx = self.batcher.next_batch(self.cfg.train.batch_size);
        let [c, h, w] = self.cfg.image_shape();
        let pixels = self.data.batch_chw(&idx);
        Tensor::from_data(TensorData::new(pixels, [idx.len(), c, h, w]), &self.device)
    }

    fn latent(&mut self, n: usize) -> Tensor<B, 2> {
        let z = noise(&mut self.noise_rng, n, self.cfg.train.latent_size, self.cfg.train.latent_distribution);
        Tensor::from_data(TensorData::new(z, [n, self.cfg.train.latent_size]), &self.device)
    }

    /// One training step (d_steps D updates, then one G update). Statistics accumulate on the
    /// device and are read once per logging interval.
    fn train_step(&mut self) {
        // Dropout masks come from the backend RNG: seeding it per step makes a resumed run draw
        // the same masks as an uninterrupted one.
        let _rng_guard = backend_rng_lock();
        B::seed(&self.device, seed_mix(self.cfg.seed, 1000 + self.step));
        let momentum_epoch = self.batcher.cursor.epoch;
        if let Some(m) = momentum_at(&self.cfg.d_optimizer, momentum_epoch) {
            self.d_rule.set_momentum(m);
        }
        if let Some(m) = momentum_at(&self.cfg.g_optimizer, momentum_epoch) {
            self.g_rule.set_momentum(m);
        }
        if (self.step + 1) % self.cfg.train.log_every == 0 {
            self.g_before_last = Some(crate::model::flat_parameters(self.generator()));
        }
        let batch = self.cfg.train.batch_size;
        let g = self.g.take().expect("generator present");
        let mut d = self.d.take().expect("discriminator present");
        let mut fake = None;
        let mut d_stats = None;
        for _ in 0..self.cfg.train.d_steps {
            let real = self.real_batch();
            let z = self.latent(batch);
            let f = g.forward(z);
            let real_logits = d.forward(real);
            let fake_logits = d.forward(f.clone().detach());
            let loss = discriminator_loss(real_logits.clone(), fake_logits.clone());
            d_stats = Some((
                loss.clone().inner(),
                sigmoid(real_logits.inner()).mean(),
                sigmoid(fake_logits.inner()).mean(),
            ));
            let grads = GradientsParams::from_grads(loss.backward(), &d);
            d = self.d_opt.step(learning_rate(&self.cfg.d_optimizer, self.d_updates), d, grads);
            self.d_updates += 1;
            fake = Some(f);
        }
        // The G update needs gradients through D, not of D's weights: a copy of D whose
        // parameters are untracked lets the backward pass skip every weight gradient of D.
        let fake_logits = burn::module::Module::no_grad(d.clone()).forward(fake.expect("d_steps ≥ 1"));
        let g_loss = generator_loss(self.cfg.loss, fake_logits);
        let g_loss_value = g_loss.clone().inner();
        let grads = GradientsParams::from_grads(g_loss.backward(), &g);
        let g = self.g_opt.step(learning_rate(&self.cfg.g_optimizer, self.g_updates), g, grads);
        self.g_updates += 1;
        self.g = Some(g);
        self.d = Some(d);
        let (d_loss, d_real, d_fake) = d_stats.expect("d_steps ≥ 1");
        let stats = Tensor::cat(vec![d_loss, g_loss_value, d_real, d_fake], 0);
        self.stats_acc = Some(match self.stats_acc.take() {
            Some(acc) => acc + stats,
            None => stats,
        });
        self.step += 1;
    }

    /// Trains `n` steps (a bounded chunk), logging, sampling and checkpointing on the configured
    /// intervals, then writes a sample grid, a checkpoint and the summary.
    pub fn train_steps(&mut self, n: u64) -> Result<ChunkReport> {
        self.train_chunk(Some(n), None)
    }

    /// Trains until `budget` has passed (checked after every step; at least one step).
    pub fn train_for(&mut self, budget: Duration) -> Result<ChunkReport> {
        self.train_chunk(None, Some(budget))
    }

    fn train_chunk(&mut self, steps: Option<u64>, budget: Option<Duration>) -> Result<ChunkReport> {
        let from = self.step;
        let rows_before = self.history.len();
        let chunk_start = Instant::now();
        let mut chunk_train = 0.0;
        let mut interrupted = false;
        loop {
            let done = self.step - from;
            if self.stop.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) {
                interrupted = true;
                break;
            }
            if steps.is_some_and(|n| done >= n) || budget.is_some_and(|b| done > 0 && chunk_start.elapsed() >= b) {
                break;
            }
            let t = Instant::now();
            self.train_step();
            let dt = t.elapsed().as_secs_f64();
            chunk_train += dt;
            self.train_seconds += dt;
            self.interval.steps += 1;
            self.interval.seconds += dt;
            if self.step % self.cfg.train.log_every == 0 {
                let row = self.log_row()?;
                if self.verbose {
                    let target = steps.map(|n| from + n);
                    let eta = match (steps, budget) {
                        (Some(n), _) => Some((from + n - self.step) as f64 * chunk_train / (self.step - from) as f64),
                        (None, Some(b)) => Some((b.as_secs_f64() - chunk_start.elapsed().as_secs_f64()).max(0.0)),
                        _ => None,
                    };
                    progress::say(&progress_line(&row, target, eta));
                }
                if row.alarms.contains("non_finite") {
                    self.write_summary()?;
                    let kept = match &self.last_checkpoint {
                        Some((step, _)) => format!("the last good checkpoint (step {step}) is kept"),
                        None => "no checkpoint was written before it".into(),
                    };
                    return Err(Error::Diverged {
                        step: self.step,
                        what: format!("d_loss = {}, g_loss = {}, generator update = {}; {kept}", row.d_loss, row.g_loss, row.g_update),
                    });
                }
            }
            if self.step % self.cfg.train.sample_every == 0 {
                self.save_sample()?;
            }
            if self.step % self.cfg.train.checkpoint_every == 0 {
                self.save_checkpoint()?;
                self.evaluate_checkpoint()?;
            }
        }
        // The open logging interval carries over to the next chunk (and into checkpoints), so
        // chunked and resumed training log exactly the rows uninterrupted training logs.
        let sample = self.save_sample()?;
        let checkpoint = self.save_checkpoint()?;
        self.evaluate_checkpoint()?;
        self.write_summary()?;
        let done = self.step - from;
        Ok(ChunkReport {
            from_step: from,
            to_step: self.step,
            seconds: chunk_train,
            images_per_s: if chunk_train > 0.0 { (done * self.cfg.train.batch_size as u64) as f64 / chunk_train } else { 0.0 },
            rows: self.history[rows_before..].to_vec(),
            sample,
            checkpoint,
            interrupted,
        })
    }

    /// Closes the current logging interval into a metrics row (and metrics.parquet).
    fn log_row(&mut self) -> Result<MetricsRow> {
        let sums: Vec<f32> = match self.stats_acc.take() {
            Some(acc) => acc.into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading statistics: {e:?}")))?,
            None => vec![f32::NAN; 4],
        };
        let k = self.interval.steps.max(1) as f64;
        let secs = self.interval.seconds.max(1e-12);
        let g_update = match self.g_before_last.take() {
            Some(before) => relative_change(&before, &crate::model::flat_parameters(self.generator())),
            None => f64::NAN,
        };
        let samples = self.fixed_samples()?;
        let diversity = mean_pairwise_distance(&samples, self.cfg.train.sample_count) / self.real_diversity.max(1e-12);
        let mut row = MetricsRow {
            step: self.step,
            epoch: self.batcher.epochs(),
            d_loss: sums[0] as f64 / k,
            g_loss: sums[1] as f64 / k,
            d_real: sums[2] as f64 / k,
            d_fake: sums[3] as f64 / k,
            lr_g: learning_rate(&self.cfg.g_optimizer, self.g_updates),
            lr_d: learning_rate(&self.cfg.d_optimizer, self.d_updates),
            steps_per_s: k / secs,
            images_per_s: k * self.cfg.train.batch_size as f64 / secs,
            train_s: self.train_seconds,
            wall_unix: unix_now(),
            g_update,
            diversity,
            alarms: String::new(),
        };
        row.alarms = alarms(&self.cfg.health, &self.history, &row).join(",");
        self.interval = Interval::default();
        self.history.push(row.clone());
        if let Some(run) = &self.run {
            write_metrics(&run.metrics_path(), &self.history)?;
        }
        Ok(row)
    }

    /// Generates the fixed-noise samples with the generator in evaluation mode (no autodiff,
    /// BatchNorm running statistics, no dropout); CHW values in [-1, 1].
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        let g = self.generator().valid();
        let n = self.cfg.train.sample_count;
        let z = Tensor::<B::InnerBackend, 2>::from_data(TensorData::new(self.fixed_noise.clone(), [n, self.cfg.train.latent_size]), &self.device);
        g.forward(z).into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading samples: {e:?}")))
    }

    /// The fixed-noise sample grid.
    pub fn sample_grid(&self) -> Result<ImageGrid> {
        let shape = self.cfg.image_shape();
        ImageGrid::from_chw(&self.fixed_samples()?, self.cfg.train.sample_count, shape, display_scale(shape[1]))
    }

    fn save_sample(&mut self) -> Result<Option<PathBuf>> {
        let Some(run) = &self.run else { return Ok(None) };
        let path = run.sample_path(self.step);
        if self.last_sample.as_ref() != Some(&path) {
            self.sample_grid()?.save(&path)?;
            self.last_sample = Some(path.clone());
        }
        Ok(Some(path))
    }

    /// The run's numbers so far.
    pub fn summary(&self) -> Summary {
        let last = self.history.last();
        let images = self.step * self.cfg.train.batch_size as u64;
        let get = |f: fn(&MetricsRow) -> f64| last.map(f).unwrap_or(f64::NAN);
        Summary {
            steps: self.step,
            epochs: self.batcher.epochs(),
            images_seen: images,
            train_seconds: self.train_seconds,
            images_per_s: if self.train_seconds > 0.0 { images as f64 / self.train_seconds } else { 0.0 },
            d_loss: get(|r| r.d_loss),
            g_loss: get(|r| r.g_loss),
            d_real: get(|r| r.d_real),
            d_fake: get(|r| r.d_fake),
            finite: self.history.iter().all(|r| r.d_loss.is_finite() && r.g_loss.is_finite()),
            last_sample: self.last_sample.as_ref().map(|p| p.display().to_string()),
            last_checkpoint: self.last_checkpoint.as_ref().map(|(_, p)| p.display().to_string()),
            cost_usd: self.platform.price_per_hour_usd.map(|p| p * self.train_seconds / 3600.0),
            finished_unix: unix_now(),
        }
    }

    fn write_summary(&self) -> Result<()> {
        match &self.run {
            Some(run) => write_json(&run.summary_path(), &self.summary()),
            None => Ok(()),
        }
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
