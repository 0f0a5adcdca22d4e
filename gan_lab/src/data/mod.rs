//! Datasets: the shipped sets by name, IDX files and image folders by path, the one pixel
//! normalisation, the fixed held-out split and the seeded per-epoch batch order.

mod folder;
mod idx;
mod memory;
mod shipped;
mod stacked;

pub use folder::{convert, list_images, load_image, FolderListing};
pub use idx::{parse_idx, read_idx, write_idx, IdxArray, IdxReader};
pub use memory::{allocatable_bytes, check_fits};
pub use shipped::{datasets_dir, ShippedDataset, SHIPPED};
pub use stacked::{stacked_mnist, STACKED_MNIST, STACKED_MNIST_IMAGES};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::config::DataConfig;
use crate::error::{Error, Result};

/// Images in memory as HWC u8 (N × H × W × C), with optional labels.
#[derive(Debug, Clone)]
pub struct ImageSet {
    /// Dataset name or path as given.
    pub name: String,
    /// Height = width.
    pub size: usize,
    /// 1 grey, 3 RGB.
    pub channels: usize,
    /// N × size × size × channels bytes.
    pub pixels: Vec<u8>,
    /// One label per image, when the dataset has them.
    pub labels: Option<Vec<u8>>,
    /// Files that were skipped while reading a folder (not images).
    pub skipped: Vec<PathBuf>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.pixels.len() / self.image_len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.size * self.size * self.channels
    }

    /// HWC bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Images `indices` as one CHW float batch in [-1, 1] (B × C × H × W, row-major).
    pub fn batch_chw(&self, indices: &[usize]) -> Vec<f32> {
        let (s, c) = (self.size, self.channels);
        let mut out = vec![0f32; indices.len() * self.image_len()];
        for (b, &i) in indices.iter().enumerate() {
            let img = self.image(i);
            let dst = &mut out[b * self.image_len()..(b + 1) * self.image_len()];
            for y in 0..s {
                for x in 0..s {
                    for ch in 0..c {
                        dst[ch * s * s + y * s + x] = pixel_to_signed_unit(img[(y * s + x) * c + ch]);
                    }
                }
            }
        }
        out
    }
}

/// THE pixel normalisation, used everywhere: byte 0 → −1.0, byte 255 → +1.0.
pub fn pixel_to_signed_unit(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

/// Inverse of [`pixel_to_signed_unit`], clamping values outside [-1, 1].
pub fn signed_unit_to_pixel(x: f32) -> u8 {
    ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Loads the dataset the config names, converted to its image size and channels: only its first
/// `data.limit` images are read, and a set that cannot fit in memory is refused before it is read.
pub fn load(cfg: &DataConfig) -> Result<ImageSet> {
    let set = if cfg.dataset == STACKED_MNIST {
        stacked::load_stacked_mnist(cfg)?
    } else if let Some(shipped) = SHIPPED.iter().find(|d| d.name == cfg.dataset) {
        let dir = datasets_dir()?.join(shipped.name);
        load_idx_pair(&cfg.dataset, &dir.join(shipped.images), Some(&dir.join(shipped.labels)), cfg)?
    } else {
        let path = PathBuf::from(&cfg.dataset);
        if path.is_dir() {
            load_folder(&cfg.dataset, &path, cfg)?
        } else if path.is_file() {
            load_idx_pair(&cfg.dataset, &path, None, cfg)?
        } else {
            return Err(Error::Unknown {
                kind: "dataset (neither a shipped name nor an existing file or folder)",
                name: cfg.dataset.clone(),
                known: SHIPPED.iter().map(|d| d.name.to_string()).chain([STACKED_MNIST.to_string()]).collect(),
            });
        }
    };
    if set.len() < 2 {
        return Err(Error::Dataset { dataset: cfg.dataset.clone(), message: format!("needs at least 2 images, has {}", set.len()) });
    }
    Ok(set)
}

fn load_idx_pair(name: &str, images: &Path, labels: Option<&Path>, cfg: &DataConfig) -> Result<ImageSet> {
    let reader = IdxReader::open(images)?;
    let (n, h, w, c) = match reader.dims()[..] {
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] if c == 1 || c == 3 => (n, h, w, c),
        _ => {
            return Err(Error::bad_file(
                images,
                format!("expected image dimensions (N, H, W) or (N, H, W, 1|3), got {:?}", reader.dims()),
            ))
        }
    };
    let take = cfg.limit.unwrap_or(n).min(n);
    let converted = cfg.image_size * cfg.image_size * cfg.channels;
    let resized = (h, w, c) != (cfg.image_size, cfg.image_size, cfg.channels);
    // While converting, the file's pixels and the converted ones are both held.
    check_fits(name, take, (h * w * c).saturating_add(if resized { converted } else { 0 }), allocatable_bytes())?;
    let arr = reader.read(Some(take))?;
    let labels = match labels {
        Some(p) => {
            let l = IdxReader::open(p)?;
            if l.dims() != [n] {
                return Err(Error::bad_file(p, format!("has {:?} labels but the images file has {n} images", l.dims())));
            }
            Some(l.read(Some(take))?.data)
        }
        None => None,
    };
    let pixels = if !resized {
        arr.data
    } else {
        let mut out = Vec::with_capacity(take * converted);
        for i in 0..take {
            let chunk = arr.data[i * h * w * c..(i + 1) * h * w * c].to_vec();
            let img = if c == 1 {
                image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(w as u32, h as u32, chunk).unwrap())
            } else {
                image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w as u32, h as u32, chunk).unwrap())
            };
            out.extend(convert(img, cfg.image_size, cfg.channels));
        }
        out
    };
    Ok(ImageSet { name: name.into(), size: cfg.image_size, channels: cfg.channels, pixels, labels, skipped: Vec::new() })
}

