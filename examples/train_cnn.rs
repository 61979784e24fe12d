//! Commit the bundled digits (8x8 images), train a small convolutional
//! network with a proof of every step, and verify the run against the
//! commitment: `cargo run --release --example train_cnn [WORKDIR]`.

use std::path::PathBuf;

use zkpot::data::{commit_csv, CommitOptions, Commitment};
use zkpot::params::ParamsCache;
use zkpot::train::run::{parse_model, train, TrainOptions};
use zkpot::verify::{verify_path, Verified};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = match std::env::args().nth(1) {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("zkpot-cnn-example-{}", std::process::id())),
    };
    let digits = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits.csv.gz");
    let cache = ParamsCache::locate(None)?;

    // 1. Commit: each row is 64 pixels and a label; the root is public.
    let data = work.join("data");
    let c: Commitment = commit_csv(&digits, &data, &CommitOptions::default())?;
    println!("committed {} rows, root {}", c.n_rows, c.root);

    // 2. A 3x3 convolution to 4 channels with padding 1, ReLU, 2x2 average
    //    pooling and a dense layer to the 10 classes, each step proven.
    let opts = TrainOptions {
        data_dir: data.clone(),
        model: parse_model("cnn:1x8x8-c4k3p1-relu-avg2-d10")?,
        loss: zkpot::circuits::train::Loss::CrossEntropy,
        lr: 0.5,
        batch: 8,
        steps: 2,
        steps_per_proof: 1,
        seed: 1,
        from_run: None,
        beacon: Some([9; 32]),
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

    // 3. Verify as a third party would.
    let published = Commitment::read(&data.join("commitment.json"))?;
    match verify_path(&cache, &run, None, Some(&published), false)? {
        Verified::Run { run } => println!(
            "VALID: {} steps of {} on root {}, final weights {}",
            run.steps,
            run.spec.arch(),
            run.dataset_root,
            run.final_commitment
        ),
        other => println!("verified {}", other.kind()),
    }
    Ok(())
}
