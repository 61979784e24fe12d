//! Several inputs in one inference proof, end to end: each proven output is
//! the native forward pass of its input, the statement lists every input's
//! shown values in order, and the proof verifies from its bytes alone; a
//! changed, swapped, dropped or added item, a batch restated as a single
//! inference, and a statement in both forms are rejected.

use std::path::{Path, PathBuf};

use zkpot::circuits::infer::{Visibility, MAX_BATCH};
use zkpot::infer::request::{prove_inference, InferRequest, ModelSource};
use zkpot::infer::{verify_inferences, InferenceStatement, LoadedModel, ShownItem};
use zkpot::model::{quantize_input, read_inputs};
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/models")
        .join(name)
}

fn inputs(name: &str, kind: &str) -> Vec<Vec<f64>> {
    read_inputs(&std::fs::read_to_string(fixture(&format!("{name}.{kind}.json"))).unwrap()).unwrap()
}

fn load(name: &str) -> LoadedModel {
    LoadedModel::load(
        &fixture(&format!("{name}.onnx")),
        &inputs(name, "calibration"),
        &[7; 32],
    )
    .unwrap()
}

/// The statement bytes of `s` with `good`'s proof: the public inputs it
/// implies where it implies any, else `good`'s own.
fn relabeled(s: &InferenceStatement, good: &Envelope) -> Envelope {
    let public = s
        .public_inputs()
        .unwrap_or_else(|_| good.public_inputs.clone());
    Envelope {
        statement: s.to_bytes().unwrap(),
        public_inputs: public,
        ..good.clone()
    }
}

fn rejected(cache: &ParamsCache, e: &Envelope) -> bool {
    match Envelope::from_bytes(&e.to_bytes()) {
        Ok(e) => verify_inferences(cache, &[e]).is_err(),
        Err(_) => true,
    }
}

#[test]
fn a_batch_proves_each_inputs_native_output_and_rejects_changed_items() {
    let cache = ParamsCache::locate(None).unwrap();
    let name = "mlp_4_16_3";
    let loaded = load(name);
    let xs: Vec<Vec<f64>> = inputs(name, "calibration").into_iter().take(4).collect();
    let native: Vec<Vec<i64>> = xs
        .iter()
        .map(|x| {
            let q = quantize_input(&loaded.model, x).unwrap();
            loaded
                .model
                .forward(&loaded.weights, &q)
                .unwrap()
                .pop()
                .unwrap()
        })
        .collect();
    let prover = loaded
        .keygen_batched(&cache, Visibility::Public, Visibility::Public, 4, false)
        .unwrap();
    assert!(prover.prove(&xs[0]).is_err(), "one input for keys of four");
    let p = prover.prove_batch(&xs).unwrap();
    let outputs: Vec<Vec<i64>> = p.items.iter().map(|i| i.output.clone()).collect();
    assert_eq!(outputs, native);

    let good = Envelope::from_bytes(&p.envelope.to_bytes()).unwrap();
    let s = verify_inferences(&cache, std::slice::from_ref(&good))
        .unwrap()
        .remove(0);
    assert_eq!(s.batch_len(), 4);
    assert!(s.input_values.is_none() && s.output_values.is_none());
    let listed: Vec<Vec<i64>> = s
        .batch
        .as_ref()
        .unwrap()
        .iter()
        .map(|i| i.output_values.clone().unwrap())
        .collect();
    assert_eq!(listed, native);

    let items = s.batch.clone().unwrap();
    let with = |items: Vec<ShownItem>| {
        let mut t = s.clone();
        t.batch = Some(items);
        t
    };
    // The last item's output changed.
    let mut changed = items.clone();
    changed[3].output_values.as_mut().unwrap()[0] += 1;
    assert!(
        rejected(&cache, &relabeled(&with(changed), &good)),
        "changed"
    );
    // Two items' outputs swapped (inputs kept).
    let mut swapped = items.clone();
    let (a, b) = (
        swapped[0].output_values.clone(),
        swapped[1].output_values.clone(),
    );
    assert_ne!(a, b, "the fixture's first two outputs differ");
    swapped[0].output_values = b;
    swapped[1].output_values = a;
    assert!(
        rejected(&cache, &relabeled(&with(swapped), &good)),
        "swapped"
    );
    // Two whole items swapped: another statement, not the proven one.
    let mut reordered = items.clone();
    reordered.swap(0, 1);
    assert!(
        rejected(&cache, &relabeled(&with(reordered), &good)),
        "reordered"
    );
    // An item dropped, or one added.
    assert!(
        rejected(&cache, &relabeled(&with(items[..3].to_vec()), &good)),
        "dropped"
    );
    let mut added = items.clone();
    added.push(items[0].clone());
    assert!(rejected(&cache, &relabeled(&with(added), &good)), "added");
    // The first item restated as a single inference.
    let mut single = s.clone();
    single.batch = None;
    single.input_values = items[0].input_values.clone();
    single.output_values = items[0].output_values.clone();
    assert!(rejected(&cache, &relabeled(&single, &good)), "as single");
    // Both forms at once, a batch of one, and one over the bound are refused
    // as statements, before any key is rebuilt.
    let mut both = with(items.clone());
    both.output_values = items[0].output_values.clone();
    let one = with(items[..1].to_vec());
    let huge = with(vec![items[0].clone(); MAX_BATCH + 1]);
    for (t, what) in [
        (both, "both forms"),
        (one, "batch of one"),
        (huge, "too many"),
    ] {
        let err = InferenceStatement::from_bytes(&t.to_bytes().unwrap()).unwrap_err();
        assert!(err.to_string().contains("batch"), "{what}: {err}");
    }
}

