//! Hostile statements: run directories and proof files written by a prover
//! who tries to make `zkpot verify` accept a false claim, crash, hang or
//! allocate without bound. Each is refused with a clear error before any key
//! is built.

mod common;

use common::{copy_run, fixture, prove_with};
use zkpot::circuits::fixed::QFormat;
use zkpot::circuits::infer::{AnyInference, InferenceWitness, QLayer, QModel, Visibility};
use zkpot::circuits::train::{init_params, sgd_step, weights_commitment_native, StepWitness};
use zkpot::circuits::Fp;
use zkpot::data::Dataset;
use zkpot::hex::fp_to_hex;
use zkpot::infer::{verify_inferences, InferenceStatement, LoadedModel};
use zkpot::params::ParamsCache;
use zkpot::proof::{Envelope, StatementKind};
use zkpot::train::run::{init_salt, proof_name, verify_run, verify_run_against, RunFile};
use zkpot::train::statement::{verify_steps, StepStatement};

/// Proves every group of `run` (one step a proof) on the honest dataset's
/// rows, at the indices the run's own statement implies, with its chain
/// recomputed natively: what a prover who edits run.json before proving
/// can produce. Writes run.json and the proofs into `dir`.
fn forge_run(cache: &ParamsCache, dir: &std::path::Path, run: RunFile, data: &Dataset) {
    let sampling = run.clone();
    forge_run_sampled(cache, dir, run, data, &sampling);
}

/// [`forge_run`], with the rows each step trains on drawn by the sampler of
/// `sampling` instead (the public inputs are still `run`'s statements').
fn forge_run_sampled(
    cache: &ParamsCache,
    dir: &std::path::Path,
    mut run: RunFile,
    data: &Dataset,
    sampling: &RunFile,
) {
    assert_eq!(run.steps_per_proof, 1);
    let salt = |t: u64| {
        if t == 0 {
            init_salt(run.seed)
        } else {
            Fp::from(1000 + t)
        }
    };
    let bits = run.spec.formats.weight.bits();
    let mut params = init_params(&run.spec, run.seed);
    run.chain = vec![run.chain[0].clone(); run.steps as usize + 1];
    let sampler = sampling.statement(0).unwrap().sampler().unwrap();
    let mut checkpoints = vec![params.clone()];
    for t in 0..run.steps {
        let batch: Vec<Vec<i64>> = sampler
            .indices(t)
            .into_iter()
            .map(|i| data.row(i).unwrap())
            .collect();
        params = sgd_step(&run.spec, &params, &batch).unwrap().0;
        run.chain[t as usize + 1] = fp_to_hex(&weights_commitment_native(
            salt(t + 1),
            &params.flatten(),
            bits,
        ));
        checkpoints.push(params.clone());
    }
    std::fs::create_dir_all(dir.join("proofs")).unwrap();
    for (g, params) in checkpoints.iter().take(run.groups()).enumerate() {
        let s = run.statement(g).unwrap();
        let mut public = s.public_inputs(&s.sampler().unwrap()).unwrap();
        let indices = sampler.indices(g as u64);
        for (k, i) in indices.iter().enumerate() {
            public[4 + k] = Fp::from(*i);
        }
        let openings = indices
            .into_iter()
            .map(|i| data.opening(i).unwrap())
            .collect();
        let w = StepWitness {
            params: params.clone(),
            salt_in: salt(g as u64),
            salt_out: salt(g as u64 + 1),
            openings,
            context: s.context().unwrap(),
        };
        let e = prove_with(cache, &s, w, public);
        std::fs::write(dir.join(&run.proofs[g]), e.to_bytes()).unwrap();
    }
    std::fs::write(dir.join("run.json"), serde_json::to_vec(&run).unwrap()).unwrap();
}

