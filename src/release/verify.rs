//! Verifying a release folder: every file against the attestation's
//! digests, the run and its evaluation against the bundled commitment,
//! released weights against the final commitment, and the card, plots and
//! attestation regenerated from the verified facts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zkpot_circuits::train::{weights_commitment_native, MlpParams, TrainSpec};

use super::card::{attestation, model_card, valid_name, Facts, PREDICATE_TYPE, STATEMENT_TYPE};
use super::plot::{accuracy_svg, loss_svg};
use super::{
    sha256_file, ReleaseError, ACCURACY_PLOT, ATTESTATION, CARD, COMMITMENT, LOSS_PLOT, REPORT,
    SIGNATURES, WEIGHTS,
};
use crate::data::Commitment;
use crate::eval::{verify_run_eval, EvalVerdict};
use crate::hex::fp_from_hex;
use crate::params::ParamsCache;
use crate::train::run::report::{TrainingReport, ACCURACY_ROWS, MAX_LOSS};
use crate::train::run::{verify_run_against, RunVerdict};
use crate::Error;

/// The most files a release may hold.
const MAX_FILES: usize = 1 << 20;
/// The largest JSON document of a release read whole.
const MAX_DOCUMENT: u64 = 256 << 20;

/// What verifying a release established.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseVerdict {
    /// The release's name.
    pub name: String,
    /// The verified run.
    pub run: RunVerdict,
    /// The verified evaluation, linked to the run.
    pub eval: Option<EvalVerdict>,
    /// Whether the weights are released (and open the final commitment).
    pub weights_released: bool,
    /// Files checked against the attestation.
    pub files: usize,
    /// Files under `signatures/`, present but not checked.
    pub signatures: usize,
}

fn malformed(file: &str, reason: impl Into<String>) -> Error {
    ReleaseError::Malformed {
        file: file.into(),
        reason: reason.into(),
    }
    .into()
}

/// Every regular file under `dir`, as `/`-separated paths relative to it,
/// sorted; symbolic links and other special files are refused.
pub(super) fn list_files(dir: &Path) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let io = |source| ReleaseError::Io {
            path: path.clone(),
            source,
        };
        for entry in std::fs::read_dir(&path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                malformed(
                    &format!(
                        "{}/{}",
                        if rel.is_empty() { "." } else { &rel },
                        name.to_string_lossy()
                    ),
                    "a file name that is not UTF-8",
                )
            })?;
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if out.len() + stack.len() >= MAX_FILES {
                return Err(malformed(&child, format!("more than {MAX_FILES} files")));
            }
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                stack.push((entry.path(), child));
            } else if kind.is_file() {
                out.push(child);
            } else {
                return Err(malformed(&child, "not a regular file (a link?)"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_document(dir: &Path, file: &str) -> Result<Vec<u8>, Error> {
    let path = dir.join(file);
    let io = |source| ReleaseError::Io {
        path: path.clone(),
        source,
    };
    let meta = std::fs::symlink_metadata(&path).map_err(io)?;
    if !meta.is_file() {
        return Err(malformed(file, "not a regular file (a link?)"));
    }
    let len = meta.len();
    if len > MAX_DOCUMENT {
        return Err(malformed(file, format!("{len} bytes is too large")));
    }
    Ok(std::fs::read(&path).map_err(io)?)
}

/// Reads a JSON document of the release.
pub(super) fn read_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    file: &str,
) -> Result<T, Error> {
    let bytes = read_document(dir, file)?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(file, e.to_string()))
}

/// The parts of an attestation a verifier reads; the rest is regenerated
/// and compared.
#[derive(Deserialize)]
struct Attestation {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[allow(dead_code)]
    subject: Vec<serde_json::Value>,
    predicate: Predicate,
}

#[derive(Deserialize)]
struct Predicate {
    name: String,
    files: BTreeMap<String, String>,
}

/// The released weights file as `zkpot train --release-weights` writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReleasedModel {
    format: String,
    commitment: String,
    salt: String,
    spec: TrainSpec,
    params: MlpParams,
}

