//! The commands that create things: train, infer, demo, bench, data, eval.

use std::path::PathBuf;

use zkpot::bench::{bench_dense, BenchReport};
use zkpot::params::ParamsCache;

use crate::{DataCommand, InferCommand, Suite, TrainArgs};

pub(crate) fn train(cache: &ParamsCache, a: TrainArgs) -> Result<(), zkpot::Error> {
    use zkpot::train::run::{parse_model, train, TrainOptions};
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
    let sampling = zkpot::train::run::parse_sampling(
        &a.sampling
            .or(file.sampling)
            .unwrap_or_else(|| "shuffle".into()),
    )?;
    let loss = zkpot::train::run::parse_loss(
        &a.loss
            .or(file.loss)
            .unwrap_or_else(|| "cross-entropy".into()),
    )?;
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
    let model = match (a.model, file.model) {
        (Some(m), _) => parse_model(&m)?,
        (None, Some(m)) => m.arch()?,
        (None, None) => return Err(missing("model")),
    };
    let opts = TrainOptions {
        loss,
        data_dir,
        model,
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
        prove_later: a.prove_later,
        observer: Default::default(),
        progress: !a.quiet,
    };
    let out = a.out.ok_or_else(|| missing("out"))?;
    if beacon.is_none() {
        say_err!(
            "zkpot: warning: no --beacon given; batches are derived from the commitments, \
             which lets a prover who can vary its secrets grind for favourable batches"
        );
    }
    let r = train(cache, &out, &opts)?;
    if opts.prove_later {
        say!(
            "trained {} steps natively; {} group(s) to prove: `zkpot train prove --run {} \
             --range 0..{}` (or split the range across processes or machines)",
            r.run.steps,
            r.run.proofs.len(),
            out.display(),
            r.run.steps
        );
        return Ok(());
    }
    say!(
        "trained {} steps; {} proof(s) created in {:.1} s ({} already present); {} proof bytes",
        r.run.steps,
        r.proved,
        r.prove_s,
        r.run.proofs.len() - r.proved,
        r.proof_bytes
    );
    say!(
        "final model commitment {}",
        r.run.chain.last().cloned().unwrap_or_default()
    );
    say!("run written to {}", out.display());
    Ok(())
}

pub(crate) fn infer(cache: &ParamsCache, command: InferCommand) -> Result<(), zkpot::Error> {
    use zkpot::infer::request::{parse_visibility, prove_inference, InferRequest, ModelSource};
    let InferCommand::Prove {
        model,
        run,
        input,
        calibrate,
        input_visibility,
        output_visibility,
        secret,
        out,
        quiet,
    } = command;
    let read = |p: &std::path::Path| -> Result<Vec<Vec<f64>>, zkpot::Error> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| zkpot::Error::Options(format!("{}: {e}", p.display())))?;
        zkpot::model::read_inputs(&text)
            .map_err(|e| zkpot::Error::Options(format!("{}: {e}", p.display())))
    };
    let inputs = read(&input)?;
    if inputs.is_empty() {
        return Err(zkpot::Error::Options(format!(
            "{} holds no input",
            input.display()
        )));
    }
    let model = match (model, run) {
        (Some(m), None) => ModelSource::File(m),
        (None, Some(r)) => ModelSource::Run(r),
        (Some(model), Some(run)) => ModelSource::RunFile { model, run },
        _ => return Err(zkpot::Error::Options("give --model or --run".into())),
    };
    let req = InferRequest {
        model,
        inputs,
        calibration: calibrate.as_deref().map(read).transpose()?,
        input_visibility: parse_visibility(&input_visibility)?,
        output_visibility: parse_visibility(&output_visibility)?,
        secret,
        out,
        progress: !quiet,
    };
    let o = prove_inference(cache, &req)?;
    for note in &o.notes {
        say!("import: {note}");
    }
    if let Some(r) = &o.quantization {
        say!(
            "quantization on {} calibration input(s): max |error| {:.5}, mean |error| {:.5}, top-1 agreement {:.1}%",
            r.samples, r.max_abs_error, r.mean_abs_error, 100.0 * r.top1_agreement
        );
    }
    if let Some(path) = &o.new_secret {
        say!("new weight secret written to {} (keep it)", path.display());
    }
    let label = |l: &Option<String>| {
        l.as_ref()
            .map_or(String::new(), |l| format!(" (label {l:?})"))
    };
    if o.results.len() == 1 {
        say!(
            "proved at k = {} (keys {:.2} s, proof {:.2} s): class {}{}; {} bytes written to {}",
            o.k,
            o.keygen_s,
            o.prove_s,
            o.class,
            label(&o.label),
            o.proof_bytes,
            o.out.display()
        );
    } else {
        for (i, r) in o.results.iter().enumerate() {
            say!("input {i}: class {}{}", r.class, label(&r.label));
        }
        say!(
            "proved {} inputs at k = {} (keys {:.2} s, proof {:.2} s, {:.2} s per input); {} bytes written to {}",
            o.results.len(),
            o.k,
            o.keygen_s,
            o.prove_s,
            o.prove_per_input_s,
            o.proof_bytes,
            o.out.display()
        );
    }
    Ok(())
}

