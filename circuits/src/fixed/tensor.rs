//! A quantized tensor that carries its own format.

use ndarray::{ArrayD, IxDyn};

use super::{FixedError, QFormat};

/// A tensor of fixed-point integers together with its scale and bit bound.
///
/// The invariant "every element fits `format`" is established by every
/// constructor, so operations can rely on it without re-checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QTensor {
    values: ArrayD<i64>,
    format: QFormat,
}

impl QTensor {
    /// Quantizes real values into `format`, failing on the first value that is not
    /// finite or does not fit the bound (the error names its index and value).
    pub fn quantize(x: &ArrayD<f32>, format: QFormat, context: &str) -> Result<Self, FixedError> {
        let mut out = Vec::with_capacity(x.len());
        for (index, &v) in x.iter().enumerate() {
            out.push(format.quantize(v as f64, index, context)?);
        }
        let values = ArrayD::from_shape_vec(IxDyn(x.shape()), out).map_err(|_| {
            FixedError::ShapeMismatch {
                op: "quantize",
                expected: x.shape().to_vec(),
                found: vec![x.len()],
            }
        })?;
        Ok(Self { values, format })
    }

    /// Wraps integers that are already at `format`'s scale, checking every bound.
    pub fn from_ints(
        values: ArrayD<i64>,
        format: QFormat,
        context: &str,
    ) -> Result<Self, FixedError> {
        for &v in values.iter() {
            format.check(v as i128, context)?;
        }
        Ok(Self { values, format })
    }

    /// Builds a tensor from a shape and a flat row-major vector of integers.
    pub fn from_vec(
        shape: &[usize],
        values: Vec<i64>,
        format: QFormat,
        context: &str,
    ) -> Result<Self, FixedError> {
        let found = vec![values.len()];
        let values = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|_| {
            FixedError::ShapeMismatch {
                op: "from_vec",
                expected: shape.to_vec(),
                found,
            }
        })?;
        Self::from_ints(values, format, context)
    }

    /// Wraps integers known to satisfy `format` (results of ops that preserve it).
    pub(crate) fn new_unchecked(values: ArrayD<i64>, format: QFormat) -> Self {
        Self { values, format }
    }

    /// The integers, row-major.
    pub fn values(&self) -> &ArrayD<i64> {
        &self.values
    }

    /// The format every element satisfies.
    pub fn format(&self) -> QFormat {
        self.format
    }

    /// The tensor's shape.
    pub fn shape(&self) -> &[usize] {
        self.values.shape()
    }

    /// The reals the integers stand for.
    pub fn dequantize(&self) -> ArrayD<f32> {
        self.values.mapv(|v| self.format.dequantize(v) as f32)
    }

    /// Consumes the tensor and returns its integers.
    pub fn into_values(self) -> ArrayD<i64> {
        self.values
    }
}
