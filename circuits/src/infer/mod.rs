//! Inference: quantized models (dense, convolution, average pooling,
//! activations), their native forward pass and the inference circuit.

pub mod circuit;
pub mod model;

pub use circuit::{InferenceCircuit, InferenceWitness, Visibility};
pub use model::{QLayer, QModel, QWeights};
