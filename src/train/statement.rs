//! The public statement of a training-step proof, the public inputs it
//! implies, and verification of step envelopes (batched).
//!
//! A verifier never trusts the public inputs in an envelope: it recomputes them
//! from the statement (the batch indices from the sampling function, the
//! context digest from the statement's bytes) and refuses any difference.

use std::collections::BTreeMap;

use ff::FromUniformBytes;
use serde::{Deserialize, Serialize};
use zkpot_circuits::envelope::{bound, EnvelopeError};
use zkpot_circuits::train::circuit::MAX_STEPS_PER_PROOF;
use zkpot_circuits::train::{TrainSpec, TrainStepCircuit};
use zkpot_circuits::Fp;

use super::sampling::{Sampler, Sampling};
use crate::data::DatasetRef;
use crate::hex::{bytes_from_hex, fp_from_hex, fp_to_hex};
use crate::params::ParamsCache;
use crate::proof::{verify_by_circuit, Envelope, ProofError, StatementKind};
use crate::Error;

/// The most SGD steps a run may have.
pub const MAX_RUN_STEPS: u64 = 1 << 40;

/// The public statement of one step proof: steps `first_step ..
/// first_step + steps` of `spec` on `dataset`, from `C_in` to `C_out`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepStatement {
    /// The training spec.
    pub spec: TrainSpec,
    /// The dataset: its public root and what the root commits to.
    pub dataset: DatasetRef,
    /// How batches are sampled.
    pub sampling: Sampling,
    /// Rows held out of training ([`Split`](super::sampling::Split)): the
    /// first `holdout` rows of the split's permutation, never sampled.
    pub holdout: u64,
    /// The beacon (hex, 32 bytes).
    pub beacon: String,
    /// The index of the first step proven.
    pub first_step: u64,
    /// How many steps are proven.
    pub steps: u64,
    /// `C_{W_first_step}` (hex).
    pub c_in: String,
    /// `C_{W_first_step + steps}` (hex).
    pub c_out: String,
}

fn bad(reason: impl Into<String>) -> Error {
    ProofError::Statement(reason.into()).into()
}

/// Parses the canonical spelling of 32 bytes: 64 lowercase hex digits, as
/// statements and run files hold them.
pub fn bytes32(s: &str) -> Option<[u8; 32]> {
    bytes_from_hex(s)?.try_into().ok()
}

/// Parses 32 bytes as a user types them: 64 hex digits, either case, with
/// or without a `0x` prefix.
pub fn parse_bytes32(s: &str) -> Option<[u8; 32]> {
    bytes32(&s.strip_prefix("0x").unwrap_or(s).to_ascii_lowercase())
}

/// Checks that a dataset fits a spec: the row layout's features are the
/// model's inputs and the dataset's classes its outputs.
pub fn check_fit(spec: &TrainSpec, dataset: &DatasetRef) -> Result<(), EnvelopeError> {
    let fit = |field: &str, expected: usize, found: usize| {
        if expected == found {
            return Ok(());
        }
        Err(EnvelopeError::Mismatch {
            field: field.into(),
            expected: expected as i128,
            found: found as i128,
            reason: "the dataset's",
        })
    };
    fit("model inputs", dataset.layout.features, spec.input_len())?;
    fit("model outputs", dataset.classes as usize, spec.classes())?;
    if spec.formats.input != dataset.format {
        return Err(EnvelopeError::Unsupported {
            field: format!(
                "input format {} (the dataset's features are {})",
                spec.formats.input, dataset.format
            ),
            reason: "a run reads the committed features in their own format",
        });
    }
    Ok(())
}

