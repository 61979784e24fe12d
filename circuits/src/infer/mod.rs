//! Inference: quantized models (dense, convolution, average and max pooling,
//! activations, an argmax head), their native forward pass and the inference
//! circuit.

pub mod any;
pub mod circuit;
pub mod eval;
pub mod layers;
pub mod model;
pub mod select;
#[cfg(test)]
mod tampering;

pub use any::AnyInference;
pub use circuit::{
    is_compact, layout_for, layout_of, Batched, Compact, InferShape, InferenceCircuit,
    InferenceItem, InferenceWitness, Layout, Visibility, Wide, WideLookups, BATCHED_MIN_INPUTS,
    MAX_BATCH,
};
pub use model::{argmax, LayerOut, QLayer, QModel, QWeights};
