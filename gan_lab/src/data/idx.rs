//! Reader for IDX files (the MNIST format, generalised to colour), gzip-compressed or plain.
//!
//! Layout: two zero bytes, element type 0x08 (u8), ndim, ndim big-endian u32 dimensions, then the
//! bytes in row-major order. Images are (N, H, W) grey or (N, H, W, C) colour; labels are (N).

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An n-dimensional u8 array read from an IDX file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file; `.gz` content (detected by its magic bytes) is decompressed first. The header
/// is checked before the data is read, and no more data is read than it announces, so a file that
/// claims an impossible or huge array (or a gzip bomb) is an error, not an allocation.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    IdxReader::open(path)?.read(None)
}

/// An IDX file whose header has been read and checked, so that its size is known before any data
/// is read: [`IdxReader::read`] then reads all of it, or only its first items.
pub struct IdxReader {
    path: PathBuf,
    dims: Vec<usize>,
    stream: Box<dyn Read>,
    failure: &'static str,
}

impl IdxReader {
    /// Opens `path` and reads its header. A plain (not gzip) file shorter than its header
    /// announces is refused here, before anyone sizes memory by that header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut reader = std::io::BufReader::new(file);
        let gzip = reader.fill_buf().map_err(|e| Error::io(&path, e))?.starts_with(&[0x1f, 0x8b]);
        let (mut stream, failure): (Box<dyn Read>, _) = if gzip {
            (Box::new(flate2::read::GzDecoder::new(reader)), "gzip data is corrupt or truncated")
        } else {
            (Box::new(reader), "read failed")
        };
        let (dims, n) = read_header(&mut stream).map_err(|e| file_error(&path, failure, e))?;
        let header_len = 4 + 4 * dims.len() as u64;
        if !gzip && file_len < header_len + n as u64 {
            let message = too_short(&dims, n, file_len.saturating_sub(header_len) as usize);
            return Err(Error::bad_file(&path, message));
        }
        Ok(IdxReader { path, dims, stream, failure })
    }

    /// The dimensions the header announces.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Reads the first `items` entries along the first dimension, or all of them with `None`; the
    /// rest of the file is never read. When all are read, one more byte is, to catch trailing data.
    pub fn read(mut self, items: Option<usize>) -> Result<IdxArray> {
        read_data(&mut self.stream, self.dims, items).map_err(|e| file_error(&self.path, self.failure, e))
    }
}

fn file_error(path: &Path, failure: &str, e: StreamError) -> Error {
    match e {
        StreamError::Io(e) => Error::bad_file(path, format!("{failure} ({e})")),
        StreamError::Format(m) => Error::bad_file(path, m),
    }
}

enum StreamError {
    Io(std::io::Error),
    Format(String),
}

impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        StreamError::Io(e)
    }
}

/// The header: magic, then the dimensions and the number of data bytes they announce.
fn read_header(mut r: impl Read) -> std::result::Result<(Vec<usize>, usize), StreamError> {
    let mut head = Vec::with_capacity(4 + 16);
    (&mut r).take(4).read_to_end(&mut head)?;
    check_magic(&head).map_err(StreamError::Format)?;
    let ndim = head[3] as usize;
    (&mut r).take(4 * ndim as u64).read_to_end(&mut head)?;
    header(&head).map_err(StreamError::Format)
}

/// The data after the header: the first `items` along dimension 0, or exactly all the header
/// announces (then one more byte is read to catch trailing data).
fn read_data(mut r: impl Read, mut dims: Vec<usize>, items: Option<usize>) -> std::result::Result<IdxArray, StreamError> {
    let item_len = dims[1..].iter().product::<usize>();
    let take = items.map_or(dims[0], |k| k.min(dims[0]));
    let all = take == dims[0];
    let n = take * item_len;
    // Grows with what arrives, never reserved from the header's claim.
    let mut data = Vec::new();
    (&mut r).take(n as u64 + all as u64).read_to_end(&mut data)?;
    if data.len() < n || (all && data.len() > n) {
        let more = if data.len() > n { " or more" } else { "" };
        let first = if all { String::new() } else { format!("the first {take} items of ") };
        return Err(StreamError::Format(format!("{first}{}{more}", too_short(&dims, n, data.len()))));
    }
    dims[0] = take;
    Ok(IdxArray { dims, data })
}

