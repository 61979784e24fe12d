//! Weight commitments: `C_W = sponge([salt, pack(W)...])`, the flat sponge of
//! [`sponge_native`].
//!
//! Weights are signed values of the weight format's bits, packed (as in
//! [`pack`](crate::chips::pack)) into field elements of at most 250 bits, so
//! committing 2,410 16-bit parameters costs 161 packed elements and 82
//! Poseidon permutations. Packing is injective only for range-checked values, so
//! in circuit every committed weight is a range-checked cell: weights opened
//! from a commitment are composed from their limbs, and weights produced by an
//! update come out of a rescale that range-checks them.

use ff::Field;
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

use crate::chips::core::CoreConfig;
use crate::chips::dot::{DotInstructions, Operand};
use crate::chips::hash::sponge_native;
use crate::chips::lookup::LookupInstructions;
use crate::chips::pack::{chunks, pack, pack_native, Packed};
use crate::chips::range::{limb_pieces, range_lookups};
use crate::chips::table::Lookup;
use crate::field::fp_from_i64;
use crate::Fp;

/// The native commitment to flattened weights of `bits` bits.
pub fn weights_commitment_native(salt: Fp, weights: &[i64], bits: u32) -> Fp {
    let lookups = vec![Lookup::Signed(bits); weights.len()];
    let mut input = vec![salt];
    input.extend(pack_native(weights, &lookups));
    sponge_native(&input)
}

/// Witnesses weights as range-checked cells (each composed from its limbs).
pub fn witness_weights(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    weights: &[Value<i64>],
    bits: u32,
    limb_bits: u32,
) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    let lookup = cfg.lookup_chip();
    let lookups = range_lookups(bits, true, limb_bits);
    weights
        .iter()
        .map(|w| {
            let v = w.map(fp_from_i64);
            let pieces = limb_pieces(v, &lookups);
            Ok(lookup.compose(layouter, v, &pieces)?.rests[0].clone())
        })
        .collect()
}

/// Committed cells: the values and their commitment.
#[derive(Clone, Debug)]
pub struct Committed {
    /// One range-checked cell per value.
    pub cells: Vec<AssignedCell<Fp, Fp>>,
    /// The commitment, equal to [`weights_commitment_native`].
    pub commitment: AssignedCell<Fp, Fp>,
}

/// Witnesses weights and commits to them in circuit: the cells (each
/// range-checked) and the commitment, equal to [`weights_commitment_native`].
///
/// Signed bytes go to the circuit's pack lanes if it has any
/// ([`pack_lane`](crate::chips::pack_lane)). Otherwise values no wider than
/// one table lookup are packed as they are range-checked:
/// each chunk is one composition of the lookup gadget whose pieces are the
/// values, so a value costs one lookup row and no multiply-add. Wider values
/// are composed from limbs and packed by [`commit_weights`].
pub fn witness_committed(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    salt: &AssignedCell<Fp, Fp>,
    weights: &[Value<i64>],
    bits: u32,
    limb_bits: u32,
) -> Result<Committed, Error> {
    if let (8, Some(chip)) = (bits, cfg.pack_lane_chip()) {
        let packed = chip.pack(layouter, weights)?;
        return finish(cfg, layouter, salt, packed);
    }
    if bits > limb_bits {
        let cells = witness_weights(cfg, layouter, weights, bits, limb_bits)?;
        let commitment = commit_weights(cfg, layouter, salt, &cells, bits)?;
        return Ok(Committed { cells, commitment });
    }
    let lookups = vec![Lookup::Signed(bits); weights.len()];
    let packed = pack(&cfg.lookup_chip(), layouter, weights, &lookups)?;
    finish(cfg, layouter, salt, packed)
}

/// Hashes the salt and the packed elements.
fn finish(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    salt: &AssignedCell<Fp, Fp>,
    packed: Packed,
) -> Result<Committed, Error> {
    let mut input = vec![salt.clone()];
    input.extend(packed.packed);
    let commitment = cfg.hash_chip()?.sponge(layouter, &input)?;
    Ok(Committed {
        cells: packed.values,
        commitment,
    })
}

/// Commits to range-checked weight cells in circuit; equals
/// [`weights_commitment_native`] on the same values and salt.
pub fn commit_weights(
    cfg: &CoreConfig,
    layouter: &mut impl Layouter<Fp>,
    salt: &AssignedCell<Fp, Fp>,
    weights: &[AssignedCell<Fp, Fp>],
    bits: u32,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let lookups = vec![Lookup::Signed(bits); weights.len()];
    let ranges = chunks(&lookups);
    let per_chunk = ranges.first().map_or(1, |r| r.len());
    // packed = sum_i w_i 2^(bits i): dot products with the powers as a shared
    // constant operand, one chunk per lane.
    let powers: Vec<Operand> = (0..per_chunk)
        .map(|i| Operand::Constant(Fp::from(2).pow_vartime([bits as u64 * i as u64])))
        .collect();
    let dot = cfg.dot_chip();
    let lanes = cfg.dot.lanes();
    let mut packed = Vec::with_capacity(ranges.len());
    for group in ranges.chunks(lanes) {
        let b: Vec<Vec<Operand>> = group
            .iter()
            .map(|r| {
                let mut v: Vec<Operand> = weights[r.clone()]
                    .iter()
                    .cloned()
                    .map(Operand::Cell)
                    .collect();
                v.resize(per_chunk, Operand::Constant(Fp::from(0)));
                v
            })
            .collect();
        packed.extend(dot.dot_products(layouter, &powers, &b)?.sums);
    }
    let mut input = vec![salt.clone()];
    input.extend(packed);
    cfg.hash_chip()?.sponge(layouter, &input)
}
