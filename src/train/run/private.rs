//! The private files of a run: the run secret, weight checkpoints at group
//! boundaries, the salt a fine-tuning run started from, and where the dataset
//! lives. All under `private/` (mode 0700), each file mode 0600.

use std::path::{Path, PathBuf};

use zkpot_circuits::train::MlpParams;
use zkpot_circuits::Fp;

use super::{init_salt, io, RunFile};
use crate::data::DataError;
use crate::files::write_private;
use crate::hex::fp_from_hex;
use crate::Error;

/// Private state of a run.
pub(super) struct Private {
    pub(super) dir: PathBuf,
}

impl Private {
    pub(super) fn new(run: &Path) -> Result<Self, Error> {
        let dir = run.join("private");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&dir))?;
        }
        Ok(Self { dir })
    }

    pub(super) fn secret(&self) -> Result<[u8; 32], Error> {
        let path = self.dir.join("run.secret");
        match std::fs::read(&path) {
            Ok(b) => b.as_slice().try_into().map_err(|_| {
                DataError::Malformed {
                    path: path.clone(),
                    reason: "a run secret is 32 bytes".into(),
                }
                .into()
            }),
            Err(_) => {
                let bytes = crate::data::random_bytes32();
                write_private(&path, &bytes).map_err(io(&path))?;
                Ok(bytes)
            }
        }
    }

    /// The run secret, which must exist.
    pub(super) fn existing_secret(&self) -> Result<[u8; 32], Error> {
        let path = self.dir.join("run.secret");
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        bytes.as_slice().try_into().map_err(|_| {
            DataError::Malformed {
                path,
                reason: "a run secret is 32 bytes".into(),
            }
            .into()
        })
    }

    pub(super) fn checkpoint_path(&self, t: u64) -> PathBuf {
        self.dir.join(format!("weights-{t:08}.json"))
    }

    pub(super) fn read_checkpoint(&self, t: u64) -> Result<MlpParams, Error> {
        let path = self.checkpoint_path(t);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            DataError::Malformed {
                path,
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// The salt of `C_{W_0}`: public from the seed, or the private salt of
    /// the checkpoint a fine-tuning run started from.
    pub(super) fn init_salt(&self, run: &RunFile) -> Result<Fp, Error> {
        if run.checkpoint.is_none() {
            return Ok(init_salt(run.seed));
        }
        let path = self.dir.join("init.salt");
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        fp_from_hex(text.trim()).ok_or_else(|| {
            DataError::Malformed {
                path,
                reason: "not a field element".into(),
            }
            .into()
        })
    }

    pub(super) fn source_path(&self) -> PathBuf {
        self.dir.join("dataset-dir.txt")
    }
}
