//! Fixed-point numerics and halo2 chips for zkpot.
//!
//! zkpot proves that a model was trained (or run) on a committed dataset without
//! revealing the data or the weights. This crate holds the pieces every proof is
//! built from:
//!
//! - [`fixed`]: the native fixed-point numerics, one integer implementation per
//!   operation, used for training, witness generation and tests alike;
//! - [`field`]: signed integers in the circuit field;
//! - [`chips`]: halo2 chips (lookup table, range checks, rescale, activations,
//!   wide multiply-accumulate, dense layers), each beside its native reference;
//! - [`circuits`]: complete circuits built from the chips;
//! - [`envelope`]: the bounds every statement must stay inside.
//!
//! Proofs use `halo2_proofs` with inner-product commitments over the Pasta
//! curves: no trusted setup. The circuit field is [`Fp`] (`pallas::Base`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod chips;
pub mod circuits;
pub mod envelope;
pub mod field;
pub mod fixed;
pub mod infer;
pub mod proving;
#[cfg(test)]
pub(crate) mod tamper;
pub mod train;

/// The circuit field, `pallas::Base`.
pub use halo2_proofs::pasta::Fp;
