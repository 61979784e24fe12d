//! Models as the exporters write them (scikit-learn + skl2onnx, PyTorch's
//! export patterns): each imports, its float import gives onnxruntime's
//! classes and logits on the fixture's rows, its quantization agrees on the
//! class, and it proves and verifies. The fixtures and their onnxruntime
//! references come from scripts/make_exporter_fixtures.py.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zkpot::circuits::infer::Visibility;
use zkpot::infer::{verify_inferences, LoadedModel};
use zkpot::model::{load_model, read_inputs, Layer, Model, QuantOptions};
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models/exporters")
        .join(name)
}

#[derive(Deserialize)]
struct Reference {
    class: Vec<usize>,
    #[serde(default)]
    logits: Option<Vec<Vec<f64>>>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    label: Option<Vec<String>>,
}

struct Fixture {
    model: Model,
    rows: Vec<Vec<f64>>,
    reference: Reference,
}

fn open(name: &str) -> Fixture {
    let model =
        load_model(&fixture(&format!("{name}.onnx"))).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rows = read_inputs(
        &std::fs::read_to_string(fixture(&format!("{name}.calibration.json"))).unwrap(),
    )
    .unwrap();
    let reference: Reference = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("{name}.reference.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(rows.len(), reference.class.len(), "{name}");
    Fixture {
        model,
        rows,
        reference,
    }
}

const ALL: [&str; 10] = [
    "sk_mlp_iris",
    "sk_mlp_binary_wine",
    "sk_logreg_iris",
    "sk_pipeline_wine",
    "sk_pipeline_mlp_digits",
    "torch_cnn_bn_digits",
    "torch_mlp_norm_iris",
    "torch_cnn_pad_gap_digits",
    "torch_mlp_tanh_leaky_wine",
    "torch_mlp_relu6_iris",
];

/// The float import computes what onnxruntime computed: the same class on
/// every row and the same logits (the values before the head) within float
/// tolerance; the labels are the exporter's.
#[test]
fn float_imports_match_onnxruntime() {
    for name in ALL {
        let f = open(name);
        let argmax_last = f.model.layers.last() == Some(&Layer::Argmax);
        let mut worst = 0.0f64;
        for (i, x) in f.rows.iter().enumerate() {
            let outs = f.model.forward(&f.model.prepare(x));
            let last = outs.last().unwrap();
            let logits = if argmax_last {
                &outs[outs.len() - 2]
            } else {
                last
            };
            let class = if argmax_last {
                last[0] as usize
            } else {
                zkpot::model::quantize::argmax(last)
            };
            assert_eq!(class, f.reference.class[i], "{name} row {i}");
            if let Some(refs) = &f.reference.logits {
                let r = &refs[i];
                // A binary sigmoid head is imported as the two scores [-z, z].
                let ours: Vec<f64> = if r.len() == 1 && logits.len() == 2 {
                    vec![logits[1]]
                } else {
                    logits.clone()
                };
                assert_eq!(ours.len(), r.len(), "{name}");
                for (a, b) in ours.iter().zip(r) {
                    let err = (a - b).abs() / (1.0 + b.abs());
                    worst = worst.max(err);
                    assert!(err < 1e-4, "{name} row {i}: {a} vs onnxruntime {b}");
                }
            }
        }
        if let (Some(labels), Some(label)) = (&f.reference.labels, &f.reference.label) {
            assert_eq!(f.model.labels.as_ref(), Some(labels), "{name}");
            for (i, l) in label.iter().enumerate() {
                assert_eq!(&labels[f.reference.class[i]], l, "{name} row {i}");
            }
        }
        println!(
            "{name}: {} layers, preprocessing {}, worst relative logit error {worst:.2e}; notes: {:?}",
            f.model.layers.len(),
            f.model.preprocess.is_some(),
            f.model.notes
        );
    }
}

/// The rewrites each fixture relies on are the ones it reports.
#[test]
fn rewrites_are_reported() {
    let has = |name: &str, what: &str| {
        let m = open(name).model;
        assert!(
            m.notes.iter().any(|n| n.contains(what)),
            "{name}: no note containing {what:?} in {:?}",
            m.notes
        );
        m
    };
    // Normalization kept as preprocessing (the weights stay the model's).
    assert!(has("sk_pipeline_wine", "public input preprocessing")
        .preprocess
        .is_some());
    assert!(has("torch_mlp_norm_iris", "public input preprocessing")
        .preprocess
        .is_some());
    // Batch normalization folded into the convolution before it.
    let cnn = has("torch_cnn_bn_digits", "folded into the layer before it");
    assert!(cnn.preprocess.is_none());
    assert!(matches!(cnn.layers[0], Layer::Conv2d { .. }));
    // Softmax-like heads proven as the argmax; other outputs named.
    has(
        "torch_cnn_bn_digits",
        "logsoftmax head is proven as its argmax",
    );
    has("sk_mlp_iris", "softmax before the argmax is left out");
    has("sk_mlp_iris", "output \"probabilities\" is not proven");
    has("sk_mlp_binary_wine", "two-class sigmoid probability head");
    // Zero padding folded into the convolution.
    let pad = has("torch_cnn_pad_gap_digits", "zero padding folded");
    assert!(matches!(pad.layers[0], Layer::Conv2d { padding: 1, .. }));
    // Tanh, LeakyRelu and Clip(0, 6) through the activation table.
    let acts = open("torch_mlp_tanh_leaky_wine").model;
    assert!(acts.layers.contains(&Layer::Tanh));
    assert!(acts.layers.contains(&Layer::LeakyRelu { alpha: 0.01 }));
    assert!(open("torch_mlp_relu6_iris")
        .model
        .layers
        .contains(&Layer::Relu6));
}

/// Quantized, each model gives onnxruntime's class on (nearly) every row,
/// and proves and verifies for real with its class and label.
#[test]
fn exported_models_prove_and_verify() {
    let cache = ParamsCache::locate(None).unwrap();
    for name in ALL {
        let f = open(name);
        let loaded =
            LoadedModel::from_float(&f.model, &f.rows, &[7u8; 32], QuantOptions::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = loaded.report.clone().unwrap();
        assert!(report.top1_agreement >= 0.9, "{name}: {report:?}");
        // Table activations (tanh, leaky ReLU, ReLU6) quantize to 12-bit
        // activations, so their tables fit small circuits too.
        let table = f
            .model
            .layers
            .iter()
            .any(|l| matches!(l, Layer::Tanh | Layer::Relu6 | Layer::LeakyRelu { .. }));
        if table {
            assert!(loaded.model.activation.bits() <= 12, "{name}");
        }
        let prover = loaded
            .keygen(&cache, Visibility::Private, Visibility::Public)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut agree = 0;
        let first = prover.prove(&f.rows[0]).unwrap();
        let bytes = first.envelope.to_bytes();
        let statements = verify_inferences(&cache, &[Envelope::from_bytes(&bytes).unwrap()])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            first.items[0].class, f.reference.class[0],
            "{name}: proven class"
        );
        if let Some(labels) = &f.reference.labels {
            assert_eq!(statements[0].labels.as_ref(), Some(labels), "{name}");
        }
        assert_eq!(
            statements[0].preprocess.is_some(),
            f.model.preprocess.is_some(),
            "{name}"
        );
        // Agreement of the quantized model with onnxruntime on every row.
        for (i, x) in f.rows.iter().enumerate() {
            let q = zkpot::model::quantize_input(
                &prover.model().model,
                &prover.model().prepare(x).unwrap(),
            )
            .unwrap();
            let outs = prover
                .model()
                .model
                .forward(&prover.model().weights, &q)
                .unwrap();
            let out = outs.last().unwrap();
            let class = if prover.model().model.ends_in_argmax() {
                out[0] as usize
            } else {
                zkpot::model::quantize::argmax(&out.iter().map(|v| *v as f64).collect::<Vec<_>>())
            };
            agree += (class == f.reference.class[i]) as usize;
        }
        let agreement = agree as f64 / f.rows.len() as f64;
        println!(
            "{name}: k {}, quantization max |error| {:.4}, top-1 vs float {:.3}, vs onnxruntime {agreement:.3}",
            prover.k(),
            report.max_abs_error,
            report.top1_agreement
        );
        assert!(agreement >= 0.9, "{name}: {agreement}");
    }
}
