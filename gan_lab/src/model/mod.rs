//! The generator and discriminator, built from a [`NetworkConfig`] for either architecture.

mod blocks;
mod norm;
mod spectral;

pub use blocks::{maxout, Act, ConvBlock, ConvTransposeBlock, DenseBlock, Init, ProjectionBlock};
pub use norm::batch_norm;
pub use spectral::SpectralNorm;

use burn::module::Module;
use burn::nn::{Dropout, Linear};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::config::{Architecture, ConvLayer, ExperimentConfig, NetworkConfig, OutputActivation};
use blocks::{dropout, linear_forward, linear_spectral_norm};

/// burn's backends keep one random generator per process (weight initialisation and dropout draw
/// from it). Whoever seeds it or builds a module holds this lock until their draws are done, so
/// two sessions in one process (parallel tests, threads) cannot interleave draws and each stays
/// reproducible.
static BACKEND_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes the backend-RNG lock (see [`BACKEND_RNG`]).
pub fn backend_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    BACKEND_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Maps the generator's last layer into image space [-1, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutputSquash {
    /// tanh(x).
    Tanh,
    /// 2σ(x) − 1: a sigmoid generator (pixels in [0, 1]) expressed in [-1, 1] image space.
    Sigmoid,
}

fn conv_dropout(net: &NetworkConfig, layer: &ConvLayer) -> f64 {
    layer.dropout.unwrap_or(net.dropout.hidden)
}

/// Latent vector [B, z] → images [B, C, H, W] in [-1, 1].
#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    pub input_dropout: Option<Dropout>,
    pub projection: Option<ProjectionBlock<B>>,
    pub dense: Vec<DenseBlock<B>>,
    pub convs: Vec<ConvTransposeBlock<B>>,
    pub squash: OutputSquash,
    pub image_shape: [usize; 3],
}

impl<B: Backend> Generator<B> {
    /// Builds the generator of `cfg` (assumed validated).
    pub fn new(cfg: &ExperimentConfig, device: &B::Device) -> Self {
        let net = &cfg.generator;
        let act = Act::from(net.activation);
        let init = Init(net.init_std);
        let [c, h, w] = cfg.image_shape();
        let z = cfg.train.latent_size;
        let squash = match net.output_activation {
            Some(OutputActivation::Sigmoid) => OutputSquash::Sigmoid,
            _ => OutputSquash::Tanh,
        };
        let mut g = Generator { input_dropout: dropout(net.dropout.input), projection: None, dense: vec![], convs: vec![], squash, image_shape: [c, h, w] };
        match &net.architecture {
            Architecture::Mlp { hidden } => {
                let mut d_in = z;
                for &units in hidden {
                    g.dense.push(DenseBlock::new(d_in, units, act, net.batch_norm, net.dropout.hidden, init, device));
                    d_in = units;
                }
                g.dense.push(DenseBlock::new(d_in, c * h * w, Act::None, false, 0.0, init, device));
            }
            Architecture::Dcgan { projection, layers } => {
                let shape = projection.expect("validated: generator has a projection");
                g.projection = Some(ProjectionBlock::new(z, shape, act, net.batch_norm, init, device));
                let mut c_in = shape[0];
                for (i, layer) in layers.iter().enumerate() {
                    let last = i + 1 == layers.len();
                    let block = if last {
                        ConvTransposeBlock::new(c_in, layer, Act::None, false, 0.0, init, device)
                    } else {
                        ConvTransposeBlock::new(c_in, layer, act, net.batch_norm, conv_dropout(net, layer), init, device)
                    };
                    g.convs.push(block);
                    c_in = layer.channels;
                }
            }
        }
        g
    }

    /// Images for latent vectors `z` ([B, latent] → [B, C, H, W]).
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        let z = match &self.input_dropout {
            Some(d) => d.forward(z),
            None => z,
        };
        let batch = z.dims()[0];
        let [c, h, w] = self.image_shape;
        let x: Tensor<B, 4> = match &self.projection {
            Some(p) => self.convs.iter().fold(p.forward(z), |x, block| block.forward(x)),
            None => self.dense.iter().fold(z, |x, block| block.forward(x)).reshape([batch, c, h, w]),
        };
        match self.squash {
            OutputSquash::Tanh => x.tanh(),
            OutputSquash::Sigmoid => sigmoid(x).mul_scalar(2.0).sub_scalar(1.0),
        }
    }
}

/// Images [B, C, H, W] → logits [B / pack] (positive means "real").
#[derive(Module, Debug)]
pub struct Discriminator<B: Backend> {
    /// Map [-1, 1] images to [0, 1] first (`input_unit_range`).
    pub unit_input: bool,
    /// Images judged together (PacGAN; 1 without packing).
    pub pack: usize,
    pub input_dropout: Option<Dropout>,
    pub dense: Vec<DenseBlock<B>>,
    pub convs: Vec<ConvBlock<B>>,
    pub head: Linear<B>,
    /// Spectral normalisation of `head`'s weight.
    pub head_sn: Option<SpectralNorm<B>>,
}

