//! Release folders: a held-out run with released weights and its proven
//! evaluation are bundled, the bundle verifies from its public files alone,
//! and flipping a byte in any file, adding or removing a file, or forging
//! the card consistently with the attestation makes verification fail
//! naming the file.

mod common;

use std::path::{Path, PathBuf};

use zkpot::eval::{evaluate_run, EvalOptions};
use zkpot::params::ParamsCache;
use zkpot::release::{
    sha256_hex, verify_release, write_release, ReleaseOptions, ATTESTATION, CARD,
};
use zkpot::train::run::{train, TrainOptions};

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(src: &Path, dst: &Path) {
    for f in files(src) {
        let to = dst.join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&f), to).unwrap();
    }
}

fn error_of(cache: &ParamsCache, dir: &Path) -> String {
    match verify_release(cache, dir, None) {
        Ok(_) => panic!("{} verified", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_release_verifies_alone_and_any_changed_file_is_named() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = common::fixture();
    let run = f.dir.path().join("held-out");
    let opts = TrainOptions {
        holdout: 0.2,
        ..common::options(&f.data)
    };
    train(&cache, &run, &opts).unwrap();
    let eval = f.dir.path().join("eval");
    let e = evaluate_run(
        &cache,
        &run,
        &eval,
        &EvalOptions {
            rows_per_proof: Some(15),
            progress: false,
            sample: None,
        },
    )
    .unwrap();
    let rel = f.dir.path().join("iris-mlp");
    let report =
        write_release(&cache, &run, Some(&eval), &rel, &ReleaseOptions::default()).unwrap();
    assert_eq!(report.name, "iris-mlp");
    let ev = report.eval.as_ref().unwrap();
    let c = e.file.confusion.clone();
    assert_eq!(ev.confusion, c);

    // The bundle alone, away from the run's private files, verifies.
    let fresh = f.dir.path().join("fresh");
    copy_tree(&rel, &fresh);
    let names = files(&fresh);
    assert!(names
        .iter()
        .all(|n| !n.contains("private") && !n.ends_with(".salt")));
    for needed in [
        "README.md",
        ATTESTATION,
        "dataset/commitment.json",
        "run/run.json",
        "run/model.json",
        "eval/eval.json",
        "report/training.json",
        "report/loss.svg",
        "report/accuracy.svg",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "{needed} missing from {names:?}"
        );
    }
    let v = verify_release(&cache, &fresh, None).unwrap();
    assert_eq!(v.eval.as_ref().unwrap().confusion, c);
    assert!(v.weights_released);
    assert_eq!(v.files, names.len());

    // The card's front matter and the attestation carry the proven score.
    let card = std::fs::read_to_string(fresh.join(CARD)).unwrap();
    assert!(card.starts_with("---\nlibrary_name: zkpot\n"));
    assert!(card.contains(&format!("value: {:.4}", ev.accuracy)));
    let att: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fresh.join(ATTESTATION)).unwrap()).unwrap();
    assert_eq!(att["_type"], "https://in-toto.io/Statement/v1");
    let weights = std::fs::read(fresh.join("run/model.json")).unwrap();
    assert_eq!(att["subject"][0]["digest"]["sha256"], sha256_hex(&weights));
    assert_eq!(att["predicate"]["evaluation"]["correct"], ev.correct);
    assert_eq!(
        att["predicate"]["training"]["final_commitment"],
        v.run.final_commitment
    );

    // A byte flipped anywhere fails, naming the file.
    let scratch = f.dir.path().join("scratch");
    for (i, name) in names.iter().enumerate() {
        let d = scratch.join(format!("flip-{i}"));
        copy_tree(&fresh, &d);
        let path = d.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let err = error_of(&cache, &d);
        assert!(err.contains(name.as_str()), "flipping {name}: {err}");
    }

    // An extra file, a missing proof, and signatures beside the bundle.
    let d = scratch.join("extra");
    copy_tree(&fresh, &d);
    std::fs::write(d.join("run/notes.txt"), "hi").unwrap();
    assert!(error_of(&cache, &d).contains("run/notes.txt: not listed"));
    let d = scratch.join("missing");
    copy_tree(&fresh, &d);
    let proof = names
        .iter()
        .find(|n| n.starts_with("eval/proofs/"))
        .unwrap();
    std::fs::remove_file(d.join(proof)).unwrap();
    assert!(error_of(&cache, &d).contains(&format!("{proof}: listed")));
    let d = scratch.join("signed");
    copy_tree(&fresh, &d);
    std::fs::create_dir_all(d.join("signatures")).unwrap();
    std::fs::write(d.join("signatures/attestation.sigstore.json"), "{}").unwrap();
    assert_eq!(verify_release(&cache, &d, None).unwrap().signatures, 1);

    // A forged card whose digest the forger also updates is regenerated
    // from the proofs and refused.
    let d = scratch.join("forged");
    copy_tree(&fresh, &d);
    let forged = card.replace(&format!("value: {:.4}", ev.accuracy), "value: 0.9999");
    assert_ne!(forged, card);
    std::fs::write(d.join(CARD), &forged).unwrap();
    let text = std::fs::read_to_string(d.join(ATTESTATION)).unwrap();
    let text = text.replace(&sha256_hex(card.as_bytes()), &sha256_hex(forged.as_bytes()));
    std::fs::write(d.join(ATTESTATION), text).unwrap();
    let err = error_of(&cache, &d);
    assert!(err.starts_with("README.md does not say what"), "{err}");

    // Files the forger lists with their digests are still refused: a report
    // whose loss would overflow the plot, and a file no release holds.
    let relist = |d: &Path, name: &str, bytes: &[u8]| {
        std::fs::write(d.join(name), bytes).unwrap();
        let mut att: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(ATTESTATION)).unwrap()).unwrap();
        att["predicate"]["files"][name] = sha256_hex(bytes).into();
        std::fs::write(
            d.join(ATTESTATION),
            serde_json::to_vec_pretty(&att).unwrap(),
        )
        .unwrap();
    };
    let d = scratch.join("huge-loss");
    copy_tree(&fresh, &d);
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("report/training.json")).unwrap()).unwrap();
    report["loss"][0]["fixed"] = 1.7e308.into();
    relist(
        &d,
        "report/training.json",
        &serde_json::to_vec(&report).unwrap(),
    );
    let err = error_of(&cache, &d);
    assert!(err.starts_with("report/training.json"), "{err}");
    let d = scratch.join("listed-extra");
    copy_tree(&fresh, &d);
    relist(&d, "run/weights.safetensors", b"other weights");
    let err = error_of(&cache, &d);
    assert!(
        err.contains("run/weights.safetensors: not a file a release holds"),
        "{err}"
    );

    // Writing refuses an existing folder and a bad name.
    assert!(write_release(&cache, &run, Some(&eval), &rel, &ReleaseOptions::default()).is_err());
    let bad = ReleaseOptions {
        name: Some("no spaces".into()),
    };
    let err = write_release(&cache, &run, Some(&eval), &scratch.join("x"), &bad).unwrap_err();
    assert!(err.to_string().contains("release name"), "{err}");
}

#[test]
fn a_release_without_evaluation_or_weights_names_the_commitment() {
    let cache = ParamsCache::locate(None).unwrap();
    let f = common::fixture();
    let run: PathBuf = f.dir.path().join("private-weights");
    let opts = TrainOptions {
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        ..common::options(&f.data)
    };
    train(&cache, &run, &opts).unwrap();
    let rel = f.dir.path().join("rel");
    write_release(&cache, &run, None, &rel, &ReleaseOptions::default()).unwrap();
    let v = verify_release(&cache, &rel, None).unwrap();
    assert!(v.eval.is_none() && !v.weights_released);
    let att: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rel.join(ATTESTATION)).unwrap()).unwrap();
    assert_eq!(
        att["subject"][0]["annotations"]["zkpot_weight_commitment"],
        v.run.final_commitment
    );
    let card = std::fs::read_to_string(rel.join(CARD)).unwrap();
    assert!(card.contains("Not part of this release"));
    // An evaluation cannot be claimed by a release of a run that held no rows out.
    assert!(!card.contains("Held-out accuracy (proven)"));
}
