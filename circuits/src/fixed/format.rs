//! Fixed-point formats: a power-of-two scale and a signed bit bound.

use serde::{Deserialize, Serialize};

use super::FixedError;

/// A signed fixed-point format: integers `v` stand for the reals `v / 2^frac_bits`,
/// and every value satisfies `-2^(bits-1) <= v < 2^(bits-1)`.
///
/// In the circuit field a negative value `v` is the element `p - |v|`; the bit bound
/// is what range checks enforce, so it is part of the statement, not a convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QFormat {
    /// Number of fractional bits `f`: the scale is `2^f`.
    pub frac_bits: u32,
    /// Signed bit bound `b` of the integer representation.
    pub bits: u32,
}

impl QFormat {
    /// The widest bit bound a format may have; keeps every product of two values and
    /// their sums far below the field modulus and inside `i128`.
    pub const MAX_BITS: u32 = 40;

    /// Builds a format, refusing bit bounds that are empty or too wide.
    pub fn new(frac_bits: u32, bits: u32) -> Result<Self, FixedError> {
        if bits == 0 || bits > Self::MAX_BITS {
            return Err(FixedError::InvalidFormat {
                frac_bits,
                bits,
                reason: "value bits must be between 1 and 40",
            });
        }
        if frac_bits > 2 * Self::MAX_BITS {
            return Err(FixedError::InvalidFormat {
                frac_bits,
                bits,
                reason: "fractional bits must be at most 80",
            });
        }
        Ok(Self { frac_bits, bits })
    }

    /// The smallest representable integer, `-2^(bits-1)`.
    pub fn min(&self) -> i64 {
        -(1i64 << (self.bits - 1))
    }

    /// The largest representable integer, `2^(bits-1) - 1`.
    pub fn max(&self) -> i64 {
        (1i64 << (self.bits - 1)) - 1
    }

    /// The scale `2^frac_bits` as a float, for quantizing and reporting.
    pub fn scale(&self) -> f64 {
        (self.frac_bits as f64).exp2()
    }

    /// Returns `value` as an `i64` if it lies inside the bound, else an overflow error
    /// naming the value, the bound and `context`.
    pub fn check(&self, value: i128, context: &str) -> Result<i64, FixedError> {
        if value < self.min() as i128 || value > self.max() as i128 {
            return Err(FixedError::Overflow {
                value,
                bits: self.bits,
                min: self.min(),
                max: self.max(),
                context: context.to_string(),
            });
        }
        Ok(value as i64)
    }

    /// Quantizes one real: rounds `x * 2^frac_bits` to the nearest integer (ties away
    /// from zero) and checks the bound. NaN and infinities are errors.
    pub fn quantize(&self, x: f64, index: usize, context: &str) -> Result<i64, FixedError> {
        if !x.is_finite() {
            return Err(FixedError::NotFinite {
                index,
                value: x,
                context: context.to_string(),
            });
        }
        let scaled = (x * self.scale()).round();
        // Anything beyond 2^100 is far outside every bound; clamp before the cast so
        // the error still reports a meaningful (saturated) value.
        let clamped = scaled.clamp(-1e30, 1e30) as i128;
        self.check(clamped, context)
    }

    /// The real number an integer of this format stands for.
    pub fn dequantize(&self, v: i64) -> f64 {
        v as f64 / self.scale()
    }

    /// The same bound at another scale.
    pub fn with_frac_bits(&self, frac_bits: u32) -> Self {
        Self {
            frac_bits,
            bits: self.bits,
        }
    }
}

impl std::fmt::Display for QFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Q{}/{}b", self.frac_bits, self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialization_checks_the_bounds() {
        for bad in [
            r#"{"frac_bits": 300, "bits": 8}"#,
            r#"{"frac_bits": 4, "bits": 0}"#,
            r#"{"frac_bits": 4, "bits": 41}"#,
        ] {
            assert!(serde_json::from_str::<QFormat>(bad).is_err(), "{bad}");
        }
    }
}
