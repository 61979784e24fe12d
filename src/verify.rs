//! Verifying whatever a path holds: a proof file (inference, training steps
//! or evaluation), a run directory, an evaluation directory or a release
//! folder, alone or with a second path it links to (an inference proof, an
//! evaluation or a parent run). The command line and the Python package both
//! call [`verify_path`]; it answers with the verified statement or an error.

use std::path::Path;

use serde::Serialize;

use crate::data::Commitment;
use crate::eval::EvalVerdict;
use crate::infer::InferenceStatement;
use crate::params::ParamsCache;
use crate::proof::{Envelope, StatementKind};
use crate::release::ReleaseVerdict;
use crate::train::run::RunVerdict;
use crate::train::statement::StepStatement;
use crate::Error;

/// What a verified path states.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verified {
    /// A proof of inference.
    Inference {
        /// The statement.
        statement: InferenceStatement,
        /// Seconds spent rebuilding the verifying key.
        keys_s: f64,
        /// Seconds spent checking the proof.
        check_s: f64,
    },
    /// A proof of a group of training steps.
    TrainingSteps {
        /// The statement.
        statement: StepStatement,
    },
    /// A single proof of evaluation.
    EvaluationProof {
        /// The statement.
        statement: crate::eval::EvalStatement,
    },
    /// A whole training run.
    Run {
        /// The run's verdict.
        run: RunVerdict,
    },
    /// A whole evaluation directory.
    Evaluation {
        /// The evaluation's verdict.
        evaluation: EvalVerdict,
    },
    /// An evaluation of the model a run trained, on its held-out rows.
    RunEvaluation {
        /// The run's verdict.
        run: RunVerdict,
        /// The evaluation's verdict.
        evaluation: EvalVerdict,
    },
    /// A run that fine-tuned the final model of a parent run.
    FineTune {
        /// The fine-tuning run's verdict.
        run: RunVerdict,
        /// The parent run's verdict.
        parent: RunVerdict,
    },
    /// An inference of the model a run trained.
    LinkedInference {
        /// The run's verdict.
        run: RunVerdict,
        /// The inference statement.
        inference: InferenceStatement,
    },
    /// A release folder.
    Release {
        /// The release's verdict.
        release: Box<ReleaseVerdict>,
    },
}

impl Verified {
    /// The kind's name as serialized (`"run"`, `"inference"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Verified::Inference { .. } => "inference",
            Verified::TrainingSteps { .. } => "training_steps",
            Verified::EvaluationProof { .. } => "evaluation_proof",
            Verified::Run { .. } => "run",
            Verified::Evaluation { .. } => "evaluation",
            Verified::RunEvaluation { .. } => "run_evaluation",
            Verified::FineTune { .. } => "fine_tune",
            Verified::LinkedInference { .. } => "linked_inference",
            Verified::Release { .. } => "release",
        }
    }
}

/// Reads a proof file's envelope.
pub fn read_envelope(path: &Path) -> Result<Envelope, Error> {
    let bytes = crate::files::read_bounded(path, crate::proof::MAX_ENVELOPE_FILE).map_err(|e| {
        Error::Options(if e.kind() == std::io::ErrorKind::NotFound {
            format!("{}: no such proof file", path.display())
        } else {
            format!("{}: {e}", path.display())
        })
    })?;
    Ok(Envelope::from_bytes(&bytes)?)
}

fn is_release(path: &Path) -> bool {
    path.is_dir()
        && (path.join(crate::release::ATTESTATION).exists()
            || path.join(crate::release::CARD).exists())
}

fn is_eval(path: &Path) -> bool {
    path.join("eval.json").is_file()
}

/// Why a directory cannot be verified: what it lacks, and where a dataset
/// directory goes instead.
fn not_verifiable(dir: &Path) -> String {
    if dir.join("commitment.json").is_file() {
        format!(
            "{} is a dataset directory, not a run: pass its commitment with --dataset {}",
            dir.display(),
            dir.join("commitment.json").display()
        )
    } else {
        format!(
            "{}: not a run, evaluation or release directory (it has no run.json, eval.json \
             or model card)",
            dir.display()
        )
    }
}

