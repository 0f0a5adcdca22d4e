//! Reader for a folder of PNG/JPEG images (searched recursively).
//!
//! Files whose extension is not .png/.jpg/.jpeg are skipped and counted (a README or a .DS_Store
//! next to the images is normal); a file with an image extension that does not decode is an error
//! naming it. Images of any size are resized to the configured size, so mixed sizes are fine.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Image files found under a folder, and the other files that were skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderListing {
    pub images: Vec<PathBuf>,
    pub skipped: Vec<PathBuf>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Lists image files recursively in sorted order (so the dataset order is reproducible).
pub fn list_images(dir: &Path) -> Result<FolderListing> {
    let mut listing = FolderListing { images: Vec::new(), skipped: Vec::new() };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if is_image(&path) {
                listing.images.push(path);
            } else {
                listing.skipped.push(path);
            }
        }
    }
    listing.images.sort();
    listing.skipped.sort();
    if listing.images.is_empty() {
        return Err(Error::bad_file(
            dir,
            format!("no .png/.jpg/.jpeg images found (searched recursively; {} other files)", listing.skipped.len()),
        ));
    }
    Ok(listing)
}

/// Decodes one image and converts it to `size`×`size` with `channels` (1 grey, 3 RGB) as HWC
/// bytes. Transparent pixels are composited onto white, like the shipped emoji sets.
pub fn load_image(path: &Path, size: usize, channels: usize) -> Result<Vec<u8>> {
    let img = image::open(path).map_err(|e| Error::bad_file(path, format!("not a readable image ({e})")))?;
    Ok(convert(img, size, channels))
}

/// Resizes and converts a decoded image to HWC bytes (see [`load_image`]).
pub fn convert(img: image::DynamicImage, size: usize, channels: usize) -> Vec<u8> {
    let mut rgba = img.to_rgba8();
    for p in rgba.pixels_mut() {
        let a = p[3] as f32 / 255.0;
        for c in 0..3 {
            p[c] = (p[c] as f32 * a + 255.0 * (1.0 - a)).round() as u8;
        }
        p[3] = 255;
    }
    let rgb = image::DynamicImage::ImageRgba8(rgba).to_rgb8();
    let (w, h) = rgb.dimensions();
    let rgb = if w as usize == size && h as usize == size {
        rgb
    } else {
        image::imageops::resize(&rgb, size as u32, size as u32, image::imageops::FilterType::Triangle)
    };
    if channels == 3 {
        rgb.into_raw()
    } else {
        image::DynamicImage::ImageRgb8(rgb).to_luma8().into_raw()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = crate::test_scratch_dir(&format!("folder_{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn non_image_files_are_skipped_and_images_are_found_recursively() {
        let dir = temp_dir("mixed");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        image::RgbImage::from_pixel(5, 7, image::Rgb([10, 20, 30])).save(dir.join("sub/a.png")).unwrap();
        image::GrayImage::from_pixel(9, 9, image::Luma([200])).save(dir.join("b.PNG")).unwrap();
        std::fs::write(dir.join("notes.txt"), "hello").unwrap();
        let listing = list_images(&dir).unwrap();
        assert_eq!(listing.images.len(), 2);
        assert_eq!(listing.skipped, vec![dir.join("notes.txt")]);
    }

    #[test]
    fn an_empty_folder_is_an_error_naming_it() {
        let dir = temp_dir("empty");
        std::fs::write(dir.join("readme.md"), "x").unwrap();
        let err = list_images(&dir).unwrap_err().to_string();
        assert!(err.contains("folder_empty") && err.contains("no .png/.jpg/.jpeg images found"), "{err}");
        assert!(err.contains("1 other files"), "{err}");
    }

    #[test]
    fn a_file_with_an_image_extension_that_does_not_decode_is_an_error_naming_it() {
        let dir = temp_dir("fake");
        std::fs::write(dir.join("fake.png"), b"this is not a png").unwrap();
        let err = load_image(&dir.join("fake.png"), 8, 1).unwrap_err().to_string();
        assert!(err.contains("fake.png") && err.contains("not a readable image"), "{err}");
    }

    #[test]
    fn images_are_resized_and_transparency_becomes_white() {
        let img = image::RgbaImage::from_pixel(16, 12, image::Rgba([0, 0, 0, 0]));
        let out = convert(image::DynamicImage::ImageRgba8(img), 8, 3);
        assert_eq!(out.len(), 8 * 8 * 3);
        assert!(out.iter().all(|&v| v == 255));
        let grey = convert(image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(4, 4, image::Rgb([255, 0, 0]))), 4, 1);
        assert_eq!(grey.len(), 16);
        assert!(grey.iter().all(|&v| v == grey[0] && v > 40 && v < 100), "{grey:?}");
    }
}
