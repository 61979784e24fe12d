//! Fixed-point formats: a power-of-two scale and a signed bit bound.

use serde::{Deserialize, Serialize};

use super::FixedError;

/// A signed fixed-point format: integers `v` stand for the reals `v / 2^frac_bits`,
/// and every value satisfies `-2^(bits-1) <= v < 2^(bits-1)`.
///
/// In the circuit field a negative value `v` is the element `p - |v|`; the bit bound
/// is what range checks enforce, so it is part of the statement, not a convention.
///
/// A format only exists inside its bounds ([`QFormat::MAX_BITS`],
/// [`QFormat::MAX_FRAC_BITS`]): the fields are private, every constructor checks
/// them, and deserialization goes through [`QFormat::new`], so a statement naming
/// `Q300/8b` or `Q4/0b` is refused when it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawFormat")]
pub struct QFormat {
    frac_bits: u32,
    bits: u32,
}

/// The serialized form of a format, checked by [`QFormat::new`] on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    frac_bits: u32,
    bits: u32,
}

impl TryFrom<RawFormat> for QFormat {
    type Error = FixedError;

    fn try_from(raw: RawFormat) -> Result<Self, FixedError> {
        QFormat::new(raw.frac_bits, raw.bits)
    }
}

impl QFormat {
    /// The widest bit bound a format may have; keeps every product of two values and
    /// their sums far below the field modulus and inside `i128`.
    pub const MAX_BITS: u32 = 40;

    /// The most fractional bits a format may have. Scales only enter circuits
    /// through rescale shifts, which statements bound separately (at most
    /// 62 bits); this bound keeps every sum of two scales inside `u32` and
    /// every lookup tag distinct.
    pub const MAX_FRAC_BITS: u32 = 64;

    /// Builds a format, refusing bit bounds that are empty or too wide and
    /// scales beyond [`QFormat::MAX_FRAC_BITS`].
    pub fn new(frac_bits: u32, bits: u32) -> Result<Self, FixedError> {
        if bits == 0 || bits > Self::MAX_BITS {
            return Err(FixedError::InvalidFormat {
                frac_bits,
                bits,
                reason: "value bits must be between 1 and 40",
            });
        }
        if frac_bits > Self::MAX_FRAC_BITS {
            return Err(FixedError::InvalidFormat {
                frac_bits,
                bits,
                reason: "fractional bits must be at most 64",
            });
        }
        Ok(Self { frac_bits, bits })
    }

    /// A format known when the program is compiled, such as the training
    /// defaults. Evaluated in a `const` item, an invalid format is a compile
    /// error; formats from input go through [`QFormat::new`].
    pub const fn constant(frac_bits: u32, bits: u32) -> Self {
        if bits == 0 || bits > Self::MAX_BITS || frac_bits > Self::MAX_FRAC_BITS {
            panic!("invalid constant fixed-point format");
        }
        Self { frac_bits, bits }
    }

    /// Number of fractional bits `f`: the scale is `2^f`.
    pub const fn frac_bits(&self) -> u32 {
        self.frac_bits
    }

    /// Signed bit bound `b` of the integer representation.
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    /// The smallest representable integer, `-2^(bits-1)`.
    pub fn min(&self) -> i64 {
        -(1i64 << (self.bits - 1))
    }

    /// The largest representable integer, `2^(bits-1) - 1`.
    pub fn max(&self) -> i64 {
        (1i64 << (self.bits - 1)) - 1
    }

    /// Whether `value` lies inside the bound.
    pub fn contains(&self, value: i128) -> bool {
        value >= self.min() as i128 && value <= self.max() as i128
    }

    /// The scale `2^frac_bits` as a float, for quantizing and reporting.
    pub fn scale(&self) -> f64 {
        (self.frac_bits as f64).exp2()
    }

    /// Returns `value` as an `i64` if it lies inside the bound, else an overflow error
    /// naming the value, the bound and `context`.
    pub fn check(&self, value: i128, context: &str) -> Result<i64, FixedError> {
        if !self.contains(value) {
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
    pub fn with_frac_bits(&self, frac_bits: u32) -> Result<Self, FixedError> {
        Self::new(frac_bits, self.bits)
    }

    /// The same scale with another bound.
    pub fn with_bits(&self, bits: u32) -> Result<Self, FixedError> {
        Self::new(self.frac_bits, bits)
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
        let ok: QFormat = serde_json::from_str(r#"{"frac_bits": 6, "bits": 8}"#).unwrap();
        assert_eq!(ok, QFormat::constant(6, 8));
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"frac_bits":6,"bits":8}"#
        );
        for bad in [
            r#"{"frac_bits": 300, "bits": 8}"#,
            r#"{"frac_bits": 200, "bits": 16}"#,
            r#"{"frac_bits": 4, "bits": 0}"#,
            r#"{"frac_bits": 4, "bits": 41}"#,
            r#"{"frac_bits": 4, "bits": 8, "extra": 1}"#,
            r#"{"frac_bits": -1, "bits": 8}"#,
        ] {
            assert!(serde_json::from_str::<QFormat>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bounds_are_the_constructors() {
        assert!(QFormat::new(QFormat::MAX_FRAC_BITS, QFormat::MAX_BITS).is_ok());
        assert!(QFormat::new(QFormat::MAX_FRAC_BITS + 1, 8).is_err());
        assert!(QFormat::constant(6, 8).with_frac_bits(65).is_err());
        assert!(QFormat::constant(6, 8).with_bits(0).is_err());
        let f = QFormat::constant(0, 1);
        assert_eq!((f.min(), f.max()), (-1, 0));
    }
}
