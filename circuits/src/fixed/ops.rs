//! The native fixed-point operations: one integer implementation per op.
//!
//! These functions train models, generate circuit witnesses and are what circuit
//! tests compare against bit for bit.

use ndarray::{Array2, ArrayD, Axis, Ix2};

use super::expmath::div_round;
use super::{Activation, FixedError, QFormat, QTensor};

/// Rescales an accumulator by `shift` bits: `floor((acc + 2^(shift-1)) / 2^shift)`,
/// that is, rounding to nearest with ties toward positive infinity. A shift of zero
/// returns `acc` unchanged.
///
/// The circuit proves the same rule as `acc + 2^(shift-1) = q * 2^shift + r` with
/// `0 <= r < 2^shift`.
pub fn rescale(acc: i128, shift: u32) -> i128 {
    if shift == 0 {
        return acc;
    }
    div_round(acc, 1i128 << shift)
}

/// The remainder `r` that goes with [`rescale`]: `acc + 2^(shift-1) - q * 2^shift`.
pub fn rescale_remainder(acc: i128, shift: u32) -> i128 {
    if shift == 0 {
        return 0;
    }
    acc + (1i128 << (shift - 1)) - rescale(acc, shift) * (1i128 << shift)
}

/// The shape of a dense layer and the formats of its tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DenseSpec {
    /// Number of input features.
    pub inputs: usize,
    /// Number of output features.
    pub outputs: usize,
    /// Format of the input activations.
    pub input_format: QFormat,
    /// Format of the weights; the bias is at scale `input + weight` fractional bits
    /// and the same bound as the accumulator allows.
    pub weight_format: QFormat,
    /// Format of the outputs (after rescale and activation).
    pub output_format: QFormat,
    /// Optional activation applied after the rescale.
    pub activation: Option<Activation>,
}

impl DenseSpec {
    /// The number of fractional bits of the accumulator (and the bias).
    pub fn acc_frac_bits(&self) -> u32 {
        self.input_format.frac_bits() + self.weight_format.frac_bits()
    }

    /// How many bits the rescale drops: accumulator scale minus output scale.
    pub fn shift(&self) -> Result<u32, FixedError> {
        self.acc_frac_bits()
            .checked_sub(self.output_format.frac_bits())
            .ok_or(FixedError::ScaleMismatch {
                op: "dense",
                expected: self.acc_frac_bits(),
                found: self.output_format.frac_bits(),
            })
    }

    /// Format of the bias: accumulator scale, bounded like the weights plus the
    /// input's integer bits so that it can shift any output.
    pub fn bias_format(&self) -> Result<QFormat, FixedError> {
        QFormat::new(
            self.acc_frac_bits(),
            (self.weight_format.bits() + self.input_format.bits()).min(QFormat::MAX_BITS),
        )
    }

    /// Number of multiply-adds per batch row.
    pub fn macs(&self) -> usize {
        self.inputs * self.outputs
    }
}

/// Exact accumulators `x W^T + b` of a dense layer, before rescaling.
///
/// `x` is `batch x inputs`, `w` is `outputs x inputs`, `bias` has `outputs`
/// entries at the accumulator scale.
pub fn dense_acc(
    spec: &DenseSpec,
    x: &QTensor,
    w: &QTensor,
    bias: Option<&QTensor>,
) -> Result<Array2<i128>, FixedError> {
    check_format(x, spec.input_format, "dense input")?;
    check_format(w, spec.weight_format, "dense weights")?;
    let x2 = as_matrix(x, None, spec.inputs, "dense input")?;
    let w2 = as_matrix(w, Some(spec.outputs), spec.inputs, "dense weights")?;
    let mut acc = Array2::<i128>::zeros((x2.nrows(), spec.outputs));
    for (b, xrow) in x2.rows().into_iter().enumerate() {
        for (o, wrow) in w2.rows().into_iter().enumerate() {
            let mut s: i128 = 0;
            for (xv, wv) in xrow.iter().zip(wrow.iter()) {
                s += (*xv as i128) * (*wv as i128);
            }
            acc[[b, o]] = s;
        }
    }
    if let Some(bias) = bias {
        check_format(bias, spec.bias_format()?, "dense bias")?;
        if bias.shape() != [spec.outputs] {
            return Err(FixedError::ShapeMismatch {
                op: "dense bias",
                expected: vec![spec.outputs],
                found: bias.shape().to_vec(),
            });
        }
        for mut row in acc.rows_mut() {
            for (a, bv) in row.iter_mut().zip(bias.values().iter()) {
                *a += *bv as i128;
            }
        }
    }
    Ok(acc)
}

