//! The release's documents: the model card (`README.md`, with Hugging Face
//! model-card front matter) and the in-toto Statement. Both are pure
//! functions of verified facts (the run's and the evaluation's verdicts),
//! the release's name, the training report and the files' digests, so a
//! verifier regenerates them and compares bytes: nothing they claim is
//! taken from the prover's copy.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::eval::{EvalVerdict, Selection};
use crate::train::run::report::TrainingReport;
use crate::train::run::RunVerdict;
use crate::Error;

/// The in-toto Statement type this release writes.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a zkpot release.
pub const PREDICATE_TYPE: &str = "https://zkpot.dev/release/v1";

/// What a release's documents are computed from.
pub struct Facts<'a> {
    /// The release's name (letters, digits, `.`, `_`, `-`).
    pub name: &'a str,
    /// The verified run.
    pub run: &'a RunVerdict,
    /// The verified evaluation of the run's final model, if any.
    pub eval: Option<&'a EvalVerdict>,
    /// The training report (the prover's account, not proven).
    pub report: &'a TrainingReport,
    /// The sha256 of the released weights file (`run/model.json`), when the
    /// weights are published.
    pub weights_digest: Option<&'a str>,
}

/// Checks a release name: 1 to 96 of letters, digits, `.`, `_` and `-`,
/// not starting with `.` (a Hugging Face repository name).
pub fn valid_name(name: &str) -> bool {
    (1..=96).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The most characters of a class name a card shows.
const MAX_CELL: usize = 64;

/// Characters that change how text is displayed without being visible:
/// bidirectional controls, zero-width characters, soft hyphens.
fn invisible(c: char) -> bool {
    matches!(c, '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// Markdown text of a prover-chosen string (class names come from the
/// dataset's schema): every ASCII punctuation character backslash-escaped
/// (so no HTML, link, emphasis or table syntax survives), line breaks
/// turned into spaces, control and invisible characters dropped, and at most
/// [`MAX_CELL`] characters.
pub fn cell(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .enumerate()
    {
        if i == MAX_CELL {
            out.push_str("...");
            break;
        }
        match c {
            c if c.is_whitespace() => out.push(' '),
            c if invisible(c) => {}
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn model_desc(run: &RunVerdict) -> String {
    let arch = run.spec.arch().to_string();
    match arch.split_once(':') {
        Some(("mlp", w)) => format!("MLP {w}"),
        Some(("cnn", l)) => format!("CNN {l}"),
        _ => arch,
    }
}

fn loss_name(run: &RunVerdict) -> &'static str {
    match run.spec.loss {
        zkpot_circuits::train::Loss::CrossEntropy => "softmax cross-entropy",
        zkpot_circuits::train::Loss::Mse => "mean squared error",
    }
}

fn front_matter(f: &Facts) -> String {
    let mut s = String::from("---\nlibrary_name: zkpot\ntags:\n");
    for t in ["zkpot", "zero-knowledge-proof", "proof-of-training"] {
        let _ = writeln!(s, "- {t}");
    }
    // Names are restricted to a repository name's characters, so quoting
    // keeps YAML from reading one as a number, a boolean or null.
    let _ = writeln!(s, "model-index:\n- name: \"{}\"\n  results:", f.name);
    if let Some(e) = f.eval {
        let _ = write!(
            s,
            "  - task:\n      type: tabular-classification\n      name: Classification\n    \
             dataset:\n      type: zkpot-committed-dataset\n      name: committed dataset {}\n      \
             split: held-out\n      revision: {}\n    metrics:\n    - type: accuracy\n      \
             value: {:.4}\n      name: held-out accuracy, proven in zero knowledge ({} of {} rows)\n      \
             verified: false\n",
            short(&f.run.dataset_root),
            f.run.dataset_root,
            e.accuracy,
            e.correct,
            e.rows
        );
    } else {
        s.push_str("  - task:\n      type: tabular-classification\n      name: Classification\n    dataset:\n      type: zkpot-committed-dataset\n");
        let _ = writeln!(
            s,
            "      name: committed dataset {}\n      revision: {}\n    metrics: []",
            short(&f.run.dataset_root),
            f.run.dataset_root
        );
    }
    s.push_str("---\n");
    s
}

fn short(hex: &str) -> String {
    if hex.len() > 16 {
        format!("{}..{}", &hex[..8], &hex[hex.len() - 6..])
    } else {
        hex.to_string()
    }
}

fn rows_desc(e: &EvalVerdict) -> String {
    match &e.selection {
        Selection::Holdout {
            holdout, sample, ..
        } => format!(
            "{} rows the run held out of training (chosen by the dataset root and the beacon; no \
             training step sampled them)",
            match sample {
                Some(m) => format!("a pseudorandom sample of {m} of the {holdout}"),
                None => format!("the {holdout}"),
            }
        ),
        Selection::Range { first, count } => {
            format!(
                "rows {first}..{} of the dataset",
                first.saturating_add(*count)
            )
        }
    }
}

/// The model card, `README.md`.
pub fn model_card(f: &Facts) -> String {
    let r = f.run;
    let mut s = front_matter(f);
    let _ = writeln!(s, "\n# {}\n", f.name);
    let _ = writeln!(
        s,
        "A classifier ({}) trained by fixed-point SGD with a zero-knowledge proof of every step. \
         The claims marked *proven* below are checked by `zkpot verify <this folder>` from the \
         public files here alone, with no trusted setup and no key files; the training data and, \
         unless `run/model.json` is present, the weights stay private.\n",
        model_desc(r)
    );
    s.push_str("## Proven\n\n| claim | value |\n|---|---|\n");
    let mut row = |k: &str, v: String| {
        // Values are formatted here from verified numbers and hex.
        let _ = writeln!(s, "| {k} | {v} |");
    };
    row(
        "dataset (public root: tree, rows, depth, schema)",
        format!("`{}`", r.dataset_root),
    );
    row(
        "dataset rows, depth, feature format",
        format!("{}, {}, {}", r.n_rows, r.depth, r.data_format),
    );
    row(
        "architecture",
        if r.spec.conv.is_some() {
            format!("{} (convolutions, then dense layers)", model_desc(r))
        } else if r.spec.widths.len() > 2 {
            format!("{}, ReLU between layers", model_desc(r))
        } else {
            format!("{} (softmax regression)", model_desc(r))
        },
    );
    row(
        "recipe",
        format!(
            "{}, learning rate {}/{}, batch {}, {} steps, {} sampling",
            loss_name(r),
            r.spec.lr_num,
            1u64 << r.spec.lr_shift.min(63),
            r.spec.batch,
            r.steps,
            match r.sampling {
                crate::train::sampling::Sampling::Shuffle =>
                    "shuffled (without replacement per epoch)",
                crate::train::sampling::Sampling::Replacement => "with-replacement",
            }
        ),
    );
    row(
        "formats (input, weight, activation, delta)",
        format!(
            "{}, {}, {}, {}",
            r.spec.formats.input,
            r.spec.formats.weight,
            r.spec.formats.activation,
            r.spec.formats.delta
        ),
    );
    row(
        "initial weights",
        if r.from_checkpoint {
            format!("a checkpoint, committed as `{}`", r.initial_commitment)
        } else {
            format!("the public seed's, committed as `{}`", r.initial_commitment)
        },
    );
    row(
        "held-out split",
        format!(
            "{} of {} rows, never sampled by a step",
            r.holdout, r.n_rows
        ),
    );
    row(
        "batch sampling beacon",
        format!(
            "`{}`{}",
            r.beacon,
            if r.beacon_derived {
                " (derived from the commitments: the prover could grind it)"
            } else {
                ""
            }
        ),
    );
    row(
        "trained model (weight commitment)",
        format!("`{}`", r.final_commitment),
    );
    row("proofs of training", format!("{} proofs", r.proofs));
    if let Some(d) = f.weights_digest {
        row(
            "released weights",
            format!("`run/model.json` (sha256 `{d}`) opens the weight commitment"),
        );
    }
    if let Some(e) = f.eval {
        let _ = writeln!(
            s,
            "\n## Held-out accuracy (proven)\n\n**{:.2}%** ({} of {} rows correct) on {}, scored \
             with the committed model's fixed-point forward pass in {} proofs.\n",
            100.0 * e.accuracy,
            e.correct,
            e.rows,
            rows_desc(e),
            e.proofs
        );
        if let Some((lo, hi)) = e.interval_95 {
            let _ = writeln!(
                s,
                "On the whole held-out split: {:.2}% to {:.2}% (95% Wilson interval with the finite \
                 population correction, holding for whichever sample size was chosen).\n",
                100.0 * lo,
                100.0 * hi
            );
        }
        s.push_str("Confusion counts (rows: committed label, columns: prediction):\n\n|  |");
        for c in &e.classes {
            let _ = write!(s, " {} |", cell(c));
        }
        s.push_str("\n|---|");
        for _ in &e.classes {
            s.push_str("---|");
        }
        s.push('\n');
        let n = e.classes.len();
        for (a, name) in e.classes.iter().enumerate() {
            let _ = write!(s, "| **{}** |", cell(name));
            for b in 0..n {
                let _ = write!(s, " {} |", e.confusion.get(a * n + b).copied().unwrap_or(0));
            }
            s.push('\n');
        }
    } else {
        s.push_str("\n## Held-out accuracy\n\nNot part of this release.\n");
    }
    s.push_str(
        "\n## Not proven\n\n\
         - What the dataset contains, where it came from, or whether its labels are right: the \
         proofs bind the rows to the public root, not to the world.\n\
         - That the beacon was published after the dataset commitment: the tool cannot tell an \
         external beacon from one the prover chose.\n\
         - Anything about data outside the commitment: a held-out score is an estimate on rows \
         of the same committed dataset.\n\
         - The training report below: the prover's replay of its own run (loss and accuracy \
         curves, the float reference), shown for context.\n",
    );
    let rep = f.report;
    let _ = writeln!(
        s,
        "\n## Training report (not proven)\n\nThe prover's replay of its run. It reveals aggregate \
         statistics of the private rows: each step's batch loss and the accuracy on the rows below \
         at a few steps.\n\n![loss](report/loss.svg)\n\n![accuracy](report/accuracy.svg)\n"
    );
    if let (Some(first), Some(last)) = (rep.accuracy.first(), rep.final_accuracy()) {
        let _ = writeln!(
            s,
            "Accuracy on {} {} rows: {:.2}% at step {} -> {:.2}% after {} steps (float reference \
             on the same batches: {:.2}%).",
            rep.accuracy_count,
            rep.accuracy_rows,
            100.0 * first.fixed,
            first.step,
            100.0 * last.fixed,
            last.step,
            100.0 * last.float
        );
    }
    s.push_str(
        "\n## Verify\n\n```sh\nzkpot verify .\n```\n\n\
         It checks every file against `attestation.intoto.json`, every proof (batched), the \
         chain of weight commitments, the evaluation's link to the run, and that this card and \
         the attestation say exactly what the proofs establish. `attestation.intoto.json` is an \
         in-toto Statement for existing signing tools (Sigstore, OpenSSF model signing).\n",
    );
    s
}

/// The in-toto Statement (v1) of a release: its subject is the released
/// weights file when the weights are published, else the weight
/// commitment; its predicate carries the verified facts and the sha256 of
/// every other file of the release.
pub fn attestation(f: &Facts, files: &BTreeMap<String, String>) -> Result<String, Error> {
    let r = f.run;
    let subject = match f.weights_digest {
        Some(d) => json!({"name": "run/model.json", "digest": {"sha256": d}}),
        None => {
            let bytes = crate::hex::fp_from_hex(&r.final_commitment)
                .map(|fp| ff::PrimeField::to_repr(&fp))
                .ok_or(Error::Internal("final commitment is not a field element"))?;
            json!({
                "name": format!("zkpot-weight-commitment:{}", r.final_commitment),
                "digest": {"sha256": super::sha256_hex(bytes.as_ref())},
                "annotations": {"zkpot_weight_commitment": r.final_commitment},
            })
        }
    };
    let eval = f.eval.map(|e| {
        json!({
            "selection": e.selection,
            "rows": e.rows,
            "correct": e.correct,
            "accuracy": e.accuracy,
            "interval_95": e.interval_95,
            "classes": e.classes,
            "confusion": e.confusion,
            "weights_commitment": e.weights_commitment,
            "proofs": e.proofs,
        })
    });
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [subject],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "name": f.name,
            "dataset": {
                "root": r.dataset_root,
                "rows": r.n_rows,
                "depth": r.depth,
                "format": r.data_format,
            },
            "training": {
                "spec": r.spec,
                "sampling": r.sampling,
                "steps": r.steps,
                "holdout": r.holdout,
                "beacon": r.beacon,
                "beacon_derived": r.beacon_derived,
                "from_checkpoint": r.from_checkpoint,
                "initial_commitment": r.initial_commitment,
                "final_commitment": r.final_commitment,
                "proofs": r.proofs,
            },
            "evaluation": eval,
            "files": files,
        },
    });
    let mut text = serde_json::to_string_pretty(&statement)
        .map_err(|_| Error::Internal("attestation serialization"))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prover_chosen_names_cannot_inject_markup() {
        assert_eq!(cell("cat"), "cat");
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("x\\"), "x\\\\");
        assert_eq!(cell("<img src=x>"), "\\<img src\\=x\\>");
        assert_eq!(cell("[99%](https://e)"), "\\[99\\%\\]\\(https\\:\\/\\/e\\)");
        assert_eq!(cell("a\nb\u{202e}c\u{200b}\u{0007}"), "a bc");
        assert_eq!(cell(&"n".repeat(100)).chars().count(), MAX_CELL + 3);
        assert_eq!(cell("chat\u{e9}"), "chat\u{e9}");
    }

    #[test]
    fn names_are_repository_names() {
        for ok in ["iris-mlp", "a", "v1.2_b"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "has space",
            "quo\"te",
            "new\nline",
            "colon:x",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(!valid_name(&"x".repeat(97)));
    }
}
