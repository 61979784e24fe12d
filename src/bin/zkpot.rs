//! The zkpot command-line tool: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zkpot::bench::{bench_dense, BenchReport};
use zkpot::params::ParamsCache;

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
    /// Commit a bundled dataset, train a small MLP with proofs, verify the run
    /// and print a summary: the end-to-end quick start.
    Demo {
        /// Directory for the demo's dataset and run (default: a fresh
        /// temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// SGD steps to train and prove (a few steps only begin to learn;
        /// `zkpot train` runs longer).
        #[arg(long, default_value_t = 4)]
        steps: u64,
    },
    /// Train a model on a committed dataset with proofs of every step.
    Train {
        #[command(subcommand)]
        action: Option<TrainAction>,
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Verify a proof file or a training run directory (every proof, batched,
    /// and the chain of commitments); with a run and an inference proof, also
    /// check the inference used the run's trained model. Exit status 0 only
    /// when valid.
    Verify {
        /// A proof file (.zkpot) or a run directory written by `zkpot train`.
        path: PathBuf,
        /// An inference proof to check against the run's trained model, or
        /// the parent run a fine-tuning run started from.
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
    },
}

#[derive(Subcommand)]
enum InferCommand {
    /// Prove that an output came from a committed model on an input.
    Prove {
        /// The model: an ONNX file or zkpot's JSON model form.
        #[arg(long, conflicts_with = "run")]
        model: Option<PathBuf>,
        /// Instead of --model, a training run: proves with its trained weights, so
        /// the proof names the run's final commitment.
        #[arg(long)]
        run: Option<PathBuf>,
        /// The input: a JSON nested array, or {"input_data": [[...]]} (first input).
        #[arg(long)]
        input: PathBuf,
        /// Calibration inputs for choosing fixed-point scales (default: the input).
        #[arg(long)]
        calibrate: Option<PathBuf>,
        /// Input visibility: public, private or committed.
        #[arg(long, default_value = "private")]
        input_visibility: String,
        /// Output visibility: public or committed.
        #[arg(long, default_value = "public")]
        output_visibility: String,
        /// A 32-byte secret file the weight commitment's salt derives from
        /// (created, mode 0600, if missing; keep it to prove again under the
        /// same commitment). Default: <model>.zkpot-secret.
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Dataset directory written by `zkpot data commit`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Model: mlp:<inputs>-<hidden>...-<classes>, e.g. mlp:64-32-10
    /// (mlp:64-10 is softmax regression).
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
        /// Fractional bits of the quantized features.
        #[arg(long, default_value_t = 6)]
        frac_bits: u32,
        /// Signed bit bound of the quantized features.
        #[arg(long, default_value_t = 8)]
        bits: u32,
        /// Feature normalization: none, minmax or standard.
        #[arg(long, default_value = "minmax")]
        normalize: zkpot::data::NormKind,
        /// Label column: a 0-based index or a header name (default: last).
        #[arg(long)]
        label_column: Option<String>,
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
    /// One SGD step (batch 16) of the 64-32-10 MLP on digits.
    Training,
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
        Command::Demo { dir, steps } => demo(&cache, dir, steps)?,
        Command::Train { action, args } => match action {
            Some(TrainAction::Prove { run, range }) => {
                let (a, b) = range
                    .split_once("..")
                    .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                    .ok_or_else(|| {
                        zkpot::Error::Options(format!("range {range:?}: expected a..b"))
                    })?;
                let (n, secs) = zkpot::train::run::prove_range(&cache, &run, a..b, true)?;
                println!("proved {n} step group(s) in {secs:.1} s");
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
        Command::Inspect { file } => inspect(&file)?,
        Command::Data { command } => data(command)?,
        Command::Bench { suite, json, rows } => bench(&cache, suite, json, rows)?,
    }
    Ok(())
}

fn train(cache: &ParamsCache, a: TrainArgs) -> Result<(), zkpot::Error> {
    use zkpot::train::run::{parse_model, train, TrainOptions};
    use zkpot::train::sampling::Sampling;
    let missing = |what: &str| zkpot::Error::Options(format!("zkpot train needs --{what}"));
    let file = match &a.spec {
        Some(p) => zkpot::train::spec_file::SpecFile::read(p)?,
        None => Default::default(),
    };
    let beacon = match &a.beacon {
        Some(h) => Some(
            zkpot::train::statement::parse_bytes32(h)
                .ok_or_else(|| zkpot::Error::Options("--beacon must be 64 hex digits".into()))?,
        ),
        None => None,
    };
    let sampling = match a
        .sampling
        .or(file.sampling)
        .unwrap_or_else(|| "shuffle".into())
        .as_str()
    {
        "shuffle" => Sampling::Shuffle,
        "replacement" => Sampling::Replacement,
        other => return Err(zkpot::Error::Options(format!("unknown sampling {other:?}"))),
    };
    let loss = match a
        .loss
        .or(file.loss)
        .unwrap_or_else(|| "cross-entropy".into())
        .as_str()
    {
        "cross-entropy" | "ce" => zkpot::circuits::train::Loss::CrossEntropy,
        "mse" => zkpot::circuits::train::Loss::Mse,
        other => {
            return Err(zkpot::Error::Options(format!(
                "unknown loss {other:?} (cross-entropy, mse)"
            )))
        }
    };
    let data_dir = a.data.ok_or_else(|| missing("data"))?;
    let batch = a.batch.or(file.batch).unwrap_or(16);
    let holdout = a.holdout.or(file.holdout).unwrap_or(0.0);
    // Epochs become steps once the dataset's size is known.
    let steps = match (a.steps, a.epochs, file.steps, file.epochs) {
        (Some(s), _, _, _) => s,
        (None, Some(e), _, _) | (None, None, None, Some(e)) => {
            let c = zkpot::data::Commitment::read(&data_dir.join("commitment.json"))?;
            let train_rows = c.n_rows - zkpot::train::run::holdout_rows(c.n_rows, holdout)?;
            let per_epoch = train_rows / (batch.max(1) as u64);
            if per_epoch == 0 {
                return Err(zkpot::Error::Options(
                    "the batch is larger than the dataset".into(),
                ));
            }
            e.checked_mul(per_epoch)
                .ok_or_else(|| zkpot::Error::Options("too many epochs".into()))?
        }
        (None, None, Some(s), _) => s,
        (None, None, None, None) => 10,
    };
    let model = a.model.or(file.model).ok_or_else(|| missing("model"))?;
    let opts = TrainOptions {
        loss,
        data_dir,
        widths: parse_model(&model)?,
        lr: a.lr.or(file.lr).unwrap_or(0.5),
        batch,
        steps,
        steps_per_proof: a.steps_per_proof.or(file.steps_per_proof).unwrap_or(1),
        seed: a.seed.or(file.seed).unwrap_or(0),
        from_run: a.from_run,
        beacon,
        sampling,
        holdout,
        release_weights: a.release_weights,
        progress: !a.quiet,
    };
    let out = a.out.ok_or_else(|| missing("out"))?;
    if beacon.is_none() {
        eprintln!(
            "zkpot: warning: no --beacon given; batches are derived from the commitments, \
             which lets a prover who can vary its secrets grind for favourable batches"
        );
    }
    let r = train(cache, &out, &opts)?;
    println!(
        "trained {} steps; {} proof(s) created in {:.1} s ({} already present); {} proof bytes",
        r.run.steps,
        r.proved,
        r.prove_s,
        r.run.proofs.len() - r.proved,
        r.proof_bytes
    );
    println!(
        "final model commitment {}",
        r.run.chain.last().cloned().unwrap_or_default()
    );
    println!("run written to {}", out.display());
    Ok(())
}

fn read_envelope(path: &std::path::Path) -> Result<zkpot::proof::Envelope, zkpot::Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| zkpot::Error::Options(format!("{}: {e}", path.display())))?;
    Ok(zkpot::proof::Envelope::from_bytes(&bytes)?)
}

fn print_inference(s: &zkpot::infer::InferenceStatement) {
    println!(
        "  model            {} layers, input {}, weights {}, activations {}",
        s.model.layers.len(),
        s.model.input,
        s.model.weight,
        s.model.activation
    );
    println!("  weights (C_W)    {}", s.weights_commitment);
    // Printed by visibility: a verified statement shows exactly what its
    // visibilities say (InferenceStatement::from_bytes checks it).
    use zkpot::circuits::infer::Visibility;
    match (s.input, &s.input_values, &s.input_commitment) {
        (Visibility::Public, Some(v), _) => {
            println!("  input            public, {} values", v.len())
        }
        (Visibility::Committed, _, Some(c)) => println!("  input            committed {c}"),
        _ => println!("  input            private"),
    }
    let values = (s.output == Visibility::Public)
        .then_some(s.output_values.as_ref())
        .flatten();
    let commitment = (s.output == Visibility::Committed)
        .then_some(s.output_commitment.as_ref())
        .flatten();
    match (values, commitment) {
        (Some(v), _) if s.model.ends_in_argmax() => {
            println!(
                "  output           class {}",
                v.first().copied().unwrap_or(0)
            );
        }
        (Some(v), _) => {
            let f = s.model.activation;
            let real: Vec<String> = v
                .iter()
                .map(|x| format!("{:.4}", f.dequantize(*x)))
                .collect();
            let best = v
                .iter()
                .enumerate()
                .max_by_key(|(i, x)| (**x, std::cmp::Reverse(*i)))
                .map_or(0, |(i, _)| i);
            println!("  output           [{}] (argmax {best})", real.join(", "));
        }
        (_, Some(c)) => println!("  output           committed {c}"),
        _ => {}
    }
}

fn infer(cache: &ParamsCache, command: InferCommand) -> Result<(), zkpot::Error> {
    use zkpot::circuits::infer::Visibility;
    use zkpot::infer::LoadedModel;
    let InferCommand::Prove {
        model,
        run,
        input,
        calibrate,
        input_visibility,
        output_visibility,
        secret,
        out,
    } = command;
    let vis = |s: &str| match s {
        "public" => Ok(Visibility::Public),
        "private" => Ok(Visibility::Private),
        "committed" => Ok(Visibility::Committed),
        other => Err(zkpot::Error::Options(format!(
            "unknown visibility {other:?} (public, private, committed)"
        ))),
    };
    let (iv, ov) = (vis(&input_visibility)?, vis(&output_visibility)?);
    let read = |p: &std::path::Path| -> Result<Vec<Vec<f64>>, zkpot::Error> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| zkpot::Error::Options(format!("{}: {e}", p.display())))?;
        Ok(zkpot::model::read_inputs(&text)?)
    };
    let x = read(&input)?
        .into_iter()
        .next()
        .ok_or_else(|| zkpot::Error::Options("the input file holds no input".into()))?;
    let (loaded, x) = match (model, run) {
        (Some(m), None) => {
            let secret_path = secret.unwrap_or_else(|| m.with_extension("zkpot-secret"));
            let key = zkpot::infer::prover::load_or_create_secret(&secret_path)?;
            let cal = match calibrate {
                Some(c) => read(&c)?,
                None => vec![x.clone()],
            };
            let l = LoadedModel::load(&m, &cal, &key)?;
            if let Some(r) = &l.report {
                println!(
                    "quantization on {} calibration input(s): max |error| {:.5}, mean |error| {:.5}, top-1 agreement {:.1}%",
                    r.samples, r.max_abs_error, r.mean_abs_error, 100.0 * r.top1_agreement
                );
            }
            (l, x)
        }
        (None, Some(r)) => {
            let (l, schema) = zkpot::train::run::trained_model(&r)?;
            // Raw features are normalized as the dataset's were.
            let n = &schema.normalization;
            if x.len() != n.offset.len() {
                return Err(zkpot::Error::Options(format!(
                    "the input has {} features, the dataset {}",
                    x.len(),
                    n.offset.len()
                )));
            }
            let x = x
                .iter()
                .enumerate()
                .map(|(j, v)| (v - n.offset[j]) * n.scale[j])
                .collect();
            (l, x)
        }
        _ => return Err(zkpot::Error::Options("give --model or --run".into())),
    };
    let start = std::time::Instant::now();
    let prover = loaded.keygen_with_progress(cache, iv, ov, true)?;
    let keygen_s = start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    let bar = zkpot::progress::spinner(true, format!("proving at k = {}", prover.k()));
    let proof = prover.prove(&x);
    bar.finish_and_clear();
    let proof = proof?;
    let prove_s = start.elapsed().as_secs_f64();
    let bytes = proof.envelope.to_bytes();
    std::fs::write(&out, &bytes)
        .map_err(|e| zkpot::Error::Options(format!("{}: {e}", out.display())))?;
    println!(
        "proved at k = {} (keys {:.2} s, proof {:.2} s): class {}; {} bytes written to {}",
        prover.k(),
        keygen_s,
        prove_s,
        proof.class,
        bytes.len(),
        out.display()
    );
    Ok(())
}