/// Checks released weights: the run's spec, shapes that fit it, every
/// weight inside the weight format, and the salt opening the run's final
/// commitment.
pub(super) fn check_weights(dir: &Path, run: &RunVerdict) -> Result<(), Error> {
    let m: ReleasedModel = read_json(dir, WEIGHTS)?;
    let bad = |reason: &str| malformed(WEIGHTS, reason);
    if m.format != "zkpot-released-model" {
        return Err(bad("not a zkpot released model"));
    }
    if m.spec != run.spec {
        return Err(bad("its spec is not the run's"));
    }
    if !m.params.fits(&run.spec) {
        return Err(bad("its weights do not have the architecture's shapes"));
    }
    let f = run.spec.formats.weight;
    if m.params
        .layers
        .iter()
        .flatten()
        .any(|v| !f.contains(i128::from(*v)))
    {
        return Err(bad("a weight lies outside the weight format"));
    }
    let salt = fp_from_hex(&m.salt).ok_or_else(|| bad("the salt is not a field element"))?;
    let c = weights_commitment_native(salt, &m.params.flatten(), f.bits());
    if m.commitment != run.final_commitment || fp_from_hex(&run.final_commitment) != Some(c) {
        return Err(bad(
            "the weights and salt do not open the run's final commitment",
        ));
    }
    Ok(())
}

/// Checks the training report is well formed and agrees with what is
/// proven: one loss per proven step, steps in order, finite values, and,
/// when it measured accuracy on exactly the evaluated held-out rows, a
/// final fixed-point accuracy equal to the proven one.
pub(super) fn check_report(
    r: &TrainingReport,
    run: &RunVerdict,
    eval: Option<&EvalVerdict>,
) -> Result<(), Error> {
    let bad = |reason: String| malformed(REPORT, reason);
    if r.loss.len() as u64 != run.steps
        || r.loss
            .iter()
            .enumerate()
            .any(|(i, p)| p.step != i as u64 + 1)
    {
        return Err(bad(format!(
            "its losses are not one per step of {}",
            run.steps
        )));
    }
    if r.accuracy.first().map(|p| p.step) != Some(0)
        || r.accuracy.last().map(|p| p.step) != Some(run.steps)
        || r.accuracy.windows(2).any(|w| w[0].step >= w[1].step)
        || r.accuracy.len() > 1 + crate::train::run::report::ACCURACY_POINTS as usize
    {
        return Err(bad(
            "its accuracy points are not in step order from 0 to the last".into(),
        ));
    }
    let finite = |v: f64| (0.0..=MAX_LOSS).contains(&v);
    if r.loss.iter().any(|p| !finite(p.fixed) || !finite(p.float))
        || r.accuracy
            .iter()
            .any(|p| !(0.0..=1.0).contains(&p.fixed) || !(0.0..=1.0).contains(&p.float))
    {
        return Err(bad(
            "a value is not a finite loss or an accuracy in [0, 1]".into()
        ));
    }
    let (expected_rows, count) = if run.holdout > 0 {
        ("held-out", run.holdout.min(ACCURACY_ROWS))
    } else {
        ("training", run.n_rows.min(ACCURACY_ROWS))
    };
    if r.accuracy_rows != expected_rows || r.accuracy_count != count {
        return Err(bad(format!(
            "it measures {} {} rows, not the {count} {expected_rows} rows a report measures",
            r.accuracy_count, r.accuracy_rows
        )));
    }
    if let (Some(e), Some(last)) = (eval, r.final_accuracy()) {
        if r.accuracy_count == e.rows && last.fixed != e.accuracy {
            return Err(bad(format!(
                "its final held-out accuracy {} is not the proven {}",
                last.fixed, e.accuracy
            )));
        }
    }
    Ok(())
}

fn part(file: &str, source: Error) -> Error {
    ReleaseError::Part {
        file: file.into(),
        source: Box::new(source),
    }
    .into()
}

