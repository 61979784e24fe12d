//! Proving an evaluation: a run's trained model scored on its held-out
//! rows, in proofs of a fixed number of rows each, written atomically so an
//! interrupted evaluation resumes without re-proving.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::infer::eval::{confusion_native, EvalCircuit, EvalWitness, MAX_EVAL_ROWS};
use zkpot_circuits::proving::{prove, proving_key};

use super::file::{eval_proof_name, EvalFile, Selection, EVAL_FORMAT, EVAL_VERSION};
use crate::data::{DataError, Dataset};
use crate::files::write_atomic;
use crate::hex::fp_to_hex;
use crate::infer::LoadedModel;
use crate::params::ParamsCache;
use crate::proof::Envelope;
use crate::train::run::{run_dataset, trained_model, RunFile};
use crate::Error;

/// The largest `k` an evaluation proof is planned at by default: about 0.6
/// GiB to prove, and the one verifying key a verifier rebuilds stays small.
pub const EVAL_TARGET_K: u32 = 12;

/// The largest circuit (`2^k` rows) an evaluation proof uses: the
/// inference prover's limit. A model of which one row does not fit
/// [`EVAL_TARGET_K`] gets the smallest size that holds one row.
pub const EVAL_MAX_K: u32 = crate::infer::INFER_MAX_K;

/// Options of [`evaluate_run`].
#[derive(Clone, Debug, Default)]
pub struct EvalOptions {
    /// Rows a proof; by default the most (up to 256) that fit
    /// [`EVAL_TARGET_K`].
    pub rows_per_proof: Option<u64>,
    /// Show progress.
    pub progress: bool,
    /// With [`evaluate_run`]: score only the first this many held-out rows
    /// (a uniformly random sample fixed by the root and the beacon), not
    /// all of them; verification reports a 95% confidence interval.
    pub sample: Option<u64>,
}

/// What an evaluation did.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// The evaluation file.
    pub file: EvalFile,
    /// Proofs created by this invocation (others were already there).
    pub proved: usize,
    /// Seconds spent proving.
    pub prove_s: f64,
    /// The circuit size of a full proof.
    pub k: u32,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
        .into()
    }
}

/// Scores the model a run trained on the run's held-out rows, with a proof
/// of every chunk of rows, into `out_dir` (`eval.json` and `proofs/`). The
/// model's commitment is the run's final one, so the evaluation links to
/// the run (`zkpot verify RUN EVAL`).
pub fn evaluate_run(
    cache: &ParamsCache,
    run_dir: &Path,
    out_dir: &Path,
    opts: &EvalOptions,
) -> Result<EvalReport, Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    if run.checkpoint.is_some() {
        return Err(Error::Options(format!(
            "{} fine-tuned a checkpoint whose training is not bound to its split; held-out \
             scores are proven for runs that start from their seed",
            run_dir.display()
        )));
    }
    if run.holdout == 0 {
        return Err(Error::Options(format!(
            "{} holds no rows out of training; train with --holdout to score held-out rows",
            run_dir.display()
        )));
    }
    let dataset = run_dataset(run_dir, &run)?;
    let (model, _) = trained_model(run_dir)?;
    let sample = match opts.sample {
        Some(m) if m == 0 || m > run.holdout => {
            return Err(Error::Options(format!(
                "a sample of {m} held-out rows: the run holds out {} (give 1 to {})",
                run.holdout, run.holdout
            )))
        }
        Some(m) if m < run.holdout => Some(m),
        _ => None,
    };
    let selection = Selection::Holdout {
        beacon: run.beacon.clone(),
        holdout: run.holdout,
        sample,
    };
    evaluate(cache, &model, &dataset, selection, out_dir, opts)
}

/// The most calibration rows an imported model's formats are chosen on.
pub const CALIBRATION_ROWS: u64 = 256;