#[test]
fn runs_train_on_the_honest_split_only() {
    use zkpot::train::run::{train, TrainOptions};
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let data = Dataset::load(&f.data).unwrap();
    // A run holding a fifth of iris out verifies and never trained on it.
    let held = f.dir.path().join("held-out");
    let opts = TrainOptions {
        holdout: 0.2,
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        ..common::options(&f.data)
    };
    train(&cache, &held, &opts).unwrap();
    let v = verify_run(&cache, &held).unwrap();
    assert_eq!(v.holdout, 30);
    let run = RunFile::read(&held.join("run.json")).unwrap();
    let split = run.split().unwrap();
    let held_out: Vec<u64> = (0..30).map(|j| split.held_out(j)).collect();
    let sampler = run.statement(0).unwrap().sampler().unwrap();
    let trained: Vec<u64> = (0..run.steps).flat_map(|t| sampler.indices(t)).collect();
    assert!(trained.iter().all(|i| !held_out.contains(i)));

    // Steps that trained on held-out rows (drawn as if nothing were held
    // out) under a statement that holds 30 out: rejected. Six steps, so the
    // unsplit schedule does reach a held-out row.
    let with_steps = |mut r: RunFile, steps: u64| {
        r.steps = steps;
        r.proofs = (0..steps).map(|g| proof_name(g, steps, 1)).collect();
        r.chain = vec![r.chain[0].clone(); steps as usize + 1];
        r
    };
    let run = with_steps(run, 6);
    let honest = with_steps(RunFile::read(&f.run.join("run.json")).unwrap(), 6);
    let unsplit = honest.statement(0).unwrap().sampler().unwrap();
    let leaked = (0..run.steps)
        .flat_map(|t| unsplit.indices(t))
        .filter(|i| held_out.contains(i))
        .count();
    assert!(leaked > 0, "the unsplit schedule trains on held-out rows");
    let forged = f.dir.path().join("leaked");
    forge_run_sampled(&cache, &forged, run.clone(), &data, &honest);
    let err = verify_run(&cache, &forged).unwrap_err().to_string();
    assert!(err.contains("public inputs"), "{err}");
    // The same steps, stated without a split, verify: the split is what
    // the held-out rows were trained on against.
    let mut unsplit_run = run;
    unsplit_run.holdout = 0;
    let reproved = f.dir.path().join("unsplit");
    forge_run(&cache, &reproved, unsplit_run, &data);
    verify_run(&cache, &reproved).unwrap();

    // Holding everything out, or leaving fewer training rows than a batch,
    // is refused before any work.
    for bad in [1.0, 0.99, -0.1, f64::NAN] {
        let o = TrainOptions {
            holdout: bad,
            ..opts.clone()
        };
        let d = f.dir.path().join(format!("bad-{bad}"));
        assert!(train(&cache, &d, &o).is_err(), "holdout {bad}");
        assert!(!d.exists(), "nothing written for holdout {bad}");
    }
}

#[test]
fn a_row_count_other_than_the_committed_one_is_rejected() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let data = Dataset::load(&f.data).unwrap();
    let run = RunFile::read(&f.run.join("run.json")).unwrap();
    // The forging helper reproduces an honest run, which verifies.
    let honest = f.dir.path().join("reproved");
    forge_run(&cache, &honest, run.clone(), &data);
    verify_run(&cache, &honest).unwrap();
    // After seeing the beacon, the prover claims 140 of the 150 rows: another
    // batch schedule over the same tree (depth 8 fits both counts).
    let mut fewer = run;
    fewer.dataset.n_rows = 140;
    let forged = f.dir.path().join("fewer-rows");
    forge_run(&cache, &forged, fewer, &data);
    assert!(
        verify_run(&cache, &forged).is_err(),
        "a run over another row count than the dataset root commits to"
    );
}

/// The statement of `e` edited as JSON by `edit`, with the public inputs the
/// edited statement implies (as far as this build can compute them), so the
/// verifier's own checks are what must refuse it.
fn edited_step(e: &Envelope, edit: impl FnOnce(&mut serde_json::Value)) -> Envelope {
    let mut v: serde_json::Value = serde_json::from_slice(&e.statement).unwrap();
    edit(&mut v);
    let statement = serde_json::to_vec(&v).unwrap();
    let public = StepStatement::from_bytes(&statement)
        .and_then(|s| {
            let smp = s.sampler()?;
            s.public_inputs(&smp)
        })
        .unwrap_or_else(|_| e.public_inputs.clone());
    Envelope {
        statement,
        public_inputs: public,
        ..e.clone()
    }
}

