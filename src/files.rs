//! File helpers: atomic writes and owner-only private files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary sibling of `path` in the same directory, for write-then-rename:
/// its name carries this process's id, a per-call counter and 64 random
/// bits, so concurrent writers of one file (threads, processes, or hosts
/// sharing a filesystem) do not pick the same temporary file, and the last
/// rename wins whole.
pub fn temp_path(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let r = crate::data::random_bytes32();
    let tag: String = r[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.{tag}.tmp", std::process::id()))
}

/// Creates `path` for writing with owner-only permissions (0600 on Unix).
pub fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Writes `bytes` to a new temporary sibling of `path` (never an existing
/// file: `create_new`), syncs it and renames it over `path`; the temporary
/// file is removed if any step fails.
fn write_renamed(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    for _ in 0..8 {
        let tmp = temp_path(path);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = match opts.open(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = f
            .write_all(bytes)
            .and_then(|()| f.sync_all())
            .and_then(|()| fs::rename(&tmp, path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        return written;
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("no free temporary name beside {}", path.display()),
    ))
}

/// Writes `bytes` to `path` atomically with owner-only permissions.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_renamed(path, bytes, true)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_renamed(path, bytes, false)
}

/// The largest JSON description file (run, evaluation, commitment) read.
pub const MAX_JSON_FILE: u64 = 64 << 20;

/// Reads a JSON file of format `format` and version `version`: refuses
/// unreadable files, invalid JSON, another format and another version (by
/// version, never misread), then deserializes it.
pub fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    format: &str,
    version: u32,
) -> Result<T, crate::data::DataError> {
    use crate::data::DataError;
    let malformed = |reason: String| DataError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = fs::metadata(path).map_err(io)?.len();
    if len > MAX_JSON_FILE {
        return Err(malformed(format!(
            "{len} bytes; a description file is at most {MAX_JSON_FILE}"
        )));
    }
    let text = fs::read_to_string(path).map_err(io)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed(format!("not valid JSON ({e})")))?;
    if value.get("format").and_then(|v| v.as_str()) != Some(format) {
        return Err(malformed(format!("not a {format} file")));
    }
    let found = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if found != u64::from(version) {
        return Err(DataError::Version {
            path: path.to_path_buf(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            expected: version,
        });
    }
    // Deserialized from the text, not the value: a key given twice is an
    // error, not the last one silently winning.
    serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))
}