fn too_short(dims: &[usize], n: usize, available: usize) -> String {
    format!("dimensions {dims:?} need {n} bytes of data but the file has {available}")
}

/// Parses IDX bytes (already decompressed). The error says what is wrong, without the file name.
pub fn parse_idx(mut bytes: &[u8]) -> std::result::Result<IdxArray, String> {
    read_header(&mut bytes).and_then(|(dims, _)| read_data(bytes, dims, None)).map_err(|e| match e {
        StreamError::Io(e) => format!("read failed ({e})"),
        StreamError::Format(m) => m,
    })
}

/// The first four bytes: magic, element type, number of dimensions.
fn check_magic(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() < 4 {
        return Err(format!("too short for an IDX header: {} bytes", bytes.len()));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "not an IDX file: magic starts with {:#04x} {:#04x}, expected 0x00 0x00",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!("IDX element type {:#04x} is not supported (only 0x08 = unsigned byte)", bytes[2]));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > 4 {
        return Err(format!("IDX with {ndim} dimensions is not supported (1 to 4)"));
    }
    Ok(())
}

/// The dimensions and the data bytes they need. A zero dimension (an array with no data, which
/// would let a 16-byte file claim billions of images) or a product past `usize` is refused.
fn header(bytes: &[u8]) -> std::result::Result<(Vec<usize>, usize), String> {
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(format!("header says {ndim} dimensions but the file ends after {} bytes", bytes.len()));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    if let Some(i) = dims.iter().position(|&d| d == 0) {
        return Err(format!("dimension {i} of {dims:?} is 0: an IDX array must have data"));
    }
    match dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) {
        Some(n) => Ok((dims, n)),
        None => Err(format!("dimensions {dims:?} overflow")),
    }
}