fn step_error(cache: &ParamsCache, e: Envelope) -> String {
    verify_steps(cache, &[e]).unwrap_err().to_string()
}

#[test]
fn hostile_training_statements_are_refused_before_any_key() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let run = RunFile::read(&f.run.join("run.json")).unwrap();
    let honest = Envelope::from_bytes(&std::fs::read(f.run.join(&run.proofs[0])).unwrap()).unwrap();
    verify_steps(&cache, std::slice::from_ref(&honest)).unwrap();

    // Formats whose update shift is 399 bits: every updated weight is free.
    let e = edited_step(&honest, |v| {
        let s = &mut v["spec"];
        s["loss"] = "mse".into();
        s["lr_num"] = 32.into();
        s["lr_shift"] = 8.into();
        s["batch"] = 16.into();
        s["formats"]["input"] = serde_json::json!({"frac_bits": 200, "bits": 8});
        s["formats"]["activation"] = serde_json::json!({"frac_bits": 200, "bits": 16});
        s["formats"]["delta"] = serde_json::json!({"frac_bits": 211, "bits": 16});
    });
    let err = step_error(&cache, e);
    assert!(err.contains("fractional bits"), "{err}");

    // A tree deeper than the row count needs (at depth 255 the index bits of
    // i + p pass the gates).
    for depth in [9u32, 255] {
        let e = edited_step(&honest, |v| v["dataset"]["depth"] = depth.into());
        let err = step_error(&cache, e);
        assert!(err.contains("depth"), "depth {depth}: {err}");
    }

    // No rows (sampling would divide by zero) and absurd row counts (the
    // shuffle would allocate one entry a row).
    for n in [0u64, 1 << 62] {
        let e = edited_step(&honest, |v| v["dataset"]["n_rows"] = n.into());
        let err = step_error(&cache, e);
        assert!(err.contains("n_rows"), "n_rows {n}: {err}");
    }

    // Sizes far beyond any circuit this tool proves.
    let e = edited_step(&honest, |v| {
        v["spec"]["widths"] = serde_json::json!([4, 4096, 4096, 3]);
        v["spec"]["batch"] = 1024.into();
        v["steps"] = 1024.into();
    });
    let err = step_error(&cache, e);
    assert!(err.contains("outside the supported range"), "{err}");

    // Convolutional layers (iris's 4 features as a 1x2x2 image) that do not
    // fit the dense layers, divide by a zero stride, overflow the shape
    // arithmetic with their padding, or are absurdly wide: refused by name.
    let conv =
        |layer: serde_json::Value| serde_json::json!({"input": [1, 2, 2], "layers": [layer]});
    for (c, needle) in [
        (
            conv(
                serde_json::json!({"op": "conv", "channels": 2, "kernel": 1, "padding": 0, "stride": 1, "relu": true}),
            ),
            "width 0",
        ),
        (
            conv(
                serde_json::json!({"op": "conv", "channels": 1, "kernel": 2, "padding": 0, "stride": 0, "relu": false}),
            ),
            "stride 0",
        ),
        (
            conv(
                serde_json::json!({"op": "conv", "channels": 1, "kernel": 2, "padding": u64::MAX, "stride": 1, "relu": false}),
            ),
            "padding",
        ),
        (
            conv(
                serde_json::json!({"op": "conv", "channels": 100000, "kernel": 1, "padding": 0, "stride": 1, "relu": false}),
            ),
            "channels",
        ),
        (
            serde_json::json!({"input": [4, 1, 1], "layers": [{"op": "max_pool", "size": 2}]}),
            "do not divide",
        ),
        (
            conv(
                serde_json::json!({"op": "conv", "channels": 1, "kernel": 1, "padding": 0, "stride": 1, "relu": false, "dilation": 2}),
            ),
            "dilation",
        ),
    ] {
        let e = edited_step(&honest, |v| v["spec"]["conv"] = c.clone());
        let err = step_error(&cache, e);
        assert!(err.contains(needle), "{c}: {err}");
    }
}

