//! Real proofs of training: a run verifies; a missing, reordered or duplicated
//! proof, a broken commitment link and a mislabeled beacon are rejected; and
//! step proofs that skip the update, change a weight, use another learning
//! rate, train on a row outside the dataset or on other indices than the
//! sampling function gives are rejected.

mod common;

use common::{copy_run, fixture, options, prove_with};
use zkpot::circuits::circuits::membership::RowOpening;
use zkpot::circuits::train::{weights_commitment_native, StepWitness};
use zkpot::circuits::Fp;
use zkpot::data::Dataset;
use zkpot::hex::fp_to_hex;
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;
use zkpot::train::run::{train, verify_parent, verify_run, RunFile, TrainOptions};
use zkpot::train::statement::verify_steps;

#[test]
fn runs_verify_and_tampered_runs_are_rejected() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let v = verify_run(&cache, &f.run).unwrap();
    assert_eq!((v.steps, v.proofs), (3, 3));
    assert!(f.run.join("model.json").exists());
    let run = RunFile::read(&f.run.join("run.json")).unwrap();
    let scratch = tempfile::tempdir().unwrap();

    // A missing proof.
    let d = scratch.path().join("missing");
    copy_run(&f.run, &d);
    std::fs::remove_file(d.join(&run.proofs[1])).unwrap();
    let e = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");

    // A proof file that is not a proof, or is cut short: named.
    let d = scratch.path().join("garbled");
    copy_run(&f.run, &d);
    std::fs::write(d.join(&run.proofs[1]), b"not a proof at all").unwrap();
    let e = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(e.contains(&run.proofs[1]) && e.contains("magic"), "{e}");
    let bytes = std::fs::read(f.run.join(&run.proofs[2])).unwrap();
    std::fs::copy(f.run.join(&run.proofs[1]), d.join(&run.proofs[1])).unwrap();
    std::fs::write(d.join(&run.proofs[2]), &bytes[..bytes.len() / 2]).unwrap();
    let e = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(e.contains(&run.proofs[2]) && e.contains("truncated"), "{e}");

    // Two proofs swapped.
    let d = scratch.path().join("reordered");
    copy_run(&f.run, &d);
    std::fs::copy(f.run.join(&run.proofs[0]), d.join(&run.proofs[1])).unwrap();
    std::fs::copy(f.run.join(&run.proofs[1]), d.join(&run.proofs[0])).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "reordered");

    // One proof duplicated in place of another.
    let d = scratch.path().join("duplicated");
    copy_run(&f.run, &d);
    std::fs::copy(f.run.join(&run.proofs[0]), d.join(&run.proofs[2])).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "duplicated");

    // A broken link in the commitment chain.
    let d = scratch.path().join("link");
    copy_run(&f.run, &d);
    let mut broken = run.clone();
    broken.chain[2] = fp_to_hex(&Fp::from(12345));
    std::fs::write(d.join("run.json"), serde_json::to_vec(&broken).unwrap()).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "broken link");

    // A beacon marked as derived that is not the derivation.
    let d = scratch.path().join("beacon");
    copy_run(&f.run, &d);
    let mut b = run.clone();
    b.beacon_derived = true;
    std::fs::write(d.join("run.json"), serde_json::to_vec(&b).unwrap()).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "beacon");

    // A derived (grindable) beacon marked as given: the verifier recomputes
    // the derivation before it reads any proof.
    let d = scratch.path().join("grindable");
    let t = TrainOptions {
        beacon: None,
        prove_later: true,
        release_weights: false,
        ..options(&f.data)
    };
    train(&cache, &d, &t).unwrap();
    let mut g = RunFile::read(&d.join("run.json")).unwrap();
    assert!(g.beacon_derived);
    g.beacon_derived = false;
    std::fs::write(d.join("run.json"), serde_json::to_vec(&g).unwrap()).unwrap();
    let e = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(e.contains("marked as given"), "{e}");

    // A key given twice (a reader keeping the first would see another run).
    let d = scratch.path().join("duplicate-key");
    copy_run(&f.run, &d);
    let text = serde_json::to_string(&run).unwrap();
    let doubled = text.replacen('{', "{\"holdout\": 1000,", 1);
    std::fs::write(d.join("run.json"), doubled).unwrap();
    let e = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(e.contains("duplicate field"), "{e}");

    // A seed-initialized run relabeled as fine-tuning.
    let d = scratch.path().join("relabeled");
    copy_run(&f.run, &d);
    let mut r = run.clone();
    r.checkpoint = Some(r.chain[0].clone());
    std::fs::write(d.join("run.json"), serde_json::to_vec(&r).unwrap()).unwrap();
    let e = verify_run(&cache, &d).unwrap_err().to_string();
    assert!(e.contains("seed's initial weights"), "{e}");
}

