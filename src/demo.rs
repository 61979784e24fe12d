//! The end-to-end quick start: commit the bundled digits dataset, train an MLP
//! for a few steps with a proof of every step, verify the run, prove one
//! inference of the trained model linked to the run, and summarize.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::data::{commit_csv, CommitOptions, Dataset};
use crate::params::ParamsCache;
use crate::train::run::{train, verify_run_against, TrainOptions};
use crate::train::sampling::Sampling;
use crate::train::trainer::accuracy_fixed;
use crate::Error;

/// The digits dataset (1,797 8x8 images, 10 classes), bundled in the binary.
const DIGITS: &[u8] = include_bytes!("../fixtures/digits.csv.gz");

/// A fixed public beacon for the demo (a real run takes one published after the
/// dataset commitment).
const DEMO_BEACON: [u8; 32] = *b"zkpot demo beacon, fixed, public";
/// The demo's dataset secret, fixed so that every demo run commits, samples
/// and trains identically (a real commitment draws a fresh secret).
const DEMO_SECRET: [u8; 32] = *b"zkpot demo secret, fixed, public";

/// What the demo did.
#[derive(Clone, Debug, Serialize)]
pub struct DemoReport {
    /// Where the dataset and run were written.
    pub dir: String,
    /// Rows committed.
    pub rows: u64,
    /// The dataset root.
    pub root: String,
    /// Layer widths.
    pub widths: Vec<usize>,
    /// Steps trained and proven.
    pub steps: u64,
    /// Accuracy of the initial model on the dataset.
    pub accuracy_before: f64,
    /// Accuracy of the proven model on the dataset.
    pub accuracy_after: f64,
    /// Seconds to commit the dataset.
    pub commit_s: f64,
    /// Seconds of proving (all steps).
    pub prove_s: f64,
    /// Seconds of the whole training command (keys, native training, proofs).
    pub train_s: f64,
    /// Seconds to verify the run.
    pub verify_s: f64,
    /// Total proof bytes.
    pub proof_bytes: u64,
    /// The final model commitment.
    pub final_commitment: String,
    /// The class the proven inference gave for the first row.
    pub inference_class: usize,
    /// That row's label.
    pub inference_label: usize,
    /// Seconds to prove the inference (keys included).
    pub inference_s: f64,
    /// Seconds to verify the inference and its link to the run.
    pub link_s: f64,
}

impl DemoReport {
    /// A human-readable summary table.
    pub fn table(&self) -> String {
        let rows = [
            (
                "dataset",
                format!("digits, {} rows, root {}", self.rows, short(&self.root)),
            ),
            (
                "model",
                format!(
                    "MLP {:?}, softmax cross-entropy, batch 16, lr 0.5",
                    self.widths
                ),
            ),
            ("steps proven", format!("{}", self.steps)),
            (
                "accuracy",
                format!(
                    "{:.1}% -> {:.1}% (on the committed rows)",
                    100.0 * self.accuracy_before,
                    100.0 * self.accuracy_after
                ),
            ),
            ("commit", format!("{:.2} s", self.commit_s)),
            (
                "prove",
                format!(
                    "{:.1} s ({:.1} s a step; {:.1} s with keys and training)",
                    self.prove_s,
                    self.prove_s / self.steps.max(1) as f64,
                    self.train_s
                ),
            ),
            (
                "verify",
                format!("{:.2} s, all steps batched", self.verify_s),
            ),
            ("proof bytes", format!("{}", self.proof_bytes)),
            ("final model", short(&self.final_commitment)),
            (
                "inference",
                format!(
                    "row 0 (label {}) -> class {}, proven in {:.1} s, linked to the run in {:.2} s",
                    self.inference_label, self.inference_class, self.inference_s, self.link_s
                ),
            ),
            ("written to", self.dir.clone()),
        ];
        let mut out = String::from("zkpot demo: proof of training\n");
        for (k, v) in rows {
            out.push_str(&format!("  {k:<14} {v}\n"));
        }
        out.push_str("  verdict        VALID");
        out
    }
}

