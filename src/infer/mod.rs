//! Proof of inference: a staged prover (load, keygen, prove) over ONNX, JSON or
//! trained models, statements, and verification from the proof bytes alone.

pub mod prover;
pub mod request;
pub mod statement;

pub use prover::{
    salt_from_secret, InferenceProof, InferenceProver, LoadedModel, ProvenInference, INFER_MAX_K,
};
pub use statement::{
    verify_inferences, verify_inferences_timed, InferenceStatement, ShownItem, VerifyTiming,
};
