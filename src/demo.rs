//! The end-to-end quick start: commit the bundled digits dataset, train a
//! classifier with a held-out split and a proof of every step, verify the
//! run, prove its held-out accuracy and one inference linked to the run,
//! write a release folder, verify it, and summarize.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::data::{commit_csv, CommitOptions, Dataset};
use crate::eval::{evaluate_run, verify_run_eval, EvalOptions};
use crate::params::ParamsCache;
use crate::release::{verify_release, write_release, ReleaseOptions};
use crate::train::run::report::training_report;
use crate::train::run::{train, verify_run_against, TrainOptions};
use crate::train::sampling::Sampling;
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
    /// Where the dataset, run, evaluation and release were written.
    pub dir: String,
    /// Rows committed.
    pub rows: u64,
    /// The dataset root.
    pub root: String,
    /// Layer widths.
    pub widths: Vec<usize>,
    /// The learning rate.
    pub lr: f64,
    /// Steps trained and proven.
    pub steps: u64,
    /// Rows held out of training.
    pub holdout: u64,
    /// Held-out accuracy of the initial model (not proven).
    pub accuracy_before: f64,
    /// Proven held-out accuracy of the trained model.
    pub accuracy_proven: f64,
    /// Correct held-out rows, proven.
    pub correct: u64,
    /// Held-out accuracy of the float reference trained on the same batches
    /// (not proven).
    pub accuracy_float: f64,
    /// Seconds to commit the dataset.
    pub commit_s: f64,
    /// Seconds of proving (all steps).
    pub prove_s: f64,
    /// Seconds of the whole training command (keys, native training, proofs).
    pub train_s: f64,
    /// Seconds to verify the run.
    pub verify_s: f64,
    /// Total proof bytes of the run.
    pub proof_bytes: u64,
    /// The final model commitment.
    pub final_commitment: String,
    /// Evaluation proofs.
    pub eval_proofs: usize,
    /// Seconds of proving the evaluation.
    pub eval_prove_s: f64,
    /// Seconds to verify the evaluation and its link to the run.
    pub eval_verify_s: f64,
    /// The class the proven inference gave for the first row.
    pub inference_class: usize,
    /// That row's label.
    pub inference_label: usize,
    /// Seconds to prove the inference (keys included).
    pub inference_s: f64,
    /// Seconds to verify the inference and its link to the run.
    pub link_s: f64,
    /// The release folder.
    pub release: String,
    /// Files in the release.
    pub release_files: usize,
    /// Seconds to verify the whole release.
    pub release_verify_s: f64,
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
                    "MLP {:?} (softmax regression), cross-entropy, batch 16, lr {}",
                    self.widths, self.lr
                ),
            ),
            (
                "split",
                format!(
                    "{} rows held out by the root and the beacon, never trained on",
                    self.holdout
                ),
            ),
            ("steps proven", format!("{}", self.steps)),
            (
                "held-out acc.",
                format!(
                    "{:.1}% proven ({} of {} rows; {:.1}% before training); float reference \
                     {:.1}% (not proven)",
                    100.0 * self.accuracy_proven,
                    self.correct,
                    self.holdout,
                    100.0 * self.accuracy_before,
                    100.0 * self.accuracy_float
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
                "evaluation",
                format!(
                    "{} proofs in {:.1} s, verified with the run in {:.2} s",
                    self.eval_proofs, self.eval_prove_s, self.eval_verify_s
                ),
            ),
            (
                "inference",
                format!(
                    "row 0 (label {}) -> class {}, proven in {:.1} s, linked to the run in {:.2} s",
                    self.inference_label, self.inference_class, self.inference_s, self.link_s
                ),
            ),
            (
                "release",
                format!(
                    "{} ({} files: model card, in-toto statement, report, proofs), verified in {:.2} s",
                    self.release, self.release_files, self.release_verify_s
                ),
            ),
        ];
        let mut out = String::from("zkpot demo: proof of training and of held-out accuracy\n");
        for (k, v) in rows {
            out.push_str(&format!("  {k:<14} {v}\n"));
        }
        out.push_str(&format!(
            "  verdict        VALID: zkpot verify {}",
            self.release
        ));
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

/// The demo's model: softmax regression, which learns digits fastest for
/// its proving time (a step's proof costs about the same as a 64-32-10
/// MLP's: the row openings dominate).
pub const DEMO_WIDTHS: [usize; 2] = [64, 10];
/// The demo's learning rate.
pub const DEMO_LR: f64 = 0.75;
/// The demo's default steps: about 80 % held-out accuracy.
pub const DEMO_STEPS: u64 = 18;
/// The fraction of rows the demo holds out.
pub const DEMO_HOLDOUT: f64 = 0.2;

