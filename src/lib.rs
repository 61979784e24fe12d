//! zkpot: zero-knowledge proofs that a model was trained (or run) on a committed
//! dataset, without revealing the data or the weights.
//!
//! The fixed-point numerics and halo2 chips live in [`circuits`]
//! (`zkpot-circuits`); this crate adds what users touch: the parameter cache,
//! and (as the project grows) datasets, models, the prover/verifier API and the
//! command-line tool.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bench;
pub mod data;
pub mod demo;
mod error;
pub mod eval;
mod files;
pub mod hex;
pub mod infer;
pub mod model;
mod numbers;
pub mod params;
pub mod progress;
pub mod proof;
pub mod release;
pub mod train;
pub mod verify;

pub use error::Error;

pub use zkpot_circuits as circuits;
