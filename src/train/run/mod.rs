//! Training runs: train natively, prove every group of `s` steps, write a run
//! directory, resume interrupted runs, prove step ranges in separate processes,
//! and verify a whole run.
//!
//! Layout of a run directory:
//!
//! - `run.json` (public, [`RunFile`]): the dataset commitment, spec, sampling,
//!   beacon, initialization seed, step counts and the chain of weight
//!   commitments `C_{W_0}, C_{W_s}, ..., C_{W_T}`;
//! - `proofs/steps-<first>-<last>.zkpot` (public): one envelope per group;
//! - `model.json` (public, only with `--release-weights`): the final weights and
//!   the salt that opens `C_{W_T}`;
//! - `private/` (mode 0700): the run secret (salts of `C_{W_t}`), weight
//!   checkpoints at group boundaries, and where the dataset lives.
//!
//! Files are written through temporary files and renames, so an interrupted run
//! loses nothing already proven and resumes where it stopped.
//!
//! - [`export`]: the trained model as ONNX, and the check that a model file
//!   is it;
//! - [`file`]: the run file and the checks a verifier runs on it first;
//! - [`private`]: the private files;
//! - [`prove`]: training and proving;
//! - [`report`]: the training report, replayed from the private files;
//! - `start`: native training and the run file, or the check that an
//!   existing run directory holds the same run;
//! - [`tasks`]: self-contained group tasks for proving on other machines;
//! - [`verify`]: verifying runs, fine-tuning links and linked inferences.

pub mod export;
pub mod file;
mod private;
pub mod prove;
pub mod report;
mod start;
pub mod tasks;
pub mod verify;

use ff::FromUniformBytes;
use zkpot_circuits::train::TrainSpec;
use zkpot_circuits::Fp;

pub use export::{check_is_run_model, export_onnx, normalize_raw, predict, Exported};
pub use file::{proof_name, RunFile, RUN_FORMAT, RUN_VERSION};
pub use prove::{
    holdout_rows, parse_loss, parse_model, parse_sampling, prove_range, prove_range_observed,
    run_dataset, train, trained_model, TrainOptions, TrainReport,
};
pub use tasks::{group_task, install_proofs, pending_groups, GroupTask, TaskProver};
pub use verify::{verify_linked, verify_parent, verify_run, verify_run_against, RunVerdict};
pub use zkpot_circuits::train::circuit::TRAIN_MAX_K;

use crate::data::DataError;
use crate::Error;

/// The public salt of `C_{W_0}` for seed-initialized runs (anyone can recompute
/// `W_0`, so hiding it is moot; the salt only has to be reproducible).
pub fn init_salt(seed: u64) -> Fp {
    kdf(b"zkpot.init.salt\0", &[0; 32], seed)
}

fn kdf(personal: &[u8; 16], key: &[u8; 32], n: u64) -> Fp {
    let h = blake2b_simd::Params::new()
        .hash_length(64)
        .key(key)
        .personal(personal)
        .hash(&n.to_le_bytes());
    let mut wide = [0u8; 64];
    wide.copy_from_slice(h.as_bytes());
    Fp::from_uniform_bytes(&wide)
}

/// The salt of `C_{W_t}`: `init` for `t = 0`, from the run secret otherwise.
fn salt_at(secret: &[u8; 32], init: Fp, t: u64) -> Fp {
    if t == 0 {
        init
    } else {
        kdf(b"zkpot.wsalt.v1\0\0", secret, t)
    }
}

/// The beacon used when none is given: Blake2b-256 (personal
/// `zkpot.beacon.v2`) of the dataset's public root and `C_{W_0}` (their
/// canonical 32-byte encodings) and the spec's canonical JSON. A prover who
/// can vary its secrets, its seed or its learning rate can grind it.
pub fn derived_beacon(root: Fp, c0: Fp, spec: &TrainSpec) -> Result<[u8; 32], Error> {
    use ff::PrimeField;
    let spec_bytes =
        serde_json::to_vec(spec).map_err(|e| Error::Options(format!("spec serialization: {e}")))?;
    let mut st = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"zkpot.beacon.v2\0")
        .to_state();
    st.update(root.to_repr().as_ref());
    st.update(c0.to_repr().as_ref());
    st.update(&spec_bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(st.finalize().as_bytes());
    Ok(out)
}

fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
        .into()
    }
}
