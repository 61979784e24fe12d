//! Verifying and inspecting: proof files, run directories and their links.

use zkpot::params::ParamsCache;

pub(crate) fn read_envelope(
    path: &std::path::Path,
) -> Result<zkpot::proof::Envelope, zkpot::Error> {
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

pub(crate) fn inspect(file: &std::path::Path) -> Result<(), zkpot::Error> {
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
        zkpot::proof::StatementKind::Evaluation => {
            let s = zkpot::eval::EvalStatement::from_bytes(&e.statement)?;
            println!(
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
    println!(
        "  accuracy         {:.2}% ({} of {} rows correct)",
        100.0 * v.accuracy,
        v.correct,
        v.rows
    );
    if let Some((lo, hi)) = v.interval_95 {
        println!(
            "  95% interval     {:.2}% to {:.2}% on the whole held-out split (Wilson, finite \
             population)",
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
    println!("  rows             {rows}");
    println!(
        "  dataset root     {} ({} rows){}",
        v.dataset_root,
        v.n_rows,
        if v.dataset_checked {
            ", the given commitment"
        } else {
            ""
        }
    );
    println!("  model (C_W)      {}", v.weights_commitment);
    let c = v.classes.len();
    println!("  confusion        (rows: committed label, columns: prediction)");
    for a in 0..c {
        let counts: Vec<String> = (0..c)
            .map(|b| format!("{:>5}", v.confusion.get(a * c + b).copied().unwrap_or(0)))
            .collect();
        println!("    {:>10} {}", v.classes[a], counts.join(""));
    }
}

pub(crate) fn verify(
    cache: &ParamsCache,
    path: &std::path::Path,
    inference: Option<&std::path::Path>,
    dataset: Option<&std::path::Path>,
    json: bool,
) -> Result<(), zkpot::Error> {
    let published = dataset.map(zkpot::data::Commitment::read).transpose()?;
    for p in std::iter::once(path).chain(inference) {
        if !p.exists() {
            return Err(zkpot::Error::Options(format!(
                "{}: no such proof file or directory",
                p.display()
            )));
        }
    }
    // A folder with a model card or an attestation is a release: verified
    // whole, never as the run or evaluation files it may also hold.
    if path.is_dir()
        && (path.join(zkpot::release::ATTESTATION).exists()
            || path.join(zkpot::release::CARD).exists())
    {
        if let Some(second) = inference {
            return Err(zkpot::Error::Options(format!(
                "{} is a release, verified alone; {} is not part of it",
                path.display(),
                second.display()
            )));
        }
        return crate::release::verify_release(cache, path, published.as_ref(), json);
    }
    if path.is_file() {
        if inference.is_some() {
            return Err(zkpot::Error::Options(format!(
                "{} is a proof file, verified alone; to check it against a run, give the run \
                 first: zkpot verify RUN {}",
                path.display(),
                path.display()
            )));
        }
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
            zkpot::proof::StatementKind::Evaluation => {
                let s = zkpot::eval::verify_evals(cache, std::slice::from_ref(&e))?
                    .pop()
                    .ok_or(zkpot::Error::Internal("no statement"))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
                } else {
                    let c = s.classes();
                    let correct: u64 = (0..c).map(|a| s.confusion[a * c + a]).sum();
                    println!(
                        "VALID proof of evaluation: {correct} of {} rows ({:?}) correct ({:.3} s)",
                        s.rows.count(),
                        s.rows,
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
    let is_eval = |p: &std::path::Path| p.join("eval.json").is_file();
    if is_eval(path) && inference.is_some() {
        return Err(zkpot::Error::Options(format!(
            "to check an evaluation against a run, give the run first: zkpot verify RUN {}",
            path.display()
        )));
    }
    if is_eval(path) {
        let v = zkpot::eval::verify_eval(cache, path, published.as_ref())?;
        if json {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        } else {
            println!(
                "VALID proof of evaluation ({} proofs, verified in {:.2} s)",
                v.proofs, v.verify_s
            );
            print_eval(&v, None);
        }
        return Ok(());
    }
    let run = path;
    if let Some(eval) = inference.filter(|p| is_eval(p)) {
        let (r, v) = zkpot::eval::verify_run_eval(cache, run, eval, published.as_ref())?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"run": r, "evaluation": v}))
                    .unwrap_or_default()
            );
        } else {
            println!(
                "VALID: the model this run trained ({} proven steps) scores on its held-out rows:",
                r.steps
            );
            print_eval(&v, Some(&r));
            println!("  final weights    {}", r.final_commitment);
        }
        return Ok(());
    }
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
