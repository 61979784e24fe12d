//! Real numbers as messages print them.

/// A real number for messages: six significant digits (trailing zeros
/// dropped), in scientific notation when very large or very small.
pub(crate) fn real(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    if !(1e-4..1e9).contains(&x.abs()) {
        let s = format!("{x:.5e}");
        return match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        };
    }
    let decimals = (5 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    match s.contains('.') {
        true => s.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => s,
    }
}

/// [`real`], or every digit when the short form would read the same as one
/// of `near` (a value just outside a bound must not print as the bound).
pub(crate) fn real_beside(x: f64, near: &[f64]) -> String {
    let short = real(x);
    match near.iter().any(|b| *b != x && real(*b) == short) {
        true => format!("{x}"),
        false => short,
    }
}

#[cfg(test)]
mod tests {
    use super::real;

    #[test]
    fn reals_print_short() {
        assert_eq!(real(1e30), "1e30");
        assert_eq!(real(-3.099743640294), "-3.09974");
        assert_eq!(real(1.99993896484375), "1.99994");
        assert_eq!(real(141.41782), "141.418");
        assert_eq!(real(2.0), "2");
        assert_eq!(real(0.0), "0");
        assert_eq!(real(1.5e-7), "1.5e-7");
        assert_eq!(real(-1.7763568394002505e-15), "-1.77636e-15");
        assert_eq!(real(f64::NAN), "NaN");
        assert_eq!(super::real_beside(-2.0000001, &[-2.0, 1.99]), "-2.0000001");
        assert_eq!(super::real_beside(-2.5, &[-2.0]), "-2.5");
    }
}
