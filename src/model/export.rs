//! Export of a trained fixed-point model as a standard float ONNX model
//! (opset 13): `(x - offset) * scale`, then (for a CNN) a `Reshape` to the
//! image, `Conv`, `Relu`, `AveragePool` / `MaxPool` and a `Flatten`, then
//! `Gemm` layers with `Relu` between. Every
//! float weight is exactly its fixed-point value (`w / 2^f`, representable
//! in f32 since weights have at most 24 significant bits), so importing the
//! file at the same weight format gives back the same integers, and the same
//! weight commitment.

use prost::Message;
use tract_onnx::pb::{
    tensor_shape_proto, type_proto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use zkpot_circuits::fixed::Activation;
use zkpot_circuits::infer::{QLayer, QModel, QWeights};

use super::ModelError;

/// The ONNX opset the export declares.
pub const EXPORT_OPSET: i64 = 13;

fn float_tensor(name: &str, dims: &[usize], data: Vec<f32>) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: 1,
        float_data: data,
        ..Default::default()
    }
}

fn io(name: &str, width: usize) -> ValueInfoProto {
    let dim = |v: tensor_shape_proto::dimension::Value| tensor_shape_proto::Dimension {
        value: Some(v),
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(tensor_shape_proto::dimension::Value::DimParam(
                            "batch".into(),
                        )),
                        dim(tensor_shape_proto::dimension::Value::DimValue(width as i64)),
                    ],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    }
}

/// A fixed-point value as the f32 it exactly is.
fn exact(v: i64, frac: u32, what: &str) -> Result<f32, ModelError> {
    if v.unsigned_abs() >= 1 << 24 {
        return Err(ModelError::Shape(format!(
            "{what} {v} has more than 24 significant bits and is not exact in f32"
        )));
    }
    Ok((v as f64 / (1u64 << frac) as f64) as f32)
}

