//! Files that are always complete: every write goes to a temporary name in the same folder, is
//! synced and renamed into place; parquet and JSON on top of that, with errors naming the file.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Syncs a folder after a rename into it, so the new name survives a power cut (as SQLite and
/// git do). Best effort: some filesystems cannot sync a folder, and the rename itself succeeded.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename, folder fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if written.is_err() {
        // a full disk leaves no partial temporary behind
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir);
    Ok(())
}

/// A DataFrame as parquet bytes; `what` names it in errors.
pub fn parquet_bytes(mut df: polars::prelude::DataFrame, what: &str) -> Result<Vec<u8>> {
    use polars_io::parquet::write::ParquetWriter;
    let mut buf = std::io::Cursor::new(Vec::new());
    ParquetWriter::new(&mut buf).finish(&mut df).map_err(|e| Error::table(what, e))?;
    Ok(buf.into_inner())
}

/// Writes a DataFrame as parquet, atomically.
pub fn write_parquet(path: &Path, df: polars::prelude::DataFrame) -> Result<()> {
    write_atomic(path, &parquet_bytes(df, &path.display().to_string())?)
}

/// Reads a parquet file; errors name the file and say it is not a readable `what`.
pub fn read_parquet(path: &Path, what: &str) -> Result<polars::prelude::DataFrame> {
    use polars_io::{parquet::read::ParquetReader, SerReader};
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    ParquetReader::new(file).finish().map_err(|e| Error::bad_file(path, format!("not a readable {what} ({e})")))
}

/// Writes pretty JSON atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Json { path: path.into(), message: e.to_string() })?;
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file, naming it in any error.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Json { path: path.into(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_no_temporary_files() {
        let dir = crate::test_scratch_dir("atomic");
        std::fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir.join("a.txt"), b"one").unwrap();
        write_atomic(&dir.join("a.txt"), b"two").unwrap();
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }
}
