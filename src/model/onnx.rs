//! ONNX import: a chain of supported operators becomes the float [`Model`].
//!
//! The protobuf is decoded with `tract-onnx`; tensors and attributes are read
//! here, with every shape checked, so a malformed or adversarial file gets an
//! error naming the operator and node, never a panic. Supported: `Gemm`
//! (`transB` 0 or 1, `alpha = beta = 1`), `MatMul` with a constant right side
//! and an optional constant `Add` after it (or after `Conv`), `Conv` (one
//! group, square stride, symmetric padding, no dilation), `Relu`, `Sigmoid`,
//! `AveragePool` and `MaxPool` (no padding), `Flatten`, `Reshape` to a vector,
//! `ArgMax` over the features as the last node, and `Identity` / `Dropout`
//! (skipped).

use std::collections::HashMap;

use tract_onnx::pb::{
    self, tensor_proto::DataType, type_proto, AttributeProto, NodeProto, TensorProto,
};
use tract_onnx::prelude::Framework;

use super::ir::{Layer, Model, MAX_ELEMENTS};
use super::ModelError;

/// A constant tensor: shape and float values.
struct Const {
    dims: Vec<usize>,
    data: Vec<f32>,
}

fn read_tensor(t: &TensorProto) -> Result<Const, ModelError> {
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|d| usize::try_from(*d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| {
            ModelError::Shape(format!("tensor {:?} has a negative dimension", t.name))
        })?;
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
    let data: Vec<f32> = if t.data_type == DataType::Float as i32 {
        if !t.raw_data.is_empty() {
            if t.raw_data.len() != 4 * n {
                return Err(ModelError::Shape(format!(
                    "tensor {:?}: {} raw bytes for {n} floats",
                    t.name,
                    t.raw_data.len()
                )));
            }
            t.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            t.float_data.clone()
        }
    } else if t.data_type == DataType::Int64 as i32 {
        if !t.raw_data.is_empty() {
            if t.raw_data.len() != 8 * n {
                return Err(ModelError::Shape(format!(
                    "tensor {:?}: {} raw bytes for {n} integers",
                    t.name,
                    t.raw_data.len()
                )));
            }
            t.raw_data
                .chunks_exact(8)
                .map(|c| {
                    i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect()
        } else {
            t.int64_data.iter().map(|v| *v as f32).collect()
        }
    } else if t.data_type == DataType::Double as i32 && t.raw_data.is_empty() {
        t.double_data.iter().map(|v| *v as f32).collect()
    } else {
        return Err(ModelError::Shape(format!(
            "tensor {:?} has data type {}, only float tensors are supported",
            t.name, t.data_type
        )));
    };
    if data.len() != n {
        return Err(ModelError::Shape(format!(
            "tensor {:?}: {} values for shape {dims:?}",
            t.name,
            data.len()
        )));
    }
    if data.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::NotFinite {
            what: format!("tensor {:?}", t.name),
        });
    }
    Ok(Const { dims, data })
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

fn attr_f(n: &NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

fn node_err(n: &NodeProto, reason: impl Into<String>) -> ModelError {
    ModelError::Node {
        op: n.op_type.clone(),
        node: n.name.clone(),
        reason: reason.into(),
    }
}

/// The current activation: its ONNX name and shape (without the batch axis).
struct Current {
    name: String,
    shape: Vec<usize>,
}

/// Loads an ONNX model from bytes.
pub fn load_onnx(bytes: &[u8]) -> Result<Model, ModelError> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| ModelError::Onnx(e.to_string()))?;
    from_proto(&proto)
}

fn input_shape(g: &pb::GraphProto, consts: &HashMap<String, Const>) -> Result<Current, ModelError> {
    let input = g
        .input
        .iter()
        .find(|i| !consts.contains_key(&i.name))
        .ok_or_else(|| ModelError::Shape("the graph has no input".into()))?;
    let dims: Vec<usize> = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t
            .shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if *v > 0 => {
                            *v as usize
                        }
                        // A symbolic batch axis counts as one.
                        _ => 1,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        None => vec![],
    };
    // Drop the batch axis.
    let shape: Vec<usize> = if dims.len() > 1 {
        dims[1..].to_vec()
    } else {
        dims
    };
    let n = shape
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .unwrap_or(usize::MAX);
    if shape.is_empty() || n == 0 || n > MAX_ELEMENTS {
        return Err(ModelError::Shape(format!(
            "input {:?} has an unsupported shape {shape:?}",
            input.name
        )));
    }
    Ok(Current {
        name: input.name.clone(),
        shape,
    })
}

