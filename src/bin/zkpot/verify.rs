//! Verifying and inspecting: proof files, run directories and their links.

use zkpot::params::ParamsCache;

pub(crate) fn read_envelope(
    path: &std::path::Path,
) -> Result<zkpot::proof::Envelope, zkpot::Error> {
    zkpot::verify::read_envelope(path)
}

fn print_inference(s: &zkpot::infer::InferenceStatement) {
    say!(
        "  model            {} layers, input {}, weights {}, activations {}",
        s.model.layers.len(),
        s.model.input,
        s.model.weight,
        s.model.activation
    );
    say!("  weights (C_W)    {}", s.weights_commitment);
    if let Some(p) = &s.preprocess {
        say!(
            "  preprocessing    x * scale + shift on {} raw inputs before quantization \
             (named by the statement; the proof is of the quantized input)",
            p.scale.len()
        );
    }
    // Printed by visibility: a verified statement shows exactly what its
    // visibilities say (InferenceStatement::from_bytes checks it), for each
    // input of a batch.
    let Ok(items) = s.items() else {
        return;
    };
    if let [item] = items.as_slice() {
        let (input, output) = describe_item(s, item);
        say!("  input            {input}");
        if let Some(o) = output {
            say!("  output           {o}");
        }
        return;
    }
    say!("  inputs           {} in one proof", items.len());
    for (n, item) in items.iter().enumerate() {
        let (input, output) = describe_item(s, item);
        say!(
            "  item {n:<11} input {input}; output {}",
            output.unwrap_or_default()
        );
    }
}

/// What a statement shows of one input and its output.
fn describe_item(
    s: &zkpot::infer::InferenceStatement,
    item: &zkpot::infer::ShownItem,
) -> (String, Option<String>) {
    use zkpot::circuits::infer::Visibility;
    let input = match (s.input, &item.input_values, &item.input_commitment) {
        (Visibility::Public, Some(v), _) => format!("public, {} values", v.len()),
        (Visibility::Committed, _, Some(c)) => format!("committed {c}"),
        _ => "private".to_string(),
    };
    let values = (s.output == Visibility::Public)
        .then_some(item.output_values.as_ref())
        .flatten();
    let commitment = (s.output == Visibility::Committed)
        .then_some(item.output_commitment.as_ref())
        .flatten();
    let output = match (values, commitment) {
        (Some(v), _) if s.model.ends_in_argmax() => {
            let class = v.first().copied().unwrap_or(0);
            let label = usize::try_from(class)
                .ok()
                .and_then(|c| s.labels.as_ref()?.get(c))
                .map_or(String::new(), |l| {
                    format!(" (label {l:?}, named by the statement)")
                });
            Some(format!("class {class}{label}"))
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
            Some(format!("[{}] (argmax {best})", real.join(", ")))
        }
        (_, Some(c)) => Some(format!("committed {c}")),
        _ => None,
    };
    (input, output)
}

pub(crate) fn inspect(file: &std::path::Path) -> Result<(), zkpot::Error> {
    let e = read_envelope(file)?;
    say!(
        "zkpot proof, format version {}, kind {:?}",
        zkpot::proof::ENVELOPE_VERSION,
        e.kind
    );
    say!(
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
            say!(
                "  steps {}..{} of {} on dataset {}",
                s.first_step,
                s.first_step + s.steps,
                s.spec.arch(),
                s.dataset.root
            );
            say!("  {} -> {}", s.c_in, s.c_out);
        }
        zkpot::proof::StatementKind::Evaluation => {
            let s = zkpot::eval::EvalStatement::from_bytes(&e.statement)?;
            say!(
                "  {} rows ({:?}) of dataset {}, model {}",
                s.rows.count(),
                s.rows,
                s.dataset.root,
                s.weights_commitment
            );
        }
        zkpot::proof::StatementKind::Membership => {}
    }
    Ok(())
}

/// Prints what an evaluation established; `run` when it was verified
/// against the run whose split it scored (its beacon, and whether it was
/// derived).
fn print_eval(v: &zkpot::eval::EvalVerdict, run: Option<&zkpot::train::run::RunVerdict>) {
    say!(
        "  accuracy         {:.2}% ({} of {} rows correct)",
        100.0 * v.accuracy,
        v.correct,
        v.rows
    );
    if let Some((lo, hi)) = v.interval_95 {
        say!(
            "  95% interval     {:.2}% to {:.2}% on the whole held-out split (Wilson, finite \
             population, holding for any sample size the prover chose)",
            100.0 * lo,
            100.0 * hi
        );
    }
    let sampled = |holdout: &u64, sample: &Option<u64>| match sample {
        Some(m) => format!("a sample of {m} of the {holdout}"),
        None => format!("the {holdout}"),
    };
    let rows = match (&v.selection, run) {
        (
            zkpot::eval::Selection::Holdout {
                holdout, sample, ..
            },
            Some(r),
        ) => format!(
            "{} held-out rows of the run's split, chosen by the root and the beacon {}{}",
            sampled(holdout, sample),
            r.beacon,
            if r.beacon_derived {
                " (derived from the commitments: grindable)"
            } else {
                ""
            }
        ),
        (
            zkpot::eval::Selection::Holdout {
                holdout,
                beacon,
                sample,
            },
            None,
        ) => format!(
            "{} pseudorandom rows for beacon {beacon} (not linked to a run: verify RUN EVAL)",
            sampled(holdout, sample)
        ),
        (zkpot::eval::Selection::Range { first, count }, _) => {
            format!("rows {first}..{} of the dataset", first + count)
        }
    };
    say!("  rows             {rows}");
    say!(
        "  dataset root     {} ({} rows){}",
        v.dataset_root,
        v.n_rows,
        if v.dataset_checked {
            ", the given commitment"
        } else {
            ""
        }
    );
    say!("  model (C_W)      {}", v.weights_commitment);
    let c = v.classes.len();
    say!("  confusion        (rows: committed label, columns: prediction)");
    for a in 0..c {
        let counts: Vec<String> = (0..c)
            .map(|b| format!("{:>5}", v.confusion.get(a * c + b).copied().unwrap_or(0)))
            .collect();
        say!("    {:>10} {}", v.classes[a], counts.join(""));
    }
}