fn load_folder(name: &str, dir: &Path, cfg: &DataConfig) -> Result<ImageSet> {
    let listing = list_images(dir)?;
    let take = cfg.limit.unwrap_or(usize::MAX).min(listing.images.len());
    check_fits(name, take, cfg.image_size * cfg.image_size * cfg.channels, allocatable_bytes())?;
    let mut pixels = Vec::with_capacity(take * cfg.image_size * cfg.image_size * cfg.channels);
    for p in &listing.images[..take] {
        pixels.extend(load_image(p, cfg.image_size, cfg.channels)?);
    }
    Ok(ImageSet { name: name.into(), size: cfg.image_size, channels: cfg.channels, pixels, labels: None, skipped: listing.skipped })
}

/// Seed of the held-out split: the same for every run, so evaluation sets are comparable.
const SPLIT_SEED: u64 = 0x5EED_0F_5EA1;

/// A fixed train / held-out split of `n` images.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub holdout: Vec<usize>,
}

impl Split {
    /// Shuffles 0..n with a fixed seed and keeps the last `fraction` (at least 1 when > 0) out.
    pub fn new(n: usize, fraction: f64) -> Self {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(SPLIT_SEED));
        let mut k = (n as f64 * fraction).round() as usize;
        if fraction > 0.0 {
            k = k.clamp(1, n.saturating_sub(1));
        }
        let holdout = idx.split_off(n - k);
        Split { train: idx, holdout }
    }
}

/// Position in the seeded epoch order. Epoch e's order is a shuffle seeded by (seed, e), so the
/// cursor alone (epoch, position) restores the exact data stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCursor {
    pub epoch: u64,
    pub position: usize,
}

/// Hands out batches of training indices epoch after epoch.
#[derive(Debug, Clone)]
pub struct Batcher {
    train: Vec<usize>,
    seed: u64,
    order: Vec<usize>,
    pub cursor: DataCursor,
}

impl Batcher {
    /// A batcher over `train` indices at `cursor`.
    pub fn new(train: Vec<usize>, seed: u64, cursor: DataCursor) -> Self {
        let mut b = Batcher { train, seed, order: Vec::new(), cursor };
        b.shuffle();
        b
    }

    fn shuffle(&mut self) {
        self.order = self.train.clone();
        let mixed = self.seed ^ self.cursor.epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.order.shuffle(&mut ChaCha8Rng::seed_from_u64(mixed));
    }

    /// The next `size` indices; a batch never spans two epochs (the tail of an epoch that is
    /// shorter than a batch is dropped, as PyTorch's `drop_last`).
    pub fn next_batch(&mut self, size: usize) -> Vec<usize> {
        let size = size.min(self.order.len());
        if self.cursor.position + size > self.order.len() {
            self.cursor = DataCursor { epoch: self.cursor.epoch + 1, position: 0 };
            self.shuffle();
        }
        let out = self.order[self.cursor.position..self.cursor.position + size].to_vec();
        self.cursor.position += size;
        out
    }