impl<B: Backend> Discriminator<B> {
    /// Builds the discriminator of `cfg` (assumed validated). BatchNorm, when on, follows every
    /// hidden layer but the first; spectral normalisation, when on, applies to every layer.
    pub fn new(cfg: &ExperimentConfig, device: &B::Device) -> Self {
        let net = &cfg.discriminator;
        let act = Act::from(net.activation);
        let init = Init(net.init_std);
        let [c, h, _] = cfg.image_shape();
        // A pack of images is one input with all their channels.
        let c = c * net.pack();
        let mut dense = vec![];
        let mut convs = vec![];
        let features = match &net.architecture {
            Architecture::Mlp { hidden } => {
                let mut d_in = c * h * h;
                for (i, &units) in hidden.iter().enumerate() {
                    let block = DenseBlock::new(d_in, units, act, net.batch_norm && i > 0, net.dropout.hidden, init, device);
                    dense.push(block.spectral_norm(net.spectral_norm, device));
                    d_in = units;
                }
                d_in
            }
            Architecture::Dcgan { layers, .. } => {
                let (mut c_in, mut size) = (c, h);
                for (i, layer) in layers.iter().enumerate() {
                    let block = ConvBlock::new(c_in, layer, act, net.batch_norm && i > 0, conv_dropout(net, layer), init, device);
                    convs.push(block.spectral_norm(net.spectral_norm, device));
                    c_in = layer.channels;
                    size = crate::config::conv_out(size, layer).expect("validated: kernel fits");
                }
                c_in * size * size
            }
        };
        let head = Init(net.init_std).linear_public(features, 1, device);
        let head_sn = linear_spectral_norm(&head, net.spectral_norm, device);
        Discriminator { unit_input: net.input_unit_range, pack: net.pack(), input_dropout: dropout(net.dropout.input), dense, convs, head, head_sn }
    }

    /// Logits for images `x`: one per image, or with packing one per `pack` consecutive images
    /// (their count must be a multiple of `pack`).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 1> {
        let x = if self.unit_input { x.add_scalar(1.0).mul_scalar(0.5) } else { x };
        // NCHW: consecutive images side by side along the channels are a reshape.
        let x = if self.pack > 1 {
            let [n, c, h, w] = x.dims();
            assert_eq!(n % self.pack, 0, "{n} images do not make packs of {}", self.pack);
            x.reshape([n / self.pack, c * self.pack, h, w])
        } else {
            x
        };
        let x = match &self.input_dropout {
            Some(d) => d.forward(x),
            None => x,
        };
        let batch = x.dims()[0];
        let features: Tensor<B, 2> = if self.convs.is_empty() {
            self.dense.iter().fold(x.reshape([batch as i64, -1]), |x, block| block.forward(x))
        } else {
            self.convs.iter().fold(x, |x, block| block.forward(x)).reshape([batch as i64, -1])
        };
        linear_forward(&self.head, &self.head_sn, features).reshape([batch])
    }
}

struct Flatten(Vec<f32>);

impl<B: Backend> burn::module::ModuleVisitor<B> for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
        self.0.extend(param.val().into_data().to_vec::<f32>().unwrap_or_default());
    }
}

struct Materialize;

impl<B: Backend> burn::module::ModuleVisitor<B> for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Builds a module (or a tuple of modules) from `seed`: seeds the backend RNG and, holding
/// [`backend_rng_lock`], builds and draws every weight. burn initialises a parameter lazily, at
/// its first use, from the RNG as it is then; drawing them here makes the weights depend on the
/// seed alone, not on what else drew from the RNG before their first use.
pub fn build_seeded<B: Backend, M: Module<B>>(device: &B::Device, seed: u64, build: impl FnOnce() -> M) -> M {
    let _guard = backend_rng_lock();
    B::seed(device, seed);
    let m = build();
    m.visit(&mut Materialize);
    m
}

/// Every float parameter of a module, in visiting order (for exact comparisons in tests).
pub fn flat_parameters<B: Backend, M: Module<B>>(m: &M) -> Vec<f32> {
    let mut v = Flatten(Vec::new());
    m.visit(&mut v);
    v.0
}

/// Clamps each trainable float parameter to [−c, c], leaving running statistics alone (they are
/// not trainable): PyTorch's `for p in D.parameters(): p.data.clamp_(-c, c)`, WGAN's critic bound.
struct ClampTrainable(f64);

impl<B: burn::tensor::backend::AutodiffBackend> burn::module::ModuleMapper<B> for ClampTrainable {
    fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<B, D>>) -> burn::module::Param<Tensor<B, D>> {
        let c = self.0;
        param.map(|t| {
            if !t.is_require_grad() {
                return t;
            }
            Tensor::from_inner(t.inner().clamp(-c, c)).require_grad()
        })
    }
}

