//! The public evaluation file, `eval.json`: the model's description and
//! commitment, the dataset commitment, which rows were scored, how many a
//! proof, the total confusion counts and the proof files.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkpot_circuits::envelope::{bound, MAX_ROWS};
use zkpot_circuits::infer::eval::{classes_of, MAX_EVAL_ROWS};
use zkpot_circuits::infer::QModel;

use super::statement::{EvalRows, EvalStatement};
use crate::data::Commitment;
use crate::files::read_versioned;
use crate::hex::fp_from_hex;
use crate::proof::ProofError;
use crate::train::statement::bytes32;
use crate::Error;

/// The format name of evaluation files.
pub const EVAL_FORMAT: &str = "zkpot-evaluation";
/// The evaluation file version this build writes and reads.
pub const EVAL_VERSION: u32 = 1;

/// Which rows an evaluation scores, as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Selection {
    /// The held-out rows of the split a run with this beacon and `holdout`
    /// held-out rows trained beside: all of them, or the first `sample` in
    /// the split's order, which is itself a pseudorandom permutation keyed by
    /// the dataset's root and the beacon, so a uniformly random sample of
    /// the held-out rows that the prover does not choose.
    Holdout {
        /// The run's beacon (64 hex digits).
        beacon: String,
        /// The number of held-out rows.
        holdout: u64,
        /// How many of them are scored, when not all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sample: Option<u64>,
    },
    /// Rows `first .. first + count` of the dataset.
    Range {
        /// The first row.
        first: u64,
        /// How many.
        count: u64,
    },
}

impl Selection {
    /// The 95% confidence interval of the accuracy over the whole held-out
    /// split that `correct` of the scored rows imply, when the rows are a
    /// sample of it; `None` when every row of the selection's population is
    /// scored. The rows are the first `M` of an order the prover cannot
    /// choose, but `M` is the prover's, and could be picked after seeing
    /// which rows are right; the interval holds whatever `M` was picked: a
    /// Wilson interval ([`wilson_interval_z`]) at the Bonferroni level over
    /// the `holdout - 1` sizes there were to pick from.
    pub fn interval(&self, correct: u64) -> Option<(f64, f64)> {
        match self {
            Selection::Holdout {
                holdout,
                sample: Some(m),
                ..
            } if m < holdout => {
                let choices = holdout.saturating_sub(1).max(1) as f64;
                let z = -normal_quantile(0.05 / (2.0 * choices));
                Some(wilson_interval_z(correct, *m, *holdout, z))
            }
            _ => None,
        }
    }

    /// The number of rows scored.
    pub fn rows(&self) -> u64 {
        match self {
            Selection::Holdout {
                holdout, sample, ..
            } => sample.unwrap_or(*holdout),
            Selection::Range { count, .. } => *count,
        }
    }

    /// The rows of proof `g` with `per_proof` rows a proof.
    pub fn chunk(&self, g: u64, per_proof: u64) -> EvalRows {
        let first = g.saturating_mul(per_proof);
        let count = per_proof.min(self.rows().saturating_sub(first));
        match self {
            Selection::Holdout {
                beacon, holdout, ..
            } => EvalRows::Holdout {
                beacon: beacon.clone(),
                holdout: *holdout,
                first,
                count,
            },
            Selection::Range { first: start, .. } => EvalRows::Range {
                first: start.saturating_add(first),
                count,
            },
        }
    }
}

/// A 95% Wilson score interval for a proportion from `correct` of `m` rows
/// drawn without replacement from `n`: the sample size is inflated by the
/// finite population correction `(n - 1) / (n - m)`, so the interval
/// narrows to the observed proportion as the sample approaches the whole
/// population.
pub fn wilson_interval(correct: u64, m: u64, n: u64) -> (f64, f64) {
    wilson_interval_z(correct, m, n, 1.959_963_984_540_054)
}

