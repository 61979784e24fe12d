//! Signed integers in the circuit field.
//!
//! A value `v` is the field element `v` when `v >= 0` and `p - |v|` when `v < 0`.
//! Conversions back succeed only for elements within `2^126` of zero, so a field
//! element that is not a small signed integer is never silently misread.

use ff::PrimeField;

use crate::Fp;

/// Encodes a signed integer as a field element.
pub fn fp_from_i128(v: i128) -> Fp {
    if v >= 0 {
        Fp::from_u128(v as u128)
    } else {
        -Fp::from_u128(v.unsigned_abs())
    }
}

/// Encodes a signed 64-bit integer as a field element.
pub fn fp_from_i64(v: i64) -> Fp {
    fp_from_i128(v as i128)
}

/// Decodes a field element as a signed integer if it lies within `2^126` of zero.
pub fn fp_to_i128(f: &Fp) -> Option<i128> {
    fn small(f: &Fp) -> Option<u128> {
        let repr = f.to_repr();
        let bytes = repr.as_ref();
        if bytes[16..].iter().any(|b| *b != 0) || bytes[15] & 0xc0 != 0 {
            return None;
        }
        let mut low = [0u8; 16];
        low.copy_from_slice(&bytes[..16]);
        Some(u128::from_le_bytes(low))
    }
    if let Some(v) = small(f) {
        return Some(v as i128);
    }
    small(&-*f).map(|v| -(v as i128))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn negative_values_are_p_minus_abs() {
        assert_eq!(fp_from_i64(-1), -Fp::from(1));
        assert_eq!(fp_to_i128(&(-Fp::from(5))), Some(-5));
        assert_eq!(fp_to_i128(&Fp::from_u128(1u128 << 127)), None);
    }

    proptest! {
        #[test]
        fn roundtrip(v in -(1i128 << 125)..(1i128 << 125)) {
            prop_assert_eq!(fp_to_i128(&fp_from_i128(v)), Some(v));
        }
    }
}
