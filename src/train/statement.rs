//! The public statement of a training-step proof, the public inputs it
//! implies, and verification of step envelopes (batched).
//!
//! A verifier never trusts the public inputs in an envelope: it recomputes them
//! from the statement (the batch indices from the sampling function, the
//! context digest from the statement's bytes) and refuses any difference.

use std::collections::BTreeMap;

use ff::FromUniformBytes;
use serde::{Deserialize, Serialize};
use zkpot_circuits::circuits::membership::RowLayout;
use zkpot_circuits::proving::verifying_key;
use zkpot_circuits::train::{TrainSpec, TrainStepCircuit};
use zkpot_circuits::Fp;

use super::sampling::{Sampler, Sampling};
use crate::hex::{bytes_from_hex, fp_from_hex, fp_to_hex};
use crate::params::ParamsCache;
use crate::proof::{verify_group, Envelope, ProofError, StatementKind};
use crate::Error;

/// What a training step proof says about its dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRef {
    /// The dataset's Merkle root (hex).
    pub root: String,
    /// Rows in the dataset.
    pub n_rows: u64,
    /// Tree depth.
    pub depth: u32,
    /// Row layout.
    pub layout: RowLayout,
}

/// The public statement of one step proof: steps `first_step ..
/// first_step + steps` of `spec` on `dataset`, from `C_in` to `C_out`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStatement {
    /// The training spec.
    pub spec: TrainSpec,
    /// The dataset.
    pub dataset: DatasetRef,
    /// How batches are sampled.
    pub sampling: Sampling,
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

/// Parses a 32-byte hex string.
pub fn bytes32(s: &str) -> Option<[u8; 32]> {
    bytes_from_hex(s.strip_prefix("0x").unwrap_or(s))?
        .try_into()
        .ok()
}

impl StepStatement {
    /// The canonical bytes (compact JSON, fields in declaration order).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses statement bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let s: StepStatement = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        s.spec.validate().map_err(|e| bad(e.to_string()))?;
        Ok(s)
    }

    /// The context digest: Blake2b-512 of the statement bytes, reduced into the
    /// field. It binds the spec, dataset, beacon and step range into the proof.
    pub fn context(&self) -> Fp {
        let h = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(b"zkpot.context.v1")
            .hash(&self.to_bytes());
        let mut wide = [0u8; 64];
        wide.copy_from_slice(h.as_bytes());
        Fp::from_uniform_bytes(&wide)
    }

    /// The root as a field element.
    pub fn root(&self) -> Result<Fp, Error> {
        fp_from_hex(&self.dataset.root).ok_or_else(|| bad("root is not a field element"))
    }

    /// A sampler for this statement's dataset and beacon.
    pub fn sampler(&self) -> Result<Sampler, Error> {
        let root = self.root()?;
        let beacon = bytes32(&self.beacon).ok_or_else(|| bad("beacon is not 32 hex bytes"))?;
        use ff::PrimeField;
        Ok(Sampler::new(
            root.to_repr(),
            beacon,
            self.dataset.n_rows,
            self.spec.batch,
            self.sampling,
        ))
    }

    /// The public inputs this statement implies:
    /// `[root, C_in, C_out, context, indices...]`.
    pub fn public_inputs(&self, sampler: &mut Sampler) -> Result<Vec<Fp>, Error> {
        let c_in = fp_from_hex(&self.c_in).ok_or_else(|| bad("C_in is not a field element"))?;
        let c_out = fp_from_hex(&self.c_out).ok_or_else(|| bad("C_out is not a field element"))?;
        let mut public = vec![self.root()?, c_in, c_out, self.context()];
        for t in self.first_step..self.first_step + self.steps {
            public.extend(sampler.indices(t).into_iter().map(Fp::from));
        }
        Ok(public)
    }

    /// The circuit (without witness) this statement is proven with.
    pub fn circuit(&self) -> Result<TrainStepCircuit, Error> {
        if self.steps == 0 || self.steps > 1024 {
            return Err(bad("steps per proof must be between 1 and 1024"));
        }
        Ok(TrainStepCircuit::new(
            self.spec.clone(),
            self.dataset.layout,
            self.dataset.depth as usize,
            self.steps as usize,
            None,
        )?)
    }

    /// Wraps a proof of this statement into an envelope.
    pub fn envelope(&self, public_inputs: Vec<Fp>, proof: Vec<u8>) -> Envelope {
        Envelope {
            kind: StatementKind::TrainingStep,
            statement: self.to_bytes(),
            public_inputs,
            proof,
        }
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
        let key = format!("{}{}{:?}", s.dataset.root, s.beacon, s.sampling);
        if sampler.as_ref().map(|(k, _)| k != &key).unwrap_or(true) {
            sampler = Some((key.clone(), s.sampler()?));
        }
        let expected = match sampler.as_mut() {
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
    for members in groups.values() {
        let circuit = statements[members[0]].circuit()?;
        let k = circuit.measure()?.k;
        let params = cache.get(k)?;
        let vk = verifying_key(&params, &circuit)?;
        verify_group(&params, &vk, members, &publics, envelopes)?;
    }
    Ok(statements)
}