#[test]
fn a_run_whose_depth_does_not_match_its_rows_is_refused() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let mut run = RunFile::read(&f.run.join("run.json")).unwrap();
    run.dataset.depth += 1;
    let d = f.dir.path().join("deeper");
    copy_run(&f.run, &d);
    std::fs::write(d.join("run.json"), serde_json::to_vec(&run).unwrap()).unwrap();
    let err = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(err.contains("depth"), "{err}");

    // A spec that reads the committed features at another scale.
    let mut run = RunFile::read(&f.run.join("run.json")).unwrap();
    run.spec.formats.input = QFormat::new(0, 8).unwrap();
    let d = f.dir.path().join("rescaled");
    copy_run(&f.run, &d);
    std::fs::write(d.join("run.json"), serde_json::to_vec(&run).unwrap()).unwrap();
    let err = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(err.contains("input format"), "{err}");

    // Run files with out-of-envelope formats, no rows, or absurd sizes.
    let text = std::fs::read_to_string(f.run.join("run.json")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 5] = [
        ("fractional bits", |v| {
            v["spec"]["formats"]["delta"] = serde_json::json!({"frac_bits": 211, "bits": 16})
        }),
        ("update shift", |v| {
            v["spec"]["formats"]["weight"] = serde_json::json!({"frac_bits": 32, "bits": 16})
        }),
        ("n_rows", |v| v["dataset"]["n_rows"] = 0.into()),
        ("steps", |v| v["steps"] = serde_json::json!(1u64 << 50)),
        ("width", |v| {
            v["spec"]["widths"] = serde_json::json!([4, 100000, 3])
        }),
    ];
    for (what, edit) in edits {
        let mut v = original.clone();
        edit(&mut v);
        let d = f
            .dir
            .path()
            .join(format!("hostile-{}", what.replace(' ', "-")));
        copy_run(&f.run, &d);
        std::fs::write(d.join("run.json"), serde_json::to_vec(&v).unwrap()).unwrap();
        let err = verify_run(&cache, &d).unwrap_err().to_string();
        assert!(err.contains(what), "{what}: {err}");
    }

    // The run verifies against the commitment it was trained on, and not
    // against another dataset's.
    let published = zkpot::data::Commitment::read(&f.data.join("commitment.json")).unwrap();
    verify_run_against(&cache, &f.run, Some(&published)).unwrap();
    let other = f.dir.path().join("other-data");
    zkpot::data::commit_csv(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris.csv"),
        &other,
        &zkpot::data::CommitOptions::default(),
    )
    .unwrap();
    let theirs = zkpot::data::Commitment::read(&other.join("commitment.json")).unwrap();
    let err = verify_run_against(&cache, &f.run, Some(&theirs))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not the given commitment"), "{err}");
}

/// An inference envelope for `statement` (JSON) with the public inputs it
/// implies, if they can be computed, and no proof.
fn inference_envelope(statement: serde_json::Value) -> Envelope {
    let bytes = serde_json::to_vec(&statement).unwrap();
    let public = InferenceStatement::from_bytes(&bytes)
        .and_then(|s| s.public_inputs())
        .unwrap_or_default();
    Envelope {
        kind: StatementKind::Inference,
        statement: bytes,
        public_inputs: public,
        proof: vec![0; 64],
    }
}

fn small_cnn() -> serde_json::Value {
    let f = |frac, bits| QFormat::new(frac, bits).unwrap();
    let model = QModel {
        input: f(6, 8),
        activation: f(6, 16),
        weight: f(6, 8),
        layers: vec![
            QLayer::Conv2d {
                in_channels: 1,
                out_channels: 2,
                height: 4,
                width: 4,
                kernel: [3, 3],
                stride: 1,
                padding: 1,
                activation: None,
            },
            QLayer::Dense {
                inputs: 32,
                outputs: 3,
                activation: None,
            },
        ],
    };
    serde_json::json!({
        "model": model,
        "input": "private",
        "output": "public",
        "weights_commitment": fp_to_hex(&Fp::from(7)),
        "input_values": null,
        "input_commitment": null,
        "output_values": [0, 0, 0],
        "output_commitment": null,
    })
}

