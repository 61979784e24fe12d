//! Complete circuits built from the chips.
//!
//! - [`dense`]: one dense layer with public input and output and private weights,
//!   the unit the MAC benchmark and the dense-layer proof tests use.
//! - [`membership`]: a committed dataset row opened at a public index.

pub mod dense;
mod error;
pub mod membership;
mod rows;
mod sizing;

pub use error::CircuitError;
pub use rows::{measure, Measured};
pub use sizing::MAX_K;