impl StepStatement {
    /// The canonical bytes (compact JSON, fields in declaration order).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(|e| bad(format!("statement serialization: {e}")))
    }

    /// Parses statement bytes and checks them against the envelope
    /// ([`validate`](Self::validate)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let s: StepStatement = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks every number the statement gives against the supported
    /// envelope before anything is planned: the spec, the dataset (row
    /// count, depth from the row count, public root recomputed from what it
    /// commits to, at least a batch of rows when shuffling), the fit of the
    /// two, the step range, the beacon and the commitments.
    pub fn validate(&self) -> Result<(), Error> {
        self.spec.validate()?;
        let min_rows = match self.sampling {
            Sampling::Shuffle => self.spec.batch as u64,
            Sampling::Replacement => 1,
        };
        self.dataset.check(min_rows.saturating_add(self.holdout))?;
        check_fit(&self.spec, &self.dataset)?;
        bound(|| "steps".into(), self.steps, 1, MAX_STEPS_PER_PROOF)?;
        bound(
            || "first step".into(),
            self.first_step,
            0,
            MAX_RUN_STEPS - self.steps,
        )?;
        bytes32(&self.beacon).ok_or_else(|| bad("the beacon is not 32 hex bytes"))?;
        for (what, c) in [("C_in", &self.c_in), ("C_out", &self.c_out)] {
            fp_from_hex(c).ok_or_else(|| bad(format!("{what} is not a field element")))?;
        }
        // Plans the circuit (no synthesis): bounds the work of one proof.
        self.circuit()?;
        Ok(())
    }

    /// The context digest: Blake2b-512 of the statement bytes, reduced into the
    /// field. It binds the spec, dataset, beacon and step range into the proof.
    pub fn context(&self) -> Result<Fp, Error> {
        let h = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(b"zkpot.context.v1")
            .hash(&self.to_bytes()?);
        let mut wide = [0u8; 64];
        wide.copy_from_slice(h.as_bytes());
        Ok(Fp::from_uniform_bytes(&wide))
    }

    /// A sampler for this statement's dataset (its public root and row
    /// count) and beacon.
    pub fn sampler(&self) -> Result<Sampler, Error> {
        use ff::PrimeField;
        let root = self.dataset.public_root()?;
        let beacon = bytes32(&self.beacon).ok_or_else(|| bad("beacon is not 32 hex bytes"))?;
        Ok(Sampler::new(
            root.to_repr(),
            beacon,
            self.dataset.n_rows,
            self.holdout,
            self.spec.batch,
            self.sampling,
        )?)
    }

    /// The public inputs this statement implies:
    /// `[tree root, C_in, C_out, context, indices...]`.
    pub fn public_inputs(&self, sampler: &Sampler) -> Result<Vec<Fp>, Error> {
        let c_in = fp_from_hex(&self.c_in).ok_or_else(|| bad("C_in is not a field element"))?;
        let c_out = fp_from_hex(&self.c_out).ok_or_else(|| bad("C_out is not a field element"))?;
        let mut public = vec![self.dataset.tree_root()?, c_in, c_out, self.context()?];
        for t in self.first_step..self.first_step + self.steps {
            public.extend(sampler.indices(t).into_iter().map(Fp::from));
        }
        Ok(public)
    }

    /// The circuit (without witness) this statement is proven with.
    pub fn circuit(&self) -> Result<TrainStepCircuit, Error> {
        Ok(TrainStepCircuit::new(
            self.spec.clone(),
            self.dataset.layout,
            self.dataset.depth as usize,
            self.steps as usize,
            None,
        )?)
    }

    /// Wraps a proof of this statement into an envelope.
    pub fn envelope(&self, public_inputs: Vec<Fp>, proof: Vec<u8>) -> Result<Envelope, Error> {
        Ok(Envelope {
            kind: StatementKind::TrainingStep,
            statement: self.to_bytes()?,
            public_inputs,
            proof,
        })
    }
}

/// Formats a commitment for a statement.
pub fn hex_commitment(c: &Fp) -> String {
    fp_to_hex(c)
}

/// Verifies training-step envelopes: each statement is parsed, its public
/// inputs are recomputed and compared, and the proofs of one circuit are
/// checked together with halo2's batch verifier (a failing batch is retried
/// proof by proof to name the culprit). Returns the statements in order.
pub fn verify_steps(
    cache: &ParamsCache,
    envelopes: &[Envelope],
) -> Result<Vec<StepStatement>, Error> {
    let mut statements = Vec::with_capacity(envelopes.len());
    // Group by circuit description (the statement without its step range and
    // commitments determines the circuit).
    let mut groups: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
    let mut publics = Vec::with_capacity(envelopes.len());
    let mut sampler: Option<(String, Sampler)> = None;
    for (i, e) in envelopes.iter().enumerate() {
        if e.kind != StatementKind::TrainingStep {
            return Err(bad(format!("proof {i} is not a training-step proof")));
        }
        let s = StepStatement::from_bytes(&e.statement)?;
        let expected_len = 4 + s.steps as usize * s.spec.batch;
        if e.public_inputs.len() != expected_len {
            return Err(ProofError::Mismatch(format!(
                "proof {i}: {} public inputs, its statement implies {expected_len}",
                e.public_inputs.len()
            ))
            .into());
        }
        let key = format!(
            "{} {} {:?} {} {}",
            s.dataset.root, s.beacon, s.sampling, s.spec.batch, s.holdout
        );
        if sampler.as_ref().map(|(k, _)| k != &key).unwrap_or(true) {
            sampler = Some((key.clone(), s.sampler()?));
        }
        let expected = match sampler.as_ref() {
            Some((_, smp)) => s.public_inputs(smp)?,
            None => return Err(Error::Internal("sampler missing")),
        };
        if expected != e.public_inputs {
            return Err(ProofError::Mismatch(format!(
                "proof {i}: the public inputs are not those its statement implies"
            ))
            .into());
        }
        let desc = serde_json::to_vec(&(&s.spec, &s.dataset.layout, s.dataset.depth, s.steps))
            .map_err(|e| bad(e.to_string()))?;
        groups.entry(desc).or_default().push(i);
        publics.push(expected);
        statements.push(s);
    }
    verify_by_circuit(
        cache,
        &groups,
        |i| {
            let circuit = statements[i].circuit()?;
            let k = circuit.measure()?.k;
            Ok((circuit, k))
        },
        zkpot_circuits::train::circuit::TRAIN_MAX_K,
        &publics,
        envelopes,
    )?;
    Ok(statements)
}