/// [`wilson_interval`] with `z` standard deviations (1.96 for 95%).
pub fn wilson_interval_z(correct: u64, m: u64, n: u64, z: f64) -> (f64, f64) {
    let (c, m_f, n_f) = (correct as f64, m.max(1) as f64, n.max(1) as f64);
    let p = (c / m_f).clamp(0.0, 1.0);
    if m >= n {
        return (p, p);
    }
    let fpc = if n > 1 {
        (n_f - m_f) / (n_f - 1.0)
    } else {
        1.0
    };
    let eff = m_f / fpc.max(f64::MIN_POSITIVE);
    let z2 = z * z / eff;
    let center = (p + z2 / 2.0) / (1.0 + z2);
    let half = z / (1.0 + z2) * (p * (1.0 - p) / eff + z2 / (4.0 * eff)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// The standard normal quantile `Φ⁻¹(p)` for `0 < p < 1` (Acklam's rational
/// approximation, relative error about 1e-9): the `z` of a tail of `p`.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.024_25;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The public description of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalFile {
    /// Always [`EVAL_FORMAT`].
    pub format: String,
    /// Always [`EVAL_VERSION`].
    pub version: u32,
    /// The model's description.
    pub model: QModel,
    /// `C_W` (hex).
    pub weights_commitment: String,
    /// The dataset scored on: its public commitment.
    pub dataset: Commitment,
    /// Which rows.
    pub selection: Selection,
    /// Rows a proof (the last proof may have fewer).
    pub rows_per_proof: u64,
    /// The confusion counts over all rows (row `a` the label, column `b` the
    /// prediction).
    pub confusion: Vec<u64>,
    /// Proof files, relative to the evaluation directory, in row order.
    pub proofs: Vec<String>,
}

/// The file name of evaluation proof `g`.
pub fn eval_proof_name(g: u64) -> String {
    format!("proofs/eval-{g:06}.zkpot")
}

fn statement_error(reason: impl Into<String>) -> Error {
    ProofError::Statement(reason.into()).into()
}

impl EvalFile {
    /// Reads an evaluation file, refusing other formats and versions.
    pub fn read(path: &Path) -> Result<Self, Error> {
        Ok(read_versioned(path, EVAL_FORMAT, EVAL_VERSION)?)
    }

    /// Number of proofs.
    pub fn groups(&self) -> u64 {
        self.selection.rows().div_ceil(self.rows_per_proof.max(1))
    }

    /// Checks everything the prover wrote before any proof is read: the
    /// model, the dataset commitment (its public root recomputed), the
    /// selection inside the dataset, rows a proof bounded, the proof list as
    /// long as they imply at canonical names, and confusion counts of the
    /// right shape that add up to the rows.
    pub fn check(&self) -> Result<(), Error> {
        self.model.validate()?;
        self.dataset.check()?;
        fp_from_hex(&self.weights_commitment)
            .ok_or_else(|| statement_error("C_W is not a field element"))?;
        bound(
            || "rows per proof".into(),
            self.rows_per_proof,
            1,
            (MAX_EVAL_ROWS as u64).min(self.selection.rows().max(1)),
        )?;
        let n = self.dataset.n_rows;
        match &self.selection {
            Selection::Holdout {
                beacon,
                holdout,
                sample,
            } => {
                bytes32(beacon).ok_or_else(|| statement_error("the beacon is not 32 hex bytes"))?;
                bound(|| "held-out rows".into(), *holdout, 1, n.saturating_sub(1))?;
                if let Some(m) = sample {
                    bound(|| "sampled held-out rows".into(), *m, 1, *holdout)?;
                }
            }
            Selection::Range { first, count } => {
                bound(|| "evaluated rows".into(), *count, 1, MAX_ROWS)?;
                bound(
                    || "last evaluated row".into(),
                    first.saturating_add(*count),
                    1,
                    n,
                )?;
            }
        }
        let groups = self.groups();
        if self.proofs.len() as u64 != groups {
            return Err(statement_error(format!(
                "{} rows of {} a proof make {groups} proofs; the file lists {}",
                self.selection.rows(),
                self.rows_per_proof,
                self.proofs.len()
            )));
        }
        for (g, p) in self.proofs.iter().enumerate() {
            let expected = eval_proof_name(g as u64);
            if *p != expected {
                return Err(statement_error(format!(
                    "proof {g} is listed as {p:?}; its file is {expected:?}"
                )));
            }
        }
        let c = classes_of(&self.model);
        if self.confusion.len() != c * c {
            return Err(statement_error(format!(
                "{} confusion counts for {c} classes",
                self.confusion.len()
            )));
        }
        let total: u128 = self.confusion.iter().map(|n| u128::from(*n)).sum();
        if total != u128::from(self.selection.rows()) {
            return Err(ProofError::Mismatch(format!(
                "the confusion counts add up to {total}, not the {} rows evaluated",
                self.selection.rows()
            ))
            .into());
        }
        Ok(())
    }

    /// The statement proof `g` must carry, with its own counts.
    pub fn statement(&self, g: u64, confusion: Vec<u64>) -> Result<EvalStatement, Error> {
        Ok(EvalStatement {
            model: self.model.clone(),
            weights_commitment: self.weights_commitment.clone(),
            dataset: self.dataset.dataset_ref()?,
            rows: self.selection.chunk(g, self.rows_per_proof),
            capacity: self.rows_per_proof.min(self.selection.rows()),
            confusion,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{normal_quantile, wilson_interval, Selection};

    #[test]
    fn normal_quantiles_match_tables() {
        for (p, z) in [
            (0.025, -1.959_964),
            (0.5, 0.0),
            (0.0005, -3.290_527),
            (1e-5, -4.264_891),
            (0.975, 1.959_964),
        ] {
            assert!(
                (normal_quantile(p) - z).abs() < 1e-5,
                "{p}: {}",
                normal_quantile(p)
            );
        }
    }

    /// A sample's interval holds for any sample size the prover could have
    /// picked: wider than the 95% interval of a size fixed in advance.
    #[test]
    fn sampled_intervals_allow_for_the_choice_of_size() {
        let s = Selection::Holdout {
            beacon: String::new(),
            holdout: 359,
            sample: Some(100),
        };
        let (lo, hi) = s.interval(83).unwrap();
        let (lo95, hi95) = wilson_interval(83, 100, 359);
        assert!(lo < lo95 && hi > hi95, "{lo} {hi}");
        assert!(lo < 0.83 && hi > 0.83);
    }

    #[test]
    fn wilson_intervals_cover_the_estimate_and_narrow_with_the_sample() {
        let (lo, hi) = wilson_interval(80, 100, 100_000);
        // The textbook 95% Wilson interval for 80 of 100: 0.711 to 0.867.
        assert!(
            (lo - 0.711).abs() < 2e-3 && (hi - 0.867).abs() < 2e-3,
            "{lo} {hi}"
        );
        let (lo2, hi2) = wilson_interval(80, 100, 120);
        assert!(lo2 > lo && hi2 < hi && lo2 < 0.8 && hi2 > 0.8);
        assert_eq!(wilson_interval(30, 30, 30), (1.0, 1.0));
        let (lo, hi) = wilson_interval(0, 10, 50);
        assert!(lo == 0.0 && hi > 0.0 && hi < 0.35);
        let (lo, hi) = wilson_interval(10, 10, 50);
        assert!(hi == 1.0 && lo > 0.65);
    }
}
