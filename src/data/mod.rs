//! Datasets: loading CSV files (choosing their columns), committing to them with a salted Poseidon
//! Merkle tree, and opening rows natively and in proofs.
//!
//! `commit_csv` writes a public commitment (a public root binding the Merkle
//! root, row count, depth and schema) and two
//! private files (the salt secret and the quantized rows); `Dataset::load` reads
//! them back for proving, and `membership` proves that a row at a public index
//! belongs to a committed dataset without revealing the row.

mod binding;
mod columns;
mod commit;
mod csv;
mod dataset;
mod error;
mod labels;
pub mod membership;
mod parquet;
mod rows;
mod schema;
mod secret;
mod tree;

pub use binding::{public_root, DatasetRef};
pub use columns::{Column, ColumnChecks, ColumnChoice, Columns};
pub use commit::{
    commit_csv, commit_csv_noting, CommitOptions, Commitment, DatasetFiles, LabelColumn,
    COMMITMENT_VERSION,
};
pub use csv::{CsvStream, Header};
pub use dataset::Dataset;
pub use error::DataError;
pub use schema::{FeatureStats, NormKind, Normalization, Schema};
pub use secret::{random_bytes32, DatasetSecret};
pub use tree::{depth_for, MerkleTree};
