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

/// Reads a file someone else wrote, refusing what no honest writer leaves:
/// anything but a regular file (a FIFO would block, a device never end) and
/// more than `max` bytes (checked before reading, and the read is cut at
/// `max + 1` bytes in case the file grows), so memory stays bounded.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let too_large = |len: u64| {
        Error::new(
            ErrorKind::InvalidData,
            format!("{len} bytes or more; no valid file of this kind exceeds {max}"),
        )
    };
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > max {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)?
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Checks, before any work and without writing anything, that `path` can
/// take a command's output without losing anything: its directory exists;
/// an existing path must be a regular file that `replaceable` recognizes as
/// an earlier output of the same kind (a proof over a proof, a model over a
/// model), never a run, a secret, a directory or a device. The message names
/// the path.
pub fn prepare_output(
    path: &Path,
    kind: &str,
    replaceable: impl FnOnce(&Path) -> bool,
) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(format!(
                "{}: no directory {} to write it in (create it first)",
                path.display(),
                parent.display()
            ));
        }
    }
    match fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(meta) if meta.is_file() && replaceable(path) => Ok(()),
        Ok(_) => Err(format!(
            "{} exists and is not {kind}; it is left as it is (choose another output path)",
            path.display()
        )),
    }
}

/// Whether `path` starts with a proof envelope's magic bytes.
pub fn is_proof_file(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == crate::proof::MAGIC)
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
    let bytes = read_bounded(path, MAX_JSON_FILE).map_err(|e| match e.kind() {
        // What read_bounded refuses: another kind of file, or too large.
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => malformed(format!(
            "{e} (a description file is a regular file of at most {MAX_JSON_FILE} bytes)"
        )),
        _ => io(e),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8 text".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_reads_refuse_what_no_writer_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        fs::write(&small, [7u8; 10]).unwrap();
        assert_eq!(read_bounded(&small, 10).unwrap(), vec![7u8; 10]);
        let e = read_bounded(&small, 9).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let e = read_bounded(dir.path(), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // A FIFO would block a plain read forever.
        #[cfg(unix)]
        {
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                let e = read_bounded(&fifo, 1 << 20).unwrap_err();
                assert!(e.to_string().contains("not a regular file"), "{e}");
            }
            let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
    }

    #[test]
    fn outputs_replace_only_earlier_outputs_of_their_kind() {
        let dir = tempfile::tempdir().unwrap();
        let never = |_: &Path| false;
        // A missing directory is named, and not created.
        let nested = dir.path().join("a/b/out.zkpot");
        let e = prepare_output(&nested, "a proof file", is_proof_file).unwrap_err();
        assert!(e.contains("no directory"), "{e}");
        assert!(!dir.path().join("a").exists());
        // A proof may replace a proof; anything else stays.
        let proof = dir.path().join("p.zkpot");
        fs::write(&proof, crate::proof::MAGIC).unwrap();
        prepare_output(&proof, "a proof file", is_proof_file).unwrap();
        let run = dir.path().join("run.json");
        fs::write(&run, b"{}").unwrap();
        let e = prepare_output(&run, "a proof file", is_proof_file).unwrap_err();
        assert!(e.contains("is not a proof file"), "{e}");
        assert_eq!(fs::read(&run).unwrap(), b"{}");
        let e = prepare_output(dir.path(), "an .onnx file", never).unwrap_err();
        assert!(e.contains("exists"), "{e}");
    }
}