fn short(hex: &str) -> String {
    if hex.len() > 18 {
        format!("{}..{}", &hex[..10], &hex[hex.len() - 6..])
    } else {
        hex.to_string()
    }
}

/// Runs the demo in `dir` (a fresh temporary directory if `None`).
pub fn run_demo(
    cache: &ParamsCache,
    dir: Option<&Path>,
    steps: u64,
    progress: bool,
) -> Result<DemoReport, Error> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("zkpot-demo-{}", std::process::id())),
    };
    let io = |e: std::io::Error| crate::data::DataError::Io {
        path: dir.clone(),
        source: e,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let csv = dir.join("digits.csv.gz");
    std::fs::write(&csv, DIGITS).map_err(io)?;

    let t = Instant::now();
    let data_dir = dir.join("digits");
    let c = commit_csv(
        &csv,
        &data_dir,
        &CommitOptions {
            progress,
            secret: Some(crate::data::DatasetSecret::from_bytes(DEMO_SECRET)),
            ..CommitOptions::default()
        },
    )?;
    let commit_s = t.elapsed().as_secs_f64();

    let widths = vec![64, 32, 10];
    let opts = TrainOptions {
        data_dir: data_dir.clone(),
        widths: widths.clone(),
        loss: zkpot_circuits::train::Loss::CrossEntropy,
        lr: 0.5,
        batch: 16,
        steps,
        steps_per_proof: 1,
        seed: 0,
        from_run: None,
        beacon: Some(DEMO_BEACON),
        sampling: Sampling::Shuffle,
        holdout: 0.0,
        release_weights: false,
        progress,
    };
    let run_dir = dir.join("run");
    let t = Instant::now();
    let report = train(cache, &run_dir, &opts)?;
    let train_s = t.elapsed().as_secs_f64();
    // Verified against the commitment published before training.
    let verdict = verify_run_against(cache, &run_dir, Some(&c))?;

    let data = Dataset::load(&data_dir)?;
    let rows: Vec<Vec<i64>> = (0..data.n_rows())
        .map(|i| data.row(i))
        .collect::<Result<_, _>>()?;
    let spec = &report.run.spec;
    let before = zkpot_circuits::train::init_params(spec, opts.seed);

    // One inference of the trained model, private input, public output,
    // checked against the run's final commitment.
    let t = Instant::now();
    let (model, _) = crate::train::run::trained_model(&run_dir)?;
    let prover = model.keygen(
        cache,
        zkpot_circuits::infer::Visibility::Private,
        zkpot_circuits::infer::Visibility::Public,
    )?;
    let row0 = rows.first().cloned().unwrap_or_default();
    let proof = prover.prove_quantized(row0[..spec.widths[0]].to_vec())?;
    let inference_s = t.elapsed().as_secs_f64();
    let path = run_dir.join("inference-row0.zkpot");
    std::fs::write(&path, proof.envelope.to_bytes()).map_err(io)?;
    let t = Instant::now();
    crate::train::run::verify_linked(cache, &run_dir, &proof.envelope, Some(&c))?;
    let link_s = t.elapsed().as_secs_f64();
    Ok(DemoReport {
        dir: dir.display().to_string(),
        rows: c.n_rows,
        root: c.root,
        widths,
        steps,
        accuracy_before: accuracy_fixed(spec, &before, &rows)?,
        accuracy_after: accuracy_fixed(spec, &report.final_params, &rows)?,
        commit_s,
        prove_s: report.prove_s,
        train_s,
        verify_s: verdict.verify_s,
        proof_bytes: report.proof_bytes,
        final_commitment: verdict.final_commitment,
        inference_class: proof.class,
        inference_label: row0.get(spec.widths[0]).copied().unwrap_or(0) as usize,
        inference_s,
        link_s,
    })
}