/// Scores an imported model (ONNX or zkpot's JSON form) on rows `first ..
/// first + count` of the committed dataset in `data_dir` (all rows by
/// default), into `out_dir`: a private benchmark. The model reads the rows
/// as committed (normalized by the dataset's public normalization, in its
/// feature format), so its input width must be the dataset's features and
/// its outputs (or argmax head) the dataset's classes; activation and weight
/// formats are calibrated on the scored rows. `C_W` is salted from
/// `secret`, as in proofs of inference, so an inference proof of the same
/// model names the same `C_W`.
pub fn evaluate_model(
    cache: &ParamsCache,
    model_path: &Path,
    data_dir: &Path,
    rows: Option<(u64, u64)>,
    secret: &[u8; 32],
    out_dir: &Path,
    opts: &EvalOptions,
) -> Result<EvalReport, Error> {
    let (model, dataset, selection) = prepare_model(model_path, data_dir, rows, secret)?;
    evaluate(cache, &model, &dataset, selection, out_dir, opts)
}

/// The checks and quantization of [`evaluate_model`], before any proof: the
/// model as it will be scored, the dataset and the rows.
pub fn prepare_model(
    model_path: &Path,
    data_dir: &Path,
    rows: Option<(u64, u64)>,
    secret: &[u8; 32],
) -> Result<(LoadedModel, Dataset, Selection), Error> {
    let dataset = Dataset::load(data_dir)?;
    let c = dataset.commitment();
    let (first, count) = rows.unwrap_or((0, c.n_rows));
    if count == 0 || first.checked_add(count).is_none_or(|end| end > c.n_rows) {
        return Err(Error::Options(format!(
            "rows {first}..{} are not a non-empty range of the dataset's {} rows",
            first.saturating_add(count),
            c.n_rows
        )));
    }
    let schema = &c.schema;
    let float = crate::model::load_model(model_path)?;
    if float.input_len != schema.n_features {
        return Err(Error::Options(format!(
            "{} takes {} inputs; the dataset's rows have {} features",
            model_path.display(),
            float.input_len,
            schema.n_features
        )));
    }
    if float.preprocess.is_some() {
        return Err(Error::Options(format!(
            "{} normalizes its raw input ({}); an evaluation reads the committed rows \
             as they are, so commit the dataset with that normalization and export the \
             model without it",
            model_path.display(),
            float
                .notes
                .iter()
                .find(|n| n.contains("preprocessing"))
                .map_or("a leading scale and shift", String::as_str)
        )));
    }
    let scale = schema.format.scale();
    let calibration: Vec<Vec<f64>> = (first..first + count.min(CALIBRATION_ROWS))
        .map(|i| {
            dataset.row(i).map(|r| {
                r[..schema.n_features]
                    .iter()
                    .map(|v| *v as f64 / scale)
                    .collect()
            })
        })
        .collect::<Result<_, _>>()?;
    let quant = crate::model::QuantOptions {
        input: Some(schema.format),
        ..crate::model::QuantOptions::default()
    };
    let model = LoadedModel::from_float(&float, &calibration, secret, quant)?;
    let classes = zkpot_circuits::infer::eval::classes_of(&model.model);
    if classes != schema.classes.len() {
        return Err(Error::Options(format!(
            "{} predicts {classes} classes; the dataset has {}",
            model_path.display(),
            schema.classes.len()
        )));
    }
    check_class_names(model_path, float.labels.as_deref(), &schema.classes)?;
    Ok((model, dataset, Selection::Range { first, count }))
}

