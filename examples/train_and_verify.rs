//! Commit the bundled iris table, train a small MLP with a proof of every
//! step, and verify the run against the commitment, through the library
//! API: `cargo run --release --example train_and_verify [WORKDIR]`.

use std::path::PathBuf;

use zkpot::data::{commit_csv, CommitOptions, Commitment};
use zkpot::params::ParamsCache;
use zkpot::train::run::{parse_model, train, TrainOptions};
use zkpot::verify::{verify_path, Verified};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("zkpot-example-{}", std::process::id())),
    };
    let iris = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris.csv");
    let cache = ParamsCache::locate(None)?;

    // 1. Commit: the root is public, the rows and salts stay in `data/`.
    let data = work.join("data");
    let c: Commitment = commit_csv(&iris, &data, &CommitOptions::default())?;
    println!("committed {} rows, root {}", c.n_rows, c.root);

    // 2. Train with a proof of every step.
    let opts = TrainOptions {
        data_dir: data.clone(),
        model: parse_model("mlp:4-8-3")?,
        loss: zkpot::circuits::train::Loss::CrossEntropy,
        lr: 0.25,
        batch: 8,
        steps: 4,
        steps_per_proof: 1,
        seed: 1,
        from_run: None,
        beacon: Some([7; 32]),
        sampling: zkpot::train::sampling::Sampling::Shuffle,
        holdout: 0.0,
        release_weights: false,
        progress: true,
        prove_later: false,
        observer: Default::default(),
    };
    let run = work.join("run");
    let report = train(&cache, &run, &opts)?;
    println!("proved {} steps in {:.1} s", report.proved, report.prove_s);

    // 3. Verify as a third party would: the run and the published commitment.
    let published = Commitment::read(&data.join("commitment.json"))?;
    match verify_path(&cache, &run, None, Some(&published), false)? {
        Verified::Run { run } => println!(
            "VALID: {} steps on root {}, final weights {}",
            run.steps, run.dataset_root, run.final_commitment
        ),
        other => println!("verified {}", other.kind()),
    }
    Ok(())
}
