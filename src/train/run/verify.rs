//! Verifying runs: the run file's checks, the commitment chain from `C_{W_0}`
//! to `C_{W_T}`, every step proof (batched), and optionally the dataset
//! against an independently obtained commitment; the link of a fine-tuning
//! run to its parent, and of an inference proof to a run's trained model.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::train::{init_params, weights_commitment_native, MlpParams, TrainSpec};

use super::super::sampling::Sampling;
use super::super::statement::{bytes32, verify_steps};
use super::file::RunFile;
use super::{derived_beacon, init_salt};
use crate::data::Commitment;
use crate::hex::fp_from_hex;
use crate::params::ParamsCache;
use crate::proof::{Envelope, ProofError};
use crate::Error;

/// Verifies that `parent` is a valid run whose trained model is the
/// checkpoint the fine-tuning run `child` started from (both runs verified;
/// with `dataset`, the child against it as in [`verify_run_against`]).
pub fn verify_parent(
    cache: &ParamsCache,
    child: &Path,
    parent: &Path,
    dataset: Option<&Commitment>,
) -> Result<(RunVerdict, RunVerdict), Error> {
    let c = verify_run_against(cache, child, dataset)?;
    let p = verify_run(cache, parent)?;
    if !c.from_checkpoint || c.initial_commitment != p.final_commitment {
        return Err(ProofError::Mismatch(format!(
            "{} did not start from the model {} trained",
            child.display(),
            parent.display()
        ))
        .into());
    }
    if c.spec.widths != p.spec.widths
        || c.spec.conv != p.spec.conv
        || c.spec.formats != p.spec.formats
    {
        return Err(ProofError::Mismatch(
            "the runs train different architectures or formats".into(),
        )
        .into());
    }
    Ok((c, p))
}

/// What verifying a run established.
#[derive(Clone, Debug, Serialize)]
pub struct RunVerdict {
    /// The dataset's public root trained on (it commits to the row count,
    /// depth and schema below).
    pub dataset_root: String,
    /// Rows in the dataset.
    pub n_rows: u64,
    /// The dataset tree's depth.
    pub depth: u32,
    /// The fixed-point format of the dataset's features.
    pub data_format: String,
    /// Whether the dataset was checked against a commitment the verifier
    /// obtained independently (`--dataset`), rather than only against the
    /// copy in the run file.
    pub dataset_checked: bool,
    /// Steps proven.
    pub steps: u64,
    /// Proofs checked.
    pub proofs: usize,
    /// The spec.
    pub spec: TrainSpec,
    /// The sampling mode.
    pub sampling: Sampling,
    /// Rows held out of training (a function of the root and the beacon).
    pub holdout: u64,
    /// The beacon, and whether it was derived (grindable).
    pub beacon: String,
    /// True when the beacon was derived from the commitments.
    pub beacon_derived: bool,
    /// `C_{W_0}`.
    pub initial_commitment: String,
    /// True when `C_{W_0}` is a checkpoint (fine-tuning) rather than the
    /// seed's weights.
    pub from_checkpoint: bool,
    /// `C_{W_T}`: the trained model's commitment.
    pub final_commitment: String,
    /// Seconds spent verifying.
    pub verify_s: f64,
}

/// Verifies a whole run: the run file inside the envelope (see
/// [`RunFile::check`]), `C_{W_0}` from the seed, a derived beacon's
/// derivation, every proof present, in order, linking the commitment chain,
/// with indices from the sampling function, all proofs batch-verified.
///
/// The dataset is the run file's own copy of its commitment, whose public
/// root is recomputed from its contents; use [`verify_run_against`] to also
/// check it is the commitment the verifier obtained independently.
pub fn verify_run(cache: &ParamsCache, run_dir: &Path) -> Result<RunVerdict, Error> {
    verify_run_against(cache, run_dir, None)
}

