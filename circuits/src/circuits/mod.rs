//! Complete circuits built from the chips.
//!
//! - [`dense`]: a benchmark circuit, one dense layer with public input and
//!   output and free (uncommitted) weights: it measures the gadgets and is no
//!   statement.
//! - [`membership`]: a committed dataset row opened at a public index.

pub mod dense;
mod error;
pub mod membership;
mod rows;
mod sizing;

pub use error::CircuitError;
pub use rows::{measure, Measured};
pub use sizing::MAX_K;
