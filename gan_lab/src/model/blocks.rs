//! Building blocks: activations (maxout included, which burn lacks), and dense / convolution /
//! transposed-convolution / projection blocks with optional BatchNorm and dropout.
//!
//! Every block computes: layer → BatchNorm (optional) → activation → dropout (optional).
//! With maxout(k), the layer produces units × k outputs and the activation keeps the max of each
//! group of k consecutive outputs (pylearn2's layout).

use burn::module::{Initializer, Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};

use super::spectral::SpectralNorm;

use crate::config::{Activation, ConvLayer};

/// A hidden activation, or none (for output layers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    None,
    Relu,
    LeakyRelu(f64),
    Maxout(usize),
}

impl From<Activation> for Act {
    fn from(a: Activation) -> Self {
        match a {
            Activation::Relu => Act::Relu,
            Activation::LeakyRelu { alpha } => Act::LeakyRelu(alpha),
            Activation::Maxout { pieces } => Act::Maxout(pieces),
        }
    }
}

impl Act {
    /// How many pre-activation outputs one unit needs.
    pub fn pieces(self) -> usize {
        match self {
            Act::Maxout(k) => k,
            _ => 1,
        }
    }

    /// Applies the activation; maxout reduces dimension 1 by its number of pieces.
    pub fn apply<B: Backend, const D: usize>(self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Act::None => x,
            Act::Relu => relu(x),
            Act::LeakyRelu(alpha) => leaky_relu(x, alpha),
            Act::Maxout(k) => maxout(x, k),
        }
    }
}

/// Maxout over dimension 1: [B, U·k, …] → [B, U, …], unit u = max of inputs u·k … u·k + k − 1.
pub fn maxout<B: Backend, const D: usize>(x: Tensor<B, D>, pieces: usize) -> Tensor<B, D> {
    let dims = x.dims();
    let units = dims[1] / pieces;
    let rest: usize = dims[2..].iter().product();
    let grouped: Tensor<B, 4> = x.reshape([dims[0], units, pieces, rest]);
    let mut out = dims;
    out[1] = units;
    grouped.max_dim(2).reshape(out)
}

/// How a network initialises its weights: burn's default, or N(0, std) weights, zero biases and
/// N(1, std) BatchNorm scales (the DCGAN paper's rule).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Init(pub Option<f64>);

impl Init {
    fn weights(self) -> Option<Initializer> {
        self.0.map(|std| Initializer::Normal { mean: 0.0, std })
    }

    fn linear<B: Backend>(self, d_in: usize, d_out: usize, bias: bool, device: &B::Device) -> Linear<B> {
        let mut cfg = LinearConfig::new(d_in, d_out).with_bias(bias);
        if let Some(init) = self.weights() {
            cfg = cfg.with_initializer(init);
        }
        let mut l = cfg.init(device);
        l.bias = self.bias(l.bias, d_out, device);
        l
    }

    /// Zero biases under the N(0, std) rule; burn's default otherwise.
    fn bias<B: Backend>(self, bias: Option<Param<Tensor<B, 1>>>, n: usize, device: &B::Device) -> Option<Param<Tensor<B, 1>>> {
        match self.0 {
            Some(_) => bias.map(|_| Param::from_tensor(Tensor::zeros([n], device))),
            None => bias,
        }
    }

    /// A linear layer initialised by this rule (with bias).
    pub fn linear_public<B: Backend>(self, d_in: usize, d_out: usize, device: &B::Device) -> Linear<B> {
        self.linear(d_in, d_out, true, device)
    }

    fn batch_norm<B: Backend>(self, features: usize, device: &B::Device) -> BatchNorm<B> {
        let mut bn = BatchNormConfig::new(features).init(device);
        if let Some(std) = self.0 {
            bn.gamma = Param::from_tensor(Tensor::random([features], Distribution::Normal(1.0, std), device));
        }
        bn
    }
}

/// The part every block shares: BatchNorm (optional) → activation → dropout (optional).
fn finish<B: Backend, const D: usize>(x: Tensor<B, D>, norm: &Option<BatchNorm<B>>, act: Act, dropout: &Option<Dropout>) -> Tensor<B, D> {
    let x = match norm {
        Some(bn) => super::norm::batch_norm(bn, x),
        None => x,
    };
    let x = act.apply(x);
    match dropout {
        Some(d) => d.forward(x),
        None => x,
    }
}

pub(crate) fn dropout(p: f64) -> Option<Dropout> {
    (p > 0.0).then(|| DropoutConfig::new(p).init())
}

