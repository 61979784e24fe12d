//! Proof bytes: the versioned envelope every zkpot proof travels in, and its
//! errors. Statements and verification live with what they prove (training
//! runs in `train`, datasets in `data`).

mod envelope;
mod error;

pub use envelope::{Envelope, StatementKind, ENVELOPE_VERSION, MAGIC};
pub use error::ProofError;
