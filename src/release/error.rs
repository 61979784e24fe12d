//! Errors of writing and verifying releases. Each names the file, relative
//! to the release folder, that failed.

use thiserror::Error;

/// A release that could not be written or does not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A file's bytes do not match the digest the attestation lists.
    #[error("{file}: its sha256 {actual} is not the {listed} that {attestation} lists")]
    Digest {
        /// The file.
        file: String,
        /// Its sha256.
        actual: String,
        /// The listed sha256.
        listed: String,
        /// The attestation's file name.
        attestation: &'static str,
    },
    /// A file in the folder that the attestation does not list.
    #[error("{file}: not listed in {attestation}")]
    Unlisted {
        /// The file.
        file: String,
        /// The attestation's file name.
        attestation: &'static str,
    },
    /// A file the attestation lists that is not in the folder.
    #[error("{file}: listed in {attestation} but missing")]
    Missing {
        /// The file.
        file: String,
        /// The attestation's file name.
        attestation: &'static str,
    },
    /// A file that cannot be read as what it should be.
    #[error("{file}: {reason}")]
    Malformed {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A document that is not what the verified proofs and the files it is
    /// derived from imply.
    #[error("{file} does not say what {sources} imply: {reason}")]
    Differs {
        /// The document.
        file: String,
        /// What it is derived from.
        sources: String,
        /// The first difference.
        reason: String,
    },
    /// A part of the release that does not verify.
    #[error("{file}: {source}")]
    Part {
        /// The part.
        file: String,
        /// Why.
        source: Box<crate::Error>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