#[test]
fn hostile_inference_statements_are_refused_before_any_key() {
    let cache = ParamsCache::locate(None).unwrap();
    let error = |s: serde_json::Value| {
        verify_inferences(&cache, &[inference_envelope(s)])
            .unwrap_err()
            .to_string()
    };
    // The statement itself is well formed up to the proof.
    let err = error(small_cnn());
    assert!(!err.contains("outside the supported range"), "{err}");

    // A zero stride (the output shape divides by it).
    let mut s = small_cnn();
    s["model"]["layers"][0]["stride"] = 0.into();
    let err = error(s);
    assert!(err.contains("stride"), "{err}");

    // A weight format with 300 fractional bits: a rescale shift of 298 bits
    // leaves every output free (fractional bits are not committed).
    let mut s = small_cnn();
    s["model"]["weight"] = serde_json::json!({"frac_bits": 300, "bits": 8});
    let err = error(s);
    assert!(err.contains("fractional bits"), "{err}");

    // A format without bits.
    let mut s = small_cnn();
    s["model"]["activation"] = serde_json::json!({"frac_bits": 6, "bits": 0});
    let err = error(s);
    assert!(err.contains("bits"), "{err}");

    // An input scale of 2^64: the bias's input would not fit an integer.
    let mut s = small_cnn();
    s["model"]["input"] = serde_json::json!({"frac_bits": 64, "bits": 8});
    s["model"]["weight"] = serde_json::json!({"frac_bits": 0, "bits": 8});
    s["model"]["activation"] = serde_json::json!({"frac_bits": 2, "bits": 16});
    let err = error(s);
    assert!(err.contains("fractional bits of the input format"), "{err}");

    // A max pool of 4 million windows of 4 million entries each: no weights,
    // so no multiply-adds, but billions of window entries to lay out.
    let s = serde_json::json!({
        "model": {
            "input": {"frac_bits": 4, "bits": 8},
            "activation": {"frac_bits": 4, "bits": 8},
            "weight": {"frac_bits": 4, "bits": 8},
            "layers": [{"op": "max_pool2d", "channels": 1, "height": 4096, "width": 4096,
                        "kernel": 2048, "stride": 1}],
        },
        "input": "private",
        "output": "committed",
        "weights_commitment": fp_to_hex(&Fp::from(7)),
        "input_values": null,
        "input_commitment": null,
        "output_values": null,
        "output_commitment": fp_to_hex(&Fp::from(8)),
    });
    let start = std::time::Instant::now();
    let err = error(s);
    assert!(err.contains("work of layers"), "{err}");
    assert!(start.elapsed().as_secs() < 5, "refused before any work");

    // A dense layer of about 2^18 multiply-adds, inside the bound alone,
    // stated for 256 inputs at once: 2^26 of work for the verifier to lay
    // out. Refused by the batch's work before any key.
    let item = serde_json::json!({"input_values": null, "input_commitment": null,
                                  "output_values": null, "output_commitment": fp_to_hex(&Fp::from(8))});
    let s = serde_json::json!({
        "model": {
            "input": {"frac_bits": 4, "bits": 8},
            "activation": {"frac_bits": 4, "bits": 16},
            "weight": {"frac_bits": 4, "bits": 8},
            "layers": [{"op": "dense", "inputs": 512, "outputs": 512, "activation": null}],
        },
        "input": "private",
        "output": "committed",
        "weights_commitment": fp_to_hex(&Fp::from(7)),
        "input_values": null,
        "input_commitment": null,
        "output_values": null,
        "output_commitment": null,
        "batch": vec![item; 256],
    });
    let start = std::time::Instant::now();
    let err = error(s);
    assert!(err.contains("work of 256 forward passes"), "{err}");
    assert!(start.elapsed().as_secs() < 5, "refused before any work");
}

