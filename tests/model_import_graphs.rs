//! ONNX graphs built here node by node: the rewrites compute what the
//! original graph computes, and malformed or hostile graphs (unsupported
//! operators, wrong data types, cycles, missing initializers, huge shapes,
//! bad batch normalizations, random node soup) get clear errors, never
//! panics.

use proptest::prelude::*;
use prost::Message;
use tract_onnx::pb::{
    self, attribute_proto::AttributeType, tensor_shape_proto, type_proto, AttributeProto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TypeProto, ValueInfoProto,
};
use zkpot::model::{load_onnx, Layer, ModelError};

fn tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

fn ints_tensor(name: &str, dims: &[i64], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 7,
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn a_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn a_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

fn a_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| tensor_shape_proto::Dimension {
                            value: Some(tensor_shape_proto::dimension::Value::DimValue(*d)),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A model with input `x` of `dims` (batch first) and output `y`.
fn model(dims: &[i64], nodes: Vec<NodeProto>, inits: Vec<TensorProto>) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            node: nodes,
            initializer: inits,
            input: vec![value_info("x", dims)],
            output: vec![value_info("y", &[])],
            name: "g".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn w(name: &str, rows: i64, cols: i64, seed: u32) -> TensorProto {
    let data: Vec<f32> = (0..rows * cols)
        .map(|i| {
            (((i as u32).wrapping_mul(2654435761u32).wrapping_add(seed) >> 16) % 200) as f32 / 100.0
                - 1.0
        })
        .collect();
    tensor(name, &[rows, cols], &data)
}

#[test]
fn an_unnamed_unsupported_node_is_named_by_index_inputs_and_outputs() {
    let bytes = model(
        &[1, 4],
        vec![
            node(
                "Gemm",
                "fc",
                &["x", "W", "b"],
                &["h"],
                vec![a_int("transB", 1)],
            ),
            node("Elu", "", &["h"], &["y"], vec![]),
        ],
        vec![w("W", 3, 4, 1), tensor("b", &[3], &[0.0; 3])],
    );
    let e = load_onnx(&bytes).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ModelError::Unsupported { .. }), "{msg}");
    assert!(
        msg.contains("Elu")
            && msg.contains("node #1")
            && msg.contains("\"h\"")
            && msg.contains("\"y\""),
        "{msg}"
    );
    assert!(msg.contains("ReLU"), "a suggestion: {msg}");
}

#[test]
fn a_data_type_problem_says_data_type() {
    let bytes = model(
        &[1, 2],
        vec![node("MatMul", "mm", &["x", "W"], &["y"], vec![])],
        vec![ints_tensor("W", &[2, 2], &[1, 2, 3, 4])],
    );
    let e = load_onnx(&bytes).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ModelError::DataType { .. }), "{msg}");
    assert!(
        msg.contains("\"W\"") && msg.contains("INT64 (7)") && !msg.contains("shape"),
        "{msg}"
    );
}

#[test]
fn cycles_and_missing_initializers_are_refused() {
    let cycle = model(
        &[1, 2],
        vec![
            node("Relu", "a", &["x2"], &["x1"], vec![]),
            node("Relu", "b", &["x1"], &["x2"], vec![]),
            node("Identity", "c", &["x2"], &["y"], vec![]),
        ],
        vec![],
    );
    let msg = load_onnx(&cycle).unwrap_err().to_string();
    assert!(msg.contains("not produced by any earlier node"), "{msg}");
    let missing = model(
        &[1, 2],
        vec![node("Gemm", "fc", &["x", "W"], &["y"], vec![])],
        vec![],
    );
    let msg = load_onnx(&missing).unwrap_err().to_string();
    assert!(
        msg.contains("\"W\"") && msg.contains("missing initializer"),
        "{msg}"
    );
}

