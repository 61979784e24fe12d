//! Packing small values into field elements, natively and in circuit.
//!
//! A chunk of values `v_0, v_1, ...` with widths `b_0, b_1, ...` packs to
//! `sum v_i 2^(b_0 + ... + b_(i-1))`. Each value lies in a range of exactly
//! `2^b_i` consecutive integers (signed or unsigned), so every packed integer has
//! one representation, and chunks hold at most [`PACK_BITS`] bits so the sum never
//! wraps the field. In circuit a chunk is a composition of the lookup gadget whose
//! pieces are the values: each value is range-checked and bound to the packed
//! element in the same rows, and its cell can be copied wherever it is used.

use std::ops::Range;

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

use super::lookup::{LookupChip, LookupInstructions, Piece};
use super::table::Lookup;
use crate::field::{fp_from_i128, fp_from_i64};
use crate::Fp;

/// The most bits one packed field element holds.
pub const PACK_BITS: u32 = 250;

/// Splits a sequence of value lookups into chunks of at most [`PACK_BITS`] bits.
pub fn chunks(lookups: &[Lookup]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bits = 0;
    for (i, l) in lookups.iter().enumerate() {
        if bits + l.bits() > PACK_BITS && i > start {
            out.push(start..i);
            start = i;
            bits = 0;
        }
        bits += l.bits();
    }
    if start < lookups.len() {
        out.push(start..lookups.len());
    }
    out
}

fn pack_chunk(values: &[i64], lookups: &[Lookup]) -> Fp {
    pack_chunk_bits(values, lookups).unwrap_or_else(|| pack_chunk_field(values, lookups))
}

/// The packing as integers: the values' bit ranges are disjoint, so the
/// non-negative values OR into one 256-bit integer and the magnitudes of the
/// negative ones into another, and the field element is their difference. Two
/// conversions instead of two multiplications a value. `None` if a value does
/// not fit its width (the field formula then gives the same answer as always).
fn pack_chunk_bits(values: &[i64], lookups: &[Lookup]) -> Option<Fp> {
    let mut pos = [0u64; 4];
    let mut neg = [0u64; 4];
    let mut offset = 0u32;
    for (v, l) in values.iter().zip(lookups) {
        let bits = l.bits();
        let magnitude = v.unsigned_abs();
        if bits > 64 || offset + bits > 256 || (bits < 64 && magnitude >> bits != 0) {
            return None;
        }
        let acc = if *v >= 0 { &mut pos } else { &mut neg };
        let (limb, shift) = ((offset / 64) as usize, offset % 64);
        acc[limb] |= magnitude << shift;
        if shift != 0 && limb + 1 < 4 {
            acc[limb + 1] |= magnitude >> (64 - shift);
        }
        offset += bits;
    }
    Some(Fp::from_raw(pos) - Fp::from_raw(neg))
}

/// The packing by field arithmetic, valid for any values.
fn pack_chunk_field(values: &[i64], lookups: &[Lookup]) -> Fp {
    let mut acc = Fp::from(0);
    let mut scale = Fp::from(1);
    for (v, l) in values.iter().zip(lookups) {
        acc += fp_from_i64(*v) * scale;
        scale *= fp_from_i128(1i128 << l.bits());
    }
    acc
}

/// Packs `values` (one per lookup, each inside its lookup's domain) natively.
pub fn pack_native(values: &[i64], lookups: &[Lookup]) -> Vec<Fp> {
    chunks(lookups)
        .into_iter()
        .map(|r| pack_chunk(&values[r.clone()], &lookups[r]))
        .collect()
}

/// The cells of packed values.
#[derive(Clone, Debug)]
pub struct Packed {
    /// One cell per value, range-checked by its lookup.
    pub values: Vec<AssignedCell<Fp, Fp>>,
    /// One cell per chunk: the packed element.
    pub packed: Vec<AssignedCell<Fp, Fp>>,
}

/// Packs `values` in circuit; equals [`pack_native`].
pub fn pack(
    lookup: &LookupChip,
    layouter: &mut impl Layouter<Fp>,
    values: &[Value<i64>],
    lookups: &[Lookup],
) -> Result<Packed, Error> {
    if values.len() != lookups.len() {
        return Err(Error::Synthesis);
    }
    let mut out = Packed {
        values: Vec::with_capacity(values.len()),
        packed: Vec::new(),
    };
    for r in chunks(lookups) {
        let vals: Value<Vec<i64>> = values[r.clone()].iter().copied().collect();
        let packed = vals.as_ref().map(|v| pack_chunk(v, &lookups[r.clone()]));
        let pieces: Vec<Piece> = values[r.clone()]
            .iter()
            .zip(&lookups[r])
            .map(|(v, l)| Piece {
                lookup: *l,
                input: v.map(fp_from_i64),
                output: v.map(|x| fp_from_i64(l.output(x))),
            })
            .collect();
        let d = lookup.compose(layouter, packed, &pieces)?;
        out.values.extend(d.inputs);
        out.packed.push(d.rests[0].clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lookup(signed: bool, bits: u32) -> Lookup {
        if signed {
            Lookup::Signed(bits)
        } else {
            Lookup::Unsigned(bits)
        }
    }

    proptest! {
        /// The integer packing equals the field formula on every in-domain
        /// chunk, whatever the widths and signs.
        #[test]
        fn integer_packing_equals_field_packing(
            spec in prop::collection::vec((any::<bool>(), 1u32..=32, any::<i64>()), 1..40)
        ) {
            let lookups: Vec<Lookup> = spec.iter().map(|(s, b, _)| lookup(*s, *b)).collect();
            let values: Vec<i64> = spec
                .iter()
                .zip(&lookups)
                .map(|((_, _, v), l)| {
                    let span = (l.domain_max() - l.domain_min() + 1) as i128;
                    (l.domain_min() as i128 + (*v as i128).rem_euclid(span)) as i64
                })
                .collect();
            for r in chunks(&lookups) {
                let (v, l) = (&values[r.clone()], &lookups[r]);
                prop_assert_eq!(pack_chunk_bits(v, l), Some(pack_chunk_field(v, l)));
            }
        }

        /// Out-of-width values fall back to the field formula.
        #[test]
        fn wide_values_use_the_field_formula(v in any::<i64>(), bits in 1u32..=16) {
            let l = [Lookup::Unsigned(bits)];
            prop_assert_eq!(pack_chunk(&[v], &l), pack_chunk_field(&[v], &l));
        }
    }
}
