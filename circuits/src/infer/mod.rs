//! Inference: quantized models (dense, convolution, average pooling,
//! activations), their native forward pass and the inference circuit.

pub mod any;
pub mod circuit;
pub mod model;

pub use any::AnyInference;
pub use circuit::{
    is_compact, Compact, InferShape, InferenceCircuit, InferenceWitness, Visibility, Wide,
};
pub use model::{QLayer, QModel, QWeights};
