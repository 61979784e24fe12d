//! A disk cache of the IPA commitment parameters, one file per circuit size `k`.
//!
//! `Params::new(k)` is deterministic (no trusted setup) but slow: tens of seconds
//! at `k = 14` and minutes from `k = 16` on a small machine. The cache generates
//! each size once and reads it back afterwards. Files carry a header with their
//! length and a Blake2b checksum; a truncated or corrupted file is detected,
//! reported and regenerated, never trusted.
//!
//! Location: `--cache-dir`, else `$ZKPOT_CACHE_DIR`, else the user's cache
//! directory (`~/.cache/zkpot` on Linux).
//!
//! File layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `ZKPOTPRM` |
//! | 4 | format version (1) |
//! | 4 | `k` |
//! | 8 | payload length |
//! | 32 | Blake2b-256 of the payload |
//! | ... | payload: `Params::write` output |

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::poly::commitment::Params;
use thiserror::Error;

const MAGIC: &[u8; 8] = b"ZKPOTPRM";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 8 + 32;

/// The environment variable that overrides the cache directory.
pub const CACHE_ENV: &str = "ZKPOT_CACHE_DIR";

/// Errors of the parameter cache.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// No cache directory could be determined.
    #[error("no cache directory: set {CACHE_ENV} or pass --cache-dir")]
    NoCacheDir,
    /// Reading or writing the cache failed.
    #[error("parameter cache {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `k` is outside the supported range.
    #[error("circuit size k = {k} is outside the supported range 1..={max}")]
    UnsupportedK {
        /// The requested size.
        k: u32,
        /// The largest supported size.
        max: u32,
    },
}

/// Why a cache file was refused.
#[derive(Debug, PartialEq, Eq)]
enum Corrupt {
    Header,
    Version(u32),
    K(u32),
    Length { expected: u64, found: u64 },
    Checksum,
    Payload,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corrupt::Header => write!(f, "bad header"),
            Corrupt::Version(v) => write!(f, "format version {v}, expected {VERSION}"),
            Corrupt::K(k) => write!(f, "holds k = {k}"),
            Corrupt::Length { expected, found } => {
                write!(f, "truncated: {found} payload bytes, expected {expected}")
            }
            Corrupt::Checksum => write!(f, "checksum mismatch"),
            Corrupt::Payload => write!(f, "payload does not parse"),
        }
    }
}

/// Cached IPA parameters, on disk and in memory.
#[derive(Debug)]
pub struct ParamsCache {
    dir: PathBuf,
    loaded: Mutex<HashMap<u32, Arc<Params<EqAffine>>>>,
}

impl ParamsCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// The cache chosen by `dir` if given, else `$ZKPOT_CACHE_DIR`, else the
    /// user's cache directory.
    pub fn locate(dir: Option<&Path>) -> Result<Self, ParamsError> {
        if let Some(d) = dir {
            return Ok(Self::new(d));
        }
        if let Some(d) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self::new(PathBuf::from(d)));
        }
        dirs::cache_dir()
            .map(|d| Self::new(d.join("zkpot")))
            .ok_or(ParamsError::NoCacheDir)
    }

    /// The directory files live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds size `k`.
    pub fn path(&self, k: u32) -> PathBuf {
        self.dir.join(format!("params-k{k}.bin"))
    }

    /// Parameters for size `k`: from memory, else from disk, else generated (with
    /// a progress spinner) and written to disk.
    pub fn get(&self, k: u32) -> Result<Arc<Params<EqAffine>>, ParamsError> {
        const MAX: u32 = zkpot_circuits::circuits::MAX_K;
        if k == 0 || k > MAX {
            return Err(ParamsError::UnsupportedK { k, max: MAX });
        }
        if let Some(p) = self.loaded.lock().ok().and_then(|m| m.get(&k).cloned()) {
            return Ok(p);
        }
        let path = self.path(k);
        let params = match read_file(&path, k) {
            Ok(Some(p)) => p,
            Ok(None) => self.generate(k, &path)?,
            Err(reason) => {
                eprintln!(
                    "zkpot: parameter file {} refused ({reason}); regenerating",
                    path.display()
                );
                self.generate(k, &path)?
            }
        };
        let params = Arc::new(params);
        if let Ok(mut m) = self.loaded.lock() {
            m.insert(k, params.clone());
        }
        Ok(params)
    }

    fn generate(&self, k: u32, path: &Path) -> Result<Params<EqAffine>, ParamsError> {
        let bar = crate::progress::spinner(
            true,
            format!(
                "generating commitment parameters for k = {k} (once; cached in {})",
                self.dir.display()
            ),
        );
        let params = Params::<EqAffine>::new(k);
        bar.finish_and_clear();
        write_file(&self.dir, path, k, &params)?;
        Ok(params)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ParamsError + '_ {
    move |source| ParamsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a cache file: `Ok(None)` if absent, `Err` with the reason if refused.
fn read_file(path: &Path, k: u32) -> Result<Option<Params<EqAffine>>, Corrupt> {
    let mut bytes = Vec::new();
    match fs::File::open(path) {
        Ok(mut f) => {
            if f.read_to_end(&mut bytes).is_err() {
                return Err(Corrupt::Header);
            }
        }
        Err(_) => return Ok(None),
    }
    decode(&bytes, k).map(Some)
}

fn decode(bytes: &[u8], k: u32) -> Result<Params<EqAffine>, Corrupt> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(Corrupt::Header);
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = u32_at(8);
    if version != VERSION {
        return Err(Corrupt::Version(version));
    }
    let file_k = u32_at(12);
    if file_k != k {
        return Err(Corrupt::K(file_k));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[16..24]);
    let expected = u64::from_le_bytes(len);
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != expected {
        return Err(Corrupt::Length {
            expected,
            found: payload.len() as u64,
        });
    }
    if blake2b_simd::Params::new()
        .hash_length(32)
        .hash(payload)
        .as_bytes()
        != &bytes[24..56]
    {
        return Err(Corrupt::Checksum);
    }
    let params = Params::<EqAffine>::read(&mut &payload[..]).map_err(|_| Corrupt::Payload)?;
    if params.k() != k {
        return Err(Corrupt::K(params.k()));
    }
    Ok(params)
}

