//! ONNX and JSON models load into the IR, quantize with a report, and bad
//! models are refused with errors naming the operator and node.

use std::path::{Path, PathBuf};

use zkpot::model::{load_model, load_onnx, quantize, read_inputs, Model, ModelError, QuantOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

fn calibration(name: &str) -> Vec<Vec<f64>> {
    read_inputs(&std::fs::read_to_string(fixture(&format!("{name}.calibration.json"))).unwrap())
        .unwrap()
}

#[test]
fn fixtures_load_and_quantize() {
    for (name, inputs, outputs) in [
        ("mlp_4_16_3", 4, 3),
        ("mlp_784_128_10", 784, 10),
        ("cnn_8x8", 64, 10),
        ("cnn_max_8x8", 64, 10),
        ("mlp_4_16_3_argmax", 4, 1),
    ] {
        let m = load_model(&fixture(&format!("{name}.onnx"))).unwrap();
        assert_eq!(
            (m.input_len, m.validate().unwrap()),
            (inputs, outputs),
            "{name}"
        );
        let q = quantize(&m, &calibration(name), QuantOptions::default()).unwrap();
        println!(
            "{name}: {:?} formats {:?} {:?} {:?}",
            q.report, q.model.input, q.model.weight, q.model.activation
        );
        assert!(q.report.top1_agreement >= 0.8, "{name}: {:?}", q.report);
        // The JSON form round-trips.
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(Model::from_json(&json).unwrap(), m);
    }
}

#[test]
fn bad_models_are_refused_with_clear_errors() {
    assert!(matches!(
        load_onnx(b"not a model"),
        Err(ModelError::Onnx(_))
    ));
    assert!(load_onnx(&[]).is_err());
    // Truncated protobuf.
    let bytes = std::fs::read(fixture("mlp_4_16_3.onnx")).unwrap();
    assert!(load_onnx(&bytes[..bytes.len() / 2]).is_err());
    // Mutated bytes never panic.
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let _ = load_onnx(&b);
    }
    // An unsupported operator names itself and its node.
    let json_err = Model::from_json(
        r#"{"input_len": 4, "layers": [{"op": "dense", "inputs": 3, "outputs": 2, "weight": [0,0,0,0,0,0], "bias": [0,0]}]}"#,
    );
    assert!(matches!(json_err, Err(ModelError::Shape(_))));
    let nan = Model::from_json(
        r#"{"input_len": 1, "layers": [{"op": "dense", "inputs": 1, "outputs": 1, "weight": [1e999], "bias": [0]}]}"#,
    );
    assert!(nan.is_err());
    // An argmax anywhere but last, after another layer, is refused.
    for layers in [
        r#"[{"op": "argmax"}]"#,
        r#"[{"op": "argmax"}, {"op": "relu"}]"#,
    ] {
        let m = Model::from_json(&format!(r#"{{"input_len": 3, "layers": {layers}}}"#));
        assert!(matches!(m, Err(ModelError::Shape(_))), "{layers}");
    }
}

#[test]
fn input_files_say_what_they_lack() {
    for (text, needle) in [
        (r#"{"input_data": []}"#, "no inputs"),
        (r#"{"input_data": [[1]], "foo": 1}"#, "unknown key \"foo\""),
        (r#"{"inputs": [[1]]}"#, "unknown key"),
        (r#"{}"#, "needs \"input_data\""),
    ] {
        let e = read_inputs(text).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
    }
}

#[test]
fn input_forms() {
    assert_eq!(read_inputs("[1, 2, 3]").unwrap(), vec![vec![1.0, 2.0, 3.0]]);
    assert_eq!(
        read_inputs("[[1, 2], [3, 4]]").unwrap(),
        vec![vec![1.0, 2.0, 3.0, 4.0]]
    );
    assert_eq!(
        read_inputs(r#"{"input_data": [[1, 2], [3, 4]]}"#).unwrap(),
        vec![vec![1.0, 2.0], vec![3.0, 4.0]]
    );
    assert!(read_inputs(r#"["a"]"#).is_err());
    assert!(read_inputs("{").is_err());
}

#[test]
fn relu_after_a_max_pool_fuses_into_the_convolution_before_it() {
    use zkpot::circuits::fixed::Activation;
    use zkpot::circuits::infer::QLayer;
    use zkpot::model::Layer;
    let weight: Vec<f32> = (0..18).map(|i| ((i * 7 % 11) as f32 - 5.0) / 8.0).collect();
    let m = Model {
        input_len: 16,
        layers: vec![
            Layer::Conv2d {
                in_channels: 1,
                out_channels: 2,
                height: 4,
                width: 4,
                kernel: [3, 3],
                stride: 1,
                padding: 1,
                weight,
                bias: vec![-0.1, 0.05],
            },
            Layer::MaxPool2d {
                channels: 2,
                height: 4,
                width: 4,
                kernel: 2,
                stride: 2,
            },
            Layer::Relu,
            Layer::Dense {
                inputs: 8,
                outputs: 3,
                weight: (0..24).map(|i| ((i * 5 % 7) as f32 - 3.0) / 4.0).collect(),
                bias: vec![0.0; 3],
            },
        ],
        ..Default::default()
    };
    m.validate().unwrap();
    let calibration: Vec<Vec<f64>> = (0..4)
        .map(|s| {
            (0..16)
                .map(|i| ((i * 3 + s) % 9) as f64 / 9.0 - 0.4)
                .collect()
        })
        .collect();
    let q = quantize(&m, &calibration, QuantOptions::default()).unwrap();
    assert!(matches!(
        q.model.layers[0],
        QLayer::Conv2d {
            activation: Some(Activation::Relu),
            ..
        }
    ));
    assert!(matches!(q.model.layers[1], QLayer::MaxPool2d { .. }));
    assert_eq!(q.model.layers.len(), 3);
    // The fixed-point model computes what the float one does.
    assert!(q.report.max_abs_error < 0.05, "{:?}", q.report);
    assert_eq!(q.report.top1_agreement, 1.0);
}

#[test]
fn values_outside_the_quantized_range_are_named_with_the_range() {
    use zkpot::model::{quantize_batch_input, quantize_input};
    let m = load_model(&fixture("mlp_4_16_3.onnx")).unwrap();
    let q = quantize(&m, &calibration("mlp_4_16_3"), QuantOptions::default()).unwrap();
    let e = quantize_input(&q.model, &[0.1, 7.0, 0.2, 0.3]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("input value 1 (counting from 0) is 7, outside Q14/16b (-2 to 1.99994)")
            && msg.contains("calibration inputs"),
        "{msg}"
    );
    // In a batch, the input is named by its index too.
    let e = quantize_batch_input(&q.model, &[0.1, 7.0, 0.2, 0.3], Some(3)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("value 1 of input 3 (counting from 0) is 7, outside Q14/16b"),
        "{msg}"
    );
    // Calibration inputs no 16-bit format holds.
    let msg = match quantize(&m, &[vec![1e30, 0.0, 0.0, 0.0]], QuantOptions::default()) {
        Ok(_) => panic!("1e30 fits no input format"),
        Err(e) => e.to_string(),
    };
    assert!(
        msg.starts_with("value 0 of calibration input 0 (counting from 0) is 1e30, outside Q0/16b")
            && msg.contains("no 16-bit input format"),
        "{msg}"
    );
}
