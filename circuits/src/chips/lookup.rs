//! The generic lookup gadget: running-sum decompositions whose pieces are each
//! checked against the shared table.
//!
//! A decomposition proves `value + offset = p_0 + 2^{b_0} (p_1 + 2^{b_1} (p_2 + ...))`
//! where every piece `p_i` is looked up under its own [`Lookup`] (a range of `b_i`
//! bits, or a nonlinearity whose output is returned). Range checks of any width,
//! rescaling with a rounding offset, and activations are all decompositions, so one
//! gate pair and one lookup argument serve every chip.

pub mod chip;

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

pub use chip::{LookupChip, LookupConfig};

use super::table::Lookup;
use crate::Fp;

/// One piece of a decomposition: what it is checked against and its witness.
#[derive(Clone, Debug)]
pub struct Piece {
    /// The lookup the piece must satisfy.
    pub lookup: Lookup,
    /// The piece's value.
    pub input: Value<Fp>,
    /// The table output that goes with it (0 for ranges, `act(input)` otherwise).
    pub output: Value<Fp>,
}

/// The cells a decomposition assigned.
#[derive(Clone, Debug)]
pub struct Decomposition {
    /// The running sums `z_i`: `z_0` is the decomposed value, `z_{i+1} = (z_i +
    /// offset_i - p_i) / 2^{b_i}`.
    pub rests: Vec<AssignedCell<Fp, Fp>>,
    /// The pieces `p_i`.
    pub inputs: Vec<AssignedCell<Fp, Fp>>,
    /// The looked-up outputs that go with the pieces.
    pub outputs: Vec<AssignedCell<Fp, Fp>>,
    /// For [`LookupInstructions::decompose_select`]: `z_i * s`, where `s` is the
    /// last piece's table output.
    pub selected: Option<AssignedCell<Fp, Fp>>,
}

/// Instructions of the generic lookup gadget.
pub trait LookupInstructions {
    /// Proves `value + offset` decomposes into `pieces` (see the module docs) and
    /// returns the assigned cells. The caller computes the pieces with the native
    /// reference; a wrong piece makes the gate or the lookup fail.
    fn decompose(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        offset: i64,
        pieces: &[Piece],
    ) -> Result<Decomposition, Error>;

    /// Like [`decompose_select`](Self::decompose_select) but multiplies `z_select`
    /// by `mask`, a cell that must be 0 or 1 (checked by a `Bit` lookup). A
    /// hidden layer's backward pass uses it with the forward pass's sign bit.
    fn decompose_mask(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        offset: i64,
        pieces: &[Piece],
        select: usize,
        mask: &AssignedCell<Fp, Fp>,
    ) -> Result<Decomposition, Error>;

    /// Proves that a fresh witness `value` decomposes into `pieces` and returns
    /// its cells; `rests[0]` is the composed value. Packing several small values
    /// into one field element is a composition whose pieces are the values.
    fn compose(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: Value<Fp>,
        pieces: &[Piece],
    ) -> Result<Decomposition, Error>;

    /// Like [`decompose`](Self::decompose), then multiplies the running sum
    /// `z_select` by the last piece's table output `s` (two more rows and the
    /// gate `select`). With a [`Lookup::Sign`] top piece this is ReLU of a value
    /// wider than one table: `relu(q) = q * [q >= 0]`.
    fn decompose_select(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        offset: i64,
        pieces: &[Piece],
        select: usize,
    ) -> Result<Decomposition, Error>;
}