fn encode(k: u32, params: &Params<EqAffine>) -> Vec<u8> {
    let mut payload = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = params.write(&mut payload);
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&k.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(
        blake2b_simd::Params::new()
            .hash_length(32)
            .hash(&payload)
            .as_bytes(),
    );
    out.extend_from_slice(&payload);
    out
}

/// Writes atomically: a temporary file in the same directory, then a rename.
fn write_file(
    dir: &Path,
    path: &Path,
    k: u32,
    params: &Params<EqAffine>,
) -> Result<(), ParamsError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    // A temporary name of this writer's own: threads of one process (tests
    // each with their own cache, say) may generate the same size at once, and
    // each renames its complete file into place.
    static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let writer = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".params-k{k}.{}.{writer}.tmp", std::process::id()));
    let bytes = encode(k, params);
    let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(&bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_first_uses_of_one_size_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    // Separate caches share only the directory.
                    let cache = ParamsCache::new(dir.path());
                    assert_eq!(cache.get(5).unwrap().k(), 5);
                });
            }
        });
        let bytes = fs::read(ParamsCache::new(dir.path()).path(5)).unwrap();
        assert_eq!(decode(&bytes, 5).map(|q| q.k()), Ok(5));
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files left behind");
    }

    #[test]
    fn roundtrip_and_corruption_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ParamsCache::new(dir.path());
        let p = cache.get(4).unwrap();
        let path = cache.path(4);
        let bytes = fs::read(&path).unwrap();
        assert_eq!(decode(&bytes, 4).map(|q| q.k()), Ok(4));

        // Truncated.
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1], 4),
            Err(Corrupt::Length { .. })
        ));
        // One flipped payload byte.
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(decode(&flipped, 4).err(), Some(Corrupt::Checksum));
        // Another version, another k, garbage.
        let mut v = bytes.clone();
        v[8] = 9;
        assert_eq!(decode(&v, 4).err(), Some(Corrupt::Version(9)));
        assert_eq!(decode(&bytes, 5).err(), Some(Corrupt::K(4)));
        assert_eq!(decode(b"nonsense", 4).err(), Some(Corrupt::Header));

        // A corrupt file on disk is regenerated by a fresh cache.
        fs::write(&path, &flipped).unwrap();
        let again = ParamsCache::new(dir.path()).get(4).unwrap();
        assert_eq!(again.get_g(), p.get_g());
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn unsupported_sizes_are_errors() {
        let cache = ParamsCache::new("/nonexistent");
        assert!(matches!(
            cache.get(0),
            Err(ParamsError::UnsupportedK { .. })
        ));
        assert!(matches!(
            cache.get(40),
            Err(ParamsError::UnsupportedK { .. })
        ));
    }
}
