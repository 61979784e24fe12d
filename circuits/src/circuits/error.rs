//! Errors raised while planning a circuit, before any proving starts.

use thiserror::Error;

use crate::fixed::FixedError;

/// Everything that can make a circuit description unusable.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// A fixed-point value, format or shape was rejected by the native numerics.
    #[error(transparent)]
    Fixed(#[from] FixedError),
    /// A statement outside the supported envelope.
    #[error(transparent)]
    Envelope(#[from] crate::envelope::EnvelopeError),
    /// The circuit needs more rows than the largest supported `k` provides.
    #[error("the circuit needs {rows} rows, more than 2^{max_k} allows")]
    TooLarge {
        /// Rows needed (including the lookup table and blinding rows).
        rows: usize,
        /// The largest supported `k`.
        max_k: u32,
    },
    /// A lookup would need a table wider than supported.
    #[error("a lookup over {bits} bits is wider than the supported {max} bits")]
    LookupTooWide {
        /// Bits the lookup needs.
        bits: u32,
        /// The widest supported lookup.
        max: u32,
    },
    /// Laying out the circuit failed.
    #[error("circuit synthesis failed: {0}")]
    Synthesis(String),
    /// A tensor handed to a circuit does not have the shape its description says.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    Shape {
        /// Which tensor.
        what: &'static str,
        /// The shape the description implies.
        expected: Vec<usize>,
        /// The shape given.
        found: Vec<usize>,
    },
}