/// `m` with every trainable weight clamped to [−c, c] (see [`ClampTrainable`]).
pub fn clip_weights<B: burn::tensor::backend::AutodiffBackend, M: Module<B>>(m: M, c: f64) -> M {
    m.map(&mut ClampTrainable(c))
}

/// Number of trainable scalars in a module.
pub fn parameter_count<B: Backend, M: Module<B>>(m: &M) -> usize {
    m.num_params()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::presets;
    use burn::backend::Flex;

    type B = Flex;

    #[test]
    fn every_preset_builds_models_with_the_right_shapes() {
        let device = Default::default();
        for p in presets() {
            let cfg = p.config;
            let g = Generator::<B>::new(&cfg, &device);
            let d = Discriminator::<B>::new(&cfg, &device);
            let z = Tensor::<B, 2>::zeros([4, cfg.train.latent_size], &device);
            let images = g.forward(z);
            let [c, h, w] = cfg.image_shape();
            assert_eq!(images.dims(), [4, c, h, w], "{}", p.name);
            // One logit per image, or per pack of images.
            assert_eq!(d.forward(images).dims(), [4 / cfg.discriminator.pack()], "{}", p.name);
        }
    }

    #[test]
    fn generator_outputs_stay_in_image_range_for_both_squashes() {
        let device = Default::default();
        for name in ["goodfellow2014-mnist", "mlp-gan"] {
            let cfg = crate::config::preset(name).unwrap();
            let g = Generator::<B>::new(&cfg, &device);
            let z = Tensor::<B, 2>::random([4, 100], burn::tensor::Distribution::Normal(0.0, 10.0), &device);
            let v = g.forward(z).into_data().to_vec::<f32>().unwrap();
            assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)), "{name}");
        }
    }

    #[test]
    fn weight_clipping_bounds_the_weights_but_not_the_running_statistics() {
        type A = burn::backend::Autodiff<Flex>;
        let device = Default::default();
        let cfg = crate::config::preset("dcgan28").unwrap();
        let d = Discriminator::<A>::new(&cfg, &device);
        // a training-mode forward pass moves BatchNorm's running variance away from 1
        let x = Tensor::<A, 4>::random([4, 1, 28, 28], burn::tensor::Distribution::Normal(0.0, 3.0), &device);
        let _ = d.forward(x);
        let running_var = |d: &Discriminator<A>| d.convs[1].norm.as_ref().unwrap().running_var.value().into_data().to_vec::<f32>().unwrap();
        let before = running_var(&d);
        let clipped = clip_weights(d, 0.01);
        assert_eq!(running_var(&clipped), before, "running statistics are not weights");
        assert!(before.iter().any(|v| v.abs() > 0.01));
        let w = clipped.convs[0].conv.weight.val().into_data().to_vec::<f32>().unwrap();
        assert!(w.iter().all(|v| v.abs() <= 0.01) && w.iter().any(|v| v.abs() == 0.01), "weights clamped to ±0.01");
        let gamma = clipped.convs[1].norm.as_ref().unwrap().gamma.val().into_data().to_vec::<f32>().unwrap();
        assert!(gamma.iter().all(|&v| v == 0.01), "BatchNorm's scale is a weight (≈ 1 → 0.01)");
        assert!(clipped.convs[0].conv.weight.val().is_require_grad(), "still trainable");
    }

    #[test]
    fn the_reference_presets_have_the_pytorch_parameter_counts() {
        let device = Default::default();
        // Counted from the PyTorch definitions. burn's count also includes BatchNorm's running
        // mean and variance (2 per channel), which PyTorch keeps as buffers.
        let cfg = crate::config::preset("dcgan28").unwrap();
        let g = Generator::<B>::new(&cfg, &device);
        let d = Discriminator::<B>::new(&cfg, &device);
        let running = |channels: usize| 2 * channels;
        // G: 100·12544 + BN(256)·2 + 256·128·16 + BN(128)·2 + 128·16 + 1
        assert_eq!(parameter_count(&g), 100 * 12544 + 512 + 256 * 128 * 16 + 256 + 128 * 16 + 1 + running(256 + 128));
        // D: 1·64·16 + 64 + 64·128·16 + BN(128)·2 + 6272 + 1
        assert_eq!(parameter_count(&d), 64 * 16 + 64 + 64 * 128 * 16 + 256 + 6272 + 1 + running(128));
        let cfg = crate::config::preset("mlp-gan").unwrap();
        let g = Generator::<B>::new(&cfg, &device);
        let d = Discriminator::<B>::new(&cfg, &device);
        assert_eq!(parameter_count(&g), 100 * 256 + 256 + 256 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 784 + 784);
        assert_eq!(parameter_count(&d), 784 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 256 + 256 + 256 + 1);
    }
}
