//! Stacked MNIST (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN): each image stacks three
//! MNIST digits as its red, green and blue channels, so the set has 1000 modes, one per triple of
//! digits: the mode-collapse benchmark. Built from the shipped mnist10k, deterministically from a
//! seed (nothing is downloaded).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::ImageSet;
use crate::config::DataConfig;
use crate::error::{Error, Result};

/// `n` images of 3 channels, each channel an MNIST image drawn uniformly (with replacement) from
/// `mnist` by a generator seeded with `seed`; `fixed_first`, when given, puts that image of
/// `mnist` in every first channel (a set with 100 modes, for tests of the mode count). The
/// labels are left out: a mode (0–999) does not fit the byte of an IDX label.
pub fn stacked_mnist(mnist: &ImageSet, n: usize, seed: u64, fixed_first: Option<usize>) -> Result<ImageSet> {
    if mnist.channels != 1 || mnist.is_empty() {
        return Err(Error::Other(format!("Stacked MNIST stacks grey images; '{}' has {} channel(s) and {} images", mnist.name, mnist.channels, mnist.len())));
    }
    if let Some(i) = fixed_first.filter(|i| *i >= mnist.len()) {
        return Err(Error::Other(format!("image {i} is not in '{}' ({} images)", mnist.name, mnist.len())));
    }
    let plane = mnist.size * mnist.size;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pixels = vec![0u8; n * plane * 3];
    for image in pixels.chunks_exact_mut(plane * 3) {
        for channel in 0..3 {
            let pick = match (channel, fixed_first) {
                (0, Some(i)) => i,
                _ => rng.random_range(0..mnist.len()),
            };
            // HWC: the channel's value of every pixel is every third byte.
            for (p, v) in mnist.image(pick).iter().enumerate() {
                image[p * 3 + channel] = *v;
            }
        }
    }
    Ok(ImageSet { name: format!("stacked-{}", mnist.name), size: mnist.size, channels: 3, pixels, labels: None, skipped: Vec::new() })
}

/// The dataset name of Stacked MNIST, which [`super::load`] builds from the shipped mnist10k (see
/// [`stacked_mnist`]): [`STACKED_MNIST_IMAGES`] images of 28 × 28 × 3, drawn with seed 0, so every
/// machine trains on the same set.
pub const STACKED_MNIST: &str = "stacked-mnist";
/// Images in Stacked MNIST (`data.limit` takes fewer): 50 per mode on average.
pub const STACKED_MNIST_IMAGES: usize = 50_000;

/// Stacked MNIST as [`super::load`] gives it for `data.dataset = "stacked-mnist"`.
pub(super) fn load_stacked_mnist(cfg: &DataConfig) -> Result<ImageSet> {
    if (cfg.image_size, cfg.channels) != (28, 3) {
        return Err(Error::Dataset {
            dataset: cfg.dataset.clone(),
            message: format!("is 28 × 28 with 3 channels (one MNIST digit each); got data.image_size {} and data.channels {}", cfg.image_size, cfg.channels),
        });
    }
    let mnist = super::load(&DataConfig { dataset: "mnist10k".into(), image_size: 28, channels: 1, limit: None, holdout_fraction: cfg.holdout_fraction })?;
    let n = cfg.limit.unwrap_or(STACKED_MNIST_IMAGES).min(STACKED_MNIST_IMAGES);
    Ok(ImageSet { name: cfg.dataset.clone(), ..stacked_mnist(&mnist, n, 0, None)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(n: usize) -> ImageSet {
        // Image i is filled with the value i, so a stacked pixel tells which images it holds.
        ImageSet { name: "tiny".into(), size: 2, channels: 1, pixels: (0..n).flat_map(|i| [i as u8; 4]).collect(), labels: None, skipped: Vec::new() }
    }

    #[test]
    fn each_channel_is_a_whole_image_drawn_from_the_seed() {
        let set = stacked_mnist(&digits(7), 50, 3, None).unwrap();
        assert_eq!((set.len(), set.channels, set.size), (50, 3, 2));
        for i in 0..set.len() {
            let img = set.image(i);
            for c in 0..3 {
                assert!((0..4).all(|p| img[p * 3 + c] == img[c]), "channel {c} of image {i} is one source image: {img:?}");
            }
        }
        let picks: std::collections::BTreeSet<u8> = (0..set.len()).flat_map(|i| set.image(i)[..3].to_vec()).collect();
        assert_eq!(picks.len(), 7, "every source image is used");
        assert_eq!(stacked_mnist(&digits(7), 50, 3, None).unwrap().pixels, set.pixels, "the same seed, the same set");
        assert_ne!(stacked_mnist(&digits(7), 50, 4, None).unwrap().pixels, set.pixels);
        let fixed = stacked_mnist(&digits(7), 20, 3, Some(5)).unwrap();
        assert!((0..20).all(|i| fixed.image(i)[0] == 5));
        let err = stacked_mnist(&digits(7), 20, 3, Some(7)).unwrap_err().to_string();
        assert!(err.contains("image 7") && err.contains("7 images"), "{err}");
    }
}