/// Private inputs and committed outputs of a convolutional model through
/// the request API: every item has its own output commitment, and the
/// outcome reports each input's class.
#[test]
fn a_batch_with_committed_outputs_proves_through_the_request_api() {
    let cache = ParamsCache::locate(None).unwrap();
    let dir = std::env::temp_dir().join(format!("zkpot-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("cnn.onnx");
    std::fs::copy(fixture("cnn_8x8.onnx"), &model).unwrap();
    let xs: Vec<Vec<f64>> = inputs("cnn_8x8", "calibration")
        .into_iter()
        .take(3)
        .collect();
    let req = InferRequest {
        model: ModelSource::File(model.clone()),
        inputs: xs.clone(),
        calibration: Some(inputs("cnn_8x8", "calibration")),
        input_visibility: Visibility::Private,
        output_visibility: Visibility::Committed,
        secret: None,
        out: dir.join("batch.zkpot"),
        progress: false,
    };
    let o = prove_inference(&cache, &req).unwrap();
    assert_eq!(o.results.len(), 3);
    assert_eq!(o.class, o.results[0].class);
    assert!((o.prove_per_input_s * 3.0 - o.prove_s).abs() < 1e-9);
    let e = Envelope::from_bytes(&std::fs::read(dir.join("batch.zkpot")).unwrap()).unwrap();
    let s = verify_inferences(&cache, &[e]).unwrap().remove(0);
    let commitments: Vec<String> = s
        .batch
        .unwrap()
        .iter()
        .map(|i| i.output_commitment.clone().unwrap())
        .collect();
    assert_eq!(commitments.len(), 3);
    assert!(commitments[0] != commitments[1] && commitments[1] != commitments[2]);

    // No inputs, or more than a proof takes: refused before anything is
    // written.
    for n in [0, MAX_BATCH + 1] {
        let bad = InferRequest {
            inputs: vec![xs[0].clone(); n],
            out: dir.join("none.zkpot"),
            ..req.clone()
        };
        let err = prove_inference(&cache, &bad).unwrap_err();
        assert!(err.to_string().contains("inputs"), "{n}: {err}");
        assert!(!dir.join("none.zkpot").exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Four inputs of a large model with 8-bit weights take the batched layout
/// (eight MAC lanes; two take the one-lane layout): the proof verifies from
/// its bytes with each input's native output, and a changed output is
/// rejected.
#[test]
fn a_batch_of_a_large_model_takes_the_batched_layout() {
    use zkpot::circuits::infer::{layout_for, Layout, QLayer, QModel};
    use zkpot::circuits::Fp;
    let cache = ParamsCache::locate(None).unwrap();
    let f = |frac, bits| zkpot::circuits::fixed::QFormat::new(frac, bits).unwrap();
    let model = QModel {
        input: f(6, 8),
        activation: f(6, 16),
        weight: f(6, 8),
        layers: vec![
            QLayer::Dense {
                inputs: 128,
                outputs: 128,
                activation: Some(zkpot::circuits::fixed::Activation::Relu),
            },
            QLayer::Dense {
                inputs: 128,
                outputs: 10,
                activation: None,
            },
        ],
    };
    assert_eq!(layout_for(&model, 4), Layout::Batched);
    assert_eq!(layout_for(&model, 2), Layout::Wide);
    assert_eq!(layout_for(&model, 1), Layout::Wide);
    let weights: Vec<Vec<i64>> = model
        .weight_shapes()
        .iter()
        .map(|(r, c)| (0..r * c).map(|i| (i as i64 * 37) % 13 - 6).collect())
        .collect();
    let xs: Vec<Vec<i64>> = (0..4)
        .map(|b| (0..128).map(|i| (i * 7 + b * 13) % 100 - 40).collect())
        .collect();
    let native: Vec<Vec<i64>> = xs
        .iter()
        .map(|x| model.forward(&weights, x).unwrap().pop().unwrap())
        .collect();
    let loaded = LoadedModel::from_parts(model, weights, Fp::from(5));
    let prover = loaded
        .keygen_batched(&cache, Visibility::Private, Visibility::Public, 4, false)
        .unwrap();
    let p = prover.prove_quantized_batch(xs).unwrap();
    let good = Envelope::from_bytes(&p.envelope.to_bytes()).unwrap();
    let s = verify_inferences(&cache, std::slice::from_ref(&good))
        .unwrap()
        .remove(0);
    let outputs: Vec<Vec<i64>> = s
        .batch
        .clone()
        .unwrap()
        .iter()
        .map(|i| i.output_values.clone().unwrap())
        .collect();
    assert_eq!(outputs, native);
    let mut items = s.batch.clone().unwrap();
    items[1].output_values.as_mut().unwrap()[3] += 1;
    let mut changed = s.clone();
    changed.batch = Some(items);
    assert!(rejected(&cache, &relabeled(&changed, &good)));
}
