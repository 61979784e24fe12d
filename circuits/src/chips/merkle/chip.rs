//! The chip behind [`MerkleInstructions`](super::MerkleInstructions).

use halo2_proofs::circuit::{AssignedCell, Chip, Layouter, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::MerkleInstructions;
use crate::chips::constraints;
use crate::chips::hash::HashChip;
use crate::Fp;

/// Columns and gate of the Merkle gadget (hashing is the [`HashChip`]'s).
#[derive(Clone, Debug)]
pub struct MerkleConfig {
    /// The current node.
    pub cur: Column<Advice>,
    /// Its sibling.
    pub sib: Column<Advice>,
    /// The index bit of this level.
    pub bit: Column<Advice>,
    /// The left child fed to the hash.
    pub left: Column<Advice>,
    /// The right child fed to the hash.
    pub right: Column<Advice>,
    /// Enables `merkle swap`.
    pub q_swap: Selector,
}

impl MerkleConfig {
    /// Configures the swap gate on five advice columns with equality enabled
    /// (they can be shared with other chips' columns).
    ///
    /// Side effects: one selector and the gate `merkle swap` (degree 3):
    /// `bit` is boolean, `left = cur + bit (sib - cur)`, `right = cur + sib - left`.
    pub fn configure(meta: &mut ConstraintSystem<Fp>, cols: [Column<Advice>; 5]) -> Self {
        let [cur, sib, bit, left, right] = cols;
        for c in cols {
            meta.enable_equality(c);
        }
        let config = Self {
            cur,
            sib,
            bit,
            left,
            right,
            q_swap: meta.selector(),
        };
        constraints::gate(meta, "merkle swap", |m| {
            let q = m.query_selector(config.q_swap);
            let cur = m.query_advice(cur, Rotation::cur());
            let sib = m.query_advice(sib, Rotation::cur());
            let bit = m.query_advice(bit, Rotation::cur());
            let left = m.query_advice(left, Rotation::cur());
            let right = m.query_advice(right, Rotation::cur());
            let one = Expression::Constant(Fp::from(1));
            vec![
                q.clone() * bit.clone() * (one - bit.clone()),
                q.clone() * (left.clone() - cur.clone() - bit * (sib.clone() - cur.clone())),
                q * (right - cur - sib + left),
            ]
        });
        config
    }
}

/// The Merkle gadget's chip.
#[derive(Clone, Debug)]
pub struct MerkleChip {
    config: MerkleConfig,
    hash: HashChip,
}

impl MerkleChip {
    /// Builds the chip from its configuration and a hash chip.
    pub fn construct(config: MerkleConfig, hash: HashChip) -> Self {
        Self { config, hash }
    }
}

impl Chip<Fp> for MerkleChip {
    type Config = MerkleConfig;
    type Loaded = ();

    fn config(&self) -> &Self::Config {
        &self.config
    }

    fn loaded(&self) -> &Self::Loaded {
        &()
    }
}

impl MerkleInstructions for MerkleChip {
    fn root(
        &self,
        layouter: &mut impl Layouter<Fp>,
        leaf: &AssignedCell<Fp, Fp>,
        bits: &[AssignedCell<Fp, Fp>],
        siblings: &[Value<Fp>],
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        if bits.len() != siblings.len() {
            return Err(Error::Synthesis);
        }
        let cfg = &self.config;
        // The capacity word every node's permutation starts from, a constant.
        let capacity = layouter.assign_region(
            || "merkle capacity",
            |mut region| {
                region.assign_advice_from_constant(
                    || "capacity",
                    cfg.cur,
                    0,
                    HashChip::pair_capacity(),
                )
            },
        )?;
        let mut cur = leaf.clone();
        for (bit, sib) in bits.iter().zip(siblings) {
            let (left, right) = layouter.assign_region(
                || "merkle swap",
                |mut region| {
                    cfg.q_swap.enable(&mut region, 0)?;
                    let c = cur.copy_advice(|| "cur", &mut region, cfg.cur, 0)?;
                    let b = bit.copy_advice(|| "bit", &mut region, cfg.bit, 0)?;
                    region.assign_advice(|| "sib", cfg.sib, 0, || *sib)?;
                    let swap = b.value().map(|b| *b == Fp::from(1));
                    let l = c
                        .value()
                        .zip(*sib)
                        .zip(swap)
                        .map(|((c, s), sw)| if sw { s } else { *c });
                    let r = c
                        .value()
                        .zip(*sib)
                        .zip(swap)
                        .map(|((c, s), sw)| if sw { *c } else { s });
                    let left = region.assign_advice(|| "left", cfg.left, 0, || l)?;
                    let right = region.assign_advice(|| "right", cfg.right, 0, || r)?;
                    Ok((left, right))
                },
            )?;
            cur = self.hash.hash_pair(layouter, &left, &right, &capacity)?;
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use halo2_proofs::circuit::{Layouter, Value};
    use halo2_proofs::plonk::Error;
    use proptest::prelude::*;

    use super::*;
    use crate::chips::core::CoreConfig;
    use crate::chips::merkle::{index_bits, node_native, MerklePath};
    use crate::chips::table::{Lookup, TableSet};
    use crate::chips::test_utils::{assert_copy_fails, assert_gate_fails, mock, Synth};

    /// A full tree over `2^depth` leaves `leaf_i = i * 31 + 5`.
    fn tree(depth: usize) -> Vec<Vec<Fp>> {
        let mut levels = vec![(0..1u64 << depth)
            .map(|i| Fp::from(i * 31 + 5))
            .collect::<Vec<_>>()];
        for _ in 0..depth {
            let prev = levels.last().cloned().unwrap_or_default();
            levels.push(prev.chunks(2).map(|p| node_native(p[0], p[1])).collect());
        }
        levels
    }

    fn path(levels: &[Vec<Fp>], index: u64) -> MerklePath {
        let depth = levels.len() - 1;
        MerklePath {
            index,
            siblings: (0..depth)
                .map(|l| levels[l][((index >> l) ^ 1) as usize])
                .collect(),
        }
    }

    /// Opens `leaf` at the public `index` (instance row 0); exposes the root
    /// (row 1). `bits_of` decomposes another index than the public one.
    #[derive(Clone)]
    struct Open {
        leaf: Fp,
        index: u64,
        bits_of: u64,
        siblings: Vec<Fp>,
    }

    impl Synth for Open {
        fn table(&self) -> TableSet {
            let mut set = TableSet::new();
            set.add(Lookup::Unsigned(1));
            set
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let cells = cfg.witness(
                layouter,
                &[Value::known(self.leaf), Value::known(Fp::from(self.index))],
            )?;
            cfg.expose(layouter, &cells[1], 0)?;
            let bits = index_bits(
                &cfg.lookup_chip(),
                layouter,
                &cells[1],
                Value::known(self.bits_of),
                self.siblings.len(),
            )?;
            let sibs: Vec<_> = self.siblings.iter().map(|s| Value::known(*s)).collect();
            let root = cfg.merkle_chip()?.root(layouter, &cells[0], &bits, &sibs)?;
            cfg.expose(layouter, &root, 1)
        }
    }

    fn open(levels: &[Vec<Fp>], index: u64) -> Open {
        Open {
            leaf: levels[0][index as usize],
            index,
            bits_of: index,
            siblings: path(levels, index).siblings,
        }
    }

    #[test]
    fn native_path_reaches_the_root() {
        let levels = tree(4);
        let root = levels[4][0];
        for i in 0..16 {
            assert_eq!(path(&levels, i).root(levels[0][i as usize]), root);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn any_leaf_opens(index in 0u64..32) {
            let levels = tree(5);
            let root = levels[5][0];
            prop_assert_eq!(mock(11, open(&levels, index), vec![Fp::from(index), root]), Ok(()));
        }
    }

    #[test]
    fn wrong_sibling_is_rejected() {
        let levels = tree(3);
        let mut o = open(&levels, 5);
        o.siblings[1] += Fp::from(1);
        assert_copy_fails(mock(10, o, vec![Fp::from(5), levels[3][0]]));
    }

    #[test]
    fn wrong_leaf_is_rejected() {
        let levels = tree(3);
        let mut o = open(&levels, 5);
        o.leaf += Fp::from(1);
        assert_copy_fails(mock(10, o, vec![Fp::from(5), levels[3][0]]));
    }

    #[test]
    fn path_for_another_index_is_rejected() {
        // Leaf and siblings of index 6, claimed at public index 5.
        let levels = tree(3);
        let mut o = open(&levels, 6);
        o.index = 5;
        let r = mock(10, o, vec![Fp::from(5), levels[3][0]]);
        assert!(r.is_err());
    }

    #[test]
    fn bits_not_bound_to_the_public_index_are_rejected() {
        // The path of 6 opened with the bits of 6 while index 5 is public.
        let levels = tree(3);
        let mut o = open(&levels, 6);
        o.index = 5;
        o.bits_of = 6;
        assert_gate_fails(
            mock(10, o, vec![Fp::from(5), levels[3][0]]),
            "decompose end",
        );
    }

    /// One swap row assigned by hand: (cur, sib, bit, left, right).
    #[derive(Clone)]
    struct Swap([u64; 5]);

    impl Synth for Swap {
        fn table(&self) -> TableSet {
            TableSet::new()
        }

        fn synth(&self, cfg: &CoreConfig, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
            let m = cfg.merkle.clone().ok_or(Error::Synthesis)?;
            layouter.assign_region(
                || "swap",
                |mut region| {
                    m.q_swap.enable(&mut region, 0)?;
                    for (col, v) in [m.cur, m.sib, m.bit, m.left, m.right]
                        .into_iter()
                        .zip(self.0)
                    {
                        region.assign_advice(|| "v", col, 0, || Value::known(Fp::from(v)))?;
                    }
                    Ok(())
                },
            )
        }
    }

    #[test]
    fn swap_gate_orders_children_by_the_bit() {
        assert_eq!(mock(6, Swap([3, 9, 0, 3, 9]), vec![]), Ok(()));
        assert_eq!(mock(6, Swap([3, 9, 1, 9, 3]), vec![]), Ok(()));
        // Children not swapped although the bit says so.
        assert_gate_fails(mock(6, Swap([3, 9, 1, 3, 9]), vec![]), "merkle swap");
        // A bit of 2 fails booleanity.
        assert_gate_fails(mock(6, Swap([3, 9, 2, 15, 0]), vec![]), "merkle swap");
    }
}