/// Writes an IDX file, gzip-compressed when `path` ends in `.gz` (used by tests and tools).
pub fn write_idx(path: impl AsRef<Path>, dims: &[usize], data: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let mut bytes = vec![0u8, 0, 0x08, dims.len() as u8];
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    let out = if path.extension().is_some_and(|e| e == "gz") {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).map_err(|e| Error::io(path, e))?;
        enc.finish().map_err(|e| Error::io(path, e))?
    } else {
        bytes
    };
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder per file: `test_scratch_dir` empties the folder it names, and tests run in
    /// parallel.
    fn temp(name: &str) -> std::path::PathBuf {
        let dir = crate::test_scratch_dir(&format!("idx_{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn a_written_gzip_idx_file_reads_back_identically() {
        let p = temp("ok.gz");
        let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        write_idx(&p, &[2, 3, 4], &data).unwrap();
        let a = read_idx(&p).unwrap();
        assert_eq!(a.dims, vec![2, 3, 4]);
        assert_eq!(a.data, data);
    }

    #[test]
    fn plain_uncompressed_idx_is_read_too() {
        let p = temp("plain.idx");
        write_idx(&p, &[3], &[7, 8, 9]).unwrap();
        assert_eq!(read_idx(&p).unwrap().data, vec![7, 8, 9]);
    }

    #[test]
    fn a_truncated_gzip_file_names_the_file_and_the_problem() {
        let p = temp("trunc.gz");
        write_idx(&p, &[10, 28, 28], &vec![1u8; 7840]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_idx(&p).unwrap_err().to_string();
        assert!(err.contains("trunc.gz") && err.contains("corrupt or truncated"), "{err}");
    }

    #[test]
    fn a_wrong_magic_is_rejected() {
        let err = parse_idx(&[0x42, 0x4d, 8, 1, 0, 0, 0, 1, 5]).unwrap_err();
        assert_eq!(err, "not an IDX file: magic starts with 0x42 0x4d, expected 0x00 0x00");
        let err = parse_idx(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 5]).unwrap_err();
        assert!(err.contains("element type 0x0d"), "{err}");
    }

    #[test]
    fn dimensions_that_do_not_match_the_byte_count_are_rejected() {
        let err = parse_idx(&[0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4]).unwrap_err();
        assert_eq!(err, "dimensions [2, 3] need 6 bytes of data but the file has 4");
        let err = parse_idx(&[0, 0, 8, 3, 0, 0]).unwrap_err();
        assert!(err.contains("file ends after 6 bytes"), "{err}");
        assert!(parse_idx(&[0, 0]).unwrap_err().contains("too short"));
    }

    /// 16 bytes that claim 4 billion images of 0×0 pixels: refused before anything is allocated.
    #[test]
    fn a_header_with_a_zero_dimension_is_refused() {
        let bomb = [0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_idx(&bomb).unwrap_err(), "dimension 1 of [4294967295, 0, 0] is 0: an IDX array must have data");
        let p = temp("zero.idx");
        std::fs::write(&p, bomb).unwrap();
        assert!(read_idx(&p).unwrap_err().to_string().contains("is 0: an IDX array must have data"));
    }

    /// A gzip file whose header announces 4 bytes but which inflates to 100 MB is refused after
    /// reading 5 bytes of data; one that announces 4 billion images but holds a few reads only what
    /// is there.
    #[test]
    fn gzip_output_is_capped_by_what_the_header_announces() {
        use std::io::Write;
        let gz = |header: &[u8], zeros: usize| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(header).unwrap();
            e.write_all(&vec![0u8; zeros]).unwrap();
            e.finish().unwrap()
        };
        let p = temp("bomb.gz");
        std::fs::write(&p, gz(&[0, 0, 8, 1, 0, 0, 0, 4], 100 << 20)).unwrap();
        let err = read_idx(&p).unwrap_err().to_string();
        assert!(err.contains("need 4 bytes of data but the file has 5 or more"), "{err}");
        std::fs::write(&p, gz(&[0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28], 1000)).unwrap();
        let err = read_idx(&p).unwrap_err().to_string();
        assert!(err.contains("need 3367254359280 bytes of data but the file has 1000"), "{err}");
    }

    /// A limited read takes the first items and never reads past them: the file may end (or be
    /// corrupt) after them. A plain file shorter than its header says is refused when opened.
    #[test]
    fn a_limited_read_stops_after_its_items_and_a_short_plain_file_fails_at_open() {
        let data: Vec<u8> = (0..40).collect();
        for name in ["head.gz", "head.idx"] {
            let p = temp(name);
            write_idx(&p, &[10, 2, 2], &data).unwrap();
            let reader = IdxReader::open(&p).unwrap();
            assert_eq!(reader.dims(), [10, 2, 2]);
            let a = reader.read(Some(3)).unwrap();
            assert_eq!((a.dims.clone(), a.data.clone()), (vec![3, 2, 2], data[..12].to_vec()));
            assert_eq!(IdxReader::open(&p).unwrap().read(Some(99)).unwrap().dims, [10, 2, 2]);
        }
        // the header claims 1,000 images of 2×2; only 3 are there
        let claims = [[0u8, 0, 8, 3, 0, 0, 3, 0xe8, 0, 0, 0, 2, 0, 0, 0, 2].as_slice(), &data[..12]].concat();
        let p = temp("claims.idx");
        std::fs::write(&p, &claims).unwrap();
        let err = IdxReader::open(&p).err().unwrap().to_string();
        assert!(err.ends_with("claims.idx: dimensions [1000, 2, 2] need 4000 bytes of data but the file has 12"), "{err}");
        let p = temp("claims.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &claims).unwrap();
        std::fs::write(&p, e.finish().unwrap()).unwrap();
        assert_eq!(IdxReader::open(&p).unwrap().read(Some(2)).unwrap().data, data[..8]);
        let err = IdxReader::open(&p).unwrap().read(Some(5)).unwrap_err().to_string();
        assert!(err.contains("the first 5 items of dimensions [1000, 2, 2] need 20 bytes of data but the file has 12"), "{err}");
    }

    #[test]
    fn the_shipped_mnist_file_has_the_documented_shape() {
        let p = crate::data::datasets_dir().unwrap().join("mnist10k/mnist10k-images-idx3-ubyte.gz");
        let a = read_idx(p).unwrap();
        assert_eq!(a.dims, vec![10000, 28, 28]);
    }
}
