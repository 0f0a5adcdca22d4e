//! Reader for a folder of PNG/JPEG images (searched recursively).
//!
//! Files whose extension is not .png/.jpg/.jpeg are skipped and counted (a README or a .DS_Store
//! next to the images is normal); a file with an image extension that does not decode is an error
//! naming it. Images of any size up to [`MAX_SIDE`] are resized to the configured size, so mixed
//! sizes are fine. Symlinks are followed, but every folder and file is visited once (by device and
//! inode), so a symlink loop ends and a folder linked twice is not read twice.

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

/// Decoder limits: the longest side accepted, and the most memory one decode may allocate. A
/// 100,000 × 100,000 PNG is a few kilobytes on disk; it is refused from its header.
pub const MAX_SIDE: u32 = 16_384;
pub const MAX_DECODE_BYTES: u64 = 1 << 30;

/// Lists image files recursively in sorted order (so the dataset order is reproducible). Folders
/// are walked in name order and each folder or file reached twice (symlinks, hard links) is
/// listed once, under the first name met.
pub fn list_images(dir: &Path) -> Result<FolderListing> {
    let mut listing = FolderListing { images: Vec::new(), skipped: Vec::new() };
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let meta = std::fs::metadata(&d).map_err(|e| Error::io(&d, e))?;
        if !seen.insert(file_id(&d, &meta)?) {
            continue;
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            entries.push(entry.map_err(|e| Error::io(&d, e))?.path());
        }
        entries.sort();
        let mut folders = Vec::new();
        for path in entries {
            // One stat per entry, through symlinks; a dangling symlink has none and is skipped.
            let Ok(meta) = std::fs::metadata(&path) else {
                listing.skipped.push(path);
                continue;
            };
            if meta.is_dir() {
                folders.push(path);
            } else if !seen.insert(file_id(&path, &meta)?) {
                continue;
            } else if is_image(&path) {
                listing.images.push(path);
            } else {
                listing.skipped.push(path);
            }
        }
        stack.extend(folders.into_iter().rev());
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

/// Device and inode of what `path` names (after symlinks; `meta` is its metadata).
fn file_id(path: &Path, meta: &std::fs::Metadata) -> Result<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        Ok((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        use std::hash::{Hash, Hasher};
        let _ = meta;
        let canonical = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        canonical.hash(&mut h);
        Ok((0, h.finish()))
    }
}

/// Decodes one image and converts it to `size`×`size` with `channels` (1 grey, 3 RGB) as HWC
/// bytes. Transparent pixels are composited onto white, like the shipped emoji sets. The
/// decoder's limits ([`MAX_SIDE`], [`MAX_DECODE_BYTES`]) are checked from the header first.
pub fn load_image(path: &Path, size: usize, channels: usize) -> Result<Vec<u8>> {
    let unreadable = |e: image::ImageError| Error::bad_file(path, format!("not a readable image ({e})"));
    let mut reader = image::ImageReader::open(path).map_err(|e| Error::io(path, e))?.with_guessed_format().map_err(|e| Error::io(path, e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    Ok(convert(reader.decode().map_err(unreadable)?, size, channels))
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

    #[cfg(unix)]
    #[test]
    fn symlink_loops_end_and_folders_or_files_reached_twice_are_listed_once() {
        use std::os::unix::fs::symlink;
        let dir = temp_dir("links");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        image::GrayImage::from_pixel(4, 4, image::Luma([9])).save(dir.join("sub/a.png")).unwrap();
        image::GrayImage::from_pixel(4, 4, image::Luma([9])).save(dir.join("b.png")).unwrap();
        symlink(&dir, dir.join("sub/loop")).unwrap(); // back to the top: a loop
        symlink(dir.join("sub"), dir.join("again")).unwrap(); // the same folder under a second name
        symlink(dir.join("b.png"), dir.join("sub/b-link.png")).unwrap(); // the same file twice
        symlink(dir.join("gone.png"), dir.join("dangling.png")).unwrap();
        let listing = list_images(&dir).unwrap();
        assert_eq!(listing.images, vec![dir.join("again/a.png"), dir.join("b.png")]);
        assert_eq!(listing.skipped, vec![dir.join("dangling.png")]);
    }

    /// A 100,000 × 100,000 PNG (its header says so; the file is 70 bytes) is refused from the
    /// header, before the decoder allocates.
    #[test]
    fn an_image_past_the_decoder_limits_is_refused_from_its_header() {
        let dir = temp_dir("huge");
        let path = dir.join("huge.png");
        image::GrayImage::from_pixel(1, 1, image::Luma([0])).save(&path).unwrap();
        let mut png = std::fs::read(&path).unwrap();
        // IHDR: length (4) + "IHDR" at 12..16, width 16..20, height 20..24, CRC after 13 data bytes.
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        std::fs::write(&path, &png).unwrap();
        let err = load_image(&path, 8, 1).unwrap_err().to_string();
        assert!(err.contains("huge.png: not a readable image") && err.contains("limit"), "{err}");
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