fn ints_attr(name: &str, v: &[i64]) -> tract_onnx::pb::AttributeProto {
    tract_onnx::pb::AttributeProto {
        name: name.into(),
        r#type: tract_onnx::pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// A weight matrix (`outputs x (fan_in + 1)`, bias last) as exact float
/// weights and biases.
fn split_weights(
    w: &[i64],
    outputs: usize,
    fan_in: usize,
    frac: u32,
    l: usize,
) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
    let cols = fan_in + 1;
    if w.len() != outputs * cols {
        return Err(ModelError::Shape(format!(
            "layer {l} has {} weights for {outputs} x {cols}",
            w.len()
        )));
    }
    let mut wt = Vec::with_capacity(outputs * fan_in);
    let mut bias = Vec::with_capacity(outputs);
    for o in 0..outputs {
        for i in 0..fan_in {
            wt.push(exact(w[o * cols + i], frac, "a weight")?);
        }
        bias.push(exact(w[o * cols + fan_in], frac, "a bias")?);
    }
    Ok((wt, bias))
}

/// Encodes a trained model (dense layers with ReLU between, after a CNN's
/// convolutions and pooling) with its input normalization `(x - offset) *
/// scale` and `metadata` as ONNX bytes. The input is the flat feature
/// vector a dataset row holds; a CNN reshapes it to `channels x height x
/// width` after the normalization and flattens it before its first dense
/// layer.
pub fn mlp_to_onnx(
    model: &QModel,
    weights: &QWeights,
    offset: &[f64],
    scale: &[f64],
    metadata: &[(String, String)],
) -> Result<Vec<u8>, ModelError> {
    let n = model.input_len();
    if offset.len() != n || scale.len() != n {
        return Err(ModelError::Shape(format!(
            "a normalization of {} offsets and {} scales for {n} inputs",
            offset.len(),
            scale.len()
        )));
    }
    let frac = model.weight.frac_bits();
    let mut inits = vec![
        float_tensor("offset", &[n], offset.iter().map(|v| *v as f32).collect()),
        float_tensor("scale", &[n], scale.iter().map(|v| *v as f32).collect()),
    ];
    let mut nodes = vec![
        node("Sub", "normalize/sub", &["input", "offset"], "centered"),
        node("Mul", "normalize/mul", &["centered", "scale"], "normalized"),
    ];
    let mut cur = "normalized".to_string();
    let shapes = model.weight_shapes();
    if weights.len() != shapes.len() {
        return Err(ModelError::Shape(format!(
            "{} weight matrices for {} layers with weights",
            weights.len(),
            shapes.len()
        )));
    }
    // Whether the current tensor is an image (channels x height x width).
    let mut image = false;
    let mut next_w = 0;
    let count = model.layers.len();
    for (l, layer) in model.layers.iter().enumerate() {
        let last = l + 1 == count;
        let name = |what: &str| {
            if last {
                "logits".to_string()
            } else {
                format!("{what}{l}")
            }
        };
        let spatial = matches!(
            layer,
            QLayer::Conv2d { .. } | QLayer::AvgPool2d { .. } | QLayer::MaxPool2d { .. }
        );
        if spatial && !image {
            let (c, h, w) = match layer {
                QLayer::Conv2d {
                    in_channels,
                    height,
                    width,
                    ..
                } => (*in_channels, *height, *width),
                QLayer::AvgPool2d {
                    channels,
                    height,
                    width,
                    ..
                }
                | QLayer::MaxPool2d {
                    channels,
                    height,
                    width,
                    ..
                } => (*channels, *height, *width),
                _ => (n, 1, 1),
            };
            inits.push(TensorProto {
                name: "image_shape".into(),
                dims: vec![4],
                data_type: 7,
                int64_data: vec![-1, c as i64, h as i64, w as i64],
                ..Default::default()
            });
            nodes.push(node("Reshape", "image", &[&cur, "image_shape"], "image"));
            cur = "image".into();
            image = true;
        }
        if !spatial && image {
            let mut flat = node(
                "Flatten",
                &format!("flatten{l}"),
                &[&cur],
                &format!("flat{l}"),
            );
            flat.attribute.push(tract_onnx::pb::AttributeProto {
                name: "axis".into(),
                r#type: tract_onnx::pb::attribute_proto::AttributeType::Int as i32,
                i: 1,
                ..Default::default()
            });
            nodes.push(flat);
            cur = format!("flat{l}");
            image = false;
        }
        match layer {
            QLayer::Dense {
                inputs, outputs, ..
            } => {
                let (wt, bias) = split_weights(&weights[next_w], *outputs, *inputs, frac, l)?;
                next_w += 1;
                let (wn, bn) = (format!("dense{l}.weight"), format!("dense{l}.bias"));
                inits.push(float_tensor(&wn, &[*outputs, *inputs], wt));
                inits.push(float_tensor(&bn, &[*outputs], bias));
                let out = name("dense");
                let mut gemm = node("Gemm", &format!("dense{l}/gemm"), &[&cur, &wn, &bn], &out);
                gemm.attribute.push(tract_onnx::pb::AttributeProto {
                    name: "transB".into(),
                    r#type: tract_onnx::pb::attribute_proto::AttributeType::Int as i32,
                    i: 1,
                    ..Default::default()
                });
                nodes.push(gemm);
                cur = out;
            }
            QLayer::Conv2d {
                in_channels,
                out_channels,
                kernel,
                stride,
                padding,
                ..
            } => {
                let fan_in = in_channels * kernel[0] * kernel[1];
                let (wt, bias) = split_weights(&weights[next_w], *out_channels, fan_in, frac, l)?;
                next_w += 1;
                let (wn, bn) = (format!("conv{l}.weight"), format!("conv{l}.bias"));
                inits.push(float_tensor(
                    &wn,
                    &[*out_channels, *in_channels, kernel[0], kernel[1]],
                    wt,
                ));
                inits.push(float_tensor(&bn, &[*out_channels], bias));
                let out = name("conv");
                let mut conv = node("Conv", &format!("conv{l}/conv"), &[&cur, &wn, &bn], &out);
                let (p, s) = (*padding as i64, *stride as i64);
                conv.attribute.push(ints_attr(
                    "kernel_shape",
                    &[kernel[0] as i64, kernel[1] as i64],
                ));
                conv.attribute.push(ints_attr("pads", &[p, p, p, p]));
                conv.attribute.push(ints_attr("strides", &[s, s]));
                nodes.push(conv);
                cur = out;
            }
            QLayer::AvgPool2d { kernel, stride, .. } | QLayer::MaxPool2d { kernel, stride, .. } => {
                let op = if matches!(layer, QLayer::AvgPool2d { .. }) {
                    "AveragePool"
                } else {
                    "MaxPool"
                };
                let out = name("pool");
                let mut pool = node(op, &format!("pool{l}"), &[&cur], &out);
                let (k, s) = (*kernel as i64, *stride as i64);
                pool.attribute.push(ints_attr("kernel_shape", &[k, k]));
                pool.attribute.push(ints_attr("strides", &[s, s]));
                nodes.push(pool);
                cur = out;
            }
            QLayer::Argmax { .. } => {
                return Err(ModelError::Shape(format!(
                    "layer {l} is an argmax: a trained model ends in its logits"
                )))
            }
        }
        match layer.activation() {
            None => {}
            Some(Activation::Relu) => {
                let out = format!("relu{l}");
                nodes.push(node("Relu", &format!("layer{l}/relu"), &[&cur], &out));
                cur = out;
            }
            Some(other) => {
                return Err(ModelError::Shape(format!(
                    "layer {l}'s activation {other} is not exported"
                )))
            }
        }
    }
    let classes = model.output_len();
    let proto = ModelProto {
        ir_version: 7,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: EXPORT_OPSET,
        }],
        producer_name: "zkpot".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(GraphProto {
            node: nodes,
            name: "zkpot_model".into(),
            initializer: inits,
            input: vec![io("input", n)],
            output: vec![io(&cur, classes)],
            ..Default::default()
        }),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        ..Default::default()
    };
    Ok(proto.encode_to_vec())
}

/// The fixed-point weights of a float model's dense and convolution layers
/// at `frac` fractional bits (per layer, each output's weights then its
/// bias), refused unless every value is exactly such a number (the weights
/// of an exported run, unchanged).
pub fn exact_weights(float: &super::Model, frac: u32) -> Result<Vec<Vec<i64>>, crate::Error> {
    let one = (1u64 << frac) as f64;
    let q = |v: f32, what: &str| -> Result<i64, ModelError> {
        let x = v as f64 * one;
        if x.fract() != 0.0 || x.abs() >= (1u64 << 52) as f64 {
            return Err(ModelError::Shape(format!(
                "{what} {v} is not a fixed-point value with {frac} fractional bits"
            )));
        }
        Ok(x as i64)
    };
    let (_, float_weights) = super::quantize::layer_shapes(float)?;
    let mut out = Vec::with_capacity(float_weights.len());
    for (l, (weight, bias, fan_in)) in float_weights.iter().enumerate() {
        let mut w = Vec::with_capacity(weight.len() + bias.len());
        for (o, b) in bias.iter().enumerate() {
            for v in &weight[o * fan_in..(o + 1) * fan_in] {
                w.push(q(*v, &format!("layer {l} weight"))?);
            }
            w.push(q(*b, &format!("layer {l} bias"))?);
        }
        out.push(w);
    }
    Ok(out)
}
