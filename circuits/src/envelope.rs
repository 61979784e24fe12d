//! The closed envelope of supported statements.
//!
//! Every statement a verifier is handed (a training spec, a model description,
//! a dataset's size) was written by the prover. A gate means what it says only
//! inside bounds: a rescale `acc + 2^(s-1) = q 2^s + r` with `r` in `[0, 2^s)`
//! and `q` in `b` signed bits pins `q` only while `2^(s+b) < p`; an index split
//! into `d` bits names one leaf only while `2^d < p`. So the verifier accepts a
//! statement only if every such number lies inside the bounds below, checked
//! before any circuit is planned or key built, and the prover runs the same
//! checks before it trains.
//!
//! | quantity | bound | why |
//! |---|---|---|
//! | value bits of a format | 1 to 40 ([`QFormat::MAX_BITS`](crate::fixed::QFormat::MAX_BITS)) | products and sums of values stay below 2^100 |
//! | fractional bits | 0 to 64 | scales add without overflow |
//! | a rescale shift `s` | 0 to [`MAX_SHIFT`] = 62 | `2^s` is an `i64`; `s + b <= 102`, far below the 254-bit field, so `q` and `r` are unique |
//! | tree depth | `depth_for(n_rows)`, at most [`MAX_DEPTH`] = 40 | the index bits of a row are unique |
//! | rows | 1 (`batch` when shuffling) to 2^40 | sampling never divides by zero and allocates per batch, not per row |

use thiserror::Error;

use crate::fixed::FixedError;

/// The largest rescale shift a statement may imply.
pub const MAX_SHIFT: u32 = 62;

/// The deepest dataset tree a statement may name.
pub const MAX_DEPTH: u32 = 40;

/// The most rows a committed dataset may have.
pub const MAX_ROWS: u64 = 1 << MAX_DEPTH;

/// A statement outside the supported envelope.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A number outside its supported range.
    #[error("{field} = {value} is outside the supported range [{min}, {max}]")]
    OutOfRange {
        /// What the number is, as the statement names it.
        field: String,
        /// The number the statement gives or implies.
        value: i128,
        /// The smallest supported value.
        min: i128,
        /// The largest supported value.
        max: i128,
    },
    /// A number that must equal one derived from the rest of the statement.
    #[error("{field} = {found} does not match {expected}, {reason}")]
    Mismatch {
        /// What the number is.
        field: String,
        /// The value the rest of the statement implies.
        expected: i128,
        /// The value the statement gives.
        found: i128,
        /// Where the expected value comes from.
        reason: &'static str,
    },
    /// A structural rule the statement breaks (a layer order, a shape).
    #[error("{field}: {reason}")]
    Unsupported {
        /// What is wrong.
        field: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A fixed-point format outside its bounds.
    #[error(transparent)]
    Format(#[from] FixedError),
}

/// Checks `min <= value <= max`, naming `field` otherwise.
pub fn bound(
    field: impl FnOnce() -> String,
    value: impl Into<i128>,
    min: impl Into<i128>,
    max: impl Into<i128>,
) -> Result<(), EnvelopeError> {
    let (value, min, max) = (value.into(), min.into(), max.into());
    if value < min || value > max {
        return Err(EnvelopeError::OutOfRange {
            field: field(),
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// Checks a rescale shift computed from a statement's scales (signed, so a
/// negative one is reported, not wrapped) and returns it.
pub fn shift(field: impl FnOnce() -> String, value: i64) -> Result<u32, EnvelopeError> {
    bound(field, value, 0, MAX_SHIFT)?;
    Ok(value as u32)
}

/// The depth of a tree over `n` leaves: `ceil(log2 n)`, at least 1.
pub fn depth_for(n: u64) -> u32 {
    if n <= 2 {
        1
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// Checks a dataset's row count and that its depth is the one the count
/// implies, so a statement cannot name a sparse tree deeper than its rows.
pub fn dataset_size(n_rows: u64, depth: u32, min_rows: u64) -> Result<(), EnvelopeError> {
    bound(|| "n_rows".into(), n_rows, min_rows.max(1), MAX_ROWS)?;
    let expected = depth_for(n_rows);
    if depth != expected {
        return Err(EnvelopeError::Mismatch {
            field: "tree depth".into(),
            expected: expected.into(),
            found: depth.into(),
            reason: "the depth of a tree over n_rows leaves",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths_and_sizes() {
        assert_eq!(depth_for(1), 1);
        assert_eq!(depth_for(2), 1);
        assert_eq!(depth_for(3), 2);
        assert_eq!(depth_for(1797), 11);
        assert_eq!(depth_for(1 << 20), 20);
        assert_eq!(depth_for(MAX_ROWS), MAX_DEPTH);
        assert!(dataset_size(150, 8, 4).is_ok());
        assert!(dataset_size(150, 9, 4).is_err());
        assert!(dataset_size(150, 255, 4).is_err());
        assert!(dataset_size(0, 1, 0).is_err());
        assert!(dataset_size(3, 2, 4).is_err());
        assert!(dataset_size(MAX_ROWS + 1, 41, 1).is_err());
        let e = shift(|| "update shift".into(), 399).unwrap_err();
        assert!(e.to_string().contains("update shift = 399"), "{e}");
        assert!(shift(|| "s".into(), -1).is_err());
        assert_eq!(shift(|| "s".into(), 62), Ok(62));
    }
}
