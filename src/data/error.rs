//! Errors of dataset loading, commitment and opening.

use std::path::PathBuf;

use thiserror::Error;
use zkpot_circuits::circuits::CircuitError;
use zkpot_circuits::fixed::FixedError;

/// Everything that can go wrong with a dataset. Errors about input files name
/// the file, and for CSV the line and column (both 1-based).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The CSV file has no data rows.
    #[error("{path}: no data rows")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A CSV cell or row is malformed.
    #[error("{path}:{line}:{column}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A label names no known class.
    #[error("{path}:{line}:{column}: label {label:?} is not one of the classes {classes:?}")]
    LabelOutsideClasses {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The label as written.
        label: String,
        /// The known classes.
        classes: Vec<String>,
    },
    /// A value does not fit the fixed-point format after normalization.
    #[error("{path}:{line}:{column}: {source}")]
    Quantize {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based column number.
        column: usize,
        /// The overflow, with the value and the bound.
        source: FixedError,
    },
    /// An option does not fit the data.
    #[error("{0}")]
    Options(String),
    /// A commitment, secret or rows file is malformed or truncated.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file of another format version.
    #[error("{path}: format version {found}; this zkpot reads version {expected}")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// The dataset's secret or rows do not reproduce its committed root.
    #[error("{path}: the private files do not match the commitment (root differs)")]
    SecretMismatch {
        /// The dataset directory.
        path: PathBuf,
    },
    /// A row index outside the dataset.
    #[error("row {index} is outside the dataset ({n_rows} rows)")]
    RowOutOfRange {
        /// The requested index.
        index: u64,
        /// Rows in the dataset.
        n_rows: u64,
    },
    /// The row layout cannot be proven.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// A dataset's size or depth outside the supported envelope.
    #[error(transparent)]
    Envelope(#[from] zkpot_circuits::envelope::EnvelopeError),
    /// A value bound into a dataset's public root is malformed.
    #[error("dataset {field}: {reason}")]
    Binding {
        /// Which value.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The stated public root is not the one the stated tree root, row
    /// count, depth and schema give.
    #[error(
        "the dataset root {stated} does not commit to the stated tree root, row count, depth \
         and schema (they give {computed})"
    )]
    RootMismatch {
        /// The root the file states.
        stated: String,
        /// The root its values give.
        computed: String,
    },
}

/// Wraps an I/O error with its path.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}
