//! Errors of proof envelopes and their verification.

use thiserror::Error;

/// Why proof bytes were refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The bytes end before a field does.
    #[error(
        "proof file truncated: {what} needs {needed} bytes at offset {at}, {available} remain"
    )]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Where it starts.
        at: usize,
        /// Bytes left.
        available: usize,
    },
    /// Not a zkpot proof file.
    #[error("not a zkpot proof (bad magic bytes)")]
    BadMagic,
    /// A proof of another format version.
    #[error("proof format version {found}; this zkpot reads version {expected} (proofs of another version are for other circuits: prove again with this build)")]
    Version {
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        expected: u16,
    },
    /// A statement kind this build does not know.
    #[error("unknown statement kind {0}")]
    UnknownKind(u8),
    /// A field is larger than any valid proof needs.
    #[error("{what} of {len} bytes/items exceeds the limit of {limit}")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its declared length.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A public input is not a canonical field element.
    #[error("public input {index} is not a canonical field element")]
    NonCanonical {
        /// Its position.
        index: usize,
    },
    /// Bytes after the end of the envelope.
    #[error("{0} unexpected bytes after the proof")]
    TrailingBytes(usize),
    /// The statement does not parse or does not describe a provable circuit.
    #[error("invalid statement: {0}")]
    Statement(String),
    /// The public inputs are not the ones the statement implies.
    #[error("public input mismatch: {0}")]
    Mismatch(String),
    /// The proof does not verify against its statement.
    #[error("the proof is invalid for its statement")]
    Invalid,
    /// A proof file of a run or an evaluation does not parse.
    #[error("proof {file}: {error}")]
    InFile {
        /// The file, as the run or evaluation names it.
        file: String,
        /// What is wrong with it.
        error: Box<ProofError>,
    },
    /// One proof of several does not verify.
    #[error("proof {index} is invalid for its statement")]
    InvalidAt {
        /// Its position among the proofs checked.
        index: usize,
    },
}