/// The most rows (up to `want`, at most 256) of `model` on `dataset` whose
/// proof fits [`EVAL_TARGET_K`] (at least one), by bisection.
fn plan_rows(model: &LoadedModel, dataset: &Dataset, want: u64) -> Result<u64, Error> {
    let c = dataset.commitment();
    let size = |rows: u64| -> Result<Option<u32>, Error> {
        let circuit = EvalCircuit::new(
            model.model.clone(),
            c.schema.layout(),
            c.depth as usize,
            rows as usize,
            None,
        )?;
        match circuit.measure() {
            Ok(m) => Ok(Some(m.k)),
            Err(zkpot_circuits::circuits::CircuitError::TooLarge { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    };
    // One row a proof at the size one row needs would make a proof a row
    // (and a key a proof's worth of work each time); fill that size instead.
    let target = match size(1)? {
        Some(k) if k <= EVAL_MAX_K => k.max(EVAL_TARGET_K),
        Some(k) => {
            return Err(Error::Options(format!(
                "one row of this model's evaluation needs a circuit of k = {k}; evaluation \
                 proofs stop at k = {EVAL_MAX_K}"
            )))
        }
        None => {
            return Err(Error::Options(
                "one row of this model's evaluation does not fit any circuit size".into(),
            ))
        }
    };
    let fits = |rows: u64| -> Result<bool, Error> { Ok(size(rows)?.is_some_and(|k| k <= target)) };
    let (mut lo, mut hi) = (1u64, want.clamp(1, 256));
    if fits(hi)? {
        return Ok(hi);
    }
    // Either `lo` fits or it is 1; `hi` does not fit.
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Refuses a model whose file names its classes otherwise than the dataset
/// at the same index (another order, or other names): the proof scores class
/// index against class index, so such a model's accuracy would be another
/// model's. Models whose classes are the indices `0, 1, ...` are index-coded
/// and pass.
fn check_class_names(
    model_path: &Path,
    labels: Option<&[String]>,
    classes: &[String],
) -> Result<(), Error> {
    let Some(labels) = labels else {
        return Ok(());
    };
    let index_coded = labels.iter().enumerate().all(|(i, l)| *l == i.to_string());
    if index_coded || labels == classes {
        return Ok(());
    }
    let mut a = labels.to_vec();
    let mut b = classes.to_vec();
    a.sort();
    b.sort();
    let how = if a == b {
        "the same classes in another order"
    } else {
        "other class names"
    };
    Err(Error::Options(format!(
        "{} names its classes [{}] and the dataset [{}] ({how}): the proof scores the \
         model's class i as the dataset's class i; export the model with the dataset's \
         classes in its order",
        model_path.display(),
        labels.join(", "),
        classes.join(", ")
    )))
}

/// Scores `model` on the `selection` of `dataset`'s rows into `out_dir`.
pub fn evaluate(
    cache: &ParamsCache,
    model: &LoadedModel,
    dataset: &Dataset,
    selection: Selection,
    out_dir: &Path,
    opts: &EvalOptions,
) -> Result<EvalReport, Error> {
    if let (Some(m), Selection::Range { .. }) = (opts.sample, &selection) {
        return Err(Error::Options(format!(
            "a sample of {m} rows is drawn from a run's held-out split; an imported model \
             scores a range of rows (give the rows to score instead)"
        )));
    }
    let c = dataset.commitment();
    let per_proof = match opts.rows_per_proof {
        Some(r) if r == 0 || r > MAX_EVAL_ROWS as u64 => {
            return Err(Error::Options(format!(
                "rows per proof must be between 1 and {MAX_EVAL_ROWS}"
            )))
        }
        Some(r) => r,
        None => plan_rows(model, dataset, selection.rows())?,
    }
    // Canonical: a proof holds at most every row (the file says the same
    // thing one way only).
    .min(selection.rows().max(1));
    let mut file = EvalFile {
        format: EVAL_FORMAT.into(),
        version: EVAL_VERSION,
        model: model.model.clone(),
        weights_commitment: String::new(),
        dataset: c.clone(),
        selection,
        rows_per_proof: per_proof,
        confusion: vec![],
        proofs: vec![],
    };
    file.proofs = (0..file.groups()).map(eval_proof_name).collect();
    let flat: Vec<i64> = model.weights.iter().flatten().copied().collect();
    file.weights_commitment = fp_to_hex(&zkpot_circuits::train::weights_commitment_native(
        model.weight_salt,
        &flat,
        model.model.weight.bits(),
    ));
    // Every chunk's rows and counts, natively, before any proof.
    let root = c.root()?;
    let classes = zkpot_circuits::infer::eval::classes_of(&model.model);
    let mut chunks = Vec::with_capacity(file.groups() as usize);
    let mut total = vec![0u64; classes * classes];
    for g in 0..file.groups() {
        let rows = file.selection.chunk(g, per_proof);
        let indices = rows.indices(root, c.n_rows)?;
        let openings = indices
            .iter()
            .map(|i| dataset.opening(*i))
            .collect::<Result<Vec<_>, _>>()?;
        let values: Vec<Vec<i64>> = openings.iter().map(|o| o.values.clone()).collect();
        let counts = confusion_native(&model.model, &model.weights, &values)?;
        for (t, n) in total.iter_mut().zip(&counts) {
            *t += n;
        }
        chunks.push((openings, counts));
    }
    file.confusion = total;
    file.check()?;

    std::fs::create_dir_all(out_dir.join("proofs")).map_err(io(out_dir))?;
    let path = out_dir.join("eval.json");
    if path.exists() {
        let existing = EvalFile::read(&path)?;
        if existing != file {
            return Err(Error::Options(format!(
                "{} holds another evaluation; use a new directory",
                out_dir.display()
            )));
        }
    } else {
        let text = serde_json::to_vec_pretty(&file)
            .map_err(|_| Error::Internal("evaluation serialization"))?;
        write_atomic(&path, &text).map_err(io(&path))?;
    }

    let bar = crate::progress::bar(opts.progress, chunks.len() as u64, "proving the evaluation");
    let mut keys: Option<(
        u64,
        halo2_proofs::plonk::ProvingKey<halo2_proofs::pasta::EqAffine>,
    )> = None;
    let (mut proved, mut seconds, mut full_k) = (0, 0.0, 0);
    for (g, (openings, counts)) in chunks.into_iter().enumerate() {
        let statement = file.statement(g as u64, counts)?;
        let proof_path = out_dir.join(&file.proofs[g]);
        // A short chunk repeats its first row, unflagged, up to the capacity.
        let counted = openings.len();
        let mut openings = openings;
        if let Some(first) = openings.first().cloned() {
            openings.resize(statement.capacity as usize, first);
        }
        let circuit = EvalCircuit::new(
            model.model.clone(),
            c.schema.layout(),
            c.depth as usize,
            openings.len(),
            Some(EvalWitness {
                weights: model.weights.clone(),
                weight_salt: model.weight_salt,
                openings,
                counted,
                context: statement.context()?,
            }),
        )?;
        let k = circuit.measure()?.k;
        if k > EVAL_MAX_K {
            return Err(Error::Options(format!(
                "{} rows a proof need a circuit of k = {k}; evaluation proofs stop at k = \
                 {EVAL_MAX_K}: give fewer rows a proof (--rows-per-proof)",
                per_proof
            )));
        }
        full_k = full_k.max(k);
        let statement_bytes = statement.to_bytes()?;
        if let Ok(bytes) = crate::files::read_bounded(&proof_path, crate::proof::MAX_ENVELOPE_FILE)
        {
            if Envelope::from_bytes(&bytes).is_ok_and(|e| e.statement == statement_bytes) {
                bar.inc(1);
                continue;
            }
        }
        let public = statement.public_inputs()?;
        if circuit.public_inputs()?.0 != public {
            return Err(Error::Internal(
                "the native evaluation and its statement disagree",
            ));
        }
        let params = cache.get(k)?;
        let rows = statement.capacity;
        if keys.as_ref().map(|(r, _)| *r) != Some(rows) {
            keys = Some((rows, proving_key(&params, &circuit.describe())?));
        }
        let Some((_, pk)) = keys.as_ref() else {
            return Err(Error::Internal("proving key missing"));
        };
        let t = Instant::now();
        let proof = prove(&params, pk, circuit, &public)?;
        seconds += t.elapsed().as_secs_f64();
        let bytes = statement.envelope(public, proof)?.to_bytes();
        write_atomic(&proof_path, &bytes).map_err(io(&proof_path))?;
        proved += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(EvalReport {
        file,
        proved,
        prove_s: seconds,
        k: full_k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_must_match_the_datasets_by_index() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = Path::new("m.onnx");
        let ds = names(&["setosa", "versicolor", "virginica"]);
        assert!(check_class_names(p, None, &ds).is_ok());
        assert!(check_class_names(p, Some(&ds), &ds).is_ok());
        assert!(check_class_names(p, Some(&names(&["0", "1", "2"])), &ds).is_ok());
        let rev = names(&["virginica", "versicolor", "setosa"]);
        let e = check_class_names(p, Some(&rev), &ds).unwrap_err();
        assert!(e.to_string().contains("another order"), "{e}");
        let other = names(&["a", "b", "c"]);
        assert!(check_class_names(p, Some(&other), &ds).is_err());
    }
}