/// One 2x2 max pool over a 2x2 input of `Q4/8b`: its output cells are its
/// inputs' maximum, with nothing between.
fn max_pool_2x2() -> QModel {
    let f = |frac, bits| QFormat::new(frac, bits).unwrap();
    QModel {
        input: f(4, 8),
        activation: f(4, 8),
        weight: f(4, 8),
        layers: vec![QLayer::MaxPool2d {
            channels: 1,
            height: 2,
            width: 2,
            kernel: 2,
            stride: 2,
        }],
    }
}

#[test]
fn a_statement_shows_only_what_its_proof_binds() {
    let cache = ParamsCache::locate(None).unwrap();
    let model = max_pool_2x2();
    let good = committed_output_proof(&cache, &model, vec![5, -3, 7, 1]);
    verify_inferences(&cache, std::slice::from_ref(&good)).unwrap();
    // Output values next to a committed output (no public input binds
    // them), a commitment next to public values, an unknown field.
    let edits: [(&str, serde_json::Value); 3] = [
        ("output_values", serde_json::json!([7])),
        (
            "input_commitment",
            serde_json::json!(fp_to_hex(&Fp::from(1))),
        ),
        ("claimed_accuracy", serde_json::json!(0.99)),
    ];
    for (field, value) in edits {
        let mut v: serde_json::Value = serde_json::from_slice(&good.statement).unwrap();
        v[field] = value;
        let forged = Envelope {
            statement: serde_json::to_vec(&v).unwrap(),
            ..good.clone()
        };
        assert!(
            verify_inferences(&cache, &[forged]).is_err(),
            "{field} accepted"
        );
    }
}

/// A proof of `model` on the public quantized `input` with a committed
/// output, made directly from the circuit (as a prover who skips the
/// library's checks would), wrapped in its statement.
fn committed_output_proof(cache: &ParamsCache, model: &QModel, input: Vec<i64>) -> Envelope {
    let witness =
        InferenceWitness::single(vec![], Fp::from(3), input.clone(), Fp::from(0), Fp::from(4));
    let circuit = AnyInference::new(
        model.clone(),
        Visibility::Public,
        Visibility::Committed,
        Some(witness),
    )
    .unwrap();
    let (public, _) = circuit.public_inputs().unwrap();
    let params = cache.get(circuit.measure().unwrap().k).unwrap();
    let pk = circuit.describe().proving_key(&params).unwrap();
    let proof = circuit.prove(&params, &pk, &public).unwrap();
    let statement = serde_json::json!({
        "model": model,
        "input": "public",
        "output": "committed",
        "weights_commitment": fp_to_hex(&public[0]),
        "input_values": input,
        "input_commitment": null,
        "output_values": null,
        "output_commitment": fp_to_hex(&public[public.len() - 1]),
    });
    Envelope {
        kind: StatementKind::Inference,
        statement: serde_json::to_vec(&statement).unwrap(),
        public_inputs: public,
        proof,
    }
}

#[test]
fn public_inputs_outside_their_format_are_refused() {
    let cache = ParamsCache::locate(None).unwrap();
    // A max pool first and a committed output: the output cells are the
    // inputs themselves, so an input outside its 8-bit format reaches the
    // commitment, whose packing is then not injective.
    let model = max_pool_2x2();
    let ok = committed_output_proof(&cache, &model, vec![5, -3, 7, 1]);
    verify_inferences(&cache, &[ok]).unwrap();
    let outside = committed_output_proof(&cache, &model, vec![1000, 1000, 1000, 1000]);
    let err = verify_inferences(&cache, &[outside])
        .unwrap_err()
        .to_string();
    assert!(err.contains("public input 0"), "{err}");
    // The library's prover refuses such an input before proving.
    let prover = LoadedModel::from_parts(model, vec![], Fp::from(3))
        .keygen(&cache, Visibility::Public, Visibility::Committed)
        .unwrap();
    assert!(prover
        .prove_quantized(vec![1000, 1000, 1000, 1000])
        .is_err());
}
