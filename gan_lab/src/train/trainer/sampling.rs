//! How a [`Trainer`] makes samples: the generator that makes them (G's moving average when there
//! is one), in evaluation mode or with each batch's own BatchNorm statistics, from the fixed noise
//! of the sample grids or the evaluation noise.

use burn::module::{AutodiffModule, Module};
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{noise, seed_mix, Trainer};
use crate::config::Sampling;
use crate::error::{Error, Result};
use crate::model::Generator;
use crate::train::TrainBackend;

impl<B: TrainBackend> Trainer<B> {
    /// The generator that makes samples: the moving average when there is one, else G; in
    /// evaluation mode (no autodiff, BatchNorm running statistics, no dropout).
    pub fn sampler(&self) -> Generator<B::InnerBackend> {
        match &self.g_ema {
            Some(avg) => avg.clone(),
            None => self.generator().valid(),
        }
    }

    /// Images from latent vectors `z` (`n` × latent, flattened), made by [`Self::sampler`] as
    /// `sampling` says: in evaluation mode (in batches of 250), or in training mode, each batch of
    /// `train.batch_size` normalised by its own BatchNorm statistics; CHW values in [-1, 1].
    pub fn generate_from(&self, z: Vec<f32>, n: usize, sampling: Sampling) -> Result<Vec<f32>> {
        let latent = self.cfg.train.latent_size;
        let read = |t: Tensor<B::InnerBackend, 4>| t.into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("reading samples: {e:?}")));
        let mut out = Vec::with_capacity(n * self.cfg.image_shape().iter().product::<usize>());
        match sampling {
            Sampling::RunningStatistics => {
                let g = self.sampler();
                for z in z.chunks(250 * latent) {
                    let b = z.len() / latent;
                    out.extend(read(g.forward(Tensor::from_data(TensorData::new(z.to_vec(), [b, latent]), &self.device)))?);
                }
            }
            Sampling::BatchStatistics => {
                // A copy on the autodiff backend (its own running statistics, which it updates and
                // drops), without gradient tracking: BatchNorm and dropout run as in training.
                let g = Generator::<B>::from_inner(self.sampler()).no_grad();
                for z in z.chunks(self.cfg.train.batch_size * latent) {
                    let b = z.len() / latent;
                    out.extend(read(g.forward(Tensor::from_data(TensorData::new(z.to_vec(), [b, latent]), &self.device)).inner())?);
                }
            }
        }
        debug_assert_eq!(z.len(), n * latent);
        Ok(out)
    }

    /// The samples of the fixed noise (the same at every call of a run), made as `train.sampling`
    /// says.
    pub fn fixed_samples(&self) -> Result<Vec<f32>> {
        self.generate_from(self.fixed_noise.clone(), self.cfg.train.sample_count, self.cfg.train.sampling)
    }

    /// `n` samples from the evaluation noise (seed stream 4, the same at every evaluation), made
    /// as `sampling` says.
    pub fn generate(&self, n: usize, sampling: Sampling) -> Result<Vec<f32>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed_mix(self.cfg.seed, 4));
        let z = noise(&mut rng, n, self.cfg.train.latent_size, self.cfg.train.latent_distribution);
        self.generate_from(z, n, sampling)
    }
}
