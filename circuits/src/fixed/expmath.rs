//! Deterministic fixed-point `exp`, `sigmoid` and `tanh` in pure integer arithmetic.
//!
//! Lookup tables for nonlinearities are part of the verifying key, so a prover and a
//! verifier on different machines must build bit-identical tables. Platform `libm`
//! results may differ in the last bit and flip a rounding, so the table functions are
//! computed here with integers only: values are `i128` in Q60 (60 fractional bits),
//! `exp` uses the reduction `x = k ln 2 + r` with `|r| <= ln 2 / 2` and a Taylor
//! series for `e^r`, accurate to far better than the output's last bit.

/// One in Q60.
const ONE: i128 = 1 << 60;
/// `ln 2` in Q60, rounded to nearest.
const LN2: i128 = 799_144_290_325_165_979;

/// Divides and rounds to nearest with ties toward positive infinity; `d > 0`.
pub(crate) fn div_round(n: i128, d: i128) -> i128 {
    (2 * n + d).div_euclid(2 * d)
}

/// `e^r` in Q60 for `|r| <= ln 2` given in Q60.
fn exp_small(r: i128) -> i128 {
    let mut sum = ONE;
    let mut term = ONE;
    for n in 1..30 {
        term = term * r / ONE / n;
        if term == 0 {
            break;
        }
        sum += term;
    }
    sum
}

/// `round(e^(x / 2^frac_bits) * 2^frac_bits)`, saturating at `max` and never negative.
pub(crate) fn exp_fixed(x: i64, frac_bits: u32, max: i64) -> i64 {
    // y = x / 2^f in Q60, computed exactly where possible.
    let y: i128 = if frac_bits <= 60 {
        (x as i128) << (60 - frac_bits)
    } else {
        div_round(x as i128, 1i128 << (frac_bits - 60))
    };
    let k = div_round(y, LN2);
    // e^y * 2^f = e^r * 2^(k + f); beyond these bounds the answer is 0 or saturated.
    let shift = k + frac_bits as i128;
    if shift < -2 {
        return 0;
    }
    if shift > 62 {
        return max;
    }
    let r = y - k * LN2;
    let er = exp_small(r);
    // er * 2^(shift) / 2^60, rounded.
    let scaled = if shift >= 60 {
        er << (shift - 60)
    } else {
        div_round(er, 1i128 << (60 - shift))
    };
    scaled.min(max as i128) as i64
}

/// `round(sigmoid(x / 2^frac_bits) * 2^frac_bits)`, clamped to `max`.
pub(crate) fn sigmoid_fixed(x: i64, frac_bits: u32, max: i64) -> i64 {
    let one_out: i128 = 1i128 << frac_bits.min(62);
    // e^{-y} in Q60; for large |y| the answer is a saturated 0 or 1.
    let y: i128 = if frac_bits <= 60 {
        (x as i128) << (60 - frac_bits)
    } else {
        div_round(x as i128, 1i128 << (frac_bits - 60))
    };
    // Beyond |y| = 40 the result is 0 or 1 to within 2^-57, and e^40 fits Q60 in i128.
    let bound = 40 * ONE;
    if y >= bound {
        return one_out.min(max as i128) as i64;
    }
    if y <= -bound {
        return 0;
    }
    let k = div_round(-y, LN2);
    let r = -y - k * LN2;
    let er = exp_small(r);
    // e^{-y} = er * 2^k (Q60); denominator 1 + e^{-y} in Q60.
    let e = if k >= 0 { er << k } else { er >> (-k) };
    let denom = ONE + e;
    let value = div_round(one_out * ONE, denom);
    value.min(max as i128) as i64
}

/// `round(tanh(x / 2^frac_bits) * 2^frac_bits)`, clamped to `[-max, max]`;
/// odd (`tanh(-x) = -tanh(x)`), computed as `(1 - e^-2y) / (1 + e^-2y)` on
/// `y = |x| / 2^frac_bits`.
pub(crate) fn tanh_fixed(x: i64, frac_bits: u32, max: i64) -> i64 {
    let one_out: i128 = 1i128 << frac_bits.min(62);
    let ax = (x as i128).abs();
    // 2y in Q60.
    let y2: i128 = if frac_bits <= 60 {
        (2 * ax) << (60 - frac_bits)
    } else {
        div_round(2 * ax, 1i128 << (frac_bits - 60))
    };
    let value = if y2 >= 40 * ONE {
        // tanh is 1 to within 2^-57 here.
        one_out
    } else {
        let k = div_round(-y2, LN2);
        let r = -y2 - k * LN2;
        let er = exp_small(r);
        // e^{-2y} = er * 2^k in Q60, with k <= 0.
        let e = er >> (-k).min(127);
        div_round(one_out * (ONE - e), ONE + e)
    };
    let v = value.min(max as i128) as i64;
    if x < 0 {
        -v
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_agrees_with_the_float_function() {
        for f in [0u32, 4, 8, 12] {
            for x in (-4000i64..4000).step_by(7) {
                let real = (x as f64 / (1u64 << f) as f64).tanh() * (1u64 << f) as f64;
                let got = tanh_fixed(x, f, i64::MAX >> 1);
                assert!(
                    (got as f64 - real).abs() <= 0.5 + 1e-9,
                    "x={x} f={f} got={got} real={real}"
                );
                assert_eq!(tanh_fixed(-x, f, i64::MAX >> 1), -got);
            }
        }
        assert_eq!(tanh_fixed(0, 8, 255), 0);
        assert_eq!(tanh_fixed(1 << 20, 8, 200), 200);
    }

    /// Checks an integer result against a float reference: exact, except where the
    /// real value lies within a hair of a rounding tie.
    fn agrees(got: i64, real: f64) -> bool {
        let want = real.round();
        let near_tie = (real - real.floor() - 0.5).abs() < 1e-6;
        got as f64 == want || (near_tie && (got as f64 - want).abs() <= 1.0)
    }

    #[test]
    fn exp_matches_float_reference() {
        for f in [4u32, 8, 12] {
            let scale = (f as f64).exp2();
            for x in -(1i64 << 14)..(1i64 << 12) {
                let real = (x as f64 / scale).exp() * scale;
                if real > 1e12 {
                    continue;
                }
                let got = exp_fixed(x, f, i64::MAX >> 1);
                assert!(agrees(got, real), "x={x} f={f} got={got} real={real}");
            }
        }
    }

    #[test]
    fn sigmoid_matches_float_reference() {
        for f in [4u32, 8, 12] {
            let scale = (f as f64).exp2();
            for x in -(1i64 << 15)..(1i64 << 15) {
                let real = scale / (1.0 + (-(x as f64) / scale).exp());
                let got = sigmoid_fixed(x, f, i64::MAX >> 1);
                assert!(agrees(got, real), "x={x} f={f} got={got} real={real}");
            }
        }
    }

    #[test]
    fn saturation_is_clamped() {
        assert_eq!(exp_fixed(1 << 20, 4, 1000), 1000);
        assert_eq!(exp_fixed(-(1 << 20), 4, 1000), 0);
        assert_eq!(sigmoid_fixed(1 << 20, 8, 255), 255);
        assert_eq!(sigmoid_fixed(-(1 << 20), 8, 255), 0);
    }

    #[test]
    fn div_round_ties_go_up() {
        assert_eq!(div_round(1, 2), 1);
        assert_eq!(div_round(-1, 2), 0);
        assert_eq!(div_round(3, 2), 2);
        assert_eq!(div_round(-3, 2), -1);
        assert_eq!(div_round(5, 4), 1);
    }
}
