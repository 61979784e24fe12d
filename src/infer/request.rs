//! One call that proves an inference end to end, as the command line and
//! the Python package ask for it: load the model (a file, or a training
//! run's trained weights), quantize, make keys, prove, write the proof file,
//! and keep the weight secret.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::infer::{Visibility, MAX_BATCH};

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
    /// The inputs, as raw features: one, or several proven in one proof
    /// (the weights committed once).
    pub inputs: Vec<Vec<f64>>,
    /// Inputs to calibrate an imported model's fixed-point scales on
    /// (default: the inputs themselves).
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
    /// The first input's proven class (argmax of the output).
    pub class: usize,
    /// The first input's quantized output.
    pub output: Vec<i64>,
    /// Every input's result, in order (one entry for a single input).
    pub results: Vec<InferResult>,
    /// Seconds proving, per input.
    pub prove_per_input_s: f64,
    /// Bytes of the proof file.
    pub proof_bytes: usize,
    /// The proof file.
    pub out: PathBuf,
    /// Quantization error on the calibration inputs (imported models).
    pub quantization: Option<QuantReport>,
    /// The weight secret file written by this call, if it drew a new one.
    pub new_secret: Option<PathBuf>,
    /// The first input's class label, when the model's file names its
    /// classes.
    pub label: Option<String>,
    /// What the import rewrote or left out (folded layers, a softmax head
    /// proven as its argmax, outputs not proven, input preprocessing).
    pub notes: Vec<String>,
}

/// One input's proven result.
#[derive(Clone, Debug, Serialize)]
pub struct InferResult {
    /// The proven class (argmax of the output).
    pub class: usize,
    /// The quantized output.
    pub output: Vec<i64>,
    /// The class's label, when the model's file names its classes.
    pub label: Option<String>,
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

/// Proves the request's inputs in one proof and writes it to `req.out`
/// (atomically); a newly drawn weight secret is written only once the proof
/// exists.
pub fn prove_inference(cache: &ParamsCache, req: &InferRequest) -> Result<InferOutcome, Error> {
    let batch = req.inputs.len();
    if batch == 0 || batch > MAX_BATCH {
        return Err(Error::Options(format!(
            "{batch} inputs; one proof takes 1 to {MAX_BATCH}"
        )));
    }
    for (n, x) in req.inputs.iter().enumerate() {
        if let Some((i, bad)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Options(format!(
                "input {n} holds {bad} at element {i}; only finite numbers"
            )));
        }
    }
    crate::files::prepare_output(&req.out, "a proof file", crate::files::is_proof_file)
        .map_err(Error::Options)?;
    let mut new_secret: Option<(PathBuf, [u8; 32])> = None;
    let (loaded, x) = match &req.model {
        ModelSource::File(m) => {
            let secret_path = req
                .secret
                .clone()
                .unwrap_or_else(|| m.with_extension("zkpot-secret"));
            let (key, fresh) = read_or_draw_secret(&secret_path)?;
            new_secret = fresh.then_some((secret_path, key));
            let cal = req.calibration.as_ref().unwrap_or(&req.inputs);
            (LoadedModel::load(m, cal, &key)?, req.inputs.clone())
        }
        ModelSource::Run(r) | ModelSource::RunFile { run: r, .. } => {
            let (l, schema) = crate::train::run::trained_model(r)?;
            if let ModelSource::RunFile { model, .. } = &req.model {
                let float = crate::model::load_model(model)?;
                crate::train::run::check_is_run_model(&float, &l, &schema)?;
            }
            let x = req
                .inputs
                .iter()
                .map(|x| crate::train::run::normalize_raw(&schema, x))
                .collect::<Result<Vec<_>, _>>()?;
            (l, x)
        }
    };
    let quantization = loaded.report.clone();
    let notes = loaded.notes.clone();
    let labels = loaded.labels.clone();
    let start = Instant::now();
    let prover = loaded.keygen_batched(
        cache,
        req.input_visibility,
        req.output_visibility,
        batch,
        req.progress,
    )?;
    let keygen_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let what = if batch == 1 {
        String::new()
    } else {
        format!("{batch} inputs ")
    };
    let bar =
        crate::progress::spinner(req.progress, format!("proving {what}at k = {}", prover.k()));
    let proof = prover.prove_batch(&x);
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
    let results: Vec<InferResult> = proof
        .items
        .iter()
        .map(|p| InferResult {
            class: p.class,
            output: p.output.clone(),
            label: labels.as_ref().and_then(|l| l.get(p.class).cloned()),
        })
        .collect();
    let first = results
        .first()
        .cloned()
        .ok_or(Error::Internal("a proof without inputs"))?;
    Ok(InferOutcome {
        k: prover.k(),
        keygen_s,
        prove_s,
        class: first.class,
        output: first.output,
        label: first.label,
        results,
        prove_per_input_s: prove_s / batch as f64,
        proof_bytes: bytes.len(),
        out: req.out.clone(),
        quantization,
        new_secret: written,
        notes,
    })
}

fn write_to(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic(path, bytes).map_err(|e| Error::Options(format!("{}: {e}", path.display())))
}
