//! Table-defined nonlinearities.
//!
//! Each activation is one integer function, [`Activation::apply`]. The native
//! fixed-point ops call it, and the circuit's lookup table is generated from it over
//! the input domain, so native results and proven results agree by construction.
//! Adding an activation is one enum variant and one arm in `apply`.

use serde::{Deserialize, Serialize};

use super::expmath::{exp_fixed, sigmoid_fixed};
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
}

impl Activation {
    /// Every activation, in table order.
    pub const ALL: [Activation; 3] = [Activation::Relu, Activation::Sigmoid, Activation::Exp];

    /// A small stable number naming the activation inside lookup-table tags.
    pub fn code(self) -> u64 {
        match self {
            Activation::Relu => 1,
            Activation::Sigmoid => 2,
            Activation::Exp => 3,
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
        }
    }

    /// The float function the activation approximates, only for reporting
    /// quantization error.
    pub fn reference(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Exp => x.exp(),
        }
    }

    /// The activation's lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Exp => "exp",
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
    }
}