#[test]
fn huge_shapes_are_refused_without_allocating() {
    // An initializer claiming 2^40 values.
    let huge = model(
        &[1, 2],
        vec![node("MatMul", "mm", &["x", "W"], &["y"], vec![])],
        vec![TensorProto {
            name: "W".into(),
            dims: vec![1 << 20, 1 << 20],
            data_type: 1,
            ..Default::default()
        }],
    );
    assert!(matches!(load_onnx(&huge), Err(ModelError::TooLarge { .. })));
    // A huge input, and shape arithmetic asking for 2^62 values.
    assert!(load_onnx(&model(
        &[1, 1 << 40],
        vec![node("Relu", "r", &["x"], &["y"], vec![])],
        vec![]
    ))
    .is_err());
    let fill = model(
        &[1, 2],
        vec![
            node("ConstantOfShape", "c", &["s"], &["big"], vec![]),
            node("Add", "a", &["x", "big"], &["y"], vec![]),
        ],
        vec![ints_tensor("s", &[2], &[1 << 31, 1 << 31])],
    );
    assert!(load_onnx(&fill).is_err());
    let reshape = model(
        &[1, 2],
        vec![node("Reshape", "r", &["x", "s"], &["y"], vec![])],
        vec![ints_tensor("s", &[2], &[1 << 40, 1 << 40])],
    );
    assert!(load_onnx(&reshape).is_err());
}

fn conv_bn(var: f32) -> Vec<u8> {
    model(
        &[1, 1, 4, 4],
        vec![
            node(
                "Conv",
                "conv",
                &["x", "K", "kb"],
                &["c"],
                vec![a_ints("pads", &[1, 1, 1, 1])],
            ),
            node(
                "BatchNormalization",
                "bn",
                &["c", "g", "beta", "mean", "var"],
                &["y"],
                vec![a_float("epsilon", 1e-5)],
            ),
        ],
        vec![
            tensor(
                "K",
                &[2, 1, 3, 3],
                &[
                    0.1, -0.2, 0.3, 0.05, 0.5, -0.1, 0.2, 0.0, -0.3, 0.4, 0.1, -0.1, 0.2, 0.2, 0.2,
                    -0.5, 0.1, 0.0,
                ],
            ),
            tensor("kb", &[2], &[0.1, -0.2]),
            tensor("g", &[2], &[1.5, 0.5]),
            tensor("beta", &[2], &[0.2, -0.1]),
            tensor("mean", &[2], &[0.3, -0.4]),
            tensor("var", &[2], &[2.0, var]),
        ],
    )
}

#[test]
fn batch_norm_folds_into_the_convolution_and_bad_variances_are_refused() {
    let m = load_onnx(&conv_bn(0.25)).unwrap();
    assert_eq!(m.layers.len(), 1, "{:?}", m.layers);
    // The folded convolution equals convolution then normalization.
    let x: Vec<f64> = (0..16).map(|i| (i as f64 * 0.37).sin()).collect();
    let y = m.forward(&x).pop().unwrap();
    let plain = zkpot::model::Model {
        input_len: 16,
        layers: vec![Layer::Conv2d {
            in_channels: 1,
            out_channels: 2,
            height: 4,
            width: 4,
            kernel: [3, 3],
            stride: 1,
            padding: 1,
            weight: vec![
                0.1, -0.2, 0.3, 0.05, 0.5, -0.1, 0.2, 0.0, -0.3, 0.4, 0.1, -0.1, 0.2, 0.2, 0.2,
                -0.5, 0.1, 0.0,
            ],
            bias: vec![0.1, -0.2],
        }],
        ..Default::default()
    };
    let c = plain.forward(&x).pop().unwrap();
    let (g, beta, mean, var) = ([1.5, 0.5], [0.2, -0.1], [0.3, -0.4], [2.0, 0.25]);
    for (i, (a, b)) in y.iter().zip(&c).enumerate() {
        let ch = i / 16;
        let want = (b - mean[ch]) / (var[ch] + 1e-5f64).sqrt() * g[ch] + beta[ch];
        assert!((a - want).abs() < 1e-5, "{i}: {a} vs {want}");
    }
    for bad in [0.0, -1.0] {
        let e = load_onnx(&conv_bn(bad)).unwrap_err();
        assert!(matches!(e, ModelError::Variance { .. }), "{e}");
        assert!(e.to_string().contains("\"var\""), "{e}");
    }
    let nan = load_onnx(&conv_bn(f32::NAN)).unwrap_err();
    assert!(nan.to_string().contains("var"), "{nan}");
}

#[test]
fn a_softmax_head_is_proven_as_its_argmax() {
    let bytes = model(
        &[1, 4],
        vec![
            node("Gemm", "fc", &["x", "W"], &["h"], vec![a_int("transB", 1)]),
            node("Softmax", "sm", &["h"], &["y"], vec![a_int("axis", 1)]),
        ],
        vec![w("W", 3, 4, 9)],
    );
    let m = load_onnx(&bytes).unwrap();
    assert_eq!(m.layers.last(), Some(&Layer::Argmax));
    assert!(
        m.notes.iter().any(|n| n.contains("softmax head")),
        "{:?}",
        m.notes
    );
}