/// `layer`'s output for `x`, its weight spectrally normalised when `sn` is on.
///
/// Written as x·W + b rather than burn's `linear` op: the same operations on every backend we use
/// (burn's default `linear` is this matmul and broadcast add), but differentiable twice, which a
/// gradient penalty needs; burn-autodiff refuses to differentiate `linear`'s backward pass.
pub fn linear_forward<B: Backend>(layer: &Linear<B>, sn: &Option<SpectralNorm<B>>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let w = layer.weight.val();
    let w = match sn {
        Some(sn) => sn.apply_linear(w),
        None => w,
    };
    let y = x.matmul(w);
    match &layer.bias {
        Some(b) => y + b.val().unsqueeze::<2>(),
        None => y,
    }
}

/// Spectral normalisation for a linear layer's weight, when `on`. (Shapes are read with
/// `lazy_shape`: reading a weight draws it, and weights are drawn later, in visiting order.)
pub fn linear_spectral_norm<B: Backend>(layer: &Linear<B>, on: bool, device: &B::Device) -> Option<SpectralNorm<B>> {
    on.then(|| {
        let [inputs, outputs] = layer.weight.lazy_shape().dims();
        SpectralNorm::new(outputs, inputs, device)
    })
}

/// Linear → BatchNorm? → activation → dropout?
#[derive(Module, Debug)]
pub struct DenseBlock<B: Backend> {
    pub linear: Linear<B>,
    /// Spectral normalisation of `linear`'s weight (discriminators only).
    pub sn: Option<SpectralNorm<B>>,
    pub norm: Option<BatchNorm<B>>,
    pub dropout: Option<Dropout>,
    pub act: Act,
}

impl<B: Backend> DenseBlock<B> {
    /// `units` outputs after the activation; BatchNorm (when on) removes the linear bias.
    pub fn new(d_in: usize, units: usize, act: Act, batch_norm: bool, p_drop: f64, init: Init, device: &B::Device) -> Self {
        let width = units * act.pieces();
        DenseBlock {
            linear: init.linear(d_in, width, !batch_norm, device),
            sn: None,
            norm: batch_norm.then(|| init.batch_norm(width, device)),
            dropout: dropout(p_drop),
            act,
        }
    }

    /// The block with its weight spectrally normalised when `on`.
    pub fn spectral_norm(mut self, on: bool, device: &B::Device) -> Self {
        self.sn = linear_spectral_norm(&self.linear, on, device);
        self
    }

    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        finish(linear_forward(&self.linear, &self.sn, x), &self.norm, self.act, &self.dropout)
    }
}

/// Linear projection of z to [C, H, W] → BatchNorm2d? → activation (the DCGAN generator's first
/// layer; equivalent to PyTorch's 4×4 transposed convolution of a 1×1 input).
#[derive(Module, Debug)]
pub struct ProjectionBlock<B: Backend> {
    pub linear: Linear<B>,
    pub norm: Option<BatchNorm<B>>,
    pub act: Act,
    pub shape: [usize; 3],
}

impl<B: Backend> ProjectionBlock<B> {
    pub fn new(d_in: usize, [c, h, w]: [usize; 3], act: Act, batch_norm: bool, init: Init, device: &B::Device) -> Self {
        let channels = c * act.pieces();
        ProjectionBlock {
            linear: init.linear(d_in, channels * h * w, !batch_norm, device),
            norm: batch_norm.then(|| init.batch_norm(channels, device)),
            act,
            shape: [channels, h, w],
        }
    }

    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        let [c, h, w] = self.shape;
        let batch = z.dims()[0];
        finish(self.linear.forward(z).reshape([batch, c, h, w]), &self.norm, self.act, &None)
    }
}

/// Conv2d → BatchNorm2d? → activation → dropout?
#[derive(Module, Debug)]
pub struct ConvBlock<B: Backend> {
    pub conv: Conv2d<B>,
    /// Spectral normalisation of `conv`'s weight.
    pub sn: Option<SpectralNorm<B>>,
    /// Zero padding on every side (`conv`'s, needed when the weight is replaced).
    pub padding: usize,
    pub norm: Option<BatchNorm<B>>,
    pub dropout: Option<Dropout>,
    pub act: Act,
}

impl<B: Backend> ConvBlock<B> {
    pub fn new(c_in: usize, layer: &ConvLayer, act: Act, batch_norm: bool, p_drop: f64, init: Init, device: &B::Device) -> Self {
        let c_out = layer.channels * act.pieces();
        let p = layer.padding;
        let mut cfg = Conv2dConfig::new([c_in, c_out], [layer.kernel; 2])
            .with_stride([layer.stride; 2])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .with_bias(!batch_norm);
        if let Some(i) = init.weights() {
            cfg = cfg.with_initializer(i);
        }
        let mut conv = cfg.init(device);
        conv.bias = init.bias(conv.bias, c_out, device);
        ConvBlock { conv, sn: None, padding: p, norm: batch_norm.then(|| init.batch_norm(c_out, device)), dropout: dropout(p_drop), act }
    }