    /// Completed epochs plus the fraction of the current one.
    pub fn epochs(&self) -> f64 {
        self.cursor.epoch as f64 + self.cursor.position as f64 / self.order.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dataset: &str, size: usize, channels: usize) -> DataConfig {
        DataConfig { dataset: dataset.into(), image_size: size, channels, limit: None, holdout_fraction: 0.1 }
    }

    #[test]
    fn pixel_normalisation_maps_bytes_onto_minus_one_to_one_and_back() {
        assert_eq!(pixel_to_signed_unit(0), -1.0);
        assert_eq!(pixel_to_signed_unit(255), 1.0);
        for v in 0..=255u8 {
            assert_eq!(signed_unit_to_pixel(pixel_to_signed_unit(v)), v);
        }
        assert_eq!(signed_unit_to_pixel(7.0), 255);
    }

    #[test]
    fn every_shipped_dataset_loads_with_labels_for_every_image() {
        for (d, size, ch, n) in [("mnist10k", 28, 1, 10000), ("fashion-mnist-test10k", 28, 1, 10000), ("noto-emoji-32", 32, 3, 3786)] {
            let set = load(&cfg(d, size, ch)).unwrap();
            assert_eq!(set.len(), n, "{d}");
            assert_eq!(set.labels.as_ref().unwrap().len(), n, "{d}");
        }
    }

    #[test]
    fn shipped_images_are_resized_and_converted_on_request() {
        let mut c = cfg("noto-emoji-32", 16, 1);
        c.limit = Some(5);
        let set = load(&c).unwrap();
        assert_eq!((set.len(), set.image_len()), (5, 256));
    }

    #[test]
    fn an_unknown_dataset_name_lists_the_shipped_ones() {
        let err = load(&cfg("mnist-100", 28, 1)).unwrap_err().to_string();
        assert!(err.contains("mnist-100") && err.contains("mnist10k, fashion-mnist-test10k"), "{err}");
    }

    #[test]
    fn a_labels_file_with_another_count_is_rejected() {
        let dir = crate::test_scratch_dir("labels");
        std::fs::create_dir_all(&dir).unwrap();
        write_idx(dir.join("i.gz"), &[3, 4, 4], &[0; 48]).unwrap();
        write_idx(dir.join("l.gz"), &[2], &[0, 1]).unwrap();
        let err = load_idx_pair("x", &dir.join("i.gz"), Some(&dir.join("l.gz")), &cfg("x", 4, 1)).unwrap_err().to_string();
        assert!(err.contains("l.gz") && err.contains("has [2] labels but the images file has 3 images"), "{err}");
    }

    #[test]
    fn batches_are_chw_in_signed_unit_range() {
        let set = ImageSet { name: "t".into(), size: 2, channels: 3, pixels: (0..24).map(|v| v as u8 * 10).collect(), labels: None, skipped: vec![] };
        let b = set.batch_chw(&[1]);
        // image 1 starts at byte 12; channel 0 of pixel (0,0) is byte 12, channel 1 is byte 13.
        assert_eq!(b[0], pixel_to_signed_unit(120));
        assert_eq!(b[4], pixel_to_signed_unit(130));
    }

    #[test]
    fn the_split_is_fixed_disjoint_and_complete() {
        let a = Split::new(1000, 0.1);
        assert_eq!(a, Split::new(1000, 0.1));
        assert_eq!(a.holdout.len(), 100);
        let mut all: Vec<usize> = a.train.iter().chain(&a.holdout).copied().collect();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert!(Split::new(10, 0.0).holdout.is_empty());
    }

    #[test]
    fn the_batcher_resumes_exactly_from_its_cursor() {
        let mut a = Batcher::new((0..10).collect(), 3, DataCursor { epoch: 0, position: 0 });
        let first: Vec<Vec<usize>> = (0..4).map(|_| a.next_batch(4)).collect();
        let mut b = Batcher::new((0..10).collect(), 3, DataCursor { epoch: 0, position: 0 });
        b.next_batch(4);
        b.next_batch(4);
        let mut c = Batcher::new((0..10).collect(), 3, b.cursor);
        assert_eq!(c.next_batch(4), first[2]);
        assert_eq!(c.next_batch(4), first[3]);
        assert_eq!(a.cursor.epoch, 1, "third batch starts epoch 1 (drop_last)");
        let mut e0 = first[0].clone();
        e0.extend(&first[1]);
        e0.sort();
        e0.dedup();
        assert_eq!(e0.len(), 8, "no index repeats within an epoch");
    }
}
