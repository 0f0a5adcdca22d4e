//! The feature network: a small LeNet-style classifier trained by `gan-lab features train` on a
//! shipped labelled dataset, with a fixed seed, on the fixed train split, checked on the held-out
//! split. Its weights ship next to the data (`datasets/<name>/feature-net.mpk`, with a JSON card
//! holding the sha256, accuracy and the command that made them).
//!
//! Architecture: Conv 5×5 (C→16, pad 2) → ReLU → MaxPool 2 → Conv 5×5 (16→32, pad 2) → ReLU →
//! MaxPool 2 → Linear (32·(S/4)² → 128) → ReLU → **features (128)** → Linear (128 → classes).

use std::path::PathBuf;

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::DataConfig;
use crate::data::{datasets_dir, load, ImageSet, Split, SHIPPED};
use crate::error::{Error, Result};

/// Width of the feature layer.
pub const FEATURE_DIM: usize = 128;
/// Name of the layer the features come from.
pub const FEATURE_LAYER: &str = "fc1 (128 units, after ReLU)";

/// The classifier.
#[derive(Module, Debug)]
pub struct FeatureNet<B: Backend> {
    pub conv1: Conv2d<B>,
    pub conv2: Conv2d<B>,
    pub pool: MaxPool2d,
    pub fc1: Linear<B>,
    pub fc2: Linear<B>,
}

impl<B: Backend> FeatureNet<B> {
    /// A fresh network for `channels`×`size`×`size` images and `classes` labels.
    pub fn new(channels: usize, size: usize, classes: usize, device: &B::Device) -> Self {
        let conv = |c_in, c_out| Conv2dConfig::new([c_in, c_out], [5, 5]).with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2)).init(device);
        let flat = 32 * (size / 4) * (size / 4);
        FeatureNet {
            conv1: conv(channels, 16),
            conv2: conv(16, 32),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(flat, FEATURE_DIM).init(device),
            fc2: LinearConfig::new(FEATURE_DIM, classes).init(device),
        }
    }

    /// Penultimate-layer features [B, 128].
    pub fn features(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.pool.forward(relu(self.conv1.forward(x)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let batch = x.dims()[0];
        relu(self.fc1.forward(x.reshape([batch as i64, -1])))
    }

    /// Class logits [B, classes].
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        self.fc2.forward(self.features(x))
    }
}

/// What `datasets/<name>/feature-net.json` says about the shipped weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureCard {
    pub dataset: String,
    pub image_size: usize,
    pub channels: usize,
    pub classes: usize,
    pub layer: String,
    pub heldout_accuracy: f64,
    pub train_images: usize,
    pub heldout_images: usize,
    pub epochs: usize,
    pub seed: u64,
    pub weights_sha256: String,
    pub command: String,
}

/// Native size and channels of the shipped labelled datasets.
pub fn native_shape(dataset: &str) -> Result<(usize, usize)> {
    match dataset {
        "mnist10k" | "fashion-mnist-test10k" => Ok((28, 1)),
        "noto-emoji-32" => Ok((32, 3)),
        "twemoji-64" => Ok((32, 3)),
        other => Err(Error::Unknown {
            kind: "labelled dataset",
            name: other.into(),
            known: SHIPPED.iter().map(|d| d.name.to_string()).collect(),
        }),
    }
}

fn card_path(dataset: &str) -> Result<PathBuf> {
    Ok(datasets_dir()?.join(dataset).join("feature-net.json"))
}

fn weights_path(dataset: &str) -> Result<PathBuf> {
    Ok(datasets_dir()?.join(dataset).join("feature-net.mpk"))
}

/// sha256 of the network's parameters (little-endian f32, in visiting order). burn's record files
/// also hold random parameter ids, so the file's own hash differs between identical trainings;
/// this one does not.
pub fn weights_sha256<B: Backend>(net: &FeatureNet<B>) -> String {
    let bytes: Vec<u8> = crate::model::flat_parameters(net).iter().flat_map(|v| v.to_le_bytes()).collect();
    crate::hex(&Sha256::digest(&bytes))
}