#[test]
fn dishonest_steps_are_rejected() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let run = RunFile::read(&f.run.join("run.json")).unwrap();
    let data = Dataset::load(&f.data).unwrap();
    let honest = Envelope::from_bytes(&std::fs::read(f.run.join(&run.proofs[0])).unwrap()).unwrap();
    assert!(verify_steps(&cache, std::slice::from_ref(&honest)).is_ok());

    let s = run.statement(0).unwrap();
    let sampler = s.sampler().unwrap();
    let public = s.public_inputs(&sampler).unwrap();
    let indices = sampler.indices(0);
    let openings: Vec<RowOpening> = indices.iter().map(|i| data.opening(*i).unwrap()).collect();
    let w0 = zkpot::circuits::train::init_params(&run.spec, run.seed);
    let salt_in = zkpot::train::run::init_salt(run.seed);
    let bits = run.spec.formats.weight.bits();
    let witness = |openings: Vec<RowOpening>| StepWitness {
        params: w0.clone(),
        salt_in,
        salt_out: Fp::from(777),
        openings,
        context: s.context().unwrap(),
    };

    // Skipping the update: claim C_out commits to the unchanged weights.
    let mut skip = s.clone();
    skip.c_out = fp_to_hex(&weights_commitment_native(
        Fp::from(777),
        &w0.flatten(),
        bits,
    ));
    let skip_public = skip.public_inputs(&skip.sampler().unwrap()).unwrap();
    let e = prove_with(&cache, &skip, witness(openings.clone()), skip_public);
    assert!(verify_steps(&cache, &[e]).is_err(), "skipped update");

    // One changed weight in the result.
    let next = zkpot::circuits::train::sgd_step(
        &run.spec,
        &w0,
        &openings
            .iter()
            .map(|o| o.values.clone())
            .collect::<Vec<_>>(),
    )
    .unwrap()
    .0;
    let mut flat = next.flatten();
    flat[0] += 1;
    let mut changed = s.clone();
    changed.c_out = fp_to_hex(&weights_commitment_native(Fp::from(777), &flat, bits));
    let changed_public = changed.public_inputs(&changed.sampler().unwrap()).unwrap();
    let e = prove_with(&cache, &changed, witness(openings.clone()), changed_public);
    assert!(verify_steps(&cache, &[e]).is_err(), "changed weight");

    // A different learning rate than the statement's.
    let mut fast = s.clone();
    fast.spec.lr_num *= 2;
    let honest_next = fp_to_hex(&weights_commitment_native(
        Fp::from(777),
        &next.flatten(),
        bits,
    ));
    fast.c_out = honest_next.clone();
    let fast_public = fast.public_inputs(&fast.sampler().unwrap()).unwrap();
    let mut slow = fast.clone();
    slow.spec.lr_num = s.spec.lr_num;
    // Proven with the original rate's circuit, presented as the faster rate.
    let e = prove_with(
        &cache,
        &slow,
        witness(openings.clone()),
        fast_public.clone(),
    );
    let relabeled = Envelope {
        statement: fast.to_bytes().unwrap(),
        ..e
    };
    assert!(
        verify_steps(&cache, &[relabeled]).is_err(),
        "other learning rate"
    );

    // A row that is not in the dataset (an altered feature keeps its path).
    let mut outside = openings.clone();
    outside[1].values[0] += 1;
    let e = prove_with(&cache, &s, witness(outside), public.clone());
    assert!(
        verify_steps(&cache, &[e]).is_err(),
        "row outside the dataset"
    );

    // Other indices than the sampling function's: honest rows 0..4, claimed.
    let mut chosen_public = public.clone();
    let chosen: Vec<RowOpening> = (0..4u64).map(|i| data.opening(i).unwrap()).collect();
    for (k, o) in chosen.iter().enumerate() {
        chosen_public[4 + k] = Fp::from(o.path.index);
    }
    let e = prove_with(&cache, &s, witness(chosen), chosen_public);
    let err = verify_steps(&cache, &[e]).unwrap_err().to_string();
    assert!(err.contains("public inputs"), "{err}");
}

