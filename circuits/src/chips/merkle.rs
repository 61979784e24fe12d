//! Poseidon Merkle paths: the native tree functions and the in-circuit opening.
//!
//! A node is `hash([left, right])` (see [`hash`](super::hash)). An opening of
//! leaf `i` walks from the leaf to the root; at level `j` the current node is the
//! right child exactly when bit `j` of `i` is set. In circuit the bits come from
//! decomposing the index cell into one-bit pieces, so the path is bound to that
//! index (typically a public input), and every level's swap is one row of the
//! `merkle swap` gate before the hash.

pub mod chip;

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::Error;

pub use chip::{MerkleChip, MerkleConfig};

use super::hash::{hash_native, hash_native_many};
use super::lookup::{LookupChip, LookupInstructions, Piece};
use super::table::Lookup;
use crate::Fp;

/// The parent of two nodes.
pub fn node_native(left: Fp, right: Fp) -> Fp {
    hash_native(&[left, right])
}

/// The parents of consecutive pairs of `children` (an even number of them):
/// equal to [`node_native`] on each pair, hashed in lockstep.
pub fn nodes_native(children: &[Fp]) -> Vec<Fp> {
    let pairs: Vec<&[Fp]> = children.chunks_exact(2).collect();
    hash_native_many(&pairs)
}

/// A Merkle opening: the leaf's index and the siblings from the leaf level up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// The leaf's position.
    pub index: u64,
    /// One sibling per level, leaf level first.
    pub siblings: Vec<Fp>,
}

impl MerklePath {
    /// The root this path leads to from `leaf`.
    pub fn root(&self, leaf: Fp) -> Fp {
        let mut cur = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            cur = if (self.index >> level) & 1 == 1 {
                node_native(*sib, cur)
            } else {
                node_native(cur, *sib)
            };
        }
        cur
    }
}

/// Instructions of the Merkle gadget.
pub trait MerkleInstructions {
    /// Computes the root from `leaf`, the index `bits` (leaf level first, each a
    /// cell constrained to 0 or 1) and the `siblings`.
    fn root(
        &self,
        layouter: &mut impl Layouter<Fp>,
        leaf: &AssignedCell<Fp, Fp>,
        bits: &[AssignedCell<Fp, Fp>],
        siblings: &[Value<Fp>],
    ) -> Result<AssignedCell<Fp, Fp>, Error>;
}

/// Decomposes `index` into `depth` bits, leaf level first, each looked up as a
/// one-bit range; the decomposition proves `index = sum bits_j 2^j`, so the
/// bits are bound to the index cell and `index < 2^depth`.
pub fn index_bits(
    lookup: &LookupChip,
    layouter: &mut impl Layouter<Fp>,
    index: &AssignedCell<Fp, Fp>,
    index_value: Value<u64>,
    depth: usize,
) -> Result<Vec<AssignedCell<Fp, Fp>>, Error> {
    if depth == 0 {
        return Err(Error::Synthesis);
    }
    let pieces: Vec<Piece> = (0..depth)
        .map(|j| Piece {
            lookup: Lookup::Unsigned(1),
            input: index_value.map(|i| Fp::from((i >> j) & 1)),
            output: Value::known(Fp::from(0)),
        })
        .collect();
    Ok(lookup.decompose(layouter, index, 0, &pieces)?.inputs)
}