fn inspect(file: &std::path::Path) -> Result<(), zkpot::Error> {
    let e = read_envelope(file)?;
    println!(
        "zkpot proof, format version {}, kind {:?}",
        zkpot::proof::ENVELOPE_VERSION,
        e.kind
    );
    println!(
        "  statement {} bytes, {} public inputs, proof {} bytes (not verified)",
        e.statement.len(),
        e.public_inputs.len(),
        e.proof.len()
    );
    match e.kind {
        zkpot::proof::StatementKind::Inference => {
            print_inference(&zkpot::infer::InferenceStatement::from_bytes(&e.statement)?)
        }
        zkpot::proof::StatementKind::TrainingStep => {
            let s = zkpot::train::statement::StepStatement::from_bytes(&e.statement)?;
            println!(
                "  steps {}..{} of mlp {:?} on dataset {}",
                s.first_step,
                s.first_step + s.steps,
                s.spec.widths,
                s.dataset.root
            );
            println!("  {} -> {}", s.c_in, s.c_out);
        }
        zkpot::proof::StatementKind::Membership => {}
    }
    Ok(())
}

fn verify(
    cache: &ParamsCache,
    path: &std::path::Path,
    inference: Option<&std::path::Path>,
    dataset: Option<&std::path::Path>,
    json: bool,
) -> Result<(), zkpot::Error> {
    let published = dataset.map(zkpot::data::Commitment::read).transpose()?;
    if path.is_file() {
        if published.is_some() {
            return Err(zkpot::Error::Options(
                "--dataset checks a training run directory, not a proof file".into(),
            ));
        }
        let e = read_envelope(path)?;
        let start = std::time::Instant::now();
        match e.kind {
            zkpot::proof::StatementKind::Inference => {
                let (mut s, timing) =
                    zkpot::infer::verify_inferences_timed(cache, std::slice::from_ref(&e), !json)?;
                let s = s.pop().ok_or(zkpot::Error::Internal("no statement"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                } else {
                    println!(
                        "VALID proof of inference (verified in {:.3} s: verifying key rebuilt \
                         from the statement in {:.3} s, proof checked in {:.3} s)",
                        start.elapsed().as_secs_f64(),
                        timing.keys,
                        timing.check
                    );
                    print_inference(&s);
                }
            }
            zkpot::proof::StatementKind::TrainingStep => {
                let s = zkpot::train::statement::verify_steps(cache, std::slice::from_ref(&e))?
                    .pop()
                    .ok_or(zkpot::Error::Internal("no statement"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                } else {
                    println!(
                        "VALID proof of training steps {}..{} ({:.3} s)",
                        s.first_step,
                        s.first_step + s.steps,
                        start.elapsed().as_secs_f64()
                    );
                }
            }
            zkpot::proof::StatementKind::Membership => {
                return Err(zkpot::Error::Options(
                    "membership proofs are verified through the library".into(),
                ))
            }
        }
        return Ok(());
    }
    let run = path;
    if let Some(parent) = inference.filter(|p| p.is_dir()) {
        let (c, p) = zkpot::train::run::verify_parent(cache, run, parent, published.as_ref())?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"run": c, "parent": p}))
                    .unwrap_or_default()
            );
        } else {
            println!(
                "VALID: {} fine-tuned the model {} trained ({} + {} proven steps)",
                run.display(),
                parent.display(),
                p.steps,
                c.steps
            );
            println!("  checkpoint       {}", c.initial_commitment);
            println!("  final weights    {}", c.final_commitment);
        }
        return Ok(());
    }
    if let Some(i) = inference {
        let e = read_envelope(i)?;
        let (v, s) = zkpot::train::run::verify_linked(cache, run, &e, published.as_ref())?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"run": v, "inference": s}))
                    .unwrap_or_default()
            );
        } else {
            println!(
                "VALID: the inference came from the model this run trained ({} proven steps)",
                v.steps
            );
            println!("  final weights    {}", v.final_commitment);
            print_inference(&s);
        }
        return Ok(());
    }
    let v = zkpot::train::run::verify_run_against(cache, run, published.as_ref())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!(
        "VALID proof of training ({} proofs, verified in {:.2} s)",
        v.proofs, v.verify_s
    );
    println!(
        "  dataset root     {} ({} rows, depth {}, features {}){}",
        v.dataset_root,
        v.n_rows,
        v.depth,
        v.data_format,
        if v.dataset_checked {
            ", the given commitment"
        } else {
            ": compare it with the published commitment, or pass --dataset"
        }
    );
    println!(
        "  model            mlp {:?}, {:?} loss, lr {}, batch {}",
        v.spec.widths,
        v.spec.loss,
        v.spec.lr(),
        v.spec.batch
    );
    let f = &v.spec.formats;
    println!(
        "  formats          weights {}, activations {}, deltas {}",
        f.weight, f.activation, f.delta
    );
    println!("  steps            {} ({:?} sampling)", v.steps, v.sampling);
    if v.holdout > 0 {
        println!(
            "  split            {} of {} rows held out, never trained on (chosen by the root \
             and the beacon)",
            v.holdout, v.n_rows
        );
    }
    println!(
        "  beacon           {}{}",
        v.beacon,
        if v.beacon_derived {
            " (derived from the commitments: grindable)"
        } else {
            ""
        }
    );
    println!(
        "  initial weights  {}{}",
        v.initial_commitment,
        if v.from_checkpoint {
            " (a checkpoint: verify it with `zkpot verify RUN PARENT_RUN`)"
        } else {
            " (from the public seed)"
        }
    );
    println!("  final weights    {}", v.final_commitment);
    Ok(())
}

