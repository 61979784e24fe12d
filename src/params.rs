//! A disk cache of the IPA commitment parameters, one file per circuit size `k`.
//!
//! `Params::new(k)` is deterministic (no trusted setup) but slow: tens of seconds
//! at `k = 14` and minutes from `k = 16` on a small machine. The cache generates
//! each size once and reads it back afterwards. Files carry a header with their
//! length and a Blake2b checksum; a truncated or corrupted file is detected,
//! reported and regenerated, never trusted.
//!
//! A checksum catches corruption, not tampering, and tampered parameters
//! (generators with known discrete-log relations) would let a prover forge
//! proofs this verifier accepts. So every size up to `k = 16` is also compared
//! with the digest of `Params::new(k)` pinned below, and a file that differs is
//! refused and regenerated. Larger sizes have no pinned digest; with
//! [`ParamsCache::regenerating`] (`--verify-params`) the cache generates every
//! size afresh in memory and replaces a cached file that differs.
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
    /// Freshly generated parameters differ from their pinned digest (the
    /// proof system's parameter generation changed).
    #[error("generated parameters for k = {k} differ from their pinned digest")]
    NotPinned {
        /// The size.
        k: u32,
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
    Pinned,
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
            Corrupt::Pinned => write!(f, "not the pinned parameters of this size"),
            Corrupt::Payload => write!(f, "payload does not parse"),
        }
    }
}

/// Blake2b-256 of `Params::new(k)`'s serialization (the cache file's payload)
/// for `k = 1..=16`.
const PINNED: [&str; 16] = [
    "62290256fcaa8cfe0c2869d61ec803096ec86e546e123f480ee24f6a606c2cf3",
    "6c93cbe647cb919807794d2edabd4456991cacbabe2a4e487dc08b8cfe9b6a8e",
    "4a946b9cca6559df285a4599178171986314f443e7cb401250ea88351568ce23",
    "e578a050edb789194aa31b2960d0a5a29b421e3141a9b4afe1eb6aa3b9a85e5f",
    "1a8448e63afa4030a472d31cc01d87a34b7d6a35d0b0629a660bbbf868559a24",
    "512676d8451d8d320d9c8f94b5a28a9a8758ddb1f6b6848c40b6290b2dc081f5",
    "0933a610f4969ef1f4ecb63454dc8f7e91dc7e181e0c86f1814a82f767683f5a",
    "4e2600d2146e0356001d39e1cf3f0048c75a428251afd0c03fbc6d5e3b90c2a9",
    "e8e5479981383bf74da627a6a3fa6f77463a36d9184372c1023f1cde66f80750",
    "7cb87405f41de2a0f0b640d702482629d77a15c469d79d864407c0494d4e75ed",
    "773ee1d3dcc65a13e97e4d88119d1d20fb12a8db4443361f370c75bdc2c91382",
    "8d715ccc1bbb447a03a53ef53866f060ce574c0d76e00ed7aea35f8be6fc0af5",
    "c2ecc4e0390ee1c5ed97822aa97119721bd01a3008a127113fa84de347e994c6",
    "7e77bf05488d7e8514ef5dcbe9326091994853a7bbb1e39272a0b8fe53c6d40c",
    "1eef393892a47e431d6385d684efe3fc0011382011ca878b596da2ad3b89e400",
    "96148e6086e2a9d113583a62a6bbc1e1faae9f9ab5c3fa6ec545601ea5fcd802",
];

/// The pinned payload digest of size `k`, if there is one.
fn pinned(k: u32) -> Option<[u8; 32]> {
    let hex = PINNED.get((k as usize).checked_sub(1)?)?;
    crate::hex::bytes_from_hex(hex)?.try_into().ok()
}

/// Blake2b-256 of a parameter payload.
fn payload_digest(payload: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        blake2b_simd::Params::new()
            .hash_length(32)
            .hash(payload)
            .as_bytes(),
    );
    out
}

/// Cached IPA parameters, on disk and in memory.
#[derive(Debug)]
pub struct ParamsCache {
    dir: PathBuf,
    loaded: Mutex<HashMap<u32, Arc<Params<EqAffine>>>>,
    regenerate: bool,
}

impl ParamsCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            loaded: Mutex::new(HashMap::new()),
            regenerate: false,
        }
    }

    /// With `on`, generates every size afresh in memory instead of trusting
    /// the file (for sizes without a pinned digest, the only check against
    /// tampering); a cached file that differs is replaced.
    pub fn regenerating(mut self, on: bool) -> Self {
        self.regenerate = on;
        self
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
        let cached = if self.regenerate {
            let fresh = self.generate_in_memory(k)?;
            if read_file(&path, k).ok().flatten().map(|p| encode(k, &p)) != Some(encode(k, &fresh))
            {
                write_file(&self.dir, &path, k, &fresh)?;
            }
            Ok(Some(fresh))
        } else {
            read_file(&path, k)
        };
        let params = match cached {
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
        let params = self.generate_in_memory(k)?;
        write_file(&self.dir, path, k, &params)?;
        Ok(params)
    }

    /// Generates size `k`, checked against its pinned digest if it has one.
    fn generate_in_memory(&self, k: u32) -> Result<Params<EqAffine>, ParamsError> {
        let bar = crate::progress::spinner(
            true,
            format!(
                "generating commitment parameters for k = {k} (once; cached in {})",
                self.dir.display()
            ),
        );
        let params = Params::<EqAffine>::new(k);
        bar.finish_and_clear();
        let mut payload = Vec::new();
        let _ = params.write(&mut payload);
        if pinned(k).is_some_and(|d| d != payload_digest(&payload)) {
            return Err(ParamsError::NotPinned { k });
        }
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
    let digest = payload_digest(payload);
    if digest[..] != bytes[24..56] {
        return Err(Corrupt::Checksum);
    }
    if pinned(k).is_some_and(|d| d != digest) {
        return Err(Corrupt::Pinned);
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

    /// A file altered with its checksum recomputed (tampering, not
    /// corruption) is refused by the pinned digest and regenerated.
    #[test]
    fn tampered_parameters_are_refused_by_their_pinned_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ParamsCache::new(dir.path());
        let honest = cache.get(4).unwrap();
        let path = cache.path(4);
        let bytes = fs::read(&path).unwrap();
        let mut forged = bytes.clone();
        let last = forged.len() - 40;
        forged[last] ^= 1;
        let digest = payload_digest(&forged[HEADER..]);
        forged[24..56].copy_from_slice(&digest);
        assert_eq!(decode(&forged, 4).err(), Some(Corrupt::Pinned));
        fs::write(&path, &forged).unwrap();
        let again = ParamsCache::new(dir.path()).get(4).unwrap();
        assert_eq!(again.get_g(), honest.get_g());
        assert_eq!(fs::read(&path).unwrap(), bytes);
        // Regenerating replaces a cached file that differs, whatever it is.
        fs::write(&path, &forged).unwrap();
        let fresh = ParamsCache::new(dir.path())
            .regenerating(true)
            .get(4)
            .unwrap();
        assert_eq!(fresh.get_g(), honest.get_g());
        assert_eq!(fs::read(&path).unwrap(), bytes);
        // Small sizes generate to their pinned digests.
        for k in 1..=8 {
            assert!(cache.generate_in_memory(k).is_ok(), "k = {k}");
        }
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
