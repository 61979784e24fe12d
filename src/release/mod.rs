//! Verifiable releases: one folder that carries every claim about a trained
//! model, its proofs, and documents that say exactly what the proofs
//! establish.
//!
//! Layout of a release folder:
//!
//! - `README.md`: the model card, with Hugging Face model-card front matter
//!   (model-index results carrying the proven held-out accuracy and the
//!   dataset root) and plain words on what is proven and what is not;
//! - `attestation.intoto.json`: an in-toto Statement (v1) whose subject is
//!   the released weights file, or the weight commitment, and whose
//!   predicate carries the dataset root, recipe, split, commitments,
//!   accuracy and the sha256 of every other file;
//! - `dataset/commitment.json`: the dataset commitment trained on;
//! - `run/run.json`, `run/proofs/`: the training run's public files, and
//!   `run/model.json` when the weights are released;
//! - `eval/eval.json`, `eval/proofs/`: the held-out evaluation, if any;
//! - `report/training.json`, `report/loss.svg`, `report/accuracy.svg`: the
//!   prover's replay of training (not proven) and its plots;
//! - `signatures/` (optional): signatures over the attestation by external
//!   tools, which zkpot neither writes nor checks.
//!
//! [`verify_release`] checks every file's digest, verifies the run and the
//! evaluation (linked), checks released weights open the final commitment,
//! and regenerates the card, the plots and the attestation from the verified
//! facts, requiring the files to be byte for byte what they imply.
//!
//! - [`card`]: the model card and the attestation;
//! - [`plot`]: the report's plots;
//! - [`write`]: writing a release;
//! - [`verify`]: verifying one.

pub mod card;
mod error;
pub mod plot;
pub mod verify;
pub mod write;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

pub use error::ReleaseError;
pub use verify::{verify_release, ReleaseVerdict};
pub use write::{write_release, ReleaseOptions, ReleaseReport};

/// The attestation's file name.
pub const ATTESTATION: &str = "attestation.intoto.json";
/// The model card's file name.
pub const CARD: &str = "README.md";
/// The dataset commitment's path.
pub const COMMITMENT: &str = "dataset/commitment.json";
/// The training report's path.
pub const REPORT: &str = "report/training.json";
/// The loss plot's path.
pub const LOSS_PLOT: &str = "report/loss.svg";
/// The accuracy plot's path.
pub const ACCURACY_PLOT: &str = "report/accuracy.svg";
/// The released weights' path.
pub const WEIGHTS: &str = "run/model.json";
/// The folder for external signatures, which verification skips.
pub const SIGNATURES: &str = "signatures";

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::hex::bytes_to_hex(&Sha256::digest(bytes))
}

/// Lowercase hex sha256 of a file, read as a stream.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::hex::bytes_to_hex(&h.finalize()))
}