pub(crate) fn verify(
    cache: &ParamsCache,
    path: &std::path::Path,
    inference: Option<&std::path::Path>,
    dataset: Option<&std::path::Path>,
    json: bool,
) -> Result<(), zkpot::Error> {
    use zkpot::verify::Verified;
    let published = dataset.map(zkpot::data::Commitment::read).transpose()?;
    let start = std::time::Instant::now();
    let verified = zkpot::verify::verify_path(cache, path, inference, published.as_ref(), !json)?;
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(&verified).unwrap_or_default()
        );
        return Ok(());
    }
    let secs = start.elapsed().as_secs_f64();
    let v = match verified {
        Verified::Release { release } => {
            crate::release::print_release(&release, published.is_some());
            return Ok(());
        }
        Verified::Inference {
            statement,
            keys_s,
            check_s,
        } => {
            say!(
                "VALID proof of inference (verified in {secs:.3} s: verifying key rebuilt \
                 from the statement in {keys_s:.3} s, proof checked in {check_s:.3} s)"
            );
            print_inference(&statement);
            return Ok(());
        }
        Verified::TrainingSteps { statement: s } => {
            say!(
                "VALID proof of training steps {}..{} ({secs:.3} s)",
                s.first_step,
                s.first_step + s.steps
            );
            return Ok(());
        }
        Verified::EvaluationProof { statement: s } => {
            let c = s.classes();
            let correct: u64 = (0..c).map(|a| s.confusion[a * c + a]).sum();
            let rows = match &s.rows {
                zkpot::eval::EvalRows::Holdout {
                    beacon,
                    holdout,
                    first,
                    count,
                } => format!(
                    "held-out rows {first}..{} of {holdout} (beacon {beacon})",
                    first.saturating_add(*count)
                ),
                zkpot::eval::EvalRows::Range { first, count } => {
                    format!("dataset rows {first}..{}", first.saturating_add(*count))
                }
            };
            say!(
                "VALID proof of evaluation: {correct} of {} rows correct, {rows} ({secs:.3} s)",
                s.rows.count()
            );
            return Ok(());
        }
        Verified::Evaluation { evaluation: v } => {
            say!(
                "VALID proof of evaluation ({} proofs, verified in {:.2} s)",
                v.proofs,
                v.verify_s
            );
            print_eval(&v, None);
            return Ok(());
        }
        Verified::RunEvaluation {
            run: r,
            evaluation: v,
        } => {
            say!(
                "VALID: the model this run trained ({} proven steps) scores on its held-out rows:",
                r.steps
            );
            print_eval(&v, Some(&r));
            say!("  final weights    {}", r.final_commitment);
            return Ok(());
        }
        Verified::FineTune { run: c, parent: p } => {
            say!(
                "VALID: {} fine-tuned the model {} trained ({} + {} proven steps)",
                path.display(),
                inference
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                p.steps,
                c.steps
            );
            say!("  checkpoint       {}", c.initial_commitment);
            say!("  final weights    {}", c.final_commitment);
            return Ok(());
        }
        Verified::LinkedInference {
            run: v,
            inference: s,
        } => {
            say!(
                "VALID: the inference came from the model this run trained ({} proven steps)",
                v.steps
            );
            say!("  final weights    {}", v.final_commitment);
            print_inference(&s);
            return Ok(());
        }
        Verified::Run { run } => run,
    };
    say!(
        "VALID proof of training ({} proofs, verified in {:.2} s)",
        v.proofs,
        v.verify_s
    );
    say!(
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
    say!(
        "  model            {}, {:?} loss, lr {}, batch {}",
        v.spec.arch(),
        v.spec.loss,
        v.spec.lr(),
        v.spec.batch
    );
    let f = &v.spec.formats;
    say!(
        "  formats          weights {}, activations {}, deltas {}",
        f.weight,
        f.activation,
        f.delta
    );
    say!("  steps            {} ({:?} sampling)", v.steps, v.sampling);
    if v.holdout > 0 {
        say!(
            "  split            {} of {} rows held out, never trained on (chosen by the root \
             and the beacon)",
            v.holdout,
            v.n_rows
        );
    }
    say!(
        "  beacon           {}{}",
        v.beacon,
        if v.beacon_derived {
            " (derived from the commitments: grindable)"
        } else {
            ""
        }
    );
    say!(
        "  initial weights  {}{}",
        v.initial_commitment,
        if v.from_checkpoint {
            " (a checkpoint: verify it with `zkpot verify RUN PARENT_RUN`)"
        } else {
            " (from the public seed)"
        }
    );
    say!("  final weights    {}", v.final_commitment);
    Ok(())
}