#[test]
fn leading_and_trailing_affine_ops() {
    // (x - 1) * 2 then Gemm then * 3 + 1: preprocessing, and a fold into the layer.
    let bytes = model(
        &[1, 2],
        vec![
            node("Sub", "s", &["x", "one"], &["a"], vec![]),
            node("Mul", "m", &["a", "two"], &["b"], vec![]),
            node("Gemm", "fc", &["b", "W"], &["c"], vec![]),
            node("Mul", "m2", &["c", "three"], &["d"], vec![]),
            node("Add", "a2", &["d", "one"], &["y"], vec![]),
        ],
        vec![
            tensor("one", &[], &[1.0]),
            tensor("two", &[1, 2], &[2.0, 2.0]),
            tensor("three", &[1], &[3.0]),
            tensor("W", &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
        ],
    );
    let m = load_onnx(&bytes).unwrap();
    let p = m.preprocess.clone().unwrap();
    assert_eq!((p.scale, p.shift), (vec![2.0, 2.0], vec![-2.0, -2.0]));
    let x = [0.5, -1.5];
    let y = m.forward(&m.prepare(&x)).pop().unwrap();
    let b = [(x[0] - 1.0) * 2.0, (x[1] - 1.0) * 2.0];
    let want = [
        3.0 * (b[0] * 1.0 + b[1] * 3.0) + 1.0,
        3.0 * (b[0] * 2.0 + b[1] * 4.0) + 1.0,
    ];
    assert!(
        y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9),
        "{y:?} vs {want:?}"
    );
    // A constant op where nothing can take it is refused, naming the node.
    let stuck = model(
        &[1, 2],
        vec![
            node("Gemm", "fc", &["x", "W"], &["c"], vec![]),
            node("Relu", "r", &["c"], &["d"], vec![]),
            node("Add", "late", &["d", "one"], &["y"], vec![]),
        ],
        vec![
            tensor("one", &[], &[1.0]),
            tensor("W", &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
        ],
    );
    let msg = load_onnx(&stuck).unwrap_err().to_string();
    assert!(msg.contains("late"), "{msg}");
}

const OPS: [&str; 24] = [
    "Relu",
    "Gemm",
    "MatMul",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Conv",
    "MaxPool",
    "AveragePool",
    "Flatten",
    "Reshape",
    "Shape",
    "Gather",
    "Concat",
    "Unsqueeze",
    "Squeeze",
    "Softmax",
    "BatchNormalization",
    "Transpose",
    "Pad",
    "ArgMax",
    "Slice",
    "Cast",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Random graphs of supported (and misused) operators with random
    /// wiring, attributes and constants never panic.
    #[test]
    fn random_graphs_never_panic(
        dims in proptest::collection::vec(1i64..6, 1..4),
        picks in proptest::collection::vec((0usize..OPS.len(), 0usize..8, 0usize..4, -3i64..4), 1..7),
        consts in proptest::collection::vec((proptest::collection::vec(0i64..5, 0..4), -2.0f32..2.0), 1..5),
    ) {
        let mut inits = Vec::new();
        for (i, (d, v)) in consts.iter().enumerate() {
            let n: i64 = d.iter().product();
            if i % 2 == 0 {
                inits.push(tensor(&format!("c{i}"), d, &vec![*v; n as usize]));
            } else {
                inits.push(ints_tensor(&format!("c{i}"), d, &vec![*v as i64; n as usize]));
            }
        }
        let mut names = vec!["x".to_string()];
        let mut nodes = Vec::new();
        for (j, (op, a, b, k)) in picks.iter().enumerate() {
            let first = names[a % names.len()].clone();
            let second = format!("c{}", b % consts.len());
            let out = if j + 1 == picks.len() { "y".to_string() } else { format!("v{j}") };
            let attrs = vec![a_int("axis", *k), a_ints("kernel_shape", &[2, 2]), a_ints("perm", &[0, 2, 1]), a_int("transB", k & 1)];
            nodes.push(node(OPS[*op], "", &[first.as_str(), second.as_str()], &[out.as_str()], attrs));
            names.push(out);
        }
        let mut d = vec![1];
        d.extend(dims);
        let _ = load_onnx(&model(&d, nodes, inits));
    }
}