fn from_proto(proto: &pb::ModelProto) -> Result<Model, ModelError> {
    let g = proto
        .graph
        .as_ref()
        .ok_or_else(|| ModelError::Onnx("the model has no graph".into()))?;
    let mut consts: HashMap<String, Const> = HashMap::new();
    for t in &g.initializer {
        consts.insert(t.name.clone(), read_tensor(t)?);
    }
    let mut cur = input_shape(g, &consts)?;
    let input_len = cur.shape.iter().product();
    let mut layers: Vec<Layer> = Vec::new();
    for n in &g.node {
        if n.op_type == "Constant" {
            if let (Some(out), Some(t)) = (
                n.output.first(),
                attr(n, "value").and_then(|a| a.t.as_ref()),
            ) {
                consts.insert(out.clone(), read_tensor(t)?);
                continue;
            }
            return Err(node_err(n, "only tensor-valued constants are supported"));
        }
        let data_input = n.input.first().ok_or_else(|| node_err(n, "no input"))?;
        if data_input != &cur.name {
            return Err(node_err(
                n,
                format!("only chains are supported; expected input {:?}", cur.name),
            ));
        }
        let get = |i: usize| -> Result<&Const, ModelError> {
            let name = n
                .input
                .get(i)
                .ok_or_else(|| node_err(n, format!("missing input {i}")))?;
            consts
                .get(name)
                .ok_or_else(|| node_err(n, format!("input {name:?} must be a constant")))
        };
        let flat: usize = cur.shape.iter().product();
        match n.op_type.as_str() {
            "Gemm" => {
                if attr_i(n, "transA", 0) != 0
                    || attr_f(n, "alpha", 1.0) != 1.0
                    || attr_f(n, "beta", 1.0) != 1.0
                {
                    return Err(node_err(
                        n,
                        "only transA = 0, alpha = beta = 1 are supported",
                    ));
                }
                let b = get(1)?;
                if b.dims.len() != 2 {
                    return Err(node_err(n, "the weight must be a matrix"));
                }
                let trans_b = attr_i(n, "transB", 0) != 0;
                let (outputs, inputs) = if trans_b {
                    (b.dims[0], b.dims[1])
                } else {
                    (b.dims[1], b.dims[0])
                };
                if inputs != flat {
                    return Err(node_err(n, format!("expects {inputs} inputs, gets {flat}")));
                }
                let weight = if trans_b {
                    b.data.clone()
                } else {
                    transpose(&b.data, inputs, outputs)
                };
                let bias = match n.input.get(2) {
                    Some(_) => {
                        let c = get(2)?;
                        if c.data.len() != outputs {
                            return Err(node_err(n, "the bias must have one value per output"));
                        }
                        c.data.clone()
                    }
                    None => vec![0.0; outputs],
                };
                layers.push(Layer::Dense {
                    inputs,
                    outputs,
                    weight,
                    bias,
                });
                cur.shape = vec![outputs];
            }
            "MatMul" => {
                let b = get(1)?;
                if b.dims.len() != 2 || b.dims[0] != flat {
                    return Err(node_err(
                        n,
                        format!("the right side must be a {flat} x n matrix"),
                    ));
                }
                let outputs = b.dims[1];
                layers.push(Layer::Dense {
                    inputs: flat,
                    outputs,
                    weight: transpose(&b.data, flat, outputs),
                    bias: vec![0.0; outputs],
                });
                cur.shape = vec![outputs];
            }
            "Add" => {
                let c = get(1)?;
                match layers.last_mut() {
                    Some(Layer::Dense { bias, outputs, .. }) if c.data.len() == *outputs => {
                        bias.iter_mut().zip(&c.data).for_each(|(b, v)| *b += v);
                    }
                    Some(Layer::Conv2d {
                        bias, out_channels, ..
                    }) if c.data.len() == *out_channels => {
                        bias.iter_mut().zip(&c.data).for_each(|(b, v)| *b += v);
                    }
                    _ => {
                        return Err(node_err(
                            n,
                            "only a constant bias right after MatMul, Gemm or Conv is supported",
                        ))
                    }
                }
            }
            "Conv" => {
                if cur.shape.len() != 3 {
                    return Err(node_err(n, "expects a channels x height x width input"));
                }
                let (c, h, w) = (cur.shape[0], cur.shape[1], cur.shape[2]);
                let wt = get(1)?;
                if wt.dims.len() != 4 || wt.dims[1] != c {
                    return Err(node_err(
                        n,
                        format!("weight shape {:?} does not fit {c} input channels", wt.dims),
                    ));
                }
                if attr_i(n, "group", 1) != 1 {
                    return Err(node_err(n, "grouped convolutions are not supported"));
                }
                if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|v| *v != 1)) {
                    return Err(node_err(n, "dilated convolutions are not supported"));
                }
                let strides = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
                let pads = attr_ints(n, "pads").unwrap_or(vec![0, 0, 0, 0]);
                if strides.len() != 2 || strides[0] != strides[1] || strides[0] < 1 {
                    return Err(node_err(n, "only equal positive strides are supported"));
                }
                if pads.len() != 4 || pads.iter().any(|p| *p != pads[0] || *p < 0) {
                    return Err(node_err(n, "only equal, symmetric padding is supported"));
                }
                let out_channels = wt.dims[0];
                let bias = match n.input.get(2) {
                    Some(_) => get(2)?.data.clone(),
                    None => vec![0.0; out_channels],
                };
                let layer = Layer::Conv2d {
                    in_channels: c,
                    out_channels,
                    height: h,
                    width: w,
                    kernel: [wt.dims[2], wt.dims[3]],
                    stride: strides[0] as usize,
                    padding: pads[0] as usize,
                    weight: wt.data.clone(),
                    bias,
                };
                let out = layer.output_len(flat)?;
                let (s, p) = (strides[0] as usize, pads[0] as usize);
                let oh = (h + 2 * p - wt.dims[2]) / s + 1;
                cur.shape = vec![out_channels, oh, out / out_channels.max(1) / oh.max(1)];
                layers.push(layer);
            }
            "AveragePool" | "MaxPool" => {
                if cur.shape.len() != 3 {
                    return Err(node_err(n, "expects a channels x height x width input"));
                }
                let k = attr_ints(n, "kernel_shape").unwrap_or_default();
                let s = attr_ints(n, "strides").unwrap_or(k.clone());
                if k.len() != 2
                    || k[0] != k[1]
                    || k[0] < 1
                    || s.len() != 2
                    || s[0] != s[1]
                    || s[0] < 1
                {
                    return Err(node_err(
                        n,
                        "only square windows and equal strides are supported",
                    ));
                }
                if attr_ints(n, "pads").is_some_and(|p| p.iter().any(|v| *v != 0)) {
                    return Err(node_err(n, "padded pooling is not supported"));
                }
                if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|v| *v != 1))
                    || attr(n, "ceil_mode").is_some_and(|c| c.i != 0)
                {
                    return Err(node_err(n, "dilated or ceil-mode pooling is not supported"));
                }
                if n.output.len() > 1 {
                    return Err(node_err(n, "max pooling indices are not supported"));
                }
                let (c, h, w) = (cur.shape[0], cur.shape[1], cur.shape[2]);
                let (kernel, stride) = (k[0] as usize, s[0] as usize);
                let layer = if n.op_type == "MaxPool" {
                    Layer::MaxPool2d {
                        channels: c,
                        height: h,
                        width: w,
                        kernel,
                        stride,
                    }
                } else {
                    Layer::AvgPool2d {
                        channels: c,
                        height: h,
                        width: w,
                        kernel,
                        stride,
                    }
                };
                layer.output_len(flat)?;
                let (k, s) = (k[0] as usize, s[0] as usize);
                cur.shape = vec![c, (h - k) / s + 1, (w - k) / s + 1];
                layers.push(layer);
            }
            "ArgMax" => {
                let axis = attr(n, "axis").map_or(0, |a| a.i);
                if cur.shape.len() != 1 || !(axis == 1 || axis == -1) {
                    return Err(node_err(
                        n,
                        "only an argmax over the features of a vector (axis 1) is supported",
                    ));
                }
                if attr(n, "select_last_index").is_some_and(|a| a.i != 0) {
                    return Err(node_err(n, "select_last_index = 1 is not supported"));
                }
                cur.shape = vec![1];
                layers.push(Layer::Argmax);
            }
            "Relu" => layers.push(Layer::Relu),
            "Sigmoid" => layers.push(Layer::Sigmoid),
            "Flatten" | "Reshape" => cur.shape = vec![flat],
            "Identity" | "Dropout" => {}
            other => {
                return Err(ModelError::Unsupported {
                    op: other.to_string(),
                    node: n.name.clone(),
                })
            }
        }
        cur.name = n.output.first().cloned().unwrap_or_default();
    }
    let m = Model { input_len, layers };
    m.validate()?;
    Ok(m)
}

fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}
