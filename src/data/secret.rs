//! The dataset secret and the per-row salts derived from it.
//!
//! A prover keeps one 32-byte secret, not a salt per row. Row `i`'s salt is
//! `Blake2b-512(key = secret, personal = "zkpot.salt.v1", data = i as u64 LE)`
//! reduced into the field (`from_uniform_bytes`, statistically uniform), so salts
//! are independent and unpredictable without the secret, and the root hides the
//! rows however low their entropy.

use std::path::Path;

use ff::FromUniformBytes;
use zkpot_circuits::Fp;

use super::error::{io, DataError};
use crate::files::write_private;

/// The 32-byte secret behind a dataset's salts.
#[derive(Clone, PartialEq, Eq)]
pub struct DatasetSecret([u8; 32]);

impl std::fmt::Debug for DatasetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatasetSecret(..)")
    }
}

impl DatasetSecret {
    /// A fresh secret from the operating system's randomness.
    pub fn random() -> Self {
        Self(random_bytes32())
    }

    /// A secret from given bytes (tests and reproducible runs).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The salt of row `index`.
    pub fn salt(&self, index: u64) -> Fp {
        let hash = blake2b_simd::Params::new()
            .hash_length(64)
            .key(&self.0)
            .personal(b"zkpot.salt.v1\0\0\0")
            .hash(&index.to_le_bytes());
        let mut wide = [0u8; 64];
        wide.copy_from_slice(hash.as_bytes());
        Fp::from_uniform_bytes(&wide)
    }

    /// Writes the secret (32 raw bytes) with owner-only permissions.
    pub fn write(&self, path: &Path) -> Result<(), DataError> {
        write_private(path, &self.0).map_err(io(path))
    }

    /// Reads a secret file, refusing anything but exactly 32 bytes.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(io(path))?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DataError::Malformed {
                path: path.to_path_buf(),
                reason: format!(
                    "a dataset secret is 32 bytes, this file has {}",
                    bytes.len()
                ),
            })?;
        Ok(Self(arr))
    }
}

/// 32 bytes from the operating system's randomness.
pub fn random_bytes32() -> [u8; 32] {
    use rand_core::TryRng;
    let mut bytes = [0u8; 32];
    // The OS generator does not fail on supported platforms; if it ever does,
    // refuse to continue with a predictable secret.
    if rand::rngs::SysRng.try_fill_bytes(&mut bytes).is_err() {
        panic!("the operating system's random number generator failed");
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_distinct_and_keyed() {
        let a = DatasetSecret::from_bytes([1; 32]);
        let b = DatasetSecret::from_bytes([2; 32]);
        assert_ne!(a.salt(0), a.salt(1));
        assert_ne!(a.salt(0), b.salt(0));
        assert_eq!(a.salt(7), DatasetSecret::from_bytes([1; 32]).salt(7));
    }
}