/// Rescales accumulators to `format` and applies `activation`: the second half of a
/// dense layer. Fails if a rescaled value leaves the format's bound.
pub fn rescale_activate(
    acc: &Array2<i128>,
    shift: u32,
    format: QFormat,
    activation: Option<Activation>,
    context: &str,
) -> Result<Array2<i64>, FixedError> {
    let mut out = Array2::<i64>::zeros(acc.raw_dim());
    for (o, a) in out.iter_mut().zip(acc.iter()) {
        let q = format.check(rescale(*a, shift), context)?;
        *o = match activation {
            Some(act) => act.apply(q, format),
            None => q,
        };
    }
    Ok(out)
}

/// A dense layer: `act(rescale(x W^T + b))`, returning `batch x outputs` values of
/// the spec's output format.
pub fn dense(
    spec: &DenseSpec,
    x: &QTensor,
    w: &QTensor,
    bias: Option<&QTensor>,
) -> Result<QTensor, FixedError> {
    let acc = dense_acc(spec, x, w, bias)?;
    let out = rescale_activate(
        &acc,
        spec.shift()?,
        spec.output_format,
        spec.activation,
        "dense output",
    )?;
    QTensor::from_ints(out.into_dyn(), spec.output_format, "dense output")
}

/// Element-wise ReLU; keeps the format.
pub fn relu(x: &QTensor) -> QTensor {
    activate(x, Activation::Relu)
}

/// Applies a table-defined activation element-wise; keeps the format.
pub fn activate(x: &QTensor, act: Activation) -> QTensor {
    let fmt = x.format();
    let values = x.values().mapv(|v| act.apply(v, fmt));
    // Activations map a format into itself (tested exhaustively in `activation`).
    QTensor::new_unchecked(values, fmt)
}

