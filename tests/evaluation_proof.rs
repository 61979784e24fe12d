//! Real proofs of held-out accuracy: a run holding a fifth of iris out
//! scores its trained model on exactly those rows; the proven counts are the
//! native fixed-point evaluation's; and claimed counts off by one, rows at
//! other indices, altered rows, another model's commitment and rows other
//! than the split's are rejected.

mod common;

use std::path::Path;

use zkpot::circuits::infer::eval::{confusion_native, EvalCircuit, EvalWitness};
use zkpot::circuits::proving::{prove, proving_key};
use zkpot::data::Dataset;
use zkpot::eval::{
    evaluate, evaluate_model, evaluate_run, verify_eval, verify_evals, verify_run_eval, EvalFile,
    EvalOptions, EvalStatement, Selection,
};
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;
use zkpot::train::run::{train, trained_model, RunFile, TrainOptions};

fn held_out_run(data: &Path, dir: &Path, seed: u64) {
    let opts = TrainOptions {
        holdout: 0.2,
        seed,
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        ..common::options(data)
    };
    train(&ParamsCache::locate(None).unwrap(), dir, &opts).unwrap();
}

const OPTS: EvalOptions = EvalOptions {
    rows_per_proof: Some(15),
    progress: false,
    sample: None,
};

/// An envelope for `s` with the proof of `circuit` and its own public
/// inputs (what a prover who proves other rows or other values produces).
fn proof_of(cache: &ParamsCache, s: &EvalStatement, circuit: EvalCircuit) -> Envelope {
    let (public, _) = circuit.public_inputs().unwrap();
    let params = cache.get(circuit.measure().unwrap().k).unwrap();
    let pk = proving_key(&params, &circuit.describe()).unwrap();
    let proof = prove(&params, &pk, circuit, &public).unwrap();
    s.envelope(public, proof).unwrap()
}

