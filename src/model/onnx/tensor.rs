//! Constant tensors and node attributes, read with every size checked.

use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

use super::super::ir::MAX_ELEMENTS;
use super::super::ModelError;

/// ONNX data types by number (`TensorProto.DataType`).
pub(super) mod dtype {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const UINT16: i32 = 4;
    pub const INT16: i32 = 5;
    pub const INT32: i32 = 6;
    pub const INT64: i32 = 7;
    pub const STRING: i32 = 8;
    pub const BOOL: i32 = 9;
    pub const FLOAT16: i32 = 10;
    pub const DOUBLE: i32 = 11;
    pub const UINT32: i32 = 12;
    pub const UINT64: i32 = 13;
    pub const BFLOAT16: i32 = 16;
}

/// The name of an ONNX data type, for messages.
pub(super) fn dtype_name(t: i32) -> String {
    let name = match t {
        dtype::FLOAT => "FLOAT",
        dtype::UINT8 => "UINT8",
        dtype::INT8 => "INT8",
        dtype::UINT16 => "UINT16",
        dtype::INT16 => "INT16",
        dtype::INT32 => "INT32",
        dtype::INT64 => "INT64",
        dtype::STRING => "STRING",
        dtype::BOOL => "BOOL",
        dtype::FLOAT16 => "FLOAT16",
        dtype::DOUBLE => "DOUBLE",
        dtype::UINT32 => "UINT32",
        dtype::UINT64 => "UINT64",
        dtype::BFLOAT16 => "BFLOAT16",
        _ => return format!("number {t}"),
    };
    format!("{name} ({t})")
}

/// Whether a data type holds real numbers (floats).
pub(super) fn is_float(t: i32) -> bool {
    matches!(
        t,
        dtype::FLOAT | dtype::DOUBLE | dtype::FLOAT16 | dtype::BFLOAT16
    )
}

/// A constant numeric tensor: its shape, values (integers exact up to 2^53)
/// and ONNX data type.
#[derive(Clone, Debug)]
pub(super) struct Const {
    /// Name (an initializer's or a node output's), for messages.
    pub name: String,
    /// Dimensions.
    pub dims: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f64>,
    /// ONNX data type.
    pub dtype: i32,
}

impl Const {
    /// A float tensor built by an operator.
    pub fn new(name: &str, dims: Vec<usize>, data: Vec<f64>, dtype: i32) -> Self {
        Self {
            name: name.to_string(),
            dims,
            data,
            dtype,
        }
    }

    /// The values as weights: float data, all finite.
    pub fn weights(&self) -> Result<Vec<f32>, ModelError> {
        if !is_float(self.dtype) {
            return Err(ModelError::DataType {
                tensor: self.name.clone(),
                data_type: dtype_name(self.dtype),
                reason: "weights must be FLOAT, DOUBLE or FLOAT16".into(),
            });
        }
        self.finite()?;
        Ok(self.data.iter().map(|v| *v as f32).collect())
    }

    /// Refuses NaN and infinities, naming the tensor.
    pub fn finite(&self) -> Result<(), ModelError> {
        if self.data.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::NotFinite {
                what: format!("tensor {:?}", self.name),
            });
        }
        Ok(())
    }

    /// The values as integers (shape arithmetic, axes, indices).
    pub fn ints(&self) -> Result<Vec<i64>, ModelError> {
        self.data
            .iter()
            .map(|v| {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(*v as i64)
                } else {
                    Err(ModelError::DataType {
                        tensor: self.name.clone(),
                        data_type: dtype_name(self.dtype),
                        reason: format!("{v} is not an integer"),
                    })
                }
            })
            .collect()
    }
}

/// A constant: numbers, or strings (class labels).
#[derive(Clone, Debug)]
pub(super) enum Constant {
    /// A numeric tensor.
    Numbers(Const),
    /// A string tensor's values.
    Strings(Vec<String>),
}

/// The element count of `dims`, refused above [`MAX_ELEMENTS`].
pub(super) fn element_count(dims: &[usize]) -> Result<usize, ModelError> {
    let n = dims
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .unwrap_or(usize::MAX);
    if n > MAX_ELEMENTS {
        return Err(ModelError::TooLarge {
            what: "tensor elements",
            size: n,
            limit: MAX_ELEMENTS,
        });
    }
    Ok(n)
}

fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((bits >> 10) & 0x1f) as i32;
    let frac = (bits & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
    }
}

fn bf16_to_f64(bits: u16) -> f64 {
    f32::from_bits((bits as u32) << 16) as f64
}

