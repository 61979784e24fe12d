//! zkpot: zero-knowledge proofs that a model was trained (or run) on a committed
//! dataset, without revealing the data or the weights.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use zkpot_circuits as circuits;
