//! The training report of a run: its native training replayed from the
//! private files, with the loss of every step and the accuracy at a few
//! points, for the fixed-point model the proofs cover and for the float
//! reference trained on the same batches.
//!
//! Nothing here is proven: the report shows how training went and how far
//! fixed-point arithmetic drifts from floats, and a release states it as
//! the prover's own account.

use serde::{Deserialize, Serialize};
use zkpot_circuits::train::sgd_step;

use super::super::float::FloatMlp;
use super::super::sampling::Sampler;
use super::super::statement::bytes32;
use super::super::trainer::{accuracy_fixed, accuracy_float, features_f64, fixed_loss};
use super::private::Private;
use super::prove::run_dataset;
use super::RunFile;
use crate::proof::ProofError;
use crate::Error;

/// The most points at which a report measures accuracy.
pub const ACCURACY_POINTS: u64 = 40;
/// The most rows a report measures accuracy on.
pub const ACCURACY_ROWS: u64 = 2048;
/// The largest loss a report records: larger losses (and a diverged float
/// reference's infinities or NaNs) are recorded as this.
pub const MAX_LOSS: f64 = 1e9;

fn clamp_loss(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, MAX_LOSS)
    } else {
        MAX_LOSS
    }
}

/// One point of a training curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Steps taken.
    pub step: u64,
    /// The fixed-point model's value.
    pub fixed: f64,
    /// The float reference's value.
    pub float: f64,
}

/// A run's training report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingReport {
    /// The loss on each step's batch, after the step.
    pub loss: Vec<CurvePoint>,
    /// Accuracy on [`TrainingReport::accuracy_rows`] at a few steps (step 0
    /// is the initial model).
    pub accuracy: Vec<CurvePoint>,
    /// Which rows accuracy is measured on: `held-out` or `training`.
    pub accuracy_rows: String,
    /// How many.
    pub accuracy_count: u64,
}

impl TrainingReport {
    /// The last accuracy point (the trained model).
    pub fn final_accuracy(&self) -> Option<&CurvePoint> {
        self.accuracy.last()
    }
}

/// Replays a run's training from its private files (initial weights,
/// dataset) and measures it. The replay must end at the run's final
/// checkpoint, which its final commitment opens, so the report describes
/// the run that was proven.
pub fn training_report(run_dir: &std::path::Path) -> Result<TrainingReport, Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let dataset = run_dataset(run_dir, &run)?;
    let private = Private {
        dir: run_dir.join("private"),
    };
    let spec = &run.spec;
    let n = spec.input_len();
    let beacon = bytes32(&run.beacon).ok_or_else(|| {
        Error::Proof(ProofError::Mismatch(
            "the run's beacon is not 32 hex bytes".into(),
        ))
    })?;
    let sampler = Sampler::new(
        ff::PrimeField::to_repr(&run.dataset.root()?),
        beacon,
        run.dataset.n_rows,
        run.holdout,
        spec.batch,
        run.sampling,
    )?;
    let split = sampler.split();
    let (accuracy_rows, count) = if run.holdout > 0 {
        ("held-out", run.holdout.min(ACCURACY_ROWS))
    } else {
        ("training", run.dataset.n_rows.min(ACCURACY_ROWS))
    };
    let rows: Vec<Vec<i64>> = (0..count)
        .map(|j| {
            let i = if run.holdout > 0 {
                split.held_out(j)
            } else {
                split.training_row(j)
            };
            dataset.row(i)
        })
        .collect::<Result<_, _>>()?;

    let mut params = private.read_checkpoint(0)?;
    let mut float = FloatMlp::from_fixed(spec, &params);
    let every = run.steps.div_ceil(ACCURACY_POINTS).max(1);
    let point = |step: u64, p: &zkpot_circuits::train::MlpParams, f: &FloatMlp| {
        Ok::<_, Error>(CurvePoint {
            step,
            fixed: accuracy_fixed(spec, p, &rows)?,
            float: accuracy_float(spec, f, &rows),
        })
    };
    let mut accuracy = vec![point(0, &params, &float)?];
    let mut loss = Vec::new();
    for t in 0..run.steps {
        let batch: Vec<Vec<i64>> = sampler
            .indices(t)
            .into_iter()
            .map(|i| dataset.row(i))
            .collect::<Result<_, _>>()?;
        params = sgd_step(spec, &params, &batch)?.0;
        let xs: Vec<Vec<f64>> = batch.iter().map(|r| features_f64(spec, r)).collect();
        let ys: Vec<usize> = batch.iter().map(|r| r[n] as usize).collect();
        float.step(spec.lr(), &xs, &ys);
        loss.push(CurvePoint {
            step: t + 1,
            fixed: clamp_loss(fixed_loss(spec, &params, &batch)?),
            float: clamp_loss(float.loss(&xs, &ys)),
        });
        if (t + 1) % every == 0 || t + 1 == run.steps {
            accuracy.push(point(t + 1, &params, &float)?);
        }
    }
    if params != private.read_checkpoint(run.steps)? {
        return Err(Error::Options(format!(
            "replaying {} does not reach its final checkpoint",
            run_dir.display()
        )));
    }
    Ok(TrainingReport {
        loss,
        accuracy,
        accuracy_rows: accuracy_rows.into(),
        accuracy_count: count,
    })
}