/// Runs the demo in `dir` (a fresh temporary directory if `None`): commits
/// the bundled digits, trains with a held-out split and a proof of every
/// step, verifies the run, proves and verifies the held-out accuracy and one
/// linked inference, and writes and verifies a release folder.
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
    let release_dir = dir.join("release");
    if release_dir.exists() || dir.join("digits").join("commitment.json").exists() {
        return Err(Error::Options(format!(
            "{} holds an earlier demo; give a new --dir",
            dir.display()
        )));
    }
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

    let widths = DEMO_WIDTHS.to_vec();
    let opts = TrainOptions {
        data_dir: data_dir.clone(),
        model: zkpot_circuits::train::Arch::mlp(widths.clone()),
        loss: zkpot_circuits::train::Loss::CrossEntropy,
        lr: DEMO_LR,
        batch: 16,
        steps,
        steps_per_proof: 1,
        seed: 0,
        from_run: None,
        beacon: Some(DEMO_BEACON),
        sampling: Sampling::Shuffle,
        holdout: DEMO_HOLDOUT,
        release_weights: false,
        prove_later: false,
        observer: Default::default(),
        progress,
    };
    let run_dir = dir.join("run");
    let t = Instant::now();
    let report = train(cache, &run_dir, &opts)?;
    let train_s = t.elapsed().as_secs_f64();
    // Verified against the commitment published before training.
    let verdict = verify_run_against(cache, &run_dir, Some(&c))?;

    // The held-out accuracy, proven and verified with its link to the run.
    let eval_dir = dir.join("eval");
    let eval = evaluate_run(
        cache,
        &run_dir,
        &eval_dir,
        &EvalOptions {
            rows_per_proof: None,
            progress,
            sample: None,
        },
    )?;
    let t = Instant::now();
    let (_, ev) = verify_run_eval(cache, &run_dir, &eval_dir, Some(&c))?;
    let eval_verify_s = t.elapsed().as_secs_f64();

    // One inference of the trained model, private input, public output,
    // checked against the run's final commitment.
    let data = Dataset::load(&data_dir)?;
    let row0 = data.row(0)?;
    let spec = &report.run.spec;
    let t = Instant::now();
    let (model, _) = crate::train::run::trained_model(&run_dir)?;
    let prover = model.keygen(
        cache,
        zkpot_circuits::infer::Visibility::Private,
        zkpot_circuits::infer::Visibility::Public,
    )?;
    let proof = prover.prove_quantized(row0[..spec.widths[0]].to_vec())?;
    let inference_s = t.elapsed().as_secs_f64();
    let path = dir.join("inference-row0.zkpot");
    std::fs::write(&path, proof.envelope.to_bytes()).map_err(io)?;
    let t = Instant::now();
    crate::train::run::verify_linked(cache, &run_dir, &proof.envelope, Some(&c))?;
    let link_s = t.elapsed().as_secs_f64();

    // The release: everything above in one verifiable folder.
    let rel = write_release(
        cache,
        &run_dir,
        Some(&eval_dir),
        &release_dir,
        &ReleaseOptions {
            name: Some("zkpot-demo-digits".into()),
        },
    )?;
    let t = Instant::now();
    verify_release(cache, &release_dir, Some(&c))?;
    let release_verify_s = t.elapsed().as_secs_f64();
    let curve = training_report(&run_dir)?;
    let first = curve.accuracy.first().map_or(0.0, |p| p.fixed);
    let float = curve.final_accuracy().map_or(0.0, |p| p.float);
    Ok(DemoReport {
        dir: dir.display().to_string(),
        rows: c.n_rows,
        root: c.root,
        widths,
        lr: DEMO_LR,
        steps,
        holdout: verdict.holdout,
        accuracy_before: first,
        accuracy_proven: ev.accuracy,
        correct: ev.correct,
        accuracy_float: float,
        commit_s,
        prove_s: report.prove_s,
        train_s,
        verify_s: verdict.verify_s,
        proof_bytes: report.proof_bytes,
        final_commitment: verdict.final_commitment,
        eval_proofs: eval.file.proofs.len(),
        eval_prove_s: eval.prove_s,
        eval_verify_s,
        inference_class: proof.first()?.class,
        inference_label: row0.get(spec.widths[0]).copied().unwrap_or(0) as usize,
        inference_s,
        link_s,
        release: release_dir.display().to_string(),
        release_files: rel.files,
        release_verify_s,
    })
}
