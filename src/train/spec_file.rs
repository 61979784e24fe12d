//! The JSON training spec file of `zkpot train --spec`: every key optional,
//! unknown keys refused, command-line options override it.
//!
//! ```json
//! { "model": "mlp:64-32-10", "loss": "cross-entropy", "lr": 0.5, "batch": 16,
//!   "epochs": 1, "steps_per_proof": 1, "seed": 0, "sampling": "shuffle",
//!   "holdout": 0.2 }
//! ```
//!
//! `model` is a shorthand (`mlp:64-32-10`, `cnn:1x8x8-c4k3p1-relu-avg2-d10`)
//! or the same layers listed:
//!
//! ```json
//! { "model": { "input": [1, 8, 8], "layers": [
//!     {"op": "conv", "channels": 4, "kernel": 3, "padding": 1},
//!     {"op": "relu"}, {"op": "avg_pool", "size": 2}, {"op": "dense", "units": 10} ] } }
//! ```

use std::path::Path;

use serde::Deserialize;
use zkpot_circuits::train::arch::{Arch, ArchLayers};

use crate::data::DataError;
use crate::Error;

/// A model in a spec file: the shorthand or the layers listed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(
    untagged,
    expecting = "a model string such as \"mlp:64-32-10\", or {\"input\": [channels, height, \
                 width], \"layers\": [{\"op\": \"conv\", ...}, ...]} whose layers are conv, relu, \
                 avg_pool, max_pool or dense with their fields"
)]
pub enum ModelSpec {
    /// `mlp:64-32-10` or `cnn:...`.
    Shorthand(String),
    /// The input shape and the layers.
    Layers(ArchLayers),
}

impl ModelSpec {
    /// The architecture it describes.
    pub fn arch(&self) -> Result<Arch, Error> {
        match self {
            ModelSpec::Shorthand(s) => super::run::parse_model(s),
            ModelSpec::Layers(l) => Arch::from_layers(l).map_err(|e| Error::Options(e.to_string())),
        }
    }
}

/// A training spec file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The model: a shorthand, e.g. `mlp:64-32-10`, or its layers.
    pub model: Option<ModelSpec>,
    /// `cross-entropy` or `mse`.
    pub loss: Option<String>,
    /// Learning rate (a multiple of 1/256).
    pub lr: Option<f64>,
    /// Batch size (a power of two).
    pub batch: Option<usize>,
    /// SGD steps (`epochs` wins on the command line only).
    pub steps: Option<u64>,
    /// Epochs, when `steps` is absent.
    pub epochs: Option<u64>,
    /// SGD steps per proof.
    pub steps_per_proof: Option<u64>,
    /// Public initialization seed.
    pub seed: Option<u64>,
    /// `shuffle` or `replacement`.
    pub sampling: Option<String>,
    /// The fraction of rows held out of training.
    pub holdout: Option<f64>,
}

impl SpecFile {
    /// Reads and parses a spec file; malformed JSON, unknown keys and values
    /// of the wrong type are errors naming the file.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(&text).map_err(|reason| {
            DataError::Malformed {
                path: path.to_path_buf(),
                reason,
            }
            .into()
        })
    }

    /// Parses spec JSON.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_partial_specs_and_refuses_bad_ones() {
        let s = SpecFile::parse(r#"{"model": "mlp:64-10", "epochs": 2}"#).unwrap();
        assert_eq!(s.model, Some(ModelSpec::Shorthand("mlp:64-10".into())));
        assert_eq!(s.epochs, Some(2));
        assert_eq!(s.lr, None);
        assert!(SpecFile::parse(r#"{"modle": "mlp:64-10"}"#).is_err());
        assert!(SpecFile::parse(r#"{"batch": "sixteen"}"#).is_err());
        assert!(SpecFile::parse(r#"{"batch": -1}"#).is_err());
        assert!(SpecFile::parse("{").is_err());
    }
}
