//! The public statement of one evaluation proof, the public inputs it
//! implies, and verification of evaluation envelopes (batched).
//!
//! A statement names the model (architecture and formats), its commitment
//! `C_W`, the dataset (its public root and what the root commits to), which
//! rows it evaluates and their confusion counts. The verifier recomputes the
//! row indices from the selection (a run's held-out split, from the root and
//! the beacon, or a range of the dataset), the context digest from the
//! statement's bytes, and checks the counts add up to the rows.

use std::collections::BTreeMap;

use ff::{FromUniformBytes, PrimeField};
use serde::{Deserialize, Serialize};
use zkpot_circuits::envelope::{bound, EnvelopeError};
use zkpot_circuits::infer::eval::{classes_of, EvalCircuit, MAX_EVAL_ROWS};
use zkpot_circuits::infer::QModel;
use zkpot_circuits::Fp;

use crate::data::DatasetRef;
use crate::hex::fp_from_hex;
use crate::params::ParamsCache;
use crate::proof::{verify_by_circuit, Envelope, ProofError, StatementKind};
use crate::train::sampling::Split;
use crate::train::statement::bytes32;
use crate::Error;

/// Which rows of a dataset an evaluation scores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EvalRows {
    /// Held-out rows `first .. first + count` of the split a run with this
    /// beacon and `holdout` held-out rows trained beside
    /// ([`Split`](crate::train::sampling::Split)).
    Holdout {
        /// The run's beacon (64 hex digits).
        beacon: String,
        /// The number of held-out rows.
        holdout: u64,
        /// The first held-out row evaluated (its position in the split).
        first: u64,
        /// How many.
        count: u64,
    },
    /// Rows `first .. first + count` of the dataset.
    Range {
        /// The first row.
        first: u64,
        /// How many.
        count: u64,
    },
}

impl EvalRows {
    /// The number of rows.
    pub fn count(&self) -> u64 {
        match self {
            EvalRows::Holdout { count, .. } | EvalRows::Range { count, .. } => *count,
        }
    }

    /// The row indices, for a dataset with public root `root` and `n_rows`
    /// rows; the selection must lie inside it.
    pub fn indices(&self, root: Fp, n_rows: u64) -> Result<Vec<u64>, Error> {
        bound(
            || "evaluated rows".into(),
            self.count(),
            1,
            MAX_EVAL_ROWS as u64,
        )?;
        match self {
            EvalRows::Holdout {
                beacon,
                holdout,
                first,
                count,
            } => {
                let beta = bytes32(beacon).ok_or_else(|| {
                    ProofError::Statement("the beacon is not 32 hex bytes".into())
                })?;
                let split = Split::new(root.to_repr(), beta, n_rows, *holdout)?;
                bound(
                    || "last evaluated held-out row".into(),
                    first.saturating_add(*count),
                    1,
                    *holdout,
                )?;
                Ok((*first..first + count).map(|j| split.held_out(j)).collect())
            }
            EvalRows::Range { first, count } => {
                bound(
                    || "last evaluated row".into(),
                    first.saturating_add(*count),
                    1,
                    n_rows,
                )?;
                Ok((*first..first + count).collect())
            }
        }
    }
}

/// What an evaluation proof states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalStatement {
    /// The model's description (never its weights).
    pub model: QModel,
    /// `C_W` (hex).
    pub weights_commitment: String,
    /// The dataset.
    pub dataset: DatasetRef,
    /// The rows evaluated.
    pub rows: EvalRows,
    /// The rows the circuit holds (at least the rows evaluated; the rest
    /// repeat the first, unflagged, so chunks of any size share a circuit).
    pub capacity: u64,
    /// The confusion counts, `classes x classes`, row `a` the committed
    /// label, column `b` the predicted class.
    pub confusion: Vec<u64>,
}

fn bad(reason: impl Into<String>) -> Error {
    ProofError::Statement(reason.into()).into()
}

