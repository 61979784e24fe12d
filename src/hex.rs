//! Hex encoding of field elements: `0x` and 64 hex digits of the canonical
//! little-endian encoding.

use ff::PrimeField;
use zkpot_circuits::Fp;

/// Encodes a field element.
pub fn fp_to_hex(f: &Fp) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in f.to_repr().as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Decodes a field element, refusing anything but `0x` and 64 hex digits of a
/// canonical encoding.
pub fn fp_from_hex(s: &str) -> Option<Fp> {
    let bytes = bytes_from_hex(s.strip_prefix("0x")?)?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Option::from(Fp::from_repr(arr))
}

/// Decodes lowercase hex digits into bytes. Only the canonical encoding is
/// accepted (no sign, no uppercase), so every value has one spelling and
/// statements that compare or hash encodings cannot be varied.
pub fn bytes_from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Encodes bytes as hex digits.
pub fn bytes_to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_spellings_decode() {
        let f = Fp::from(0xab);
        let hex = fp_to_hex(&f);
        assert_eq!(fp_from_hex(&hex), Some(f));
        for other in [
            hex.to_uppercase(),
            hex.replacen("ab", "AB", 1),
            hex.replacen("0x", "", 1),
        ] {
            assert_eq!(fp_from_hex(&other), None, "{other}");
        }
        assert_eq!(bytes_from_hex("+1"), None);
        assert_eq!(bytes_from_hex("0a"), Some(vec![10]));
    }

    #[test]
    fn roundtrip_and_rejects() {
        let f = Fp::from(123456789);
        assert_eq!(fp_from_hex(&fp_to_hex(&f)), Some(f));
        assert_eq!(fp_from_hex("0x12"), None);
        assert_eq!(fp_from_hex(&format!("0x{}", "ff".repeat(32))), None);
        assert_eq!(fp_from_hex("zz"), None);
    }
}
