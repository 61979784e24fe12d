//! The native training loop: fixed-point SGD over honestly sampled batches,
//! with the float trainer run in lockstep for comparison.

use zkpot_circuits::fixed::FixedError;
use zkpot_circuits::train::native::{predict, sgd_step};
use zkpot_circuits::train::{MlpParams, TrainSpec};

use super::float::FloatMlp;
use super::sampling::Sampler;

/// Loss and accuracy of both trainers after one step.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepMetrics {
    /// Steps taken so far.
    pub step: u64,
    /// Mean squared error of the fixed-point model on its batch (real units).
    pub fixed_loss: f64,
    /// The same for the float model.
    pub float_loss: f64,
}

/// The result of a native training run.
#[derive(Clone, Debug)]
pub struct NativeRun {
    /// Parameters after each step, `W_0` first.
    pub params: Vec<MlpParams>,
    /// The row indices of each step.
    pub indices: Vec<Vec<u64>>,
    /// Per-step metrics.
    pub metrics: Vec<StepMetrics>,
    /// The float model trained alongside.
    pub float: FloatMlp,
}

/// Dequantized features of a row (features then label).
pub fn features_f64(spec: &TrainSpec, row: &[i64]) -> Vec<f64> {
    let n = spec.input_len();
    let s = spec.formats.input.scale();
    row[..n].iter().map(|v| *v as f64 / s).collect()
}

/// Fixed-point batch loss in real units (the float loss of the dequantized
/// logits).
pub(crate) fn fixed_loss(
    spec: &TrainSpec,
    params: &MlpParams,
    batch: &[Vec<i64>],
) -> Result<f64, FixedError> {
    let n = spec.input_len();
    let s = spec.formats.activation.scale();
    let mut total = 0.0;
    for row in batch {
        let z = zkpot_circuits::train::native::logits(spec, params, &row[..n])?;
        let zf: Vec<f64> = z.iter().map(|v| *v as f64 / s).collect();
        total += super::float::row_loss(spec.loss, &zf, row[n] as usize);
    }
    Ok(total / batch.len().max(1) as f64)
}

/// Trains `steps` steps from `init` on rows fetched by `row`.
pub fn train_native(
    spec: &TrainSpec,
    init: MlpParams,
    sampler: &Sampler,
    steps: u64,
    row: impl Fn(u64) -> Vec<i64>,
) -> Result<NativeRun, FixedError> {
    let n = spec.input_len();
    let mut float = FloatMlp::from_fixed(spec, &init);
    let mut params = vec![init];
    let mut indices = Vec::new();
    let mut metrics = Vec::new();
    for t in 0..steps {
        let idx = sampler.indices(t);
        let batch: Vec<Vec<i64>> = idx.iter().map(|i| row(*i)).collect();
        let current = params
            .last()
            .cloned()
            .unwrap_or_else(|| MlpParams { layers: vec![] });
        let (next, _) = sgd_step(spec, &current, &batch)?;
        let xs: Vec<Vec<f64>> = batch.iter().map(|r| features_f64(spec, r)).collect();
        let ys: Vec<usize> = batch.iter().map(|r| r[n] as usize).collect();
        float.step(spec.lr(), &xs, &ys);
        metrics.push(StepMetrics {
            step: t + 1,
            fixed_loss: fixed_loss(spec, &next, &batch)?,
            float_loss: float.loss(&xs, &ys),
        });
        params.push(next);
        indices.push(idx);
    }
    Ok(NativeRun {
        params,
        indices,
        metrics,
        float,
    })
}

/// Accuracy of fixed-point parameters on rows (features then label).
pub fn accuracy_fixed(
    spec: &TrainSpec,
    params: &MlpParams,
    rows: &[Vec<i64>],
) -> Result<f64, FixedError> {
    let n = spec.input_len();
    let mut right = 0;
    for r in rows {
        if predict(spec, params, &r[..n])? == r[n] as usize {
            right += 1;
        }
    }
    Ok(right as f64 / rows.len().max(1) as f64)
}

/// Accuracy of the float model on the same rows.
pub fn accuracy_float(spec: &TrainSpec, model: &FloatMlp, rows: &[Vec<i64>]) -> f64 {
    let n = spec.input_len();
    let right = rows
        .iter()
        .filter(|r| model.predict(&features_f64(spec, r)) == r[n] as usize)
        .count();
    right as f64 / rows.len().max(1) as f64
}