fn demo(cache: &ParamsCache, dir: Option<PathBuf>, steps: u64) -> Result<(), zkpot::Error> {
    let r = zkpot::demo::run_demo(cache, dir.as_deref(), steps, true)?;
    println!("{}", r.table());
    Ok(())
}

fn bench(cache: &ParamsCache, suite: Suite, json: bool, rows: usize) -> Result<(), zkpot::Error> {
    use zkpot::bench::{bench_commit, bench_membership};
    let mut reports: Vec<BenchReport> = Vec::new();
    let mut commits = Vec::new();
    let want = |s: Suite| suite == s || suite == Suite::All;
    if !json && suite != Suite::Commit {
        println!("{}", BenchReport::header());
    }
    let mut report = |r: BenchReport| {
        if !json {
            println!("{}", r.row());
        }
        reports.push(r);
    };
    if want(Suite::Dense) {
        for (i, o) in [(64, 64), (784, 128)] {
            report(bench_dense(cache, i, o)?);
        }
    }
    if want(Suite::Membership) {
        for depth in [11, 20] {
            report(bench_membership(cache, 64, depth)?);
        }
    }
    if want(Suite::Inference) {
        for name in zkpot::bench::INFERENCE_FIXTURES {
            report(zkpot::bench::bench_inference(cache, name)?);
        }
    }
    if want(Suite::Training) {
        report(zkpot::bench::bench_training(cache, &[64, 32, 10], 16, 1)?);
    }
    if want(Suite::Commit) {
        let c = bench_commit(rows, 64)?;
        if !json {
            println!(
                "commit {} rows x {} features: {:.2} s, {:.0} rows/s, peak {} MiB",
                c.rows,
                c.features,
                c.seconds,
                c.rows_per_s,
                c.peak_mem_mib.map_or("-".into(), |m| format!("{m:.0}"))
            );
        }
        commits.push(c);
    }
    if json {
        let out = serde_json::json!({ "circuits": reports, "commit": commits });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(())
}

fn data(command: DataCommand) -> Result<(), zkpot::Error> {
    use zkpot::data::{commit_csv, CommitOptions, Commitment, LabelColumn};
    match command {
        DataCommand::Commit {
            csv,
            out,
            frac_bits,
            bits,
            normalize,
            label_column,
            quiet,
        } => {
            let format = zkpot::circuits::fixed::QFormat::new(frac_bits, bits)?;
            let label_column = label_column.map(|l| match l.parse::<usize>() {
                Ok(i) => LabelColumn::Index(i),
                Err(_) => LabelColumn::Name(l),
            });
            let opts = CommitOptions {
                format,
                normalize,
                label_column,
                progress: !quiet,
                secret: None,
            };
            let start = std::time::Instant::now();
            let c = commit_csv(&csv, &out, &opts)?;
            println!(
                "committed {} rows of {} features in {:.2} s",
                c.n_rows,
                c.schema.n_features,
                start.elapsed().as_secs_f64()
            );
            println!(
                "root        {} (public: publish it before training)",
                c.root
            );
            println!("public      {}", out.join("commitment.json").display());
            println!(
                "private     {} {} (keep these)",
                out.join("dataset.secret").display(),
                out.join("rows.bin").display()
            );
        }
        DataCommand::Inspect { commitment, json } => {
            let c = Commitment::read(&commitment)?;
            if json {
                println!("{}", c.to_json()?);
            } else {
                let s = &c.schema;
                println!("dataset commitment (format version {})", c.version);
                println!("  root           {} (binds the rows below)", c.root);
                println!("  Merkle root    {}", c.tree_root);
                println!("  rows           {} (Merkle depth {})", c.n_rows, c.depth);
                println!("  features       {}", s.n_features);
                println!("  classes        {}", s.classes.join(", "));
                println!("  label column   {}", s.label_column);
                println!(
                    "  fixed point    {} fractional bits, {}-bit values",
                    s.format.frac_bits(),
                    s.format.bits()
                );
                println!("  normalization  {:?}", s.normalization.kind);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkpot: {e}");
            ExitCode::FAILURE
        }
    }
}
