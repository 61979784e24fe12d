//! A trained run leaves zkpot as ONNX: the exported file runs in tract with
//! the native fixed-point model's predictions, imports back to the run's
//! exact weights, and an inference proof of the file links to the run;
//! a file whose weights differ is refused.

mod common;

use prost::Message;
use tract_onnx::prelude::*;
use zkpot::circuits::infer::Visibility;
use zkpot::infer::request::{prove_inference, InferRequest, ModelSource};
use zkpot::model::{load_model, quantize_input};
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;
use zkpot::train::run::{export_onnx, train, trained_model, verify_linked, TrainOptions};

/// Every row of the dataset: tract on the exported file predicts what the
/// native fixed-point model predicts.
#[test]
fn exported_model_predicts_as_the_run() {
    let cache = ParamsCache::locate(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = common::commit_iris(dir.path());
    let run = dir.path().join("run");
    let opts = TrainOptions {
        prove_later: true,
        steps: 60,
        batch: 8,
        ..common::options(&data)
    };
    train(&cache, &run, &opts).unwrap();
    let onnx = dir.path().join("model.onnx");
    let e = export_onnx(&run, &onnx).unwrap();
    let proto = tract_onnx::pb::ModelProto::decode(&*std::fs::read(&onnx).unwrap()).unwrap();
    assert!(proto
        .opset_import
        .iter()
        .any(|o| o.domain.is_empty() && o.version >= 13));
    let meta: Vec<(&str, &str)> = proto
        .metadata_props
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert!(
        meta.contains(&("zkpot.weights_commitment", e.weights_commitment.as_str())),
        "{meta:?}"
    );

    let plan = tract_onnx::onnx()
        .model_for_path(&onnx)
        .unwrap()
        .with_input_fact(0, f32::fact([1, 4]).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let (loaded, schema) = trained_model(&run).unwrap();
    let n = &schema.normalization;
    let raw = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris.csv"),
    )
    .unwrap();
    let mut agree = 0;
    let mut rows = 0;
    let mut raw_rows = Vec::new();
    let mut classes = Vec::new();
    for line in raw.lines().skip(1) {
        let x: Vec<f64> = line
            .split(',')
            .take(4)
            .map(|v| v.parse().unwrap())
            .collect();
        let input =
            tract_ndarray::Array2::from_shape_vec((1, 4), x.iter().map(|v| *v as f32).collect())
                .unwrap();
        let out = plan.run(tvec!(input.into_tensor().into())).unwrap();
        let logits: Vec<f64> = out[0]
            .to_array_view::<f32>()
            .unwrap()
            .iter()
            .map(|v| *v as f64)
            .collect();
        let float_class = zkpot::model::quantize::argmax(&logits);
        let normalized: Vec<f64> = (0..4).map(|j| (x[j] - n.offset[j]) * n.scale[j]).collect();
        let q = quantize_input(&loaded.model, &normalized).unwrap();
        let fixed = loaded.model.forward(&loaded.weights, &q).unwrap();
        let fixed_class = zkpot::model::quantize::argmax(
            &fixed
                .last()
                .unwrap()
                .iter()
                .map(|v| *v as f64)
                .collect::<Vec<_>>(),
        );
        agree += (float_class == fixed_class) as usize;
        rows += 1;
        raw_rows.push(x);
        classes.push(fixed_class);
    }
    // The library's prediction is the same native fixed-point class.
    assert_eq!(
        zkpot::train::run::predict(&run, &raw_rows).unwrap(),
        classes
    );
    println!("exported vs native fixed-point: {agree} of {rows} rows agree");
    assert_eq!(agree, rows);
    // Importing the file gives the run's weights exactly.
    let float = load_model(&onnx).unwrap();
    zkpot::train::run::check_is_run_model(&float, &loaded, &schema).unwrap();
}

/// An inference proof of the exported file links to the proven run; a file
/// with one weight changed is refused before any key is made.
#[test]
fn inference_of_the_exported_file_links_to_the_run() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = common::fixture();
    let onnx = f.dir.path().join("model.onnx");
    export_onnx(&f.run, &onnx).unwrap();
    let out = f.dir.path().join("p.zkpot");
    let req = InferRequest {
        model: ModelSource::RunFile {
            model: onnx.clone(),
            run: f.run.clone(),
        },
        inputs: vec![vec![5.9, 3.0, 5.1, 1.8]],
        calibration: None,
        input_visibility: Visibility::Private,
        output_visibility: Visibility::Public,
        secret: None,
        out: out.clone(),
        progress: false,
    };
    prove_inference(&cache, &req).unwrap();
    let env = Envelope::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    verify_linked(&cache, &f.run, &env, None).unwrap();

    // One weight nudged by one fixed-point unit: not the run's model.
    let mut proto = tract_onnx::pb::ModelProto::decode(&*std::fs::read(&onnx).unwrap()).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    let w = graph
        .initializer
        .iter_mut()
        .find(|t| t.name == "dense0.weight")
        .unwrap();
    w.float_data[0] += 1.0 / 4096.0;
    let bad = f.dir.path().join("bad.onnx");
    std::fs::write(&bad, proto.encode_to_vec()).unwrap();
    let out2 = f.dir.path().join("p2.zkpot");
    let err = prove_inference(
        &cache,
        &InferRequest {
            model: ModelSource::RunFile {
                model: bad,
                run: f.run.clone(),
            },
            out: out2.clone(),
            ..req
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not the run's trained model"), "{err}");
    assert!(!out2.exists());
}

/// A trained CNN leaves as ONNX too (Reshape, Conv, Relu, AveragePool or
/// MaxPool, Flatten, Gemm): tract on the file predicts the native
/// fixed-point class on digits rows, and the file imports back to the
/// run's layers and exact weights.
#[test]
fn an_exported_cnn_predicts_as_the_run() {
    use std::io::Read;
    let cache = ParamsCache::locate(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits.csv.gz");
    let data = dir.path().join("digits");
    let commit = zkpot::data::CommitOptions {
        secret: Some(zkpot::data::DatasetSecret::from_bytes([6; 32])),
        ..Default::default()
    };
    zkpot::data::commit_csv(&src, &data, &commit).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&src).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let raw_rows: Vec<Vec<f64>> = text
        .lines()
        .take(120)
        .map(|l| l.split(',').take(64).map(|v| v.parse().unwrap()).collect())
        .collect();
    for model in [
        "cnn:1x8x8-c3k3p1-relu-avg2-d10",
        "cnn:1x8x8-c2k2s2-relu-c3k3p1-relu-max2-d8-relu-d10",
    ] {
        let run = dir.path().join(model.replace(':', "_"));
        let opts = TrainOptions {
            data_dir: data.clone(),
            model: zkpot::train::run::parse_model(model).unwrap(),
            prove_later: true,
            steps: 40,
            batch: 8,
            lr: 0.5,
            release_weights: false,
            ..common::options(&data)
        };
        train(&cache, &run, &opts).unwrap();
        let onnx = dir.path().join("cnn.onnx");
        export_onnx(&run, &onnx).unwrap();
        let plan = tract_onnx::onnx()
            .model_for_path(&onnx)
            .unwrap()
            .with_input_fact(0, f32::fact([1, 64]).into())
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let native = zkpot::train::run::predict(&run, &raw_rows).unwrap();
        let mut agree = 0;
        for (x, class) in raw_rows.iter().zip(&native) {
            let input = tract_ndarray::Array2::from_shape_vec(
                (1, 64),
                x.iter().map(|v| *v as f32).collect(),
            )
            .unwrap();
            let out = plan.run(tvec!(input.into_tensor().into())).unwrap();
            let logits: Vec<f64> = out[0]
                .to_array_view::<f32>()
                .unwrap()
                .iter()
                .map(|v| *v as f64)
                .collect();
            agree += (zkpot::model::quantize::argmax(&logits) == *class) as usize;
        }
        println!("{model}: exported float vs native fixed-point: {agree} of 120 rows agree");
        // Float and fixed point differ in rounding; near-ties may flip.
        assert!(agree >= 114, "{model}: {agree} of 120");
        let (loaded, schema) = trained_model(&run).unwrap();
        let float = load_model(&onnx).unwrap();
        zkpot::train::run::check_is_run_model(&float, &loaded, &schema).unwrap();
    }
}
