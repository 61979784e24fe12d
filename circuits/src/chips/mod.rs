//! halo2 chips, each beside its native reference.
//!
//! - [`constraints`]: the named list of every gate and lookup argument.
//! - [`table`]: the one shared lookup table (ranges and nonlinearities).
//! - [`lookup`]: the generic lookup gadget (running-sum decompositions).
//! - [`range`]: range checks of any width.
//! - [`rescale`]: rescale with rounding, fused with an activation.
//! - [`dot`]: wide multiply-accumulate with a shared operand.
//! - [`dense`]: a dense layer composed of the above.
//! - [`hash`]: Poseidon of any length, natively and in circuit.
//! - [`merkle`]: Merkle paths bound to an index.
//! - [`pack`]: packing small values into field elements.
//! - [`pack_lane`]: lean lanes packing signed bytes (8-bit weights).
//! - [`core`]: the configuration that bundles them for a circuit.

pub mod constraints;
pub mod core;
pub mod dense;
pub mod dot;
pub mod hash;
pub mod lookup;
pub mod merkle;
pub mod pack;
pub mod pack_lane;
pub mod range;
pub mod rescale;
pub mod table;

#[cfg(test)]
pub(crate) mod test_utils;
