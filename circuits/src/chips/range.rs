//! Range checks of any width by table lookup.
//!
//! A value of at most the chip's limb width is looked up directly under
//! `Unsigned(bits)` or `Signed(bits)`. A wider value is split into limbs: all but
//! the top one are `Unsigned(limb_bits)`, the top one is a narrower `Unsigned` or
//! `Signed` lookup, and the decomposition gate ties them to the value. For signed
//! values the top limb carries the sign, so `v = low + 2^m * top` with
//! `0 <= low < 2^m` and `top` signed: no offset is needed.

pub mod chip;

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

pub use chip::RangeChip;

use super::lookup::Piece;
use super::table::{Lookup, TableSet};
use crate::field::{fp_from_i128, fp_to_i128};
use crate::Fp;

/// Instructions for range checks.
pub trait RangeInstructions {
    /// Constrains `value` to `[0, 2^bits)` when `signed` is false, or to
    /// `[-2^(bits-1), 2^(bits-1))` when it is true.
    fn range_check(
        &self,
        layouter: &mut impl Layouter<Fp>,
        value: &AssignedCell<Fp, Fp>,
        bits: u32,
        signed: bool,
    ) -> Result<(), Error>;
}

/// The lookups a range check of `bits` bits with limbs of `limb_bits` bits uses, from
/// the lowest limb to the top one.
pub fn range_lookups(bits: u32, signed: bool, limb_bits: u32) -> Vec<Lookup> {
    let mut out = Vec::new();
    let mut left = bits;
    while left > limb_bits {
        out.push(Lookup::Unsigned(limb_bits));
        left -= limb_bits;
    }
    out.push(if signed {
        Lookup::Signed(left)
    } else {
        Lookup::Unsigned(left)
    });
    out
}

/// Registers the table entries a range check needs.
pub fn register_range(set: &mut TableSet, bits: u32, signed: bool, limb_bits: u32) {
    for l in range_lookups(bits, signed, limb_bits) {
        set.add(l);
    }
}

/// The native reference: splits `v` into the pieces `lookups` describe (each piece
/// paired with its table output, which is 0 for ranges). Values that are not small
/// integers give arbitrary pieces, which then fail in the circuit.
pub fn limb_pieces(value: Value<Fp>, lookups: &[Lookup]) -> Vec<Piece> {
    let ints = value.map(|v| fp_to_i128(&v).unwrap_or(0));
    let mut pieces = Vec::with_capacity(lookups.len());
    let mut rest = ints;
    for (i, lookup) in lookups.iter().enumerate() {
        let bits = lookup.bits();
        let (piece, next) = if i + 1 == lookups.len() {
            (rest, Value::known(0))
        } else {
            (
                rest.map(|r| r.rem_euclid(1i128 << bits)),
                rest.map(|r| r.div_euclid(1i128 << bits)),
            )
        };
        pieces.push(Piece {
            lookup: *lookup,
            input: piece.map(fp_from_i128),
            output: piece.map(|p| fp_from_i128(lookup.output(p as i64) as i128)),
        });
        rest = next;
    }
    pieces
}