/// The files a release may hold: the documents, the commitment, the run's
/// and the evaluation's description files and their proofs at the names
/// those list, and released weights.
fn expected_files(
    dir: &Path,
    present: &BTreeMap<String, String>,
) -> Result<std::collections::BTreeSet<String>, Error> {
    let mut expected: std::collections::BTreeSet<String> = [
        CARD,
        COMMITMENT,
        REPORT,
        LOSS_PLOT,
        ACCURACY_PLOT,
        WEIGHTS,
        "run/run.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = crate::train::run::RunFile::read(&dir.join("run/run.json"))
        .map_err(|e| part("run/run.json", e))?;
    expected.extend(run.proofs.iter().map(|p| format!("run/{p}")));
    if present.contains_key("eval/eval.json") {
        let eval = crate::eval::EvalFile::read(&dir.join("eval/eval.json"))
            .map_err(|e| part("eval/eval.json", e))?;
        expected.insert("eval/eval.json".into());
        expected.extend(eval.proofs.iter().map(|p| format!("eval/{p}")));
    }
    Ok(expected)
}

fn require_same(file: &str, sources: &str, expected: &[u8], actual: &[u8]) -> Result<(), Error> {
    if expected == actual {
        return Ok(());
    }
    let at = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    Err(ReleaseError::Differs {
        file: file.into(),
        sources: sources.into(),
        reason: format!("first difference at byte {at}"),
    }
    .into())
}

/// Verifies a release folder (see the [module docs](super)). With
/// `published`, the release must also be of exactly that dataset
/// commitment, as the verifier obtained it independently.
pub fn verify_release(
    cache: &ParamsCache,
    dir: &Path,
    published: Option<&Commitment>,
) -> Result<ReleaseVerdict, Error> {
    let files = list_files(dir)?;
    let att: Attestation = read_json(dir, ATTESTATION)?;
    if att.kind != STATEMENT_TYPE || att.predicate_type != PREDICATE_TYPE {
        return Err(malformed(
            ATTESTATION,
            format!("not an in-toto Statement of type {PREDICATE_TYPE}"),
        ));
    }
    if !valid_name(&att.predicate.name) {
        return Err(malformed(
            ATTESTATION,
            "the release name is not a valid name",
        ));
    }
    // Every file listed, every listed file present, every digest right.
    let signatures = files
        .iter()
        .filter(|f| f.starts_with(&format!("{SIGNATURES}/")))
        .count();
    let mut digests = BTreeMap::new();
    for f in &files {
        if f == ATTESTATION || f.starts_with(&format!("{SIGNATURES}/")) {
            continue;
        }
        let listed = att
            .predicate
            .files
            .get(f)
            .ok_or_else(|| ReleaseError::Unlisted {
                file: f.clone(),
                attestation: ATTESTATION,
            })?;
        let actual = sha256_file(&dir.join(f)).map_err(|source| ReleaseError::Io {
            path: dir.join(f),
            source,
        })?;
        if &actual != listed {
            return Err(ReleaseError::Digest {
                file: f.clone(),
                actual,
                listed: listed.clone(),
                attestation: ATTESTATION,
            }
            .into());
        }
        digests.insert(f.clone(), actual);
    }
    if let Some(f) = att
        .predicate
        .files
        .keys()
        .find(|f| !digests.contains_key(*f))
    {
        return Err(ReleaseError::Missing {
            file: f.clone(),
            attestation: ATTESTATION,
        }
        .into());
    }

    // Only the files a release holds, at their places.
    let expected = expected_files(dir, &digests)?;
    if let Some(f) = digests.keys().find(|f| !expected.contains(*f)) {
        return Err(malformed(f, "not a file a release holds"));
    }

    // The proofs, against the bundled commitment.
    let commitment = Commitment::read(&dir.join(COMMITMENT))?;
    if published.is_some_and(|p| p.root != commitment.root) {
        return Err(ReleaseError::Differs {
            file: COMMITMENT.into(),
            sources: "--dataset".into(),
            reason: "another dataset than the given commitment".into(),
        }
        .into());
    }
    let (run, eval) = if digests.contains_key("eval/eval.json") {
        let (r, e) = verify_run_eval(
            cache,
            &dir.join("run"),
            &dir.join("eval"),
            Some(&commitment),
        )?;
        (r, Some(e))
    } else {
        (
            verify_run_against(cache, &dir.join("run"), Some(&commitment))?,
            None,
        )
    };
    let weights_digest = digests.get(WEIGHTS).cloned();
    if weights_digest.is_some() {
        check_weights(dir, &run)?;
    }
    let report: TrainingReport = read_json(dir, REPORT)?;
    check_report(&report, &run, eval.as_ref())?;

    // The documents, regenerated from what is verified.
    let facts = Facts {
        name: &att.predicate.name,
        run: &run,
        eval: eval.as_ref(),
        report: &report,
        weights_digest: weights_digest.as_deref(),
    };
    let from_report = "report/training.json";
    require_same(
        LOSS_PLOT,
        from_report,
        loss_svg(&report)?.as_bytes(),
        &read_document(dir, LOSS_PLOT)?,
    )?;
    require_same(
        ACCURACY_PLOT,
        from_report,
        accuracy_svg(&report)?.as_bytes(),
        &read_document(dir, ACCURACY_PLOT)?,
    )?;
    require_same(
        CARD,
        "the proofs, report/training.json and the name in attestation.intoto.json",
        model_card(&facts).as_bytes(),
        &read_document(dir, CARD)?,
    )?;
    require_same(
        ATTESTATION,
        "the proofs and the files' digests",
        attestation(&facts, &digests)?.as_bytes(),
        &read_document(dir, ATTESTATION)?,
    )?;
    Ok(ReleaseVerdict {
        name: att.predicate.name,
        run,
        eval,
        weights_released: weights_digest.is_some(),
        files: digests.len() + 1,
        signatures,
    })
}
