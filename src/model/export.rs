//! Export of a fixed-point MLP as a standard float ONNX model (opset 13):
//! `(x - offset) * scale`, then `Gemm` layers with `Relu` between. Every
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

/// Encodes an MLP (dense layers, ReLU between) with its input normalization
/// `(x - offset) * scale` and `metadata` as ONNX bytes.
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
    if weights.len() != model.layers.len() {
        return Err(ModelError::Shape(format!(
            "{} weight matrices for {} layers",
            weights.len(),
            model.layers.len()
        )));
    }
    for (l, (layer, w)) in model.layers.iter().zip(weights).enumerate() {
        let QLayer::Dense {
            inputs,
            outputs,
            activation,
        } = layer
        else {
            return Err(ModelError::Shape(format!(
                "layer {l} is not dense: only MLPs are exported"
            )));
        };
        let cols = inputs + 1;
        if w.len() != outputs * cols {
            return Err(ModelError::Shape(format!(
                "layer {l} has {} weights for {outputs} x {cols}",
                w.len()
            )));
        }
        let mut wt = Vec::with_capacity(outputs * inputs);
        let mut bias = Vec::with_capacity(*outputs);
        for o in 0..*outputs {
            for i in 0..*inputs {
                wt.push(exact(w[o * cols + i], frac, "a weight")?);
            }
            bias.push(exact(w[o * cols + inputs], frac, "a bias")?);
        }
        let (wn, bn) = (format!("dense{l}.weight"), format!("dense{l}.bias"));
        inits.push(float_tensor(&wn, &[*outputs, *inputs], wt));
        inits.push(float_tensor(&bn, &[*outputs], bias));
        let last = l + 1 == model.layers.len();
        let out = if last {
            "logits".to_string()
        } else {
            format!("dense{l}")
        };
        let mut gemm = node("Gemm", &format!("dense{l}/gemm"), &[&cur, &wn, &bn], &out);
        gemm.attribute.push(tract_onnx::pb::AttributeProto {
            name: "transB".into(),
            r#type: tract_onnx::pb::attribute_proto::AttributeType::Int as i32,
            i: 1,
            ..Default::default()
        });
        nodes.push(gemm);
        cur = out;
        match activation {
            None => {}
            Some(Activation::Relu) => {
                let out = format!("relu{l}");
                nodes.push(node("Relu", &format!("dense{l}/relu"), &[&cur], &out));
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
            name: "zkpot_mlp".into(),
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

/// The fixed-point weights of a float model's dense layers at `frac`
/// fractional bits, refused unless every value is exactly such a number
/// (the weights of an exported run, unchanged).
pub fn exact_weights(float: &super::Model, frac: u32) -> Result<Vec<Vec<i64>>, ModelError> {
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
    let mut out = Vec::new();
    for (l, layer) in float.layers.iter().enumerate() {
        match layer {
            super::Layer::Dense {
                inputs,
                outputs,
                weight,
                bias,
            } => {
                let mut w = Vec::with_capacity(outputs * (inputs + 1));
                for o in 0..*outputs {
                    for i in 0..*inputs {
                        w.push(q(weight[o * inputs + i], &format!("layer {l} weight"))?);
                    }
                    w.push(q(bias[o], &format!("layer {l} bias"))?);
                }
                out.push(w);
            }
            super::Layer::Relu => {}
            _ => {
                return Err(ModelError::Shape(format!(
                    "layer {l} is neither dense nor a ReLU: not an exported MLP"
                )))
            }
        }
    }
    Ok(out)
}