fn data_for(dataset: &str) -> Result<ImageSet> {
    let (size, channels) = native_shape(dataset)?;
    load(&DataConfig { dataset: dataset.into(), image_size: size, channels, limit: None, holdout_fraction: 0.1 })
}

fn batch_tensor<B: Backend>(set: &ImageSet, idx: &[usize], device: &B::Device) -> Tensor<B, 4> {
    Tensor::from_data(TensorData::new(set.batch_chw(idx), [idx.len(), set.channels, set.size, set.size]), device)
}

/// Accuracy of `net` on `idx`.
fn accuracy<B: Backend>(net: &FeatureNet<B>, set: &ImageSet, idx: &[usize], device: &B::Device) -> f64 {
    let labels = set.labels.as_ref().expect("labelled");
    let mut correct = 0;
    for chunk in idx.chunks(500) {
        let pred: Vec<i64> = net.forward(batch_tensor::<B>(set, chunk, device)).argmax(1).into_data().iter::<i64>().collect();
        correct += chunk.iter().zip(&pred).filter(|(&i, &p)| labels[i] as i64 == p).count();
    }
    correct as f64 / idx.len().max(1) as f64
}

/// Trains the feature network of `dataset` (Adam 1e-3, batch 64, `epochs` over the train split,
/// seeded), writes `feature-net.mpk` and `feature-net.json` beside the data, and returns the card.
pub fn train_feature_net(dataset: &str, epochs: usize, seed: u64, verbose: bool) -> Result<FeatureCard> {
    type B = Autodiff<Flex>;
    let device = Default::default();
    let set = data_for(dataset)?;
    let labels = set.labels.clone().ok_or_else(|| Error::Dataset { dataset: dataset.into(), message: "has no labels".into() })?;
    let classes = *labels.iter().max().unwrap_or(&0) as usize + 1;
    let split = Split::new(set.len(), 0.1);
    let mut net = crate::model::build_seeded(&device, seed, || FeatureNet::<B>::new(set.channels, set.size, classes, &device));
    let mut opt = AdamConfig::new().init::<B, FeatureNet<B>>();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for epoch in 0..epochs {
        let mut order = split.train.clone();
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for chunk in order.chunks(64) {
            let x = batch_tensor::<B>(&set, chunk, &device);
            let y: Vec<i64> = chunk.iter().map(|&i| labels[i] as i64).collect();
            let y = Tensor::<B, 1, Int>::from_data(TensorData::new(y, [chunk.len()]), &device);
            let loss = loss_fn.forward(net.forward(x), y);
            total += loss.clone().into_scalar() as f64 * chunk.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = opt.step(1e-3, net, grads);
        }
        if verbose {
            let acc = accuracy(&net.valid(), &set, &split.holdout, &device);
            println!("epoch {}/{epochs}: train loss {:.4}, held-out accuracy {:.2}%", epoch + 1, total / order.len() as f64, 100.0 * acc);
        }
    }
    let inner = net.valid();
    let acc = accuracy(&inner, &set, &split.holdout, &device);
    let weights = weights_path(dataset)?;
    let stem = weights.with_extension("");
    inner
        .clone()
        .save_file(stem, &NamedMpkFileRecorder::<FullPrecisionSettings>::new())
        .map_err(|e| Error::bad_file(&weights, format!("saving failed: {e:?}")))?;
    let card = FeatureCard {
        dataset: dataset.into(),
        image_size: set.size,
        channels: set.channels,
        classes,
        layer: FEATURE_LAYER.into(),
        heldout_accuracy: acc,
        train_images: split.train.len(),
        heldout_images: split.holdout.len(),
        epochs,
        seed,
        weights_sha256: weights_sha256(&inner),
        command: format!("gan-lab features train --dataset {dataset} --epochs {epochs} --seed {seed}"),
    };
    crate::run::write_json(&card_path(dataset)?, &card)?;
    Ok(card)
}

