//! Verifying evaluations: the evaluation file's checks, every chunk's proof
//! (batched), the counts summed across chunks, and optionally the dataset
//! against an independently obtained commitment; and the link of an
//! evaluation to the run whose trained model it scored on its held-out rows.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::infer::eval::classes_of;
use zkpot_circuits::train::MlpParams;

use super::file::{EvalFile, Selection};
use super::statement::{verify_evals, EvalStatement};
use crate::data::Commitment;
use crate::params::ParamsCache;
use crate::proof::ProofError;
use crate::train::run::{verify_run_against, RunVerdict};
use crate::Error;

/// What verifying an evaluation established.
#[derive(Clone, Debug, Serialize)]
pub struct EvalVerdict {
    /// The dataset's public root.
    pub dataset_root: String,
    /// Rows in the dataset.
    pub n_rows: u64,
    /// Whether the dataset was checked against a given commitment.
    pub dataset_checked: bool,
    /// The model scored (architecture and formats).
    pub model: zkpot_circuits::infer::QModel,
    /// `C_W` of the model scored.
    pub weights_commitment: String,
    /// Which rows were scored.
    pub selection: Selection,
    /// Rows scored.
    pub rows: u64,
    /// Rows whose prediction is their committed label.
    pub correct: u64,
    /// `correct / rows`.
    pub accuracy: f64,
    /// When the rows are a sample of the held-out split, the 95% confidence
    /// interval of the split's accuracy they imply.
    pub interval_95: Option<(f64, f64)>,
    /// Class names, in label order.
    pub classes: Vec<String>,
    /// Confusion counts, row `a` the label, column `b` the prediction.
    pub confusion: Vec<u64>,
    /// Proofs checked.
    pub proofs: usize,
    /// Seconds spent verifying.
    pub verify_s: f64,
}

/// Verifies an evaluation directory: the file's checks (see
/// [`EvalFile::check`]), every chunk's proof at its canonical name carrying
/// exactly the statement for its rows, all proofs batch-verified, and the
/// chunks' counts adding up to the file's. With `dataset`, the evaluation
/// must have scored exactly that commitment.
pub fn verify_eval(
    cache: &ParamsCache,
    dir: &Path,
    dataset: Option<&Commitment>,
) -> Result<EvalVerdict, Error> {
    let start = Instant::now();
    let file = EvalFile::read(&dir.join("eval.json"))?;
    file.check()?;
    if let Some(published) = dataset {
        published.check()?;
        if *published != file.dataset {
            return Err(ProofError::Mismatch(format!(
                "the evaluation scored dataset {}, not the given commitment {}",
                file.dataset.root, published.root
            ))
            .into());
        }
    }
    let mut envelopes = Vec::with_capacity(file.proofs.len());
    let mut total = vec![0u64; file.confusion.len()];
    for (g, name) in file.proofs.iter().enumerate() {
        let e = crate::proof::read_envelope_file(&dir.join(name), name)?;
        let s = EvalStatement::from_bytes(&e.statement)?;
        let expected = file.statement(g as u64, s.confusion.clone())?;
        if e.statement != expected.to_bytes()? {
            return Err(ProofError::Mismatch(format!(
                "{name} does not score rows {:?} of this evaluation's model and dataset",
                expected.rows
            ))
            .into());
        }
        for (t, n) in total.iter_mut().zip(&s.confusion) {
            *t = t.saturating_add(*n);
        }
        envelopes.push(e);
    }
    if total != file.confusion {
        return Err(ProofError::Mismatch(
            "the proofs' counts do not add up to the evaluation's".into(),
        )
        .into());
    }
    verify_evals(cache, &envelopes)?;
    let c = classes_of(&file.model);
    let correct: u64 = (0..c).map(|a| file.confusion[a * c + a]).sum();
    let rows = file.selection.rows();
    Ok(EvalVerdict {
        dataset_root: file.dataset.root.clone(),
        n_rows: file.dataset.n_rows,
        dataset_checked: dataset.is_some(),
        model: file.model.clone(),
        weights_commitment: file.weights_commitment.clone(),
        selection: file.selection.clone(),
        rows,
        correct,
        accuracy: correct as f64 / rows as f64,
        interval_95: file.selection.interval(correct),
        classes: file.dataset.schema.classes.clone(),
        confusion: file.confusion.clone(),
        proofs: envelopes.len(),
        verify_s: start.elapsed().as_secs_f64(),
    })
}

/// Verifies a run and an evaluation of its trained model on its held-out
/// rows: both verify, and the evaluation scored the run's dataset, on
/// exactly the run's split, with the architecture and formats the run
/// trained and the run's final weight commitment. With `dataset`, both
/// against it.
///
/// The run must start from its seed's weights: a fine-tuning run's
/// checkpoint is only a commitment, whose weights may have been trained on
/// the held-out rows (by an earlier run with another split, or offline), so
/// its held-out score would prove nothing.
pub fn verify_run_eval(
    cache: &ParamsCache,
    run_dir: &Path,
    eval_dir: &Path,
    dataset: Option<&Commitment>,
) -> Result<(RunVerdict, EvalVerdict), Error> {
    let run_verdict = verify_run_against(cache, run_dir, dataset)?;
    if run_verdict.from_checkpoint {
        return Err(ProofError::Mismatch(
            "the run fine-tuned a checkpoint whose training is not bound to its split: a \
             held-out score is only proven for runs that start from their seed"
                .into(),
        )
        .into());
    }
    let verdict = verify_eval(cache, eval_dir, dataset)?;
    // Public roots commit to the tree, row count, depth and schema.
    if verdict.dataset_root != run_verdict.dataset_root {
        return Err(ProofError::Mismatch(
            "the evaluation scored another dataset than the run trained on".into(),
        )
        .into());
    }
    let on_split = matches!(
        &verdict.selection,
        Selection::Holdout { beacon, holdout, .. }
            if *beacon == run_verdict.beacon && *holdout == run_verdict.holdout
    );
    if !on_split {
        return Err(ProofError::Mismatch(
            "the evaluation did not score the run's held-out rows".into(),
        )
        .into());
    }
    let (expected, _) =
        crate::model::from_trained(&run_verdict.spec, &MlpParams { layers: vec![] });
    if verdict.model != expected {
        return Err(ProofError::Mismatch(
            "the evaluation scored another architecture or formats than the run trained".into(),
        )
        .into());
    }
    if verdict.weights_commitment != run_verdict.final_commitment {
        return Err(ProofError::Mismatch(
            "the evaluation scored other weights than the run's final model".into(),
        )
        .into());
    }
    Ok((run_verdict, verdict))
}
