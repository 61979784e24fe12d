//! Errors of model loading, conversion and quantization.

use thiserror::Error;

/// Why a model was refused.
#[derive(Debug, Error)]
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
    #[error("unsupported operator {op} in node {node:?}")]
    Unsupported {
        /// The ONNX operator.
        op: String,
        /// The node's name.
        node: String,
    },
    /// An operator with attributes or inputs zkpot does not handle.
    #[error("node {node:?} ({op}): {reason}")]
    Node {
        /// The ONNX operator.
        op: String,
        /// The node's name.
        node: String,
        /// What is wrong.
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
    /// A JSON model or input that does not parse.
    #[error("invalid JSON: {0}")]
    Json(String),
}
