//! Real proofs of training a CNN on digits (8x8 images): a run of a small
//! convolutional network verifies, and a run with a changed step, a changed
//! architecture or a flipped proof byte is rejected; everything downstream
//! works on the CNN run: its held-out accuracy is proven, an inference of
//! its trained model is proven linked to it, and a fine-tuning run continues
//! from it.

mod common;

use std::path::{Path, PathBuf};

use common::{copy_run, prove_with};
use zkpot::circuits::train::{init_params, StepWitness, TrainStepCircuit};
use zkpot::circuits::Fp;
use zkpot::data::{commit_csv, CommitOptions, Dataset, DatasetSecret};
use zkpot::eval::{evaluate_run, verify_run_eval, EvalOptions};
use zkpot::hex::fp_to_hex;
use zkpot::infer::request::{prove_inference, InferRequest, ModelSource};
use zkpot::params::ParamsCache;
use zkpot::train::run::{parse_model, train, verify_parent, verify_run, RunFile, TrainOptions};
use zkpot::train::statement::verify_steps;
use zkpot::verify::{verify_path, Verified};

const MODEL: &str = "cnn:1x8x8-c2k3p1-relu-avg2-d10";

fn commit_digits(dir: &Path) -> PathBuf {
    let digits = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits.csv.gz");
    let data = dir.join("digits");
    let opts = CommitOptions {
        secret: Some(DatasetSecret::from_bytes([4; 32])),
        ..CommitOptions::default()
    };
    commit_csv(&digits, &data, &opts).unwrap();
    data
}

/// The raw pixels of the bundled digits' first image.
fn first_digit() -> Vec<f64> {
    use std::io::Read;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let row = text.lines().next().unwrap();
    row.split(',')
        .take(64)
        .map(|v| v.parse().unwrap())
        .collect()
}

fn options(data: &Path) -> TrainOptions {
    TrainOptions {
        data_dir: data.to_path_buf(),
        model: parse_model(MODEL).unwrap(),
        loss: zkpot::circuits::train::Loss::CrossEntropy,
        lr: 0.5,
        batch: 4,
        steps: 2,
        steps_per_proof: 1,
        seed: 3,
        beacon: Some([8; 32]),
        sampling: zkpot::train::sampling::Sampling::Shuffle,
        holdout: 0.01,
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        from_run: None,
        progress: false,
    }
}

#[test]
fn a_cnn_run_verifies_and_everything_downstream_works() {
    let cache = ParamsCache::locate(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = commit_digits(dir.path());
    let run_dir = dir.path().join("run");
    let report = train(&cache, &run_dir, &options(&data)).unwrap();
    assert_eq!(report.proved, 2);
    let v = verify_run(&cache, &run_dir).unwrap();
    assert_eq!((v.steps, v.proofs), (2, 2));
    assert_eq!(v.spec.arch().to_string(), MODEL);
    let run = RunFile::read(&run_dir.join("run.json")).unwrap();
    let scratch = tempfile::tempdir().unwrap();

    // A flipped byte in a step proof.
    let d = scratch.path().join("flipped");
    copy_run(&run_dir, &d);
    let p = d.join(&run.proofs[1]);
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "flipped byte");

    // Another architecture claimed for the same proofs (4 channels, not 2).
    let d = scratch.path().join("arch");
    copy_run(&run_dir, &d);
    let mut other = run.clone();
    let wider = parse_model("cnn:1x8x8-c4k3p1-relu-avg2-d10").unwrap();
    other.spec.widths = wider.widths;
    other.spec.conv = wider.conv;
    std::fs::write(d.join("run.json"), serde_json::to_vec(&other).unwrap()).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "another architecture");

    // A changed step: step 1 proven, validly, from weights with one kernel
    // entry changed; its statement names its own C_in and C_out, which the
    // chain of commitments does not hold.
    let s = run.statement(1).unwrap();
    let sampler = s.sampler().unwrap();
    let dataset = Dataset::load(&data).unwrap();
    let openings = sampler
        .indices(1)
        .iter()
        .map(|i| dataset.opening(*i).unwrap())
        .collect();
    let mut params = init_params(&s.spec, 77);
    params.layers[0][0] += 1;
    let w = StepWitness {
        params,
        salt_in: Fp::from(1),
        salt_out: Fp::from(2),
        openings,
        context: s.context().unwrap(),
    };
    let circuit = TrainStepCircuit::new(
        s.spec.clone(),
        s.dataset.layout,
        s.dataset.depth as usize,
        1,
        Some(w.clone()),
    )
    .unwrap();
    // The commitments do not depend on the context; the context digest
    // hashes the statement with them.
    let (public, _) = circuit.public_inputs().unwrap();
    let mut changed = s.clone();
    changed.c_in = fp_to_hex(&public[1]);
    changed.c_out = fp_to_hex(&public[2]);
    let w = StepWitness {
        context: changed.context().unwrap(),
        ..w
    };
    let public = changed.public_inputs(&sampler).unwrap();
    let forged = prove_with(&cache, &changed, w, public);
    verify_steps(&cache, std::slice::from_ref(&forged)).unwrap();
    let d = scratch.path().join("changed");
    copy_run(&run_dir, &d);
    std::fs::write(d.join(&run.proofs[1]), forged.to_bytes()).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "a changed step");

    // Held-out accuracy of the CNN (18 rows held out).
    let eval = dir.path().join("eval");
    let opts = EvalOptions {
        rows_per_proof: Some(32),
        progress: false,
        sample: None,
    };
    evaluate_run(&cache, &run_dir, &eval, &opts).unwrap();
    let (_, ev) = verify_run_eval(&cache, &run_dir, &eval, None).unwrap();
    assert_eq!(ev.rows, 18);

    // An inference of the trained CNN, linked to the run.
    let out = dir.path().join("q.zkpot");
    let x = first_digit();
    let o = prove_inference(
        &cache,
        &InferRequest {
            model: ModelSource::Run(run_dir.clone()),
            inputs: vec![x],
            calibration: None,
            input_visibility: zkpot::infer::request::parse_visibility("private").unwrap(),
            output_visibility: zkpot::infer::request::parse_visibility("public").unwrap(),
            secret: None,
            out: out.clone(),
            progress: false,
        },
    )
    .unwrap();
    assert!(o.class < 10);
    let linked = verify_path(&cache, &run_dir, Some(&out), None, false).unwrap();
    assert!(matches!(linked, Verified::LinkedInference { .. }));

    // Fine-tuning continues from the CNN's final weights.
    let tuned = dir.path().join("tuned");
    let t = TrainOptions {
        from_run: Some(run_dir.clone()),
        steps: 1,
        holdout: 0.0,
        ..options(&data)
    };
    train(&cache, &tuned, &t).unwrap();
    verify_parent(&cache, &tuned, &run_dir, None).unwrap();
}
