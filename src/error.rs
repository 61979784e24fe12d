//! The crate's error type, aggregating each module's errors.

use thiserror::Error;

use crate::data::DataError;
use crate::params::ParamsError;
use zkpot_circuits::circuits::CircuitError;
use zkpot_circuits::fixed::FixedError;

/// Any error zkpot reports.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Fixed-point numerics rejected a value, shape or scale.
    #[error(transparent)]
    Fixed(#[from] FixedError),
    /// A circuit could not be planned.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// A statement outside the supported envelope.
    #[error(transparent)]
    Envelope(#[from] zkpot_circuits::envelope::EnvelopeError),
    /// A dataset could not be read, committed or opened.
    #[error(transparent)]
    Data(Box<DataError>),
    /// The parameter cache failed.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A model could not be loaded, converted or quantized.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Proof bytes were refused.
    #[error(transparent)]
    Proof(#[from] crate::proof::ProofError),
    /// A release could not be written or does not verify.
    #[error(transparent)]
    Release(Box<crate::release::ReleaseError>),
    /// halo2 failed to generate keys, prove or verify.
    #[error("proof system: {0}")]
    Plonk(#[from] halo2_proofs::plonk::Error),
    /// Options that do not fit together or do not fit the data.
    #[error("{0}")]
    Options(String),
    /// A state the library should never reach; please report it.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Self {
        Error::Data(Box::new(e))
    }
}

impl From<crate::release::ReleaseError> for Error {
    fn from(e: crate::release::ReleaseError) -> Self {
        Error::Release(Box::new(e))
    }
}
