//! Fixtures shared by the real-proof tests: a committed iris dataset, a small
//! proven training run on it, and helpers that copy runs and prove step
//! statements with witnesses of the test's choosing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use zkpot::circuits::proving::{prove, proving_key};
use zkpot::circuits::train::{StepWitness, TrainStepCircuit};
use zkpot::circuits::Fp;
use zkpot::data::{commit_csv, Column, CommitOptions, DatasetSecret};
use zkpot::params::ParamsCache;
use zkpot::proof::Envelope;
use zkpot::train::run::{train, TrainOptions};
use zkpot::train::sampling::Sampling;
use zkpot::train::statement::StepStatement;

/// A committed dataset and a proven run on it, in a temporary directory.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub data: PathBuf,
    pub run: PathBuf,
}

/// Commits `fixtures/iris.csv` with a fixed secret into `dir/iris`.
pub fn commit_iris(dir: &Path) -> PathBuf {
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris.csv");
    let data = dir.join("iris");
    let opts = CommitOptions {
        secret: Some(DatasetSecret::from_bytes([21; 32])),
        ..CommitOptions::default()
    };
    commit_csv(&iris, &data, &opts).unwrap();
    data
}

/// Commits `fixtures/iris.csv` with a fixed secret and trains [`options`].
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = commit_iris(dir.path());
    let run = dir.path().join("run");
    train(&ParamsCache::locate(None).unwrap(), &run, &options(&data)).unwrap();
    Fixture { dir, data, run }
}

/// The fixture run's options: 4-8-3 on iris, three steps of batch 4.
pub fn options(data: &Path) -> TrainOptions {
    TrainOptions {
        data_dir: data.to_path_buf(),
        model: zkpot::circuits::train::Arch::mlp(vec![4, 8, 3]),
        loss: zkpot::circuits::train::Loss::CrossEntropy,
        lr: 0.25,
        batch: 4,
        steps: 3,
        steps_per_proof: 1,
        seed: 9,
        beacon: Some([5; 32]),
        sampling: Sampling::Shuffle,
        holdout: 0.0,
        release_weights: true,
        prove_later: false,
        observer: Default::default(),
        from_run: None,
        progress: false,
    }
}

/// Copies a run's public files (run.json and proofs) to `dst`.
pub fn copy_run(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.join("proofs")).unwrap();
    std::fs::copy(src.join("run.json"), dst.join("run.json")).unwrap();
    for e in std::fs::read_dir(src.join("proofs")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join("proofs").join(p.file_name().unwrap())).unwrap();
    }
}

/// Proves statement `s` with the given witness parts, returning the envelope.
pub fn prove_with(
    cache: &ParamsCache,
    s: &StepStatement,
    w: StepWitness,
    public: Vec<Fp>,
) -> Envelope {
    let circuit = TrainStepCircuit::new(
        s.spec.clone(),
        s.dataset.layout,
        s.dataset.depth as usize,
        s.steps as usize,
        Some(w),
    )
    .unwrap();
    let params = cache.get(circuit.measure().unwrap().k).unwrap();
    let pk = proving_key(&params, &circuit.describe()).unwrap();
    let proof = prove(&params, &pk, circuit, &public).unwrap();
    s.envelope(public, proof).unwrap()
}

/// Checks the digest of a verifying key against `fixtures/vk/<name>.digest`
/// (Blake2b-256 of the key's pinned description: the constraint system,
/// the fixed and permutation commitments); `ZKPOT_UPDATE_FIXTURES=1`
/// rewrites the file after an intended change.
pub fn assert_pinned(
    name: &str,
    vk: &halo2_proofs::plonk::VerifyingKey<halo2_proofs::pasta::EqAffine>,
) {
    let repr = format!("{:?}", vk.pinned());
    let digest = blake2b_simd::Params::new()
        .hash_length(32)
        .hash(repr.as_bytes())
        .to_hex()
        .to_string();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/vk")
        .join(format!("{name}.digest"));
    if std::env::var_os("ZKPOT_UPDATE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{digest}\n")).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no pinned digest {} (set ZKPOT_UPDATE_FIXTURES=1)",
            path.display()
        )
    });
    assert_eq!(
        pinned.trim(),
        digest,
        "the verifying key of {name} changed; if intended, update the fixture"
    );
}

/// A file of `fixtures/<dir>/`.
pub fn shaped(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir)
        .join(name)
}

/// Options for committing the iris shapes: a fixed secret, `species` as the label.
pub fn species_opts() -> CommitOptions {
    CommitOptions {
        secret: Some(DatasetSecret::from_bytes([3; 32])),
        label_column: Some(Column::Name("species".into())),
        ..CommitOptions::default()
    }
}
