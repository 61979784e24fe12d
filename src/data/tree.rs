//! The native Poseidon Merkle tree over a dataset's leaves.
//!
//! Leaves are padded with zeros to `2^depth` (depth at least 1); a zero leaf has
//! no known preimage, so padding cannot be opened as a row. Levels are hashed in
//! parallel.

use rayon::prelude::*;
use zkpot_circuits::chips::merkle::{node_native, nodes_native, MerklePath};
use zkpot_circuits::Fp;

/// Children hashed together in one parallel task (four nodes in lockstep).
const GROUP: usize = 8;

/// A complete Merkle tree: every level, leaves first.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    levels: Vec<Vec<Fp>>,
}

pub use zkpot_circuits::envelope::depth_for;

impl MerkleTree {
    /// Builds the tree over `leaves`.
    pub fn build(mut leaves: Vec<Fp>) -> Self {
        let depth = depth_for(leaves.len() as u64);
        leaves.resize(1usize << depth, Fp::from(0));
        let mut levels = vec![leaves];
        // The root of an all-padding subtree at the current level: a pair of
        // them hashes to the next one, computed once instead of per node.
        let mut zero = Fp::from(0);
        for _ in 0..depth {
            let prev = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let next_zero = node_native(zero, zero);
            let next: Vec<Fp> = prev
                .par_chunks(GROUP)
                .flat_map_iter(|group| {
                    if group.iter().all(|x| *x == zero) {
                        vec![next_zero; group.len() / 2]
                    } else {
                        nodes_native(group)
                    }
                })
                .collect();
            levels.push(next);
            zero = next_zero;
        }
        Self { levels }
    }

    /// The root.
    pub fn root(&self) -> Fp {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(Fp::from(0))
    }

    /// The number of levels above the leaves.
    pub fn depth(&self) -> u32 {
        (self.levels.len() - 1) as u32
    }

    /// The leaf at `index`, if inside the tree.
    pub fn leaf(&self, index: u64) -> Option<Fp> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// The opening path of leaf `index` (the caller checks the index is a row).
    pub fn path(&self, index: u64) -> MerklePath {
        let siblings = (0..self.levels.len() - 1)
            .map(|l| self.levels[l][((index >> l) ^ 1) as usize])
            .collect();
        MerklePath { index, siblings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reach_the_root() {
        let leaves: Vec<Fp> = (0..13u64).map(|i| Fp::from(i + 100)).collect();
        let t = MerkleTree::build(leaves.clone());
        assert_eq!(t.depth(), 4);
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(t.path(i as u64).root(*l), t.root());
        }
        assert_eq!(depth_for(1), 1);
        assert_eq!(depth_for(2), 1);
        assert_eq!(depth_for(3), 2);
        assert_eq!(depth_for(1797), 11);
        assert_eq!(depth_for(1 << 20), 20);
    }
}