/// Reads a tensor (an initializer or a `Constant` node's value).
pub(super) fn read_tensor(t: &TensorProto) -> Result<Constant, ModelError> {
    let name = &t.name;
    if t.data_location == Some(1) {
        return Err(ModelError::DataType {
            tensor: name.clone(),
            data_type: dtype_name(t.data_type),
            reason: "its data is stored outside the file; save the model with its tensors \
                     inside (onnx.save(model, path, save_as_external_data=False))"
                .into(),
        });
    }
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|d| usize::try_from(*d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| ModelError::Shape(format!("tensor {name:?} has a negative dimension")))?;
    let n = element_count(&dims)?;
    if t.data_type == dtype::STRING {
        if t.string_data.len() != n {
            return Err(ModelError::Shape(format!(
                "tensor {name:?}: {} strings for shape {dims:?}",
                t.string_data.len()
            )));
        }
        return Ok(Constant::Strings(
            t.string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ));
    }
    let raw = &t.raw_data;
    let size = match t.data_type {
        dtype::FLOAT | dtype::INT32 | dtype::UINT32 => 4,
        dtype::DOUBLE | dtype::INT64 | dtype::UINT64 => 8,
        dtype::FLOAT16 | dtype::BFLOAT16 | dtype::INT16 | dtype::UINT16 => 2,
        dtype::INT8 | dtype::UINT8 | dtype::BOOL => 1,
        other => {
            return Err(ModelError::DataType {
                tensor: name.clone(),
                data_type: dtype_name(other),
                reason: "only numeric and string tensors are supported".into(),
            })
        }
    };
    let data: Vec<f64> = if !raw.is_empty() {
        if raw.len() != size * n {
            return Err(ModelError::Shape(format!(
                "tensor {name:?}: {} raw bytes for {n} values of {} bytes",
                raw.len(),
                size
            )));
        }
        raw.chunks_exact(size)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..size].copy_from_slice(c);
                let u = u64::from_le_bytes(b);
                match t.data_type {
                    dtype::FLOAT => f32::from_bits(u as u32) as f64,
                    dtype::DOUBLE => f64::from_bits(u),
                    dtype::FLOAT16 => f16_to_f64(u as u16),
                    dtype::BFLOAT16 => bf16_to_f64(u as u16),
                    dtype::INT64 => u as i64 as f64,
                    dtype::UINT64 => u as f64,
                    dtype::INT32 => u as u32 as i32 as f64,
                    dtype::UINT32 => u as u32 as f64,
                    dtype::INT16 => u as u16 as i16 as f64,
                    dtype::UINT16 => u as u16 as f64,
                    dtype::INT8 => u as u8 as i8 as f64,
                    _ => u as u8 as f64,
                }
            })
            .collect()
    } else {
        match t.data_type {
            dtype::FLOAT => t.float_data.iter().map(|v| *v as f64).collect(),
            dtype::DOUBLE => t.double_data.clone(),
            dtype::INT64 => t.int64_data.iter().map(|v| *v as f64).collect(),
            dtype::UINT64 | dtype::UINT32 => t.uint64_data.iter().map(|v| *v as f64).collect(),
            dtype::FLOAT16 => t.int32_data.iter().map(|v| f16_to_f64(*v as u16)).collect(),
            dtype::BFLOAT16 => t
                .int32_data
                .iter()
                .map(|v| bf16_to_f64(*v as u16))
                .collect(),
            _ => t.int32_data.iter().map(|v| *v as f64).collect(),
        }
    };
    if data.len() != n {
        return Err(ModelError::Shape(format!(
            "tensor {name:?}: {} values for shape {dims:?}",
            data.len()
        )));
    }
    Ok(Constant::Numbers(Const {
        name: name.clone(),
        dims,
        data,
        dtype: t.data_type,
    }))
}

/// An attribute by name.
pub(super) fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

/// An integer attribute, or `default`.
pub(super) fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

/// A float attribute, or `default`.
pub(super) fn attr_f(n: &NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}

/// An integer-list attribute.
pub(super) fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

/// A float-list attribute.
pub(super) fn attr_floats(n: &NodeProto, name: &str) -> Option<Vec<f32>> {
    attr(n, name).map(|a| a.floats.clone())
}

/// A string attribute.
pub(super) fn attr_s(n: &NodeProto, name: &str) -> Option<String> {
    attr(n, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// A string-list attribute.
pub(super) fn attr_strings(n: &NodeProto, name: &str) -> Option<Vec<String>> {
    attr(n, name).map(|a| {
        a.strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_decode() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x3555), 0.333251953125);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert!(f16_to_f64(0x7c00).is_infinite());
        assert_eq!(bf16_to_f64(0x3f80), 1.0);
    }
}
