//! A run's trained model out of zkpot: `zkpot model export --run RUN --onnx
//! OUT.onnx` writes it as a float ONNX model that takes raw features (the
//! dataset's normalization is its first operation) and whose weights are
//! exactly the run's final fixed-point weights; and the check that a model
//! file is that model, so an inference proof of the deployed file links to
//! the run.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::prove::trained_model;
use super::RunFile;
use crate::data::Schema;
use crate::files::write_atomic;
use crate::infer::LoadedModel;
use crate::model::export::{exact_weights, mlp_to_onnx};
use crate::model::Model;
use crate::Error;

/// What [`export_onnx`] wrote.
#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    /// The ONNX file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// The run's final weight commitment `C_{W_T}`, also in the file's
    /// `metadata_props` as `zkpot.weights_commitment`.
    pub weights_commitment: String,
    /// The dataset's public root (`zkpot.dataset_root`).
    pub dataset_root: String,
}

/// Writes the run's trained model as ONNX (needs the run's private files).
pub fn export_onnx(run_dir: &Path, out: &Path) -> Result<Exported, Error> {
    // Only an earlier .onnx file is replaced: never the run's own files.
    crate::files::prepare_output(out, "an .onnx file", |p| {
        p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
    })
    .map_err(Error::Options)?;
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let (loaded, schema) = trained_model(run_dir)?;
    let commitment = run.chain.last().cloned().unwrap_or_default();
    let metadata = vec![
        ("zkpot.weights_commitment".to_string(), commitment.clone()),
        ("zkpot.dataset_root".to_string(), run.dataset.root.clone()),
        ("zkpot.model".to_string(), run.spec.arch().to_string()),
        (
            "zkpot.weight_format".to_string(),
            loaded.model.weight.to_string(),
        ),
        ("zkpot.classes".to_string(), schema.classes.join(",")),
    ];
    let n = &schema.normalization;
    let bytes = mlp_to_onnx(
        &loaded.model,
        &loaded.weights,
        &n.offset,
        &n.scale,
        &metadata,
    )?;
    write_atomic(out, &bytes).map_err(|e| Error::Options(format!("{}: {e}", out.display())))?;
    Ok(Exported {
        path: out.to_path_buf(),
        bytes: bytes.len(),
        weights_commitment: commitment,
        dataset_root: run.dataset.root,
    })
}

/// Checks that `float` (a model file, imported) is the run's trained model:
/// the dataset's normalization as its preprocessing (as f32, which the
/// file stores), the same layers, and weights that are exactly the run's
/// final fixed-point weights, so they commit to `C_{W_T}` under the run's
/// weight salt.
pub fn check_is_run_model(
    float: &Model,
    loaded: &LoadedModel,
    schema: &Schema,
) -> Result<(), Error> {
    let refuse = |why: String| {
        Error::Options(format!(
            "the model file is not the run's trained model: {why}"
        ))
    };
    let n = &schema.normalization;
    let want_scale: Vec<f64> = n.scale.iter().map(|s| *s as f32 as f64).collect();
    let want_shift: Vec<f64> = n
        .offset
        .iter()
        .zip(&want_scale)
        .map(|(o, s)| -(*o as f32 as f64) * s)
        .collect();
    match &float.preprocess {
        Some(p) if p.scale == want_scale && p.shift == want_shift => {}
        Some(_) => {
            return Err(refuse(
                "its input normalization is not the dataset's".into(),
            ))
        }
        None => {
            return Err(refuse(
                "it does not normalize its input as the dataset does".into(),
            ))
        }
    }
    let (layers, _) =
        crate::model::quantize::layer_shapes(float).map_err(|e| refuse(e.to_string()))?;
    if layers != loaded.model.layers {
        return Err(refuse(format!(
            "its layers are not the run's {} layers",
            loaded.model.layers.len()
        )));
    }
    let weights =
        exact_weights(float, loaded.model.weight.frac_bits()).map_err(|e| refuse(e.to_string()))?;
    for (l, (a, b)) in weights.iter().zip(&loaded.weights).enumerate() {
        if a != b {
            return Err(refuse(format!(
                "layer {l}'s weights differ from the run's final weights (C_W_T)"
            )));
        }
    }
    Ok(())
}

/// A raw row normalized as the run's dataset was (the schema's per-feature
/// offset and scale); an error naming both counts if the row's length is
/// not the dataset's.
pub fn normalize_raw(schema: &Schema, x: &[f64]) -> Result<Vec<f64>, Error> {
    let n = &schema.normalization;
    if x.len() != n.offset.len() || n.scale.len() != n.offset.len() {
        return Err(Error::Options(format!(
            "the input has {} features, the dataset {} ({} scales)",
            x.len(),
            n.offset.len(),
            n.scale.len()
        )));
    }
    Ok(x.iter()
        .enumerate()
        .map(|(j, v)| (v - n.offset[j]) * n.scale[j])
        .collect())
}

/// The class the run's final fixed-point model predicts for each raw row
/// (normalized as the dataset was, quantized, the native forward pass,
/// argmax), without proving: what an inference proof of the row would
/// show, and what an exported file run elsewhere must agree with.
pub fn predict(run_dir: &Path, rows: &[Vec<f64>]) -> Result<Vec<usize>, Error> {
    let (loaded, schema) = trained_model(run_dir)?;
    rows.iter()
        .map(|x| {
            let q = crate::model::quantize_input(&loaded.model, &normalize_raw(&schema, x)?)?;
            let out = loaded.model.forward(&loaded.weights, &q)?;
            let logits: Vec<f64> = out
                .last()
                .map(|y| y.iter().map(|v| *v as f64).collect())
                .unwrap_or_default();
            Ok(crate::model::quantize::argmax(&logits))
        })
        .collect()
}
