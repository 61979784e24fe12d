//! Writing a release folder from a run (and its held-out evaluation): the
//! run and the evaluation are verified first, their public files copied,
//! training replayed for the report, and the card and attestation written
//! last. The folder is assembled beside its destination and renamed into
//! place, so an interrupted release leaves nothing half written under the
//! name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::card::{attestation, model_card, valid_name, Facts};
use super::plot::{accuracy_svg, loss_svg};
use super::verify::{check_report, check_weights, list_files};
use super::{
    sha256_file, ReleaseError, ACCURACY_PLOT, ATTESTATION, CARD, COMMITMENT, LOSS_PLOT, REPORT,
    WEIGHTS,
};
use crate::eval::{verify_run_eval, EvalFile, EvalVerdict};
use crate::params::ParamsCache;
use crate::train::run::report::training_report;
use crate::train::run::{verify_run_against, RunFile, RunVerdict};
use crate::Error;

/// Options of [`write_release`].
#[derive(Clone, Debug, Default)]
pub struct ReleaseOptions {
    /// The release's name (default: the output folder's name, if valid,
    /// else `zkpot-model`).
    pub name: Option<String>,
}

/// What [`write_release`] wrote.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseReport {
    /// The release folder.
    pub dir: PathBuf,
    /// The release's name.
    pub name: String,
    /// Files written (the attestation included).
    pub files: usize,
    /// The verified run.
    pub run: RunVerdict,
    /// The verified evaluation.
    pub eval: Option<EvalVerdict>,
}

fn write_file(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), Error> {
    let path = root.join(rel);
    let io = |source| ReleaseError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&path, bytes).map_err(io)?;
    Ok(())
}

fn copy_file(from: &Path, root: &Path, rel: &str) -> Result<(), Error> {
    let bytes = std::fs::read(from).map_err(|source| ReleaseError::Io {
        path: from.to_path_buf(),
        source,
    })?;
    write_file(root, rel, &bytes)
}

fn default_name(out: &Path) -> String {
    out.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| valid_name(n))
        .unwrap_or("zkpot-model")
        .to_string()
}

/// Writes the release of `run_dir` (and of `eval_dir`, its held-out
/// evaluation) into `out_dir`, which must not exist yet. Needs the run's
/// private files (to replay training for the report) and its dataset.
pub fn write_release(
    cache: &ParamsCache,
    run_dir: &Path,
    eval_dir: Option<&Path>,
    out_dir: &Path,
    opts: &ReleaseOptions,
) -> Result<ReleaseReport, Error> {
    let name = opts.name.clone().unwrap_or_else(|| default_name(out_dir));
    if !valid_name(&name) {
        return Err(Error::Options(format!(
            "release name {name:?}: use 1 to 96 letters, digits, '.', '_' or '-'"
        )));
    }
    if out_dir.exists() {
        return Err(Error::Options(format!(
            "{} already exists; give a new folder for the release",
            out_dir.display()
        )));
    }
    let run_file = RunFile::read(&run_dir.join("run.json"))?;
    let commitment = &run_file.dataset;
    // Nothing is released that does not verify.
    let (run, eval) = match eval_dir {
        Some(e) => {
            let (r, v) = verify_run_eval(cache, run_dir, e, Some(commitment))?;
            (r, Some(v))
        }
        None => (verify_run_against(cache, run_dir, Some(commitment))?, None),
    };
    let report = training_report(run_dir)?;
    check_report(&report, &run, eval.as_ref())?;

    // Assembled beside the destination under a name of this process's own,
    // removed again if anything fails.
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{base}.partial-{}", std::process::id()));
    let guard = Cleanup(tmp.clone());
    if tmp.exists() {
        // An earlier process of the same id was interrupted here.
        std::fs::remove_dir_all(&tmp).map_err(|source| ReleaseError::Io {
            path: tmp.clone(),
            source,
        })?;
    }
    write_file(&tmp, COMMITMENT, commitment.to_json()?.as_bytes())?;
    copy_file(&run_dir.join("run.json"), &tmp, "run/run.json")?;
    for p in &run_file.proofs {
        copy_file(&run_dir.join(p), &tmp, &format!("run/{p}"))?;
    }
    let weights = run_dir.join("model.json");
    if weights.exists() {
        copy_file(&weights, &tmp, WEIGHTS)?;
        check_weights(&tmp, &run)?;
    }
    if let Some(e) = eval_dir {
        let file = EvalFile::read(&e.join("eval.json"))?;
        copy_file(&e.join("eval.json"), &tmp, "eval/eval.json")?;
        for p in &file.proofs {
            copy_file(&e.join(p), &tmp, &format!("eval/{p}"))?;
        }
    }
    write_file(&tmp, REPORT, pretty(&report)?.as_bytes())?;
    write_file(&tmp, LOSS_PLOT, loss_svg(&report)?.as_bytes())?;
    write_file(&tmp, ACCURACY_PLOT, accuracy_svg(&report)?.as_bytes())?;

    let digest = |rel: &str| {
        sha256_file(&tmp.join(rel)).map_err(|source| ReleaseError::Io {
            path: tmp.join(rel),
            source,
        })
    };
    let weights_digest = if weights.exists() {
        Some(digest(WEIGHTS)?)
    } else {
        None
    };
    let facts = Facts {
        name: &name,
        run: &run,
        eval: eval.as_ref(),
        report: &report,
        weights_digest: weights_digest.as_deref(),
    };
    write_file(&tmp, CARD, model_card(&facts).as_bytes())?;
    let mut digests = BTreeMap::new();
    for f in list_files(&tmp)? {
        let d = digest(&f)?;
        digests.insert(f, d);
    }
    write_file(&tmp, ATTESTATION, attestation(&facts, &digests)?.as_bytes())?;
    if out_dir.exists() {
        return Err(Error::Options(format!(
            "{} appeared while the release was written; nothing was replaced",
            out_dir.display()
        )));
    }
    std::fs::rename(&tmp, out_dir).map_err(|source| ReleaseError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    std::mem::forget(guard);
    Ok(ReleaseReport {
        dir: out_dir.to_path_buf(),
        name,
        files: digests.len() + 1,
        run,
        eval,
    })
}

/// Removes a partial release folder when dropped.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pretty JSON with a final newline.
fn pretty<T: Serialize>(v: &T) -> Result<String, Error> {
    let mut s =
        serde_json::to_string_pretty(v).map_err(|_| Error::Internal("report serialization"))?;
    s.push('\n');
    Ok(s)
}
