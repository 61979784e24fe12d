//! The public run file, `run.json`, and the checks a verifier runs on it
//! before it reads a proof: every number inside the envelope, the dataset
//! commitment consistent with its public root, the chain and proof list as
//! long as the step counts imply, and proof files at their canonical names.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkpot_circuits::envelope::bound;
use zkpot_circuits::train::circuit::MAX_STEPS_PER_PROOF;
use zkpot_circuits::train::TrainSpec;

use super::super::sampling::{Sampling, Split};
use super::super::statement::{bytes32, check_fit, StepStatement, MAX_RUN_STEPS};
use crate::data::Commitment;
use crate::files::read_versioned;
use crate::hex::fp_from_hex;
use crate::proof::ProofError;
use crate::Error;

/// The format name of run files.
pub const RUN_FORMAT: &str = "zkpot-training-run";
/// The run file version this build writes and reads.
pub const RUN_VERSION: u32 = 3;

/// The public description of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFile {
    /// Always [`RUN_FORMAT`].
    pub format: String,
    /// Always [`RUN_VERSION`].
    pub version: u32,
    /// The dataset trained on: its public commitment.
    pub dataset: Commitment,
    /// The training spec.
    pub spec: TrainSpec,
    /// How batches are sampled.
    pub sampling: Sampling,
    /// Rows held out of training: the first `holdout` rows of the split's
    /// permutation of the dataset ([`Split`](super::super::sampling::Split)),
    /// a function of the public root and the beacon only.
    pub holdout: u64,
    /// The beacon (hex).
    pub beacon: String,
    /// Whether the beacon was derived from the commitments (grindable) rather
    /// than given.
    pub beacon_derived: bool,
    /// The public initialization seed.
    pub seed: u64,
    /// For fine-tuning: `C_{W_0}` is this commitment, the final model of an
    /// earlier run (its weights stay private), instead of the seed's weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Total SGD steps.
    pub steps: u64,
    /// Steps per proof.
    pub steps_per_proof: u64,
    /// Weight commitments at every proof boundary, `C_{W_0}` first, `C_{W_T}`
    /// last.
    pub chain: Vec<String>,
    /// Proof files, relative to the run directory, in step order.
    pub proofs: Vec<String>,
}

/// The file name of the proof of group `g` of a run with `steps` steps,
/// `steps_per_proof` a proof.
pub fn proof_name(g: u64, steps: u64, steps_per_proof: u64) -> String {
    let first = g * steps_per_proof;
    let last = (first + steps_per_proof).min(steps) - 1;
    format!("proofs/steps-{first:08}-{last:08}.zkpot")
}

fn statement_error(reason: impl Into<String>) -> Error {
    ProofError::Statement(reason.into()).into()
}

impl RunFile {
    /// Reads a run file, refusing other formats and versions.
    pub fn read(path: &Path) -> Result<Self, Error> {
        Ok(read_versioned(path, RUN_FORMAT, RUN_VERSION)?)
    }

    /// Checks everything the prover wrote before any proof is read: the spec
    /// and the dataset inside the envelope, the dataset's public root
    /// recomputed from its contents, the dataset fitting the spec (and a
    /// batch of rows when shuffling), step counts bounded, a chain of
    /// `groups + 1` field elements, the beacon's length, and each proof at
    /// its canonical file name.
    pub fn check(&self) -> Result<(), Error> {
        self.spec.validate()?;
        self.dataset.check()?;
        let dataset = self.dataset.dataset_ref()?;
        let min_rows = match self.sampling {
            Sampling::Shuffle => self.spec.batch as u64,
            Sampling::Replacement => 1,
        };
        // The held-out rows first, by name: a holdout that leaves too few
        // training rows is the holdout's error, not the dataset's.
        bound(
            || "held-out rows".into(),
            self.holdout,
            0,
            dataset.n_rows.saturating_sub(min_rows),
        )?;
        dataset.check(min_rows.saturating_add(self.holdout))?;
        check_fit(&self.spec, &dataset)?;
        bound(|| "steps".into(), self.steps, 1, MAX_RUN_STEPS)?;
        bound(
            || "steps per proof".into(),
            self.steps_per_proof,
            1,
            MAX_STEPS_PER_PROOF,
        )?;
        let groups = self.groups();
        if self.chain.len() != groups + 1 || self.proofs.len() != groups {
            return Err(statement_error(format!(
                "{} steps of {} a proof make {groups} proofs and {} commitments; the run lists \
                 {} proofs and {} commitments",
                self.steps,
                self.steps_per_proof,
                groups + 1,
                self.proofs.len(),
                self.chain.len()
            )));
        }
        if let Some(i) = self.chain.iter().position(|c| fp_from_hex(c).is_none()) {
            return Err(statement_error(format!(
                "commitment {i} of the chain is not a field element"
            )));
        }
        bytes32(&self.beacon).ok_or_else(|| statement_error("the beacon is not 32 hex bytes"))?;
        for (g, p) in self.proofs.iter().enumerate() {
            let expected = proof_name(g as u64, self.steps, self.steps_per_proof);
            if *p != expected {
                return Err(statement_error(format!(
                    "proof {g} is listed as {p:?}; its file is {expected:?}"
                )));
            }
        }
        Ok(())
    }

    /// The statement of proof group `g`.
    pub fn statement(&self, g: usize) -> Result<StepStatement, Error> {
        let first = (g as u64).saturating_mul(self.steps_per_proof);
        let (Some(c_in), Some(c_out)) = (self.chain.get(g), self.chain.get(g + 1)) else {
            return Err(statement_error(format!(
                "the commitment chain has no link {g}"
            )));
        };
        if first >= self.steps {
            return Err(statement_error(format!("the run has no proof group {g}")));
        }
        Ok(StepStatement {
            spec: self.spec.clone(),
            dataset: self.dataset.dataset_ref()?,
            sampling: self.sampling,
            holdout: self.holdout,
            beacon: self.beacon.clone(),
            first_step: first,
            steps: self.steps_per_proof.min(self.steps - first),
            c_in: c_in.clone(),
            c_out: c_out.clone(),
        })
    }

    /// The split of the dataset's rows this run trained on the rest of.
    pub fn split(&self) -> Result<Split, Error> {
        use ff::PrimeField;
        let beacon = bytes32(&self.beacon)
            .ok_or_else(|| statement_error("the beacon is not 32 hex bytes"))?;
        Ok(Split::new(
            self.dataset.root()?.to_repr(),
            beacon,
            self.dataset.n_rows,
            self.holdout,
        )?)
    }

    /// Number of proof groups.
    pub fn groups(&self) -> usize {
        self.steps.div_ceil(self.steps_per_proof.max(1)) as usize
    }
}
