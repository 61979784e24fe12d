//! Real numbers as messages print them.

/// A real number for messages: at most four decimals, or in scientific
/// notation when very large or very small.
pub(crate) fn real(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e9).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{}", (x * 1e4).round() / 1e4)
    }
}

#[cfg(test)]
mod tests {
    use super::real;

    #[test]
    fn reals_print_short() {
        assert_eq!(real(1e30), "1e30");
        assert_eq!(real(-3.099743640294), "-3.0997");
        assert_eq!(real(2.0), "2");
        assert_eq!(real(0.0), "0");
        assert_eq!(real(1.5e-7), "1.5e-7");
        assert_eq!(real(f64::NAN), "NaN");
    }
}
