//! A committed dataset loaded back for proving: the public commitment, the
//! secret and the quantized rows, checked to reproduce the committed root.

use std::path::{Path, PathBuf};

use zkpot_circuits::circuits::membership::{leaf_native, RowOpening};
use zkpot_circuits::Fp;

use super::commit::{Commitment, DatasetFiles};
use super::error::DataError;
use super::rows::read_rows;
use super::secret::DatasetSecret;
use super::tree::MerkleTree;

/// A committed dataset with its private files.
#[derive(Clone, Debug)]
pub struct Dataset {
    dir: PathBuf,
    commitment: Commitment,
    secret: DatasetSecret,
    values: Vec<i32>,
    n_values: usize,
    tree: MerkleTree,
}

impl Dataset {
    /// Loads the dataset in `dir` (written by `zkpot data commit`) and checks
    /// that the secret and rows reproduce the committed root.
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let files = DatasetFiles::in_dir(dir);
        let commitment = Commitment::read(&files.commitment)?;
        let secret = DatasetSecret::read(&files.secret)?;
        let (n_rows, n_values, values) = read_rows(&files.rows)?;
        let layout = commitment.schema.layout();
        if n_rows != commitment.n_rows || n_values != layout.features + 1 {
            return Err(DataError::Malformed {
                path: files.rows,
                reason: format!(
                    "{n_rows} rows of {n_values} values; the commitment says {} rows of {}",
                    commitment.n_rows,
                    layout.features + 1
                ),
            });
        }
        let leaves: Vec<Fp> = {
            use rayon::prelude::*;
            values
                .par_chunks(n_values.max(1))
                .enumerate()
                .map(|(i, row)| {
                    let row: Vec<i64> = row.iter().map(|v| *v as i64).collect();
                    leaf_native(&layout, secret.salt(i as u64), &row)
                })
                .collect()
        };
        let tree = MerkleTree::build(leaves);
        if tree.root() != commitment.tree_root()? || tree.depth() != commitment.depth {
            return Err(DataError::SecretMismatch {
                path: dir.to_path_buf(),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            commitment,
            secret,
            values,
            n_values,
            tree,
        })
    }

    /// The public commitment.
    pub fn commitment(&self) -> &Commitment {
        &self.commitment
    }

    /// The directory the dataset was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Merkle root rows open against (the public root is the
    /// commitment's [`root`](Commitment::root)).
    pub fn tree_root(&self) -> Fp {
        self.tree.root()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> u64 {
        self.commitment.n_rows
    }

    /// Leaf `index` of the tree (padding leaves are zero).
    pub fn leaf(&self, index: u64) -> Option<Fp> {
        self.tree.leaf(index)
    }

    /// Row `index`'s quantized values (features then label).
    pub fn row(&self, index: u64) -> Result<Vec<i64>, DataError> {
        if index >= self.n_rows() {
            return Err(DataError::RowOutOfRange {
                index,
                n_rows: self.n_rows(),
            });
        }
        let start = index as usize * self.n_values;
        Ok(self.values[start..start + self.n_values]
            .iter()
            .map(|v| *v as i64)
            .collect())
    }

    /// The private opening of row `index`: values, salt and Merkle path.
    pub fn opening(&self, index: u64) -> Result<RowOpening, DataError> {
        Ok(RowOpening {
            values: self.row(index)?,
            salt: self.secret.salt(index),
            path: self.tree.path(index),
        })
    }
}
