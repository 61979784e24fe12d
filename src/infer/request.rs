//! One call that proves an inference end to end, as the command line and
//! the Python package ask for it: load the model (a file, or a training
//! run's trained weights), quantize, make keys, prove, write the proof file,
//! and keep the weight secret.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::infer::Visibility;

use super::prover::{read_or_draw_secret, write_secret, LoadedModel};
use crate::files::write_atomic;
use crate::model::QuantReport;
use crate::params::ParamsCache;
use crate::Error;

/// Where the model comes from.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// An ONNX file or zkpot's JSON model form.
    File(PathBuf),
    /// A training run's trained weights (the proof names its final
    /// commitment; raw inputs are normalized as the dataset's were).
    Run(PathBuf),
    /// A model file exported from a run (`zkpot model export`), proven with
    /// the file's weights under the run's weight salt: refused unless the
    /// file is exactly the run's trained model, so the proof links the
    /// deployed file to the run.
    RunFile {
        /// The ONNX (or JSON) model file.
        model: PathBuf,
        /// The run directory (with its private files).
        run: PathBuf,
    },
}

/// What to prove.
#[derive(Clone, Debug)]
pub struct InferRequest {
    /// The model.
    pub model: ModelSource,
    /// The input, as raw features.
    pub input: Vec<f64>,
    /// Inputs to calibrate an imported model's fixed-point scales on
    /// (default: the input itself).
    pub calibration: Option<Vec<Vec<f64>>>,
    /// Whether the input is public, private or committed.
    pub input_visibility: Visibility,
    /// Whether the output is public or committed.
    pub output_visibility: Visibility,
    /// The 32-byte weight secret file for a model file (default:
    /// `<model>.zkpot-secret`; created once the proof exists if missing).
    pub secret: Option<PathBuf>,
    /// Where to write the proof.
    pub out: PathBuf,
    /// Show progress on standard error.
    pub progress: bool,
}

/// What [`prove_inference`] did.
#[derive(Clone, Debug, Serialize)]
pub struct InferOutcome {
    /// The circuit's size.
    pub k: u32,
    /// Seconds making keys.
    pub keygen_s: f64,
    /// Seconds proving.
    pub prove_s: f64,
    /// The proven class (argmax of the output).
    pub class: usize,
    /// The quantized output.
    pub output: Vec<i64>,
    /// Bytes of the proof file.
    pub proof_bytes: usize,
    /// The proof file.
    pub out: PathBuf,
    /// Quantization error on the calibration inputs (imported models).
    pub quantization: Option<QuantReport>,
    /// The weight secret file written by this call, if it drew a new one.
    pub new_secret: Option<PathBuf>,
    /// The proven class's label, when the model's file names its classes.
    pub label: Option<String>,
    /// What the import rewrote or left out (folded layers, a softmax head
    /// proven as its argmax, outputs not proven, input preprocessing).
    pub notes: Vec<String>,
}

/// A visibility by name: `public`, `private` or `committed`.
pub fn parse_visibility(s: &str) -> Result<Visibility, Error> {
    match s {
        "public" => Ok(Visibility::Public),
        "private" => Ok(Visibility::Private),
        "committed" => Ok(Visibility::Committed),
        other => Err(Error::Options(format!(
            "unknown visibility {other:?} (public, private, committed)"
        ))),
    }
}

/// Proves one inference and writes the proof to `req.out` (atomically); a
/// newly drawn weight secret is written only once the proof exists.
pub fn prove_inference(cache: &ParamsCache, req: &InferRequest) -> Result<InferOutcome, Error> {
    if let Some(bad) = req.input.iter().find(|v| !v.is_finite()) {
        return Err(Error::Options(format!(
            "the input holds {bad}; only finite numbers"
        )));
    }
    let mut new_secret: Option<(PathBuf, [u8; 32])> = None;
    let (loaded, x) = match &req.model {
        ModelSource::File(m) => {
            let secret_path = req
                .secret
                .clone()
                .unwrap_or_else(|| m.with_extension("zkpot-secret"));
            let (key, fresh) = read_or_draw_secret(&secret_path)?;
            new_secret = fresh.then_some((secret_path, key));
            let cal = match &req.calibration {
                Some(c) => c.clone(),
                None => vec![req.input.clone()],
            };
            (LoadedModel::load(m, &cal, &key)?, req.input.clone())
        }
        ModelSource::Run(r) | ModelSource::RunFile { run: r, .. } => {
            let (l, schema) = crate::train::run::trained_model(r)?;
            if let ModelSource::RunFile { model, .. } = &req.model {
                let float = crate::model::load_model(model)?;
                crate::train::run::check_is_run_model(&float, &l, &schema)?;
            }
            let x = crate::train::run::normalize_raw(&schema, &req.input)?;
            (l, x)
        }
    };
    let quantization = loaded.report.clone();
    let notes = loaded.notes.clone();
    let labels = loaded.labels.clone();
    let start = Instant::now();
    let prover = loaded.keygen_with_progress(
        cache,
        req.input_visibility,
        req.output_visibility,
        req.progress,
    )?;
    let keygen_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let bar = crate::progress::spinner(req.progress, format!("proving at k = {}", prover.k()));
    let proof = prover.prove(&x);
    bar.finish_and_clear();
    let proof = proof?;
    let prove_s = start.elapsed().as_secs_f64();
    let bytes = proof.envelope.to_bytes();
    write_to(&req.out, &bytes)?;
    let written = match new_secret {
        Some((path, key)) => {
            write_secret(&path, &key)?;
            Some(path)
        }
        None => None,
    };
    Ok(InferOutcome {
        k: prover.k(),
        keygen_s,
        prove_s,
        class: proof.class,
        output: proof.output,
        proof_bytes: bytes.len(),
        out: req.out.clone(),
        quantization,
        new_secret: written,
        label: labels.and_then(|l| l.get(proof.class).cloned()),
        notes,
    })
}

fn write_to(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic(path, bytes).map_err(|e| Error::Options(format!("{}: {e}", path.display())))
}
