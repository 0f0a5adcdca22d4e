//! A look at a shipped dataset: counts, shape, classes, licence and a grid of its first images.

use crate::config::DataConfig;
use crate::data::{datasets_dir, load, pixel_to_signed_unit, read_idx, SHIPPED};
use crate::error::{Error, Result};
use crate::report::{display_scale, escape, evcxr_html_or_error, ImageGrid};

/// One shipped dataset, ready to display.
#[derive(Debug, Clone)]
pub struct DatasetView {
    pub name: String,
    pub images: usize,
    pub size: usize,
    pub channels: usize,
    /// Distinct labels, when the dataset has labels.
    pub classes: Option<usize>,
    pub licence: String,
    pub grid: ImageGrid,
}

/// Loads shipped dataset `name` at its native size and lays out its first `n` images.
pub fn show_dataset(name: &str, n: usize) -> Result<DatasetView> {
    let shipped = SHIPPED.iter().find(|d| d.name == name).ok_or_else(|| Error::Unknown {
        kind: "shipped dataset",
        name: name.into(),
        known: SHIPPED.iter().map(|d| d.name.to_string()).collect(),
    })?;
    let path = datasets_dir()?.join(shipped.name).join(shipped.images);
    let header = read_idx(&path)?;
    let (size, channels) = match header.dims.as_slice() {
        [_, h, _] => (*h, 1),
        [_, h, _, c] => (*h, *c),
        dims => return Err(Error::bad_file(&path, format!("expected 3 or 4 dimensions, got {dims:?}"))),
    };
    let set = load(&DataConfig { dataset: name.into(), image_size: size, channels, limit: None, holdout_fraction: 0.0 })?;
    let n = n.clamp(1, set.len());
    let chw: Vec<f32> = (0..n)
        .flat_map(|i| {
            let img = set.image(i);
            (0..channels).flat_map(move |c| (0..size * size).map(move |p| pixel_to_signed_unit(img[p * channels + c])))
        })
        .collect();
    let mut distinct = set.labels.clone().unwrap_or_default();
    distinct.sort_unstable();
    distinct.dedup();
    Ok(DatasetView {
        name: name.into(),
        images: set.len(),
        size,
        channels,
        classes: set.labels.as_ref().map(|_| distinct.len()),
        licence: shipped.licence.into(),
        grid: ImageGrid::from_chw(&chw, n, [channels, size, size], display_scale(size))?,
    })
}

impl DatasetView {
    /// The numbers and the grid as one HTML block.
    pub fn to_html(&self) -> Result<String> {
        Ok(format!(
            "<div class=\"gan-lab-dataset\"><p><b>{}</b>: {} images, {}×{}×{}, {} — {}</p>{}</div>",
            escape(&self.name),
            self.images,
            self.size,
            self.size,
            self.channels,
            self.classes.map(|c| format!("{c} classes")).unwrap_or_else(|| "no labels".into()),
            escape(&self.licence),
            self.grid.to_html()?
        ))
    }

    /// evcxr rich display.
    pub fn evcxr_display(&self) {
        evcxr_html_or_error(self.to_html());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnist_shows_ten_thousand_grey_digits_in_ten_classes() {
        let v = show_dataset("mnist10k", 16).unwrap();
        assert_eq!((v.images, v.size, v.channels, v.classes), (10_000, 28, 1, Some(10)));
        assert!(v.licence.contains("MNIST"));
        let html = v.to_html().unwrap();
        assert!(html.contains("data:image/png;base64,") && html.contains("10 classes"));
    }

    #[test]
    fn an_unknown_dataset_lists_the_shipped_ones() {
        let err = show_dataset("cifar", 4).unwrap_err().to_string();
        assert!(err.contains("cifar") && err.contains("mnist10k"), "{err}");
    }
}
