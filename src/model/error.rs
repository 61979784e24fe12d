//! Errors of model loading, conversion and quantization.

use thiserror::Error;

use crate::numbers::{real, real_beside};

/// Why a model was refused.
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The ONNX bytes do not decode.
    #[error("not a valid ONNX model: {0}")]
    Onnx(String),
    /// An operator zkpot does not prove.
    #[error("unsupported operator {op} in {node}{hint}")]
    Unsupported {
        /// The ONNX operator (with its domain when it is not the default).
        op: String,
        /// The node: its name, or its index with its inputs and outputs.
        node: String,
        /// What to do instead, when there is a known way (starts with "; "),
        /// or empty.
        hint: String,
    },
    /// An operator with attributes or inputs zkpot does not handle.
    #[error("{node} ({op}): {reason}")]
    Node {
        /// The ONNX operator.
        op: String,
        /// The node: its name, or its index with its inputs and outputs.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A tensor of a data type that cannot serve where it is used.
    #[error("tensor {tensor:?} has data type {data_type}: {reason}")]
    DataType {
        /// The tensor's name.
        tensor: String,
        /// Its ONNX data type, by name and number.
        data_type: String,
        /// Why that type does not fit.
        reason: String,
    },
    /// Shapes that do not chain.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A weight or input that is NaN or infinite.
    #[error("{what} holds a value that is not finite")]
    NotFinite {
        /// Which tensor.
        what: String,
    },
    /// A batch normalization whose variance is not positive.
    #[error(
        "tensor {tensor:?} (the variance of {node}) holds {value}; a variance must be positive"
    )]
    Variance {
        /// The variance tensor.
        tensor: String,
        /// The node.
        node: String,
        /// The offending value.
        value: f64,
    },
    /// A model or input too large to prove.
    #[error("{what} of {size} exceeds the supported {limit}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A real value outside the fixed-point format it must be quantized into.
    #[error(
        "{what} is {}, outside {format} ({} to {}){hint}",
        real_beside(*.value, &[*.min, *.max]),
        real(*.min),
        real(*.max)
    )]
    OutOfRange {
        /// Which value: an input's index, the largest weight, ...
        what: String,
        /// The value.
        value: f64,
        /// The format, e.g. `Q14/16b`.
        format: String,
        /// The smallest value the format holds.
        min: f64,
        /// The largest value the format holds.
        max: f64,
        /// What to do (starts with "; "), or empty.
        hint: String,
    },
    /// A JSON model or input that does not parse.
    #[error("invalid JSON: {0}")]
    Json(String),
}