    /// The block with its weight spectrally normalised when `on`.
    pub fn spectral_norm(mut self, on: bool, device: &B::Device) -> Self {
        self.sn = on.then(|| {
            let [out, c_in, kh, kw] = self.conv.weight.lazy_shape().dims();
            SpectralNorm::new(out, c_in * kh * kw, device)
        });
        self
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = match &self.sn {
            Some(sn) => {
                let c = &self.conv;
                let options = ConvOptions::new(c.stride, [self.padding; 2], c.dilation, c.groups);
                conv2d(x, sn.apply_conv(c.weight.val()), c.bias.as_ref().map(|b| b.val()), options)
            }
            None => self.conv.forward(x),
        };
        finish(y, &self.norm, self.act, &self.dropout)
    }
}

/// ConvTranspose2d → BatchNorm2d? → activation → dropout?
#[derive(Module, Debug)]
pub struct ConvTransposeBlock<B: Backend> {
    pub conv: ConvTranspose2d<B>,
    pub norm: Option<BatchNorm<B>>,
    pub dropout: Option<Dropout>,
    pub act: Act,
}

impl<B: Backend> ConvTransposeBlock<B> {
    pub fn new(c_in: usize, layer: &ConvLayer, act: Act, batch_norm: bool, p_drop: f64, init: Init, device: &B::Device) -> Self {
        let c_out = layer.channels * act.pieces();
        let mut cfg = ConvTranspose2dConfig::new([c_in, c_out], [layer.kernel; 2])
            .with_stride([layer.stride; 2])
            .with_padding([layer.padding; 2])
            .with_bias(!batch_norm);
        if let Some(i) = init.weights() {
            cfg = cfg.with_initializer(i);
        }
        let mut conv = cfg.init(device);
        conv.bias = init.bias(conv.bias, c_out, device);
        ConvTransposeBlock { conv, norm: batch_norm.then(|| init.batch_norm(c_out, device)), dropout: dropout(p_drop), act }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        finish(self.conv.forward(x), &self.norm, self.act, &self.dropout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    type B = Flex;

    #[test]
    fn maxout_keeps_the_largest_of_each_group_of_consecutive_pieces() {
        let device = Default::default();
        // 2 examples, 2 units × 3 pieces.
        let x = Tensor::<B, 2>::from_data(
            TensorData::new(vec![1.0f32, 5.0, -2.0, 0.5, 0.25, 0.75, -1.0, -3.0, -2.0, 9.0, 8.0, 7.0], [2, 6]),
            &device,
        );
        let y = maxout(x, 3).into_data().to_vec::<f32>().unwrap();
        assert_eq!(y, vec![5.0, 0.75, -1.0, 9.0]);
    }

    #[test]
    fn maxout_on_feature_maps_reduces_channels_per_pixel() {
        let device = Default::default();
        // 1 example, 4 channels (2 units × 2 pieces), 1×2 pixels.
        let x = Tensor::<B, 4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, -4.0, 0.0, 0.0, -1.0, 5.0], [1, 4, 1, 2]), &device);
        let y = maxout(x, 2);
        assert_eq!(y.dims(), [1, 2, 1, 2]);
        assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![3.0, 2.0, 0.0, 5.0]);
    }

    #[test]
    fn a_maxout_dense_block_has_units_times_pieces_weights_and_units_outputs() {
        let device = Default::default();
        let b = DenseBlock::<B>::new(10, 4, Act::Maxout(5), false, 0.0, Init(None), &device);
        assert_eq!(b.linear.weight.dims(), [10, 20]);
        assert_eq!(b.forward(Tensor::zeros([3, 10], &device)).dims(), [3, 4]);
    }

    #[test]
    fn normal_init_zeroes_biases_and_centres_batchnorm_scales_on_one() {
        let device = Default::default();
        let b = DenseBlock::<B>::new(50, 40, Act::Relu, false, 0.0, Init(Some(0.02)), &device);
        assert!(b.linear.bias.as_ref().unwrap().val().into_data().to_vec::<f32>().unwrap().iter().all(|&v| v == 0.0));
        let w = b.linear.weight.val().into_data().to_vec::<f32>().unwrap();
        let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
        assert!((std - 0.02).abs() < 0.003, "std {std}");
        let bn = Init(Some(0.02)).batch_norm::<B>(64, &device);
        let g = bn.gamma.val().into_data().to_vec::<f32>().unwrap();
        let mean = g.iter().sum::<f32>() / 64.0;
        assert!((mean - 1.0).abs() < 0.02, "mean {mean}");
    }
}
