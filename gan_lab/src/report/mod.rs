//! Pictures and HTML: sample grids as PNG, tables and images as HTML, evcxr rich display.

mod chart;
mod html;
mod side_by_side;

pub use chart::{Bar, Chart, Series};
pub use side_by_side::SideBySide;
pub use html::{escape, evcxr_html, evcxr_html_or_error, format_number, format_spread, frame_to_html, html_page, scrolling};

use std::path::Path;

use crate::data::signed_unit_to_pixel;
use crate::error::{Error, Result};

/// A grid of images, ready to save as PNG.
#[derive(Debug, Clone)]
pub struct ImageGrid {
    pub image: image::RgbImage,
}

impl ImageGrid {
    /// Lays out `n` CHW images in [-1, 1] (`pixels` = n × C × H × W) in a near-square grid,
    /// 2-pixel dark-grey gutters, scaled up ×`scale` (nearest neighbour).
    pub fn from_chw(pixels: &[f32], n: usize, [c, h, w]: [usize; 3], scale: usize) -> Result<Self> {
        if n == 0 || pixels.len() != n * c * h * w || !(c == 1 || c == 3) {
            return Err(Error::Other(format!(
                "cannot make a grid of {n} images of shape [{c}, {h}, {w}] from {} values",
                pixels.len()
            )));
        }
        let cols = (n as f64).sqrt().ceil() as usize;
        let rows = n.div_ceil(cols);
        let gap = 2;
        let (cell_w, cell_h) = (w * scale + gap, h * scale + gap);
        let mut img = image::RgbImage::from_pixel((cols * cell_w + gap) as u32, (rows * cell_h + gap) as u32, image::Rgb([40, 40, 40]));
        for i in 0..n {
            let (ox, oy) = (gap + (i % cols) * cell_w, gap + (i / cols) * cell_h);
            let base = i * c * h * w;
            for y in 0..h * scale {
                for x in 0..w * scale {
                    let (sy, sx) = (y / scale, x / scale);
                    let px = |ch: usize| signed_unit_to_pixel(pixels[base + ch * h * w + sy * w + sx]);
                    let rgb = if c == 1 { [px(0); 3] } else { [px(0), px(1), px(2)] };
                    img.put_pixel((ox + x) as u32, (oy + y) as u32, image::Rgb(rgb));
                }
            }
        }
        Ok(ImageGrid { image: img })
    }

    /// Reads a grid saved as PNG (e.g. a run's `samples/step-NNNNNNN.png`).
    pub fn open(path: &Path) -> Result<Self> {
        let img = image::open(path).map_err(|e| Error::bad_file(path, format!("cannot read the image: {e}")))?;
        Ok(ImageGrid { image: img.to_rgb8() })
    }

    /// PNG bytes.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut out = std::io::Cursor::new(Vec::new());
        self.image
            .write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| Error::Other(format!("PNG encoding failed: {e}")))?;
        Ok(out.into_inner())
    }

    /// Saves the grid as PNG, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::run::write_atomic(path, &self.to_png()?)
    }
}

/// A sensible display scale for images of side `size`: small images are enlarged.
pub fn display_scale(size: usize) -> usize {
    match size {
        0..=32 => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_places_images_row_by_row_with_gutters() {
        // 3 grey 2×2 images: white, black, white → 2×2 grid, scale 1.
        let mut px = vec![1.0f32; 12];
        px[4..8].fill(-1.0);
        let g = ImageGrid::from_chw(&px, 3, [1, 2, 2], 1).unwrap();
        assert_eq!(g.image.dimensions(), (2 * 4 + 2, 2 * 4 + 2));
        assert_eq!(g.image.get_pixel(2, 2).0, [255, 255, 255]);
        assert_eq!(g.image.get_pixel(6, 2).0, [0, 0, 0]);
        assert_eq!(g.image.get_pixel(2, 6).0, [255, 255, 255]);
        assert_eq!(g.image.get_pixel(0, 0).0, [40, 40, 40]);
        let png = g.to_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn a_grid_with_the_wrong_number_of_values_is_an_error() {
        assert!(ImageGrid::from_chw(&[0.0; 5], 2, [1, 2, 2], 1).is_err());
    }
}
