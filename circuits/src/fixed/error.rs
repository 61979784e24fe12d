//! Errors of the native fixed-point numerics.

use thiserror::Error;

/// Everything that can go wrong in a native fixed-point operation.
///
/// Each variant carries the offending value so that a caller can report exactly
/// what was out of range or mismatched, instead of a bare failure.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum FixedError {
    /// A value does not fit the signed bit bound of its format.
    #[error("value {value} overflows the {bits}-bit bound [{min}, {max}] in {context}")]
    Overflow {
        /// The offending integer value (at the format's scale).
        value: i128,
        /// The signed bit bound that was exceeded.
        bits: u32,
        /// The smallest allowed value.
        min: i64,
        /// The largest allowed value.
        max: i64,
        /// Where the value came from (an operation or tensor name).
        context: String,
    },
    /// A real value to quantize was NaN or infinite.
    #[error("value at index {index} is not finite ({value}) in {context}")]
    NotFinite {
        /// Flat index of the value in its tensor.
        index: usize,
        /// The offending value.
        value: f64,
        /// Where the value came from.
        context: String,
    },
    /// Two tensor shapes do not fit together.
    #[error("shape mismatch in {op}: expected {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// The operation that was attempted.
        op: &'static str,
        /// The shape the operation needs.
        expected: Vec<usize>,
        /// The shape it was given.
        found: Vec<usize>,
    },
    /// Two fixed-point scales do not fit together.
    #[error("scale mismatch in {op}: expected 2^{expected} fractional bits, found 2^{found}")]
    ScaleMismatch {
        /// The operation that was attempted.
        op: &'static str,
        /// The number of fractional bits the operation needs.
        expected: u32,
        /// The number of fractional bits it was given.
        found: u32,
    },
    /// A format was asked for that the numerics cannot represent.
    #[error(
        "invalid fixed-point format: {frac_bits} fractional bits, {bits} value bits ({reason})"
    )]
    InvalidFormat {
        /// Requested fractional bits.
        frac_bits: u32,
        /// Requested signed bit bound.
        bits: u32,
        /// Why the format is refused.
        reason: &'static str,
    },
}