/// Index of the largest value along the last axis (the first one on ties).
pub fn argmax(x: &QTensor) -> Vec<usize> {
    let values = x.values();
    if values.ndim() == 0 {
        return vec![0];
    }
    let axis = Axis(values.ndim() - 1);
    values
        .lanes(axis)
        .into_iter()
        .map(|lane| {
            let mut best = 0;
            for (i, v) in lane.iter().enumerate() {
                if *v > lane[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

fn check_format(x: &QTensor, want: QFormat, op: &'static str) -> Result<(), FixedError> {
    let got = x.format();
    if got.frac_bits() != want.frac_bits() {
        return Err(FixedError::ScaleMismatch {
            op,
            expected: want.frac_bits(),
            found: got.frac_bits(),
        });
    }
    if got.bits() > want.bits() {
        return Err(FixedError::InvalidFormat {
            frac_bits: got.frac_bits(),
            bits: got.bits(),
            reason: "tensor bound is wider than the operation accepts",
        });
    }
    Ok(())
}

/// Views a tensor as a matrix with `cols` columns (and `rows` rows if given); a
/// vector is one row.
fn as_matrix(
    x: &QTensor,
    rows: Option<usize>,
    cols: usize,
    op: &'static str,
) -> Result<Array2<i64>, FixedError> {
    let v: &ArrayD<i64> = x.values();
    let m = match v.ndim() {
        1 => v.clone().into_shape_with_order((1, v.len())).ok(),
        2 => v.clone().into_dimensionality::<Ix2>().ok(),
        _ => None,
    };
    let ok = |m: &Array2<i64>| m.ncols() == cols && rows.is_none_or(|r| m.nrows() == r);
    match m {
        Some(m) if ok(&m) => Ok(m),
        _ => Err(FixedError::ShapeMismatch {
            op,
            expected: vec![rows.unwrap_or(0), cols],
            found: v.shape().to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rescale_rounds_half_up() {
        assert_eq!(rescale(0, 4), 0);
        assert_eq!(rescale(8, 4), 1); // 0.5 -> 1
        assert_eq!(rescale(7, 4), 0); // 0.4375 -> 0
        assert_eq!(rescale(-8, 4), 0); // -0.5 -> 0 (ties toward +inf)
        assert_eq!(rescale(-9, 4), -1);
        assert_eq!(rescale(24, 4), 2); // 1.5 -> 2
        assert_eq!(rescale(-24, 4), -1); // -1.5 -> -1
        assert_eq!(rescale(5, 0), 5);
    }

    #[test]
    fn rescale_exhaustive_over_8_bits() {
        for acc in -128i128..128 {
            for shift in 0..8u32 {
                let q = rescale(acc, shift);
                let r = rescale_remainder(acc, shift);
                let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
                assert_eq!(acc + half, q * (1 << shift) + r);
                assert!(r >= 0 && r < (1 << shift));
                let real = acc as f64 / (1u64 << shift) as f64;
                assert_eq!(q as f64, (real + 0.5).floor());
            }
        }
    }

    fn fmt(f: u32, b: u32) -> QFormat {
        QFormat::new(f, b).unwrap()
    }

    #[test]
    fn dense_small_example() {
        let spec = DenseSpec {
            inputs: 2,
            outputs: 2,
            input_format: fmt(4, 8),
            weight_format: fmt(4, 8),
            output_format: fmt(4, 8),
            activation: Some(Activation::Relu),
        };
        // x = [1.0, -0.5], W = [[0.5, 1.0], [-1.0, 0.25]], b = [0.25, 0]
        let x = QTensor::from_vec(&[1, 2], vec![16, -8], spec.input_format, "x").unwrap();
        let w = QTensor::from_vec(&[2, 2], vec![8, 16, -16, 4], spec.weight_format, "w").unwrap();
        let b = QTensor::from_vec(&[2], vec![64, 0], spec.bias_format().unwrap(), "b").unwrap();
        let y = dense(&spec, &x, &w, Some(&b)).unwrap();
        // o0 = 0.5 - 0.5 + 0.25 = 0.25 -> 4; o1 = -1 - 0.125 -> relu 0
        assert_eq!(y.values().as_slice().unwrap(), &[4, 0]);
    }

    #[test]
    fn dense_rejects_bad_shapes_and_scales() {
        let spec = DenseSpec {
            inputs: 3,
            outputs: 2,
            input_format: fmt(4, 8),
            weight_format: fmt(4, 8),
            output_format: fmt(4, 8),
            activation: None,
        };
        let x = QTensor::from_vec(&[1, 2], vec![1, 2], spec.input_format, "x").unwrap();
        let w = QTensor::from_vec(&[2, 3], vec![0; 6], spec.weight_format, "w").unwrap();
        assert!(matches!(
            dense(&spec, &x, &w, None),
            Err(FixedError::ShapeMismatch { .. })
        ));
        let x = QTensor::from_vec(&[1, 3], vec![1, 2, 3], fmt(5, 8), "x").unwrap();
        assert!(matches!(
            dense(&spec, &x, &w, None),
            Err(FixedError::ScaleMismatch { .. })
        ));
    }

    #[test]
    fn dense_overflow_names_the_value() {
        let spec = DenseSpec {
            inputs: 1,
            outputs: 1,
            input_format: fmt(0, 8),
            weight_format: fmt(0, 8),
            output_format: fmt(0, 8),
            activation: None,
        };
        let x = QTensor::from_vec(&[1, 1], vec![100], spec.input_format, "x").unwrap();
        let w = QTensor::from_vec(&[1, 1], vec![100], spec.weight_format, "w").unwrap();
        match dense(&spec, &x, &w, None) {
            Err(FixedError::Overflow { value, bits, .. }) => {
                assert_eq!(value, 10_000);
                assert_eq!(bits, 8);
            }
            other => panic!("expected overflow, got {other:?}"),
        }
    }

    #[test]
    fn quantize_reports_overflow_and_nan() {
        let f = fmt(4, 8);
        let x = ndarray::arr1(&[1.0f32, 9.0]).into_dyn();
        match QTensor::quantize(&x, f, "x") {
            Err(FixedError::Overflow { value, .. }) => assert_eq!(value, 144),
            other => panic!("{other:?}"),
        }
        let x = ndarray::arr1(&[f32::NAN]).into_dyn();
        assert!(matches!(
            QTensor::quantize(&x, f, "x"),
            Err(FixedError::NotFinite { index: 0, .. })
        ));
    }

    #[test]
    fn argmax_takes_first_on_ties() {
        let x = QTensor::from_vec(&[2, 3], vec![1, 5, 5, -1, -2, -1], fmt(0, 8), "x").unwrap();
        assert_eq!(argmax(&x), vec![1, 0]);
    }

    proptest! {
        #[test]
        fn rescale_matches_euclid(acc in -(1i128 << 60)..(1i128 << 60), shift in 1u32..30) {
            let q = rescale(acc, shift);
            let r = rescale_remainder(acc, shift);
            prop_assert!(r >= 0 && r < (1i128 << shift));
            prop_assert_eq!(acc + (1i128 << (shift - 1)), q * (1i128 << shift) + r);
        }
    }
}
