//! Complete circuits built from the chips.
//!
//! - [`dense`]: one dense layer with public input and output and private weights,
//!   the unit the MAC benchmark and the dense-layer proof tests use.

pub mod dense;
mod error;
pub mod membership;
mod sizing;

pub use error::CircuitError;
pub use sizing::{min_k, Sizing, MAX_K};
