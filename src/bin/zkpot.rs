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
        Command::Data { command } => data(command)?,
        Command::Bench { suite, json, rows } => bench(&cache, suite, json, rows)?,
    }
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
