//! Table-defined nonlinearities.
//!
//! Each activation is one integer function, [`Activation::apply`]. The native
//! fixed-point ops call it, and the circuit's lookup table is generated from it over
//! the input domain, so native results and proven results agree by construction.
//! Adding an activation is one enum variant and one arm in `apply`.

use serde::{Deserialize, Serialize};

use super::expmath::{exp_fixed, sigmoid_fixed, tanh_fixed};
use super::QFormat;

/// A nonlinearity applied element-wise to fixed-point values of one format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// The logistic function `1 / (1 + e^-x)`, at the input's scale.
    Sigmoid,
    /// `e^x` at the input's scale, saturating at the format's largest value.
    Exp,
    /// The hyperbolic tangent, at the input's scale.
    Tanh,
    /// `min(max(x, 0), 6)` (ONNX `Clip(0, 6)`), saturating at the format's
    /// largest value when 6 does not fit.
    Relu6,
    /// `x` for `x >= 0`, else `alpha x` rounded, with `alpha = n / 2^16` for
    /// the `n` given (655 for PyTorch's default 0.01).
    LeakyRelu(u32),
}

/// The denominator of [`Activation::LeakyRelu`]'s slope.
pub const LEAKY_ONE: u32 = 1 << 16;

impl Activation {
    /// Every activation, in table order.
    pub const ALL: [Activation; 7] = [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Exp,
        Activation::Tanh,
        Activation::Relu6,
        Activation::LeakyRelu(655),
        Activation::LeakyRelu(19661),
    ];

    /// A small stable number naming the activation inside lookup-table tags.
    pub fn code(self) -> u64 {
        match self {
            Activation::Relu => 1,
            Activation::Sigmoid => 2,
            Activation::Exp => 3,
            Activation::Tanh => 4,
            Activation::Relu6 => 5,
            // The slope in its own bits, above the small codes.
            Activation::LeakyRelu(n) => 6 | (u64::from(n) << 8),
        }
    }

    /// Applies the activation to `x`, a value of `format`; the result is a value of
    /// the same format (inside its bound).
    ///
    /// This is the single definition used for training, witness generation and the
    /// lookup table.
    pub fn apply(self, x: i64, format: QFormat) -> i64 {
        match self {
            Activation::Relu => x.max(0),
            Activation::Sigmoid => sigmoid_fixed(x, format.frac_bits(), format.max()),
            Activation::Exp => exp_fixed(x, format.frac_bits(), format.max()),
            Activation::Tanh => tanh_fixed(x, format.frac_bits(), format.max()),
            Activation::Relu6 => {
                let six = 6i128 << format.frac_bits().min(64);
                (x as i128).clamp(0, six.min(format.max() as i128)) as i64
            }
            Activation::LeakyRelu(n) => {
                if x >= 0 {
                    x
                } else {
                    let y =
                        super::expmath::div_round(x as i128 * i128::from(n), i128::from(LEAKY_ONE));
                    y.clamp(format.min() as i128, 0) as i64
                }
            }
        }
    }

    /// The float function the activation approximates, only for reporting
    /// quantization error.
    pub fn reference(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Exp => x.exp(),
            Activation::Tanh => x.tanh(),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::LeakyRelu(n) => {
                if x >= 0.0 {
                    x
                } else {
                    x * f64::from(n) / f64::from(LEAKY_ONE)
                }
            }
        }
    }

    /// The activation's lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Exp => "exp",
            Activation::Tanh => "tanh",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu(_) => "leaky_relu",
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_stay_inside_the_format() {
        for bits in [4u32, 8, 10] {
            for frac in [0u32, 3, 6] {
                let fmt = QFormat::new(frac, bits).unwrap();
                for act in Activation::ALL {
                    for x in fmt.min()..=fmt.max() {
                        let y = act.apply(x, fmt);
                        assert!(y >= fmt.min() && y <= fmt.max(), "{act} {fmt} x={x} y={y}");
                    }
                }
            }
        }
    }

    #[test]
    fn relu_and_sigmoid_shapes() {
        let fmt = QFormat::new(8, 16).unwrap();
        assert_eq!(Activation::Relu.apply(-5, fmt), 0);
        assert_eq!(Activation::Relu.apply(7, fmt), 7);
        assert_eq!(Activation::Sigmoid.apply(0, fmt), 128);
        assert_eq!(Activation::Exp.apply(0, fmt), 256);
        assert_eq!(Activation::Exp.apply(256, fmt), 696); // e * 256 = 695.9
        assert_eq!(Activation::Tanh.apply(0, fmt), 0);
        assert_eq!(Activation::Tanh.apply(256, fmt), 195); // tanh(1) * 256 = 194.97
        assert_eq!(Activation::Tanh.apply(-256, fmt), -195);
        assert_eq!(Activation::Relu6.apply(7 * 256, fmt), 6 * 256);
        assert_eq!(Activation::Relu6.apply(-3, fmt), 0);
        assert_eq!(Activation::LeakyRelu(655).apply(-1000, fmt), -10);
        assert_eq!(Activation::LeakyRelu(655).apply(1000, fmt), 1000);
    }

    #[test]
    fn codes_are_distinct() {
        let mut codes: Vec<u64> = Activation::ALL.iter().map(|a| a.code()).collect();
        codes.push(Activation::LeakyRelu(0).code());
        codes.push(Activation::LeakyRelu(u32::MAX).code());
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
    }
}