pub(crate) fn demo(
    cache: &ParamsCache,
    dir: Option<PathBuf>,
    steps: u64,
    quiet: bool,
) -> Result<(), zkpot::Error> {
    let r = zkpot::demo::run_demo(cache, dir.as_deref(), steps, !quiet)?;
    say!("{}", r.table());
    Ok(())
}

pub(crate) fn bench(
    cache: &ParamsCache,
    suite: Suite,
    json: bool,
    rows: usize,
    batch: usize,
    model: Option<&str>,
) -> Result<(), zkpot::Error> {
    use zkpot::bench::{bench_commit, bench_membership, CommitFormat, INFERENCE_FIXTURES};
    if let Some(m) = model.filter(|m| !INFERENCE_FIXTURES.contains(m)) {
        return Err(zkpot::Error::Options(format!(
            "no fixture model {m:?} (one of {})",
            INFERENCE_FIXTURES.join(", ")
        )));
    }
    let mut reports: Vec<BenchReport> = Vec::new();
    let mut commits = Vec::new();
    let want = |s: Suite| suite == s || suite == Suite::All;
    if !json && suite != Suite::Commit {
        say!("{}", BenchReport::header());
    }
    let mut report = |r: BenchReport| {
        if !json {
            say!("{}", r.row());
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
        for name in INFERENCE_FIXTURES
            .into_iter()
            .filter(|n| model.is_none_or(|m| m == *n))
        {
            report(zkpot::bench::bench_inference(cache, name)?);
            if batch > 1 {
                report(zkpot::bench::bench_inference_batch(cache, name, batch)?);
            }
        }
    }
    if want(Suite::Training) {
        // An epoch of digits on an 80/20 split: floor(1,438 / 16) steps.
        const EPOCH_STEPS: f64 = 89.0;
        for m in zkpot::bench::TRAINING_MODELS {
            let r = zkpot::bench::bench_training(cache, m, 16, 1)?;
            let epoch = format!(
                "  an epoch of digits (80% of the rows, {EPOCH_STEPS} steps of 16): about {:.1} min of proving",
                r.prove_s * EPOCH_STEPS / 60.0
            );
            report(r);
            if !json {
                say!("{epoch}");
            }
        }
    }
    if want(Suite::Eval) {
        for rows in [16, 32] {
            report(zkpot::bench::bench_eval(cache, &[64, 32, 10], rows)?);
        }
    }
    if want(Suite::Commit) {
        for format in [CommitFormat::Csv, CommitFormat::Parquet] {
            let c = bench_commit(rows, 64, format)?;
            if !json {
                say!(
                    "commit {:?} {} rows x {} features: {:.2} s, {:.0} rows/s, peak {} MiB",
                    c.format,
                    c.rows,
                    c.features,
                    c.seconds,
                    c.rows_per_s,
                    c.peak_mem_mib.map_or("-".into(), |m| format!("{m:.0}"))
                );
            }
            commits.push(c);
        }
    }
    if json {
        let out = serde_json::json!({ "circuits": reports, "commit": commits });
        say!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(())
}

pub(crate) fn data(command: DataCommand) -> Result<(), zkpot::Error> {
    use zkpot::data::{commit_csv_noting, Column, CommitOptions, Commitment};
    match command {
        DataCommand::Commit {
            csv,
            out,
            frac_bits,
            bits,
            normalize,
            label_column,
            features,
            drop,
            delimiter,
            quiet,
        } => {
            let delimiter = match delimiter.as_str() {
                "tab" | "\\t" | "\t" => b'\t',
                d if d.len() == 1 && d.is_ascii() && d != "\"" => d.as_bytes()[0],
                d => {
                    return Err(zkpot::Error::Options(format!(
                        "delimiter {d:?}: give one ASCII character (not a quote) or `tab`"
                    )))
                }
            };
            let mut opts = CommitOptions {
                normalize,
                label_column: label_column.as_deref().map(Column::parse),
                features: features.as_deref().map(Column::parse_list),
                drop: drop.as_deref().map(Column::parse_list).unwrap_or_default(),
                delimiter,
                progress: !quiet,
                ..CommitOptions::default()
            };
            opts.set_feature_format(Some(bits), frac_bits)?;
            let start = std::time::Instant::now();
            let (c, notes) = commit_csv_noting(&csv, &out, &opts)?;
            for n in &notes {
                say_err!("note: {n}");
            }
            say!(
                "committed {} rows of {} features in {:.2} s",
                c.n_rows,
                c.schema.n_features,
                start.elapsed().as_secs_f64()
            );
            say!(
                "root        {} (public: publish it before training)",
                c.root
            );
            say!("public      {}", out.join("commitment.json").display());
            say!(
                "private     {} {} (keep these)",
                out.join("dataset.secret").display(),
                out.join("rows.bin").display()
            );
        }
        DataCommand::Inspect { commitment, json } => {
            let c = Commitment::read(&commitment)?;
            if json {
                say!("{}", c.to_json()?);
            } else {
                let s = &c.schema;
                say!("dataset commitment (format version {})", c.version);
                say!("  root           {} (binds the rows below)", c.root);
                say!("  Merkle root    {}", c.tree_root);
                say!("  rows           {} (Merkle depth {})", c.n_rows, c.depth);
                say!("  features       {}", s.n_features);
                say!("  classes        {}", s.classes.join(", "));
                say!("  label column   {}", s.label_column);
                say!(
                    "  fixed point    {} fractional bits, {}-bit values",
                    s.format.frac_bits(),
                    s.format.bits()
                );
                say!("  normalization  {:?}", s.normalization.kind);
            }
        }
    }
    Ok(())
}

/// What `zkpot eval` scores.
pub(crate) enum EvalSource {
    /// A run's trained model on its held-out rows.
    Run(PathBuf),
    /// An imported model on a range of a committed dataset.
    Model {
        model: PathBuf,
        data: PathBuf,
        rows: Option<String>,
        secret: Option<PathBuf>,
    },
}

fn parse_rows(s: &str) -> Result<(u64, u64), zkpot::Error> {
    s.split_once("..")
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .filter(|(a, b)| b > a)
        .map(|(a, b)| (a, b - a))
        .ok_or_else(|| zkpot::Error::Options(format!("rows {s:?}: expected a..b with a < b")))
}

pub(crate) fn eval(
    cache: &ParamsCache,
    source: EvalSource,
    out: &std::path::Path,
    opts: &zkpot::eval::EvalOptions,
) -> Result<(), zkpot::Error> {
    let (r, verify) = match source {
        EvalSource::Run(run) => (
            zkpot::eval::evaluate_run(cache, &run, out, opts)?,
            format!("zkpot verify {} {}", run.display(), out.display()),
        ),
        EvalSource::Model {
            model,
            data,
            rows,
            secret,
        } => {
            let rows = rows.as_deref().map(parse_rows).transpose()?;
            let secret_path = secret.unwrap_or_else(|| {
                let mut p = model.clone().into_os_string();
                p.push(".zkpot-secret");
                PathBuf::from(p)
            });
            let (secret, fresh) = zkpot::infer::prover::read_or_draw_secret(&secret_path)?;
            // A new secret is kept once the model is known to fit, before
            // any proof (an interrupted evaluation resumes under it).
            let (loaded, dataset, selection) =
                zkpot::eval::prepare_model(&model, &data, rows, &secret)?;
            if fresh {
                zkpot::infer::prover::write_secret(&secret_path, &secret)?;
            }
            let report = zkpot::eval::evaluate(cache, &loaded, &dataset, selection, out, opts)?;
            (
                report,
                format!(
                    "zkpot verify {} --dataset {}",
                    out.display(),
                    data.join("commitment.json").display()
                ),
            )
        }
    };
    let f = &r.file;
    let what = match &f.selection {
        zkpot::eval::Selection::Holdout { .. } => "held-out rows".to_string(),
        zkpot::eval::Selection::Range { first, count } => {
            format!("rows ({first}..{})", first + count)
        }
    };
    say!(
        "scored {} {what} in {} proof(s) of up to {} rows (k = {}); {} created in {:.1} s",
        f.selection.rows(),
        f.proofs.len(),
        f.rows_per_proof,
        r.k,
        r.proved,
        r.prove_s
    );
    say!("written to {}; verify with `{verify}`", out.display());
    Ok(())
}