#[test]
fn held_out_accuracy_is_proven_and_forgeries_are_rejected() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = common::fixture();
    let run = f.dir.path().join("held-out");
    held_out_run(&f.data, &run, 9);
    let out = f.dir.path().join("eval");
    let report = evaluate_run(&cache, &run, &out, &OPTS).unwrap();
    assert_eq!(report.file.proofs.len(), 2);

    // The verified counts are the native evaluation of the held-out rows.
    let v = verify_eval(&cache, &out, None).unwrap();
    let r = RunFile::read(&run.join("run.json")).unwrap();
    let split = r.split().unwrap();
    let data = Dataset::load(&f.data).unwrap();
    let rows: Vec<Vec<i64>> = (0..30)
        .map(|j| data.row(split.held_out(j)).unwrap())
        .collect();
    let (model, _) = trained_model(&run).unwrap();
    let native = confusion_native(&model.model, &model.weights, &rows).unwrap();
    assert_eq!(v.confusion, native);
    assert_eq!((v.rows, v.confusion.iter().sum::<u64>()), (30, 30));
    let (rv, ev) = verify_run_eval(&cache, &run, &out, None).unwrap();
    assert_eq!(ev.weights_commitment, rv.final_commitment);

    assert_eq!(
        ev.interval_95, None,
        "every held-out row scored: no interval"
    );

    // A sample: the first 12 held-out rows in the split's order, with an
    // interval for the whole split; its size is part of what is verified.
    let sampled = f.dir.path().join("sampled");
    let opts = EvalOptions {
        sample: Some(12),
        ..OPTS
    };
    evaluate_run(&cache, &run, &sampled, &opts).unwrap();
    let (_, sv) = verify_run_eval(&cache, &run, &sampled, None).unwrap();
    assert_eq!(sv.rows, 12);
    let held: Vec<Vec<i64>> = rows[..12].to_vec();
    assert_eq!(
        sv.confusion,
        confusion_native(&model.model, &model.weights, &held).unwrap()
    );
    let (lo, hi) = sv.interval_95.unwrap();
    assert!(
        lo <= sv.accuracy && sv.accuracy <= hi && hi - lo > 0.05,
        "{lo} {hi}"
    );
    let text = std::fs::read_to_string(sampled.join("eval.json")).unwrap();
    std::fs::write(
        sampled.join("eval.json"),
        text.replace("\"sample\": 12", "\"sample\": 13"),
    )
    .unwrap();
    assert!(verify_run_eval(&cache, &run, &sampled, None).is_err());
    for m in [0, 31] {
        let opts = EvalOptions {
            sample: Some(m),
            ..OPTS
        };
        let err = evaluate_run(&cache, &run, &f.dir.path().join("bad-sample"), &opts)
            .unwrap_err()
            .to_string();
        assert!(err.contains("held-out rows"), "{err}");
    }

    let file = EvalFile::read(&out.join("eval.json")).unwrap();
    let scratch = f.dir.path().join("scratch");
    let copy = |name: &str, edit: &dyn Fn(&mut EvalFile)| {
        let d = scratch.join(name);
        std::fs::create_dir_all(d.join("proofs")).unwrap();
        for p in &file.proofs {
            std::fs::copy(out.join(p), d.join(p)).unwrap();
        }
        let mut e = file.clone();
        edit(&mut e);
        std::fs::write(d.join("eval.json"), serde_json::to_vec(&e).unwrap()).unwrap();
        d
    };
    // A total moved by one row from one cell to another.
    let d = copy("moved", &|e| {
        let from = e.confusion.iter().position(|n| *n > 0).unwrap();
        e.confusion[from] -= 1;
        e.confusion[(from + 1) % 9] += 1;
    });
    assert!(verify_eval(&cache, &d, None).is_err(), "moved count");
    // A total off by one.
    let d = copy("more", &|e| e.confusion[0] += 1);
    assert!(verify_eval(&cache, &d, None).is_err(), "count + 1");

    // A chunk whose own counts are changed, with matching public inputs.
    let e0 = Envelope::from_bytes(&std::fs::read(out.join(&file.proofs[0])).unwrap()).unwrap();
    let mut s0 = EvalStatement::from_bytes(&e0.statement).unwrap();
    let from = s0.confusion.iter().position(|n| *n > 0).unwrap();
    s0.confusion[from] -= 1;
    s0.confusion[(from + 4) % 9] += 1;
    let forged = s0
        .envelope(s0.public_inputs().unwrap(), e0.proof.clone())
        .unwrap();
    assert!(verify_evals(&cache, &[forged]).is_err(), "chunk counts");

    // Rows at other indices (the first 15 of the dataset) under the
    // statement of the split's first chunk, and the split's rows with a
    // feature or a label changed.
    let s = EvalStatement::from_bytes(&e0.statement).unwrap();
    let witness = |openings| EvalWitness {
        weights: model.weights.clone(),
        weight_salt: model.weight_salt,
        openings,
        counted: 15,
        context: s.context().unwrap(),
    };
    let circuit = |openings| {
        let layout = data.commitment().schema.layout();
        EvalCircuit::new(model.model.clone(), layout, 8, 15, Some(witness(openings))).unwrap()
    };
    let first: Vec<_> = (0..15).map(|i| data.opening(i).unwrap()).collect();
    let other = proof_of(&cache, &s, circuit(first));
    let err = verify_evals(&cache, &[other]).unwrap_err().to_string();
    assert!(err.contains("public inputs"), "{err}");
    let chunk: Vec<_> = (0..15)
        .map(|j| data.opening(split.held_out(j)).unwrap())
        .collect();
    for (what, col) in [("feature", 0usize), ("label", 4)] {
        let mut altered = chunk.clone();
        altered[3].values[col] = (altered[3].values[col] + 1) % 3;
        let e = proof_of(&cache, &s, circuit(altered));
        assert!(verify_evals(&cache, &[e]).is_err(), "{what} changed");
    }

    // Another run's model (another seed, the same split) does not link.
    let other_run = f.dir.path().join("other-run");
    held_out_run(&f.data, &other_run, 10);
    let other_eval = f.dir.path().join("other-eval");
    evaluate_run(&cache, &other_run, &other_eval, &OPTS).unwrap();
    verify_eval(&cache, &other_eval, None).unwrap();
    let err = verify_run_eval(&cache, &run, &other_eval, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other weights"), "{err}");

    // A fine-tuning run's checkpoint may have seen the held-out rows: its
    // evaluation is refused by the prover, and by the verifier if made anyway.
    let child = f.dir.path().join("child");
    let opts = TrainOptions {
        holdout: 0.2,
        steps: 1,
        seed: 0,
        beacon: Some([5; 32]),
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        from_run: Some(f.run.clone()),
        ..common::options(&f.data)
    };
    train(&cache, &child, &opts).unwrap();
    let err = evaluate_run(&cache, &child, &f.dir.path().join("child-eval"), &OPTS)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint"), "{err}");
    let child_run = RunFile::read(&child.join("run.json")).unwrap();
    let (child_model, _) = trained_model(&child).unwrap();
    let forced = f.dir.path().join("child-forced");
    let selection = Selection::Holdout {
        beacon: child_run.beacon.clone(),
        holdout: child_run.holdout,
        sample: None,
    };
    evaluate(&cache, &child_model, &data, selection, &forced, &OPTS).unwrap();
    let err = verify_run_eval(&cache, &child, &forced, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint"), "{err}");

    // The run's model on rows other than its split's does not link.
    let range = f.dir.path().join("range-eval");
    let selection = Selection::Range {
        first: 0,
        count: 30,
    };
    evaluate(&cache, &model, &data, selection, &range, &OPTS).unwrap();
    verify_eval(&cache, &range, None).unwrap();
    let err = verify_run_eval(&cache, &run, &range, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("held-out rows"), "{err}");
}

#[test]
fn runs_without_held_out_rows_cannot_be_scored() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = common::fixture();
    let out = f.dir.path().join("eval");
    let err = evaluate_run(&cache, &f.run, &out, &OPTS)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--holdout"), "{err}");
    assert!(!out.exists(), "nothing written");
    assert!(zkpot::train::run::holdout_rows(1, 0.2).is_err());
    assert_eq!(zkpot::train::run::holdout_rows(150, 0.2).unwrap(), 30);
}

