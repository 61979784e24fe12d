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
    /// Measure circuits: rows, k, columns, keygen/prove/verify time, proof size, memory.
    Bench {
        /// Which benchmark to run.
        #[arg(value_enum, default_value = "dense")]
        suite: Suite,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Suite {
    /// Dense layers with ReLU: 64->64 and 784->128, batch 1.
    Dense,
}

fn run(cli: Cli) -> Result<(), zkpot::Error> {
    let cache = ParamsCache::locate(cli.cache_dir.as_deref())?;
    match cli.command {
        Command::Bench { suite, json } => {
            let cases: &[(usize, usize)] = match suite {
                Suite::Dense => &[(64, 64), (784, 128)],
            };
            if !json {
                println!("{}", BenchReport::header());
            }
            let mut reports = Vec::new();
            for (i, o) in cases {
                let r = bench_dense(&cache, *i, *o)?;
                if !json {
                    println!("{}", r.row());
                }
                reports.push(r);
            }
            if json {
                let text = serde_json::to_string_pretty(&reports)
                    .map_err(|_| zkpot::Error::Internal("report serialization failed"))?;
                println!("{text}");
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