impl EvalStatement {
    /// The canonical bytes (compact JSON, fields in declaration order).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(|e| bad(format!("statement serialization: {e}")))
    }

    /// Parses statement bytes and checks them ([`validate`](Self::validate)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let s: EvalStatement = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        classes_of(&self.model)
    }

    /// Checks the statement before anything is planned: the model and the
    /// dataset inside the envelope (the dataset's public root recomputed),
    /// the model reading the dataset's rows (their features, in their
    /// format, and their classes), the commitment, and counts that add up to
    /// the rows evaluated.
    pub fn validate(&self) -> Result<(), Error> {
        self.model.validate()?;
        self.dataset.check(1)?;
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
        fit(
            "model inputs",
            self.dataset.layout.features,
            self.model.input_len(),
        )?;
        fit("classes", self.dataset.classes as usize, self.classes())?;
        if self.model.input != self.dataset.format {
            return Err(EnvelopeError::Unsupported {
                field: format!(
                    "input format {} (the dataset's features are {})",
                    self.model.input, self.dataset.format
                ),
                reason: "a model reads the committed features in their own format",
            }
            .into());
        }
        fp_from_hex(&self.weights_commitment).ok_or_else(|| bad("C_W is not a field element"))?;
        bound(
            || "rows the circuit holds".into(),
            self.capacity,
            self.rows.count().max(1),
            MAX_EVAL_ROWS as u64,
        )?;
        let c = self.classes();
        if self.confusion.len() != c * c {
            return Err(bad(format!(
                "{} confusion counts for {c} classes",
                self.confusion.len()
            )));
        }
        let total: u128 = self.confusion.iter().map(|n| u128::from(*n)).sum();
        if total != u128::from(self.rows.count()) {
            return Err(ProofError::Mismatch(format!(
                "the confusion counts add up to {total}, not the {} rows evaluated",
                self.rows.count()
            ))
            .into());
        }
        // Plans the circuit (no synthesis): bounds depth and rows.
        self.circuit()?;
        Ok(())
    }

    /// The context digest: Blake2b-512 (personal `zkpot.evalctx.v1`) of the
    /// statement bytes, reduced into the field.
    pub fn context(&self) -> Result<Fp, Error> {
        let h = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(b"zkpot.evalctx.v1")
            .hash(&self.to_bytes()?);
        let mut wide = [0u8; 64];
        wide.copy_from_slice(h.as_bytes());
        Ok(Fp::from_uniform_bytes(&wide))
    }

    /// The evaluated row indices, padded to the capacity with the first.
    pub fn indices(&self) -> Result<Vec<u64>, Error> {
        let mut indices = self
            .rows
            .indices(self.dataset.public_root()?, self.dataset.n_rows)?;
        let first = indices.first().copied().unwrap_or(0);
        indices.resize(self.capacity as usize, first);
        Ok(indices)
    }

    /// The public inputs this statement implies:
    /// `[tree root, C_W, context, counts..., indices..., flags...]`, a row's
    /// flag 1 if it is evaluated and 0 if it pads.
    pub fn public_inputs(&self) -> Result<Vec<Fp>, Error> {
        let c_w = fp_from_hex(&self.weights_commitment)
            .ok_or_else(|| bad("C_W is not a field element"))?;
        let mut public = vec![self.dataset.tree_root()?, c_w, self.context()?];
        public.extend(self.confusion.iter().map(|n| Fp::from(*n)));
        public.extend(self.indices()?.into_iter().map(Fp::from));
        let counted = self.rows.count();
        public.extend((0..self.capacity).map(|r| Fp::from(u64::from(r < counted))));
        Ok(public)
    }

    /// The circuit (without witness) the statement is proven with.
    pub fn circuit(&self) -> Result<EvalCircuit, Error> {
        Ok(EvalCircuit::new(
            self.model.clone(),
            self.dataset.layout,
            self.dataset.depth as usize,
            self.capacity as usize,
            None,
        )?)
    }

    /// Wraps a proof of this statement into an envelope.
    pub fn envelope(&self, public_inputs: Vec<Fp>, proof: Vec<u8>) -> Result<Envelope, Error> {
        Ok(Envelope {
            kind: StatementKind::Evaluation,
            statement: self.to_bytes()?,
            public_inputs,
            proof,
        })
    }
}

/// Verifies evaluation envelopes: each statement is parsed and checked, its
/// public inputs recomputed and compared, and the proofs of one circuit are
/// checked together with halo2's batch verifier. Returns the statements in
/// order.
pub fn verify_evals(
    cache: &ParamsCache,
    envelopes: &[Envelope],
) -> Result<Vec<EvalStatement>, Error> {
    let mut statements = Vec::with_capacity(envelopes.len());
    let mut publics = Vec::with_capacity(envelopes.len());
    let mut groups: BTreeMap<Vec<u8>, Vec<usize>> = BTreeMap::new();
    for (i, e) in envelopes.iter().enumerate() {
        if e.kind != StatementKind::Evaluation {
            return Err(bad(format!("proof {i} is not an evaluation proof")));
        }
        let s = EvalStatement::from_bytes(&e.statement)?;
        let expected = s.public_inputs()?;
        if expected != e.public_inputs {
            return Err(ProofError::Mismatch(format!(
                "proof {i}: the public inputs are not those its statement implies"
            ))
            .into());
        }
        let desc = serde_json::to_vec(&(&s.model, &s.dataset.layout, s.dataset.depth, s.capacity))
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
        super::prove::EVAL_MAX_K,
        &publics,
        envelopes,
    )?;
    Ok(statements)
}