#[test]
fn an_imported_model_is_scored_on_a_range_of_a_committed_dataset() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = common::fixture();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models");
    let onnx = models.join("mlp_4_16_3_argmax.onnx");
    let secret = [7u8; 32];
    let out = f.dir.path().join("bench");
    let opts = EvalOptions {
        rows_per_proof: Some(20),
        progress: false,
        sample: None,
    };
    let report =
        evaluate_model(&cache, &onnx, &f.data, Some((10, 40)), &secret, &out, &opts).unwrap();
    assert_eq!(report.file.proofs.len(), 2);
    let data = Dataset::load(&f.data).unwrap();
    let c = data.commitment().clone();
    // The model reads the rows in the dataset's own format.
    assert_eq!(report.file.model.input, c.schema.format);
    let v = verify_eval(&cache, &out, Some(&c)).unwrap();
    assert_eq!(
        v.selection,
        Selection::Range {
            first: 10,
            count: 40
        }
    );

    // The proven counts are the native evaluation of the same quantized
    // model (calibrated on the scored rows) on rows 10..50.
    let scale = c.schema.format.scale();
    let rows: Vec<Vec<i64>> = (10..50).map(|i| data.row(i).unwrap()).collect();
    let calibration: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r[..4].iter().map(|v| *v as f64 / scale).collect())
        .collect();
    let quant = zkpot::model::QuantOptions {
        input: Some(c.schema.format),
        ..Default::default()
    };
    let model = zkpot::infer::LoadedModel::load_with(&onnx, &calibration, &secret, quant).unwrap();
    let native = confusion_native(&model.model, &model.weights, &rows).unwrap();
    assert_eq!(v.confusion, native);

    // Models that do not fit the dataset and ranges outside it are refused
    // before any proof.
    let cnn = models.join("cnn_8x8.onnx");
    let err = evaluate_model(&cache, &cnn, &f.data, None, &secret, &out, &opts).unwrap_err();
    assert!(err.to_string().contains("takes 64 inputs"), "{err}");
    for rows in [(140, 11), (0, 0), (u64::MAX, 2)] {
        let err =
            evaluate_model(&cache, &onnx, &f.data, Some(rows), &secret, &out, &opts).unwrap_err();
        assert!(err.to_string().contains("not a non-empty range"), "{err}");
    }
}