#[test]
fn inferences_link_to_the_trained_model_only() {
    use zkpot::circuits::infer::Visibility;
    use zkpot::infer::LoadedModel;
    use zkpot::train::run::{trained_model, verify_linked};
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let (loaded, _) = trained_model(&f.run).unwrap();
    let data = Dataset::load(&f.data).unwrap();
    let row = data.row(3).unwrap();
    let x: Vec<i64> = row[..4].to_vec();
    let prover = loaded
        .clone()
        .keygen(&cache, Visibility::Private, Visibility::Public)
        .unwrap();
    let p = prover.prove_quantized(x.clone()).unwrap();
    let (verdict, statement) = verify_linked(&cache, &f.run, &p.envelope, None).unwrap();
    assert_eq!(statement.weights_commitment, verdict.final_commitment);

    // The same architecture with one weight changed is another model.
    let mut weights = loaded.weights.clone();
    weights[0][0] += 1;
    let other = LoadedModel::from_parts(loaded.model.clone(), weights, loaded.weight_salt);
    let q = other
        .keygen(&cache, Visibility::Private, Visibility::Public)
        .unwrap()
        .prove_quantized(x)
        .unwrap();
    let err = verify_linked(&cache, &f.run, &q.envelope, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other weights"), "{err}");
}

#[test]
fn interrupted_runs_resume_without_reproving() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let run = RunFile::read(&f.run.join("run.json")).unwrap();
    let kept = std::fs::read(f.run.join(&run.proofs[0])).unwrap();
    std::fs::remove_file(f.run.join(&run.proofs[1])).unwrap();
    let t = TrainOptions {
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        ..options(&f.data)
    };
    let report = train(&cache, &f.run, &t).unwrap();
    assert_eq!(report.proved, 1, "only the missing proof is made again");
    assert_eq!(
        std::fs::read(f.run.join(&run.proofs[0])).unwrap(),
        kept,
        "existing proofs are untouched"
    );
    verify_run(&cache, &f.run).unwrap();
    // Another configuration in the same directory (another learning rate,
    // another model and dataset shape) is refused and changes no file: the
    // trained checkpoints stay the run's.
    let before = private_files(&f.run);
    let other = TrainOptions {
        lr: 0.125,
        ..t.clone()
    };
    let err = train(&cache, &f.run, &other).unwrap_err().to_string();
    assert!(err.contains("another run"), "{err}");
    let wider = TrainOptions {
        model: zkpot::circuits::train::Arch::mlp(vec![4, 5, 3]),
        steps: 5,
        ..t.clone()
    };
    let err = train(&cache, &f.run, &wider).unwrap_err().to_string();
    assert!(err.contains("another run"), "{err}");
    assert_eq!(
        private_files(&f.run),
        before,
        "a refused run writes nothing"
    );
    verify_run(&cache, &f.run).unwrap();

    // A run that fails before it is written leaves no directory behind.
    let fresh = f.run.parent().unwrap().join("overflowing");
    let overflowing = TrainOptions { lr: 256.0, ..t };
    let err = train(&cache, &fresh, &overflowing).unwrap_err().to_string();
    assert!(err.contains("learning rate"), "{err}");
    assert!(!fresh.exists(), "nothing is left of a failed run");
}

/// Every file under a run's `private/`, by name, with its bytes.
fn private_files(run: &std::path::Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(run.join("private"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn fine_tuning_starts_from_the_parent_runs_model_only() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = fixture();
    let parent = verify_run(&cache, &f.run).unwrap();
    let child = f.run.parent().unwrap().join("child");
    let t = TrainOptions {
        steps: 1,
        seed: 0,
        beacon: Some([6; 32]),
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        from_run: Some(f.run.clone()),
        ..options(&f.data)
    };
    train(&cache, &child, &t).unwrap();
    let v = verify_run(&cache, &child).unwrap();
    assert!(v.from_checkpoint);
    assert_eq!(v.initial_commitment, parent.final_commitment);
    verify_parent(&cache, &child, &f.run, None).unwrap();
    // The parent did not start from the child.
    assert!(verify_parent(&cache, &f.run, &child, None).is_err());

    // Another architecture cannot start from the checkpoint.
    let other = TrainOptions {
        model: zkpot::circuits::train::Arch::mlp(vec![4, 6, 3]),
        ..t.clone()
    };
    let err = train(&cache, &f.run.parent().unwrap().join("other"), &other).unwrap_err();
    assert!(err.to_string().contains("layers"), "{err}");

    // A run that claims another checkpoint, or drops the claim, is rejected.
    let run = RunFile::read(&child.join("run.json")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut forged = run.clone();
    forged.checkpoint = Some(fp_to_hex(&Fp::from(7)));
    forged.chain[0] = fp_to_hex(&Fp::from(7));
    let d = scratch.path().join("forged");
    copy_run(&child, &d);
    std::fs::write(d.join("run.json"), serde_json::to_vec(&forged).unwrap()).unwrap();
    assert!(verify_run(&cache, &d).is_err(), "a forged checkpoint");
    let mut unclaimed = run;
    unclaimed.checkpoint = None;
    let d = scratch.path().join("unclaimed");
    copy_run(&child, &d);
    std::fs::write(d.join("run.json"), serde_json::to_vec(&unclaimed).unwrap()).unwrap();
    assert!(
        verify_run(&cache, &d).is_err(),
        "a checkpoint posing as the seed"
    );
}
