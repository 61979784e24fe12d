//! The zkpot command-line tool: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zkpot::params::ParamsCache;

/// Prints a line to stdout through [`terminal_safe`].
macro_rules! say {
    () => { println!() };
    ($($arg:tt)*) => { println!("{}", $crate::terminal_safe(&format!($($arg)*))) };
}

/// Prints a line to stderr through [`terminal_safe`].
macro_rules! say_err {
    ($($arg:tt)*) => { eprintln!("{}", $crate::terminal_safe(&format!($($arg)*))) };
}

mod commands;
mod release;
mod verify;

/// `text` with every control character but newline and tab written as a
/// `\u001b` escape: what zkpot prints includes names and values from files a
/// prover wrote (class names, statements, paths), and raw escape sequences or
/// carriage returns in them could rewrite what a terminal shows, such as a
/// verdict or an accuracy. The escape is JSON's own, so `--json` output
/// stays valid JSON with the same meaning.
fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

use commands::{bench, data, demo, eval, infer, train, EvalSource};
use verify::{inspect, verify};

/// Zero-knowledge proofs of training and inference on committed datasets.
#[derive(Parser)]
#[command(name = "zkpot", version, about)]
struct Cli {
    /// Directory for cached commitment parameters (default: $ZKPOT_CACHE_DIR,
    /// else the user's cache directory).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Generate commitment parameters afresh instead of trusting cached
    /// files (sizes up to k = 16 are always checked against pinned digests;
    /// larger ones only with this flag). Slow for large sizes.
    #[arg(long, global = true)]
    verify_params: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Commit a bundled dataset, train with a held-out split and proofs,
    /// prove the held-out accuracy, write and verify a release folder, and
    /// print a summary: the end-to-end quick start.
    Demo {
        /// Directory for the demo's dataset and run (default: a fresh
        /// temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// SGD steps to train and prove (the default reaches about 80%
        /// held-out accuracy in about a minute and a half of proving).
        #[arg(long, default_value_t = zkpot::demo::DEMO_STEPS)]
        steps: u64,
        /// Do not show progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Train a model on a committed dataset with proofs of every step.
    Train {
        #[command(subcommand)]
        action: Option<TrainAction>,
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Verify a proof file, a training run directory (every proof, batched,
    /// and the chain of commitments), an evaluation directory or a release
    /// folder (every file, proof and document); with a run and an inference
    /// proof, also check the inference used the run's trained model. Exit
    /// status 0 only when valid.
    Verify {
        /// A proof file (.zkpot), a run directory (`zkpot train`), an
        /// evaluation directory (`zkpot eval`) or a release folder (`zkpot
        /// release`).
        path: PathBuf,
        /// With a run: an inference proof to check against its trained model,
        /// the parent run a fine-tuning run started from, or an evaluation of
        /// its held-out rows.
        inference: Option<PathBuf>,
        /// The dataset commitment (commitment.json) as published, obtained
        /// independently of the run: the run must have trained on exactly it.
        #[arg(long)]
        dataset: Option<PathBuf>,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Prove inferences.
    Infer {
        #[command(subcommand)]
        command: InferCommand,
    },
    /// Move trained models out of zkpot.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Show what a proof file states, without verifying it.
    Inspect {
        /// A proof file.
        file: PathBuf,
    },
    /// Commit to datasets and inspect commitments.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Prove the accuracy of a model on committed rows. With --run: the run's
    /// trained model on every held-out row of its split (verify with `zkpot
    /// verify RUN EVAL`). With --model and --data: an imported model (ONNX or
    /// JSON) on a range of a committed dataset, a private benchmark (verify
    /// with `zkpot verify EVAL --dataset commitment.json`). Each row is opened
    /// against the dataset root, the committed model's forward pass and argmax
    /// run on it, and the confusion counts are proven, a few rows a proof.
    Eval {
        /// The training run (its private files are needed for the weights).
        #[arg(long, conflicts_with_all = ["model", "data", "rows", "secret"])]
        run: Option<PathBuf>,
        /// An imported model to score instead: ONNX or zkpot's JSON form. It
        /// reads the rows as committed (normalized, in the dataset's feature
        /// format); its formats are calibrated on the scored rows.
        #[arg(long, requires = "data")]
        model: Option<PathBuf>,
        /// The committed dataset directory (`zkpot data commit`) to score
        /// --model on.
        #[arg(long, requires = "model")]
        data: Option<PathBuf>,
        /// Rows a..b of the dataset to score (default: all).
        #[arg(long, requires = "model")]
        rows: Option<String>,
        /// A 32-byte secret file the weight commitment's salt derives from
        /// (created, mode 0600, if missing). Default: <model>.zkpot-secret.
        #[arg(long, requires = "model")]
        secret: Option<PathBuf>,
        /// With --run: score a sample of this many held-out rows (the first
        /// in the split's pseudorandom order, fixed by the root and the
        /// beacon) instead of all; verification prints a 95% confidence
        /// interval for the whole split.
        #[arg(long, requires = "run")]
        sample: Option<u64>,
        /// Directory for eval.json and the proofs.
        #[arg(long)]
        out: PathBuf,
        /// Rows a proof (default: the most, up to 256, that fit k = 12).
        #[arg(long)]
        rows_per_proof: Option<u64>,
        /// Do not show progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Write a release folder: the run's and the evaluation's public files
    /// and proofs, the dataset commitment, a model card (Hugging Face front
    /// matter) saying what is proven and what is not, a training report with
    /// plots, and an in-toto Statement over all of it. Verify with `zkpot
    /// verify DIR`.
    Release {
        /// The training run (its private files are needed to replay training
        /// for the report).
        #[arg(long)]
        run: PathBuf,
        /// The run's held-out evaluation, written by `zkpot eval`.
        #[arg(long)]
        eval: Option<PathBuf>,
        /// The release folder (must not exist yet).
        #[arg(long)]
        out: PathBuf,
        /// The release's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Measure circuits: rows, k, columns, keygen/prove/verify time, proof size, memory.
    Bench {
        /// Which benchmark to run.
        #[arg(value_enum, default_value = "dense")]
        suite: Suite,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Rows of the synthetic dataset the commit suite commits.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// The inference suite also proves this many inputs of each fixture
        /// model in one proof (1: single inferences only).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
        batch: u16,
        /// The inference suite measures only this fixture model (one of
        /// mlp_4_16_3, mlp_4_16_3_argmax, cnn_8x8, cnn_max_8x8, mlp_784_128_10).
        #[arg(long)]
        model: Option<String>,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Write a run's trained model as a float ONNX model (opset 13) that
    /// takes raw features: the dataset's normalization first, then the
    /// layers, with weights exactly the run's fixed-point values and the
    /// final commitment in its metadata. `zkpot infer prove --model OUT.onnx
    /// --run RUN` proves the file linked to the run.
    Export {
        /// The training run (its private files are needed for the weights).
        #[arg(long)]
        run: PathBuf,
        /// Where to write the ONNX file.
        #[arg(long)]
        onnx: PathBuf,
    },
}

#[derive(Subcommand)]
enum InferCommand {
    /// Prove that an output came from a committed model on an input.
    Prove {
        /// The model: an ONNX file or zkpot's JSON model form. With --run,
        /// a file exported from that run (`zkpot model export`), refused
        /// unless its weights are exactly the run's final weights.
        #[arg(long)]
        model: Option<PathBuf>,
        /// A training run: proves with its trained weights, so the proof
        /// names the run's final commitment (`zkpot verify RUN PROOF` links
        /// them).
        #[arg(long)]
        run: Option<PathBuf>,
        /// The inputs: a JSON array, or {"input_data": [[...], [...], ...]}; several
        /// inputs (up to 256) are proven in one proof that commits the weights once.
        #[arg(long)]
        input: PathBuf,
        /// Calibration inputs for choosing fixed-point scales (default: the inputs).
        #[arg(long)]
        calibrate: Option<PathBuf>,
        /// Input visibility: public, private or committed.
        #[arg(long, default_value = "private")]
        input_visibility: String,
        /// Output visibility: public or committed.
        #[arg(long, default_value = "public")]
        output_visibility: String,
        /// A 32-byte secret file the weight commitment's salt derives from
        /// (created, mode 0600, once the proof exists, if missing; keep it to
        /// prove again under the same commitment). Default:
        /// <model>.zkpot-secret.
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
        /// Do not show progress bars.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Dataset directory written by `zkpot data commit`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Model: mlp:<inputs>-<hidden>...-<classes>, e.g. mlp:64-32-10
    /// (mlp:64-10 is softmax regression), or a CNN:
    /// cnn:<channels>x<height>x<width>-<layers>, e.g.
    /// cnn:1x8x8-c4k3p1-relu-avg2-d10 (c<channels>k<kernel>[p<padding>][s<stride>]
    /// convolutions, relu, avg<n>/max<n> pooling, d<units> dense layers).
    #[arg(long)]
    model: Option<String>,
    /// A JSON training spec with any of the keys model, loss, lr, batch,
    /// steps, epochs, steps_per_proof, seed, sampling, holdout; options given on the
    /// command line override it.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// SGD steps [default: 10].
    #[arg(long, conflicts_with = "epochs")]
    steps: Option<u64>,
    /// Train for this many epochs instead (floor(rows / batch) steps each).
    #[arg(long)]
    epochs: Option<u64>,
    /// Batch size (a power of two) [default: 16].
    #[arg(long)]
    batch: Option<usize>,
    /// Loss: cross-entropy (softmax) or mse [default: cross-entropy].
    #[arg(long)]
    loss: Option<String>,
    /// Learning rate (a multiple of 1/256) [default: 0.5].
    #[arg(long)]
    lr: Option<f64>,
    /// SGD steps per proof [default: 1].
    #[arg(long)]
    steps_per_proof: Option<u64>,
    /// Public initialization seed [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Fine-tune: start from the final weights of this earlier run directory
    /// (same architecture; its weights stay private, its final commitment
    /// becomes this run's C_W0).
    #[arg(long, conflicts_with = "seed")]
    from_run: Option<PathBuf>,
    /// External randomness for batch sampling (64 hex digits), e.g. a
    /// randomness beacon published after the dataset commitment.
    #[arg(long)]
    beacon: Option<String>,
    /// Batch sampling: shuffle (without replacement per epoch) or replacement
    /// [default: shuffle].
    #[arg(long)]
    sampling: Option<String>,
    /// Hold this fraction of the rows out of training (in [0, 1); default
    /// 0): which rows is a function of the dataset's root and the beacon, so
    /// the prover cannot choose them, and no step may train on one.
    #[arg(long)]
    holdout: Option<f64>,
    /// Publish the final weights with the opening of their commitment.
    #[arg(long)]
    release_weights: bool,
    /// Train natively and write the run and its checkpoints, but prove
    /// nothing yet: prove later with `zkpot train prove --run RUN --range
    /// a..b` in any number of processes, or with the Python package's
    /// `zkpot.ray.prove_run` across a Ray cluster.
    #[arg(long)]
    prove_later: bool,
    /// Run directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not show progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum TrainAction {
    /// Prove a range of steps of an existing run (other processes or machines
    /// can prove other ranges of the same run).
    Prove {
        /// The run directory.
        #[arg(long)]
        run: PathBuf,
        /// Steps a..b (the groups starting in it).
        #[arg(long)]
        range: String,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Commit to a CSV (or .csv.gz) dataset: writes <OUT>/commitment.json
    /// (public) and <OUT>/dataset.secret and <OUT>/rows.bin (private, 0600).
    Commit {
        /// The CSV file: a header of names, the form `n_rows,n_features,classes...`,
        /// or no header.
        csv: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Fractional bits of the quantized features (default: 6, or fewer
        /// when the normalized features need the range, with a note)
        #[arg(long)]
        frac_bits: Option<u32>,
        /// Signed bit bound of the quantized features.
        #[arg(long, default_value_t = 8)]
        bits: u32,
        /// Feature normalization: none, minmax or standard.
        #[arg(long, default_value = "minmax")]
        normalize: zkpot::data::NormKind,
        /// Label column: a 0-based index or a header name (default: last).
        #[arg(long)]
        label_column: Option<String>,
        /// Feature columns, in order: names or 0-based indices, comma
        /// separated (default: every column but the label).
        #[arg(long, conflicts_with = "drop")]
        features: Option<String>,
        /// Columns to leave out of the features (names or indices, comma
        /// separated), e.g. an id.
        #[arg(long)]
        drop: Option<String>,
        /// Field delimiter: a single character, or `tab`.
        #[arg(long, default_value = ",")]
        delimiter: String,
        /// Do not show progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Print a dataset commitment.
    Inspect {
        /// A commitment.json file.
        commitment: PathBuf,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Suite {
    /// Dense layers with ReLU: 64->64 and 784->128, batch 1.
    Dense,
    /// One dataset row opening (64 features) at depth 11 (digits) and 20.
    Membership,
    /// Native dataset commitment throughput (64-feature rows).
    Commit,
    /// One SGD step (batch 16) on digits of the 64-32-10 MLP and of a CNN
    /// (3x3 convolution to 4 channels, average or max pooling, dense), with
    /// the proving time of an epoch.
    Training,
    /// One evaluation proof of the 64-32-10 MLP on 16 and 32 digits rows
    /// (rows opened, forward pass, argmax, confusion counts).
    Eval,
    /// Inference of the fixture models (MLP 4-16-3, CNNs on 8x8 with average
    /// and max pooling, MLP 784-128-10) with committed weights and a private
    /// input.
    Inference,
    /// Every suite.
    All,
}

fn run(cli: Cli) -> Result<(), zkpot::Error> {
    let cache = ParamsCache::locate(cli.cache_dir.as_deref())?.regenerating(cli.verify_params);
    match cli.command {
        Command::Demo { dir, steps, quiet } => demo(&cache, dir, steps, quiet)?,
        Command::Train { action, args } => match action {
            Some(TrainAction::Prove { run, range }) => {
                let (a, b) = range
                    .split_once("..")
                    .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                    .ok_or_else(|| {
                        zkpot::Error::Options(format!("range {range:?}: expected a..b"))
                    })?;
                let (n, secs) = zkpot::train::run::prove_range(&cache, &run, a..b, true)?;
                say!("proved {n} step group(s) in {secs:.1} s");
            }
            None => train(&cache, args)?,
        },
        Command::Verify {
            path,
            inference,
            dataset,
            json,
        } => verify(
            &cache,
            &path,
            inference.as_deref(),
            dataset.as_deref(),
            json,
        )?,
        Command::Infer { command } => infer(&cache, command)?,
        Command::Model {
            command: ModelCommand::Export { run, onnx },
        } => {
            let e = zkpot::train::run::export_onnx(&run, &onnx)?;
            say!(
                "wrote {} ({} bytes): the trained model of {}, weights committed as {}",
                e.path.display(),
                e.bytes,
                run.display(),
                e.weights_commitment
            );
        }
        Command::Inspect { file } => inspect(&file)?,
        Command::Data { command } => data(command)?,
        Command::Bench {
            suite,
            json,
            rows,
            batch,
            model,
        } => bench(
            &cache,
            suite,
            json,
            rows,
            usize::from(batch),
            model.as_deref(),
        )?,
        Command::Eval {
            run,
            model,
            data,
            rows,
            secret,
            sample,
            out,
            rows_per_proof,
            quiet,
        } => {
            let opts = zkpot::eval::EvalOptions {
                rows_per_proof,
                progress: !quiet,
                sample,
            };
            let source = match (run, model, data) {
                (Some(run), None, None) => EvalSource::Run(run),
                (None, Some(model), Some(data)) => EvalSource::Model {
                    model,
                    data,
                    rows,
                    secret,
                },
                _ => {
                    return Err(zkpot::Error::Options(
                        "give --run RUN, or --model MODEL with --data DATASET".into(),
                    ))
                }
            };
            eval(&cache, source, &out, &opts)?
        }
        Command::Release {
            run,
            eval,
            out,
            name,
        } => release::release(&cache, &run, eval.as_deref(), &out, name)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say_err!("zkpot: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("accuracy 90%\n\tok"), "accuracy 90%\n\tok");
        assert_eq!(
            terminal_safe("a\u{1b}[6A\rb\u{9b}c"),
            "a\\u001b[6A\\u000db\\u009bc"
        );
    }
}