/// [`verify_run`], and with `dataset`, that the run trained on exactly that
/// commitment (the same public root, and so the same tree, row count, depth
/// and schema), checked before any proof is read.
pub fn verify_run_against(
    cache: &ParamsCache,
    run_dir: &Path,
    dataset: Option<&Commitment>,
) -> Result<RunVerdict, Error> {
    let start = Instant::now();
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    if let Some(published) = dataset {
        published.check()?;
        if *published != run.dataset {
            return Err(ProofError::Mismatch(format!(
                "the run trained on dataset {} ({} rows, depth {}), not the given commitment {} \
                 ({} rows, depth {})",
                run.dataset.root,
                run.dataset.n_rows,
                run.dataset.depth,
                published.root,
                published.n_rows,
                published.depth
            ))
            .into());
        }
    }
    let groups = run.groups();
    let seed_c0 = weights_commitment_native(
        init_salt(run.seed),
        &init_params(&run.spec, run.seed).flatten(),
        run.spec.formats.weight.bits(),
    );
    match &run.checkpoint {
        // Fine-tuning: C_W0 is the stated checkpoint (link it to the run that
        // produced it with `verify_parent`), never the seed's weights
        // relabeled.
        Some(c) => {
            if fp_from_hex(c).is_none() || run.chain[0] != *c {
                return Err(ProofError::Mismatch(
                    "C_W0 is not the stated checkpoint commitment".into(),
                )
                .into());
            }
            if fp_from_hex(c) == Some(seed_c0) {
                return Err(ProofError::Mismatch(
                    "C_W0 is the seed's initial weights, not a checkpoint of another run".into(),
                )
                .into());
            }
        }
        None => {
            if fp_from_hex(&run.chain[0]) != Some(seed_c0) {
                return Err(ProofError::Mismatch(
                    "C_W0 is not the commitment of the seed's initial weights".into(),
                )
                .into());
            }
        }
    }
    // Whether the beacon is the derivation is recomputed, never read: a
    // derived (grindable) beacon marked as given would hide that it is.
    let c0 = fp_from_hex(&run.chain[0]).ok_or(Error::Internal("checked chain"))?;
    let is_derived =
        bytes32(&run.beacon) == Some(derived_beacon(run.dataset.root()?, c0, &run.spec)?);
    if run.beacon_derived != is_derived {
        return Err(ProofError::Mismatch(if run.beacon_derived {
            "the beacon is marked derived but is not the derivation".into()
        } else {
            "the beacon is marked as given but is the one derived from the commitments \
             (grindable)"
                .into()
        })
        .into());
    }
    let mut envelopes = Vec::with_capacity(groups);
    for g in 0..groups {
        let path = run_dir.join(&run.proofs[g]);
        let e = crate::proof::read_envelope_file(&path, &run.proofs[g])?;
        let expected = run.statement(g)?;
        if e.statement != expected.to_bytes()? {
            return Err(ProofError::Mismatch(format!(
                "{} does not prove steps {}..{} linking {} to {}",
                run.proofs[g],
                expected.first_step,
                expected.first_step + expected.steps,
                expected.c_in,
                expected.c_out
            ))
            .into());
        }
        envelopes.push(e);
    }
    verify_steps(cache, &envelopes)?;
    Ok(RunVerdict {
        dataset_root: run.dataset.root.clone(),
        n_rows: run.dataset.n_rows,
        depth: run.dataset.depth,
        data_format: run.dataset.schema.format.to_string(),
        dataset_checked: dataset.is_some(),
        steps: run.steps,
        proofs: groups,
        spec: run.spec.clone(),
        sampling: run.sampling,
        holdout: run.holdout,
        beacon: run.beacon.clone(),
        beacon_derived: run.beacon_derived,
        initial_commitment: run.chain[0].clone(),
        from_checkpoint: run.checkpoint.is_some(),
        final_commitment: run.chain.last().cloned().unwrap_or_default(),
        verify_s: start.elapsed().as_secs_f64(),
    })
}

/// Verifies a run (with `dataset`, against it as in [`verify_run_against`])
/// and an inference proof, and that the inference used the run's trained
/// model: the same architecture and formats, and `C_W` equal to the run's
/// final commitment.
pub fn verify_linked(
    cache: &ParamsCache,
    run_dir: &Path,
    inference: &Envelope,
    dataset: Option<&Commitment>,
) -> Result<(RunVerdict, crate::infer::InferenceStatement), Error> {
    let verdict = verify_run_against(cache, run_dir, dataset)?;
    let statement = crate::infer::verify_inferences(cache, std::slice::from_ref(inference))?
        .pop()
        .ok_or(Error::Internal("no statement"))?;
    let (expected, _) = crate::model::from_trained(&verdict.spec, &MlpParams { layers: vec![] });
    if statement.model != expected {
        return Err(ProofError::Mismatch(
            "the inference used another architecture or formats than the run trained".into(),
        )
        .into());
    }
    if statement.weights_commitment != verdict.final_commitment {
        return Err(ProofError::Mismatch(
            "the inference used other weights than the run's final model".into(),
        )
        .into());
    }
    Ok((verdict, statement))
}
