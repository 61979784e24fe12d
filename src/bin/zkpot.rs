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
        /// SGD steps to train and prove.
        #[arg(long, default_value_t = 3)]
        steps: u64,
    },
    /// Train a model on a committed dataset with proofs of every step.
    Train {
        #[command(subcommand)]
        action: Option<TrainAction>,
        #[command(flatten)]
        args: TrainArgs,
    },
    /// Verify a training run directory (every proof, batched, and the chain of
    /// commitments). Exit status 0 only when valid.
    Verify {
        /// A run directory written by `zkpot train`.
        run: PathBuf,
        /// Print JSON instead of a summary.
        #[arg(long)]
        json: bool,
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

#[derive(clap::Args)]
struct TrainArgs {
    /// Dataset directory written by `zkpot data commit`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Model: mlp:<inputs>-<hidden>...-<classes>, e.g. mlp:64-32-10.
    #[arg(long)]
    model: Option<String>,
    /// SGD steps.
    #[arg(long, default_value_t = 10)]
    steps: u64,
    /// Batch size (a power of two).
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Learning rate (a multiple of 1/256).
    #[arg(long, default_value_t = 0.125)]
    lr: f64,
    /// SGD steps per proof.
    #[arg(long, default_value_t = 1)]
    steps_per_proof: u64,
    /// Public initialization seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// External randomness for batch sampling (64 hex digits), e.g. a
    /// randomness beacon published after the dataset commitment.
    #[arg(long)]
    beacon: Option<String>,
    /// Batch sampling: shuffle (without replacement per epoch) or replacement.
    #[arg(long, default_value = "shuffle")]
    sampling: String,
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
    /// Every suite.
    All,
}

fn run(cli: Cli) -> Result<(), zkpot::Error> {
    let cache = ParamsCache::locate(cli.cache_dir.as_deref())?;
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
        Command::Verify { run, json } => verify(&cache, &run, json)?,
        Command::Data { command } => data(command)?,
        Command::Bench { suite, json, rows } => bench(&cache, suite, json, rows)?,
    }
    Ok(())
}

fn train(cache: &ParamsCache, a: TrainArgs) -> Result<(), zkpot::Error> {
    use zkpot::train::run::{parse_model, train, TrainOptions};
    use zkpot::train::sampling::Sampling;
    let missing = |what: &str| zkpot::Error::Options(format!("zkpot train needs --{what}"));
    let beacon = match &a.beacon {
        Some(h) => Some(
            zkpot::train::statement::bytes32(h)
                .ok_or_else(|| zkpot::Error::Options("--beacon must be 64 hex digits".into()))?,
        ),
        None => None,
    };
    let sampling = match a.sampling.as_str() {
        "shuffle" => Sampling::Shuffle,
        "replacement" => Sampling::Replacement,
        other => return Err(zkpot::Error::Options(format!("unknown sampling {other:?}"))),
    };
    let opts = TrainOptions {
        data_dir: a.data.ok_or_else(|| missing("data"))?,
        widths: parse_model(&a.model.ok_or_else(|| missing("model"))?)?,
        lr: a.lr,
        batch: a.batch,
        steps: a.steps,
        steps_per_proof: a.steps_per_proof,
        seed: a.seed,
        beacon,
        sampling,
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

fn verify(cache: &ParamsCache, run: &std::path::Path, json: bool) -> Result<(), zkpot::Error> {
    let v = zkpot::train::run::verify_run(cache, run)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!(
        "VALID proof of training ({} proofs, verified in {:.2} s)",
        v.proofs, v.verify_s
    );
    println!("  dataset root     {} ({} rows)", v.dataset_root, v.n_rows);
    println!(
        "  model            mlp {:?}, MSE loss, lr {}, batch {}",
        v.spec.widths,
        v.spec.lr(),
        v.spec.batch
    );
    println!("  steps            {} ({:?} sampling)", v.steps, v.sampling);
    println!(
        "  beacon           {}{}",
        v.beacon,
        if v.beacon_derived {
            " (derived from the commitments: grindable)"
        } else {
            ""
        }
    );
    println!("  initial weights  {}", v.initial_commitment);
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
    if !json && (want(Suite::Dense) || want(Suite::Membership) || want(Suite::Training)) {
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
            println!("root        {}", c.root);
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
                println!("{}", c.to_json());
            } else {
                let s = &c.schema;
                println!("dataset commitment (format version {})", c.version);
                println!("  root           {}", c.root);
                println!("  rows           {} (Merkle depth {})", c.n_rows, c.depth);
                println!("  features       {}", s.n_features);
                println!("  classes        {}", s.classes.join(", "));
                println!("  label column   {}", s.label_column);
                println!(
                    "  fixed point    {} fractional bits, {}-bit values",
                    s.format.frac_bits, s.format.bits
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
