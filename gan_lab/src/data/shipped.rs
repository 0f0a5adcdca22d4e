//! The datasets shipped in `datasets/` (name, files, licence, channels) and where that folder is.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A dataset shipped in `datasets/`: folder, images file, labels file, licence line.
#[derive(Debug, Clone, Copy)]
pub struct ShippedDataset {
    pub name: &'static str,
    pub images: &'static str,
    pub labels: &'static str,
    pub licence: &'static str,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
}

/// Every dataset in `datasets/`.
pub const SHIPPED: [ShippedDataset; 4] = [
    ShippedDataset {
        name: "mnist10k",
        images: "mnist10k-images-idx3-ubyte.gz",
        labels: "mnist10k-labels-idx1-ubyte.gz",
        licence: "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0",
        channels: 1,
    },
    ShippedDataset {
        name: "fashion-mnist-test10k",
        images: "t10k-images-idx3-ubyte.gz",
        labels: "t10k-labels-idx1-ubyte.gz",
        licence: "Fashion-MNIST test split (Zalando SE), MIT",
        channels: 1,
    },
    ShippedDataset {
        name: "noto-emoji-32",
        images: "noto-32x32-rgb-idx4-ubyte.gz",
        labels: "category-labels-idx1-ubyte.gz",
        licence: "Noto Emoji (Google), Apache-2.0",
        channels: 3,
    },
    ShippedDataset {
        name: "twemoji-64",
        images: "twemoji-64x64-rgb-idx4-ubyte.gz",
        labels: "category-labels-idx1-ubyte.gz",
        licence: "Twemoji (Twitter, Inc. and contributors), CC BY 4.0",
        channels: 3,
    },
];

/// The folder that holds the shipped datasets: `$GAN_LAB_DATASETS`, else the first `datasets/`
/// with a `FORMAT.md` in the current directory or its ancestors, else the one in this source tree.
pub fn datasets_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("GAN_LAB_DATASETS") {
        let dir = PathBuf::from(dir);
        return if dir.is_dir() {
            Ok(dir)
        } else {
            Err(Error::bad_file(dir, "GAN_LAB_DATASETS does not name a folder"))
        };
    }
    let here = std::env::current_dir().ok();
    let candidates = here
        .iter()
        .flat_map(|d| d.ancestors().map(|a| a.join("datasets")))
        .chain(std::iter::once(Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets")));
    for dir in candidates {
        if dir.join("FORMAT.md").is_file() {
            return Ok(dir);
        }
    }
    Err(Error::Other(
        "cannot find the shipped datasets folder: run from the gan_lab repository or set GAN_LAB_DATASETS".into(),
    ))
}