/// Verifies what `path` holds, linked to `second` when given, against the
/// published dataset commitment `dataset` when given (a run's dataset must
/// then be exactly it). With `progress`, spinners on standard error name the
/// keys being rebuilt.
pub fn verify_path(
    cache: &ParamsCache,
    path: &Path,
    second: Option<&Path>,
    dataset: Option<&Commitment>,
    progress: bool,
) -> Result<Verified, Error> {
    for p in std::iter::once(path).chain(second) {
        if !p.exists() {
            return Err(Error::Options(format!(
                "{}: no such proof file or directory",
                p.display()
            )));
        }
    }
    // A folder with a model card or an attestation is a release: verified
    // whole, never as the run or evaluation files it may also hold.
    if is_release(path) {
        if let Some(second) = second {
            return Err(Error::Options(format!(
                "{} is a release, verified alone; {} is not part of it",
                path.display(),
                second.display()
            )));
        }
        let release = crate::release::verify_release(cache, path, dataset)?;
        return Ok(Verified::Release {
            release: Box::new(release),
        });
    }
    if path.is_file() {
        if second.is_some() {
            return Err(Error::Options(format!(
                "{} is a proof file, verified alone; to check it against a run, give the run \
                 first: zkpot verify RUN {}",
                path.display(),
                path.display()
            )));
        }
        if dataset.is_some() {
            return Err(Error::Options(
                "a dataset commitment checks a training run directory, not a proof file".into(),
            ));
        }
        return verify_file(cache, &read_envelope(path)?, progress);
    }
    if !path.is_dir() {
        return Err(Error::Options(format!(
            "{}: neither a proof file nor a directory",
            path.display()
        )));
    }
    if is_eval(path) {
        if second.is_some() {
            return Err(Error::Options(format!(
                "to check an evaluation against a run, give the run first: zkpot verify RUN {}",
                path.display()
            )));
        }
        let evaluation = crate::eval::verify_eval(cache, path, dataset)?;
        return Ok(Verified::Evaluation { evaluation });
    }
    let run = path;
    if !run.join("run.json").is_file() {
        return Err(Error::Options(not_verifiable(run)));
    }
    match second {
        Some(eval) if is_eval(eval) => {
            let (run, evaluation) = crate::eval::verify_run_eval(cache, run, eval, dataset)?;
            Ok(Verified::RunEvaluation { run, evaluation })
        }
        Some(parent) if parent.is_dir() && !parent.join("run.json").is_file() => Err(
            Error::Options(format!("{} (the second path)", not_verifiable(parent))),
        ),
        Some(parent) if parent.is_dir() => {
            let (run, parent) = crate::train::run::verify_parent(cache, run, parent, dataset)?;
            Ok(Verified::FineTune { run, parent })
        }
        Some(inference) => {
            let e = read_envelope(inference)?;
            let (run, inference) = crate::train::run::verify_linked(cache, run, &e, dataset)?;
            Ok(Verified::LinkedInference { run, inference })
        }
        None => Ok(Verified::Run {
            run: crate::train::run::verify_run_against(cache, run, dataset)?,
        }),
    }
}

/// Verifies one proof file's envelope on its own.
pub fn verify_file(cache: &ParamsCache, e: &Envelope, progress: bool) -> Result<Verified, Error> {
    let one = std::slice::from_ref(e);
    let none = || Error::Internal("no statement");
    match e.kind {
        StatementKind::Inference => {
            let (mut s, timing) = crate::infer::verify_inferences_timed(cache, one, progress)?;
            Ok(Verified::Inference {
                statement: s.pop().ok_or_else(none)?,
                keys_s: timing.keys,
                check_s: timing.check,
            })
        }
        StatementKind::TrainingStep => Ok(Verified::TrainingSteps {
            statement: crate::train::statement::verify_steps(cache, one)?
                .pop()
                .ok_or_else(none)?,
        }),
        StatementKind::Evaluation => Ok(Verified::EvaluationProof {
            statement: crate::eval::verify_evals(cache, one)?
                .pop()
                .ok_or_else(none)?,
        }),
        StatementKind::Membership => Err(Error::Options(
            "membership proofs are verified through the library (zkpot::data::membership)".into(),
        )),
    }
}