/// A loaded feature network with its card, on the inner (non-autodiff) flex backend.
pub struct FeatureExtractor {
    pub card: FeatureCard,
    net: FeatureNet<Flex>,
}

impl FeatureExtractor {
    /// Loads the shipped network of `dataset`, checking the weights against the card's sha256.
    pub fn load(dataset: &str) -> Result<Self> {
        if native_shape(dataset).is_err() {
            return Err(Error::Dataset {
                dataset: dataset.into(),
                message: format!(
                    "has no feature network, which the quality metrics need; score with a shipped one of the same channels \
                     (`--set train.eval_features=noto-emoji-32` for colour images, `mnist10k` for grey), or make one for a \
                     labelled shipped dataset with `gan-lab features train` ({})",
                    labelled_datasets().join(", ")
                ),
            });
        }
        let card_file = card_path(dataset)?;
        if !card_file.is_file() {
            return Err(Error::bad_file(
                &card_file,
                format!("no feature network for '{dataset}'; create it with `gan-lab features train --dataset {dataset}`"),
            ));
        }
        let card: FeatureCard = crate::run::read_json(&card_file)?;
        let weights = weights_path(dataset)?;
        let device = Default::default();
        // Building the network draws initial weights from the backend RNG (then overwritten).
        let rng_guard = crate::model::backend_rng_lock();
        let fresh = FeatureNet::<Flex>::new(card.channels, card.image_size, card.classes, &device);
        drop(rng_guard);
        let net = fresh
            .load_file(weights.clone(), &NamedMpkFileRecorder::<FullPrecisionSettings>::new(), &device)
            .map_err(|e| Error::bad_file(&weights, format!("not a readable feature network: {e:?}")))?;
        let sha = weights_sha256(&net);
        if sha != card.weights_sha256 {
            return Err(Error::bad_file(&weights, format!("weights sha256 {sha} does not match the card's {}", card.weights_sha256)));
        }
        Ok(FeatureExtractor { card, net })
    }

    /// Short name used in protocols: `lenet-<dataset>@<first 12 hex of sha256>`.
    pub fn name(&self) -> String {
        format!("lenet-{}@{}", self.card.dataset, &self.card.weights_sha256[..12])
    }

    /// Features and predicted classes of `n` CHW images in [-1, 1] of shape `shape`; images of
    /// another size are resized to the network's.
    pub fn extract(&self, pixels: &[f32], n: usize, shape: [usize; 3]) -> Result<(Vec<f32>, Vec<usize>)> {
        let [c, h, w] = shape;
        if pixels.len() != n * c * h * w || c != self.card.channels {
            return Err(Error::Other(format!(
                "the feature network of {} takes {} channel(s); got {n} images of shape [{c}, {h}, {w}]",
                self.card.dataset, self.card.channels
            )));
        }
        let device = Default::default();
        let size = self.card.image_size;
        let mut feats = Vec::with_capacity(n * FEATURE_DIM);
        let mut preds = Vec::with_capacity(n);
        let per = c * h * w;
        for start in (0..n).step_by(500) {
            let end = (start + 500).min(n);
            let mut x = Tensor::<Flex, 4>::from_data(TensorData::new(pixels[start * per..end * per].to_vec(), [end - start, c, h, w]), &device);
            if h != size || w != size {
                x = burn::tensor::module::interpolate(
                    x,
                    [size, size],
                    burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Bilinear),
                );
            }
            let f = self.net.features(x);
            let p = self.net.fc2.forward(f.clone()).argmax(1);
            feats.extend(f.into_data().to_vec::<f32>().map_err(|e| Error::Other(format!("{e:?}")))?);
            preds.extend(p.into_data().iter::<i64>().map(|v| v as usize));
        }
        Ok((feats, preds))
    }
}

/// The labelled shipped datasets that have a feature network (`gan-lab features train --all`).
pub fn labelled_datasets() -> Vec<&'static str> {
    vec!["mnist10k", "fashion-mnist-test10k", "noto-emoji-32", "twemoji-64"]
}
