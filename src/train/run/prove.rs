//! Training with proofs: native fixed-point training on the sampled batches,
//! then one proof per group of steps, written atomically so an interrupted
//! run resumes without re-proving; proving step ranges of an existing run;
//! and the trained model (from the private files) for linked inferences.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use zkpot_circuits::circuits::CircuitError;
use zkpot_circuits::envelope::bound;
use zkpot_circuits::proving::{prove, proving_key};
use zkpot_circuits::train::circuit::{MAX_STEPS_PER_PROOF, TRAIN_MAX_K};
use zkpot_circuits::train::{
    init_params, weights_commitment_native, Arch, MlpParams, TrainSpec, TrainStepCircuit,
};
use zkpot_circuits::Fp;

use super::super::sampling::Sampling;
use super::super::statement::MAX_RUN_STEPS;
use super::file::RunFile;
use super::private::Private;
use super::start::{dir_is_empty, start_run, StartRun};
use super::tasks::{group_witness, has_proof};
use super::{init_salt, io, salt_at};
use crate::data::Dataset;
use crate::files::write_atomic;
use crate::hex::{fp_from_hex, fp_to_hex};
use crate::params::ParamsCache;
use crate::progress::Observer;
use crate::Error;

/// Options of [`train`].
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The dataset directory (written by `zkpot data commit`).
    pub data_dir: PathBuf,
    /// The architecture (an MLP's widths, or a CNN's layers): see
    /// [`parse_model`].
    pub model: Arch,
    /// The loss.
    pub loss: zkpot_circuits::train::Loss,
    /// Learning rate (rounded to a multiple of 2^-8).
    pub lr: f64,
    /// Batch size (a power of two).
    pub batch: usize,
    /// SGD steps.
    pub steps: u64,
    /// Steps per proof.
    pub steps_per_proof: u64,
    /// Initialization seed.
    pub seed: u64,
    /// Fine-tune: start from the final weights of this earlier run (its
    /// directory, private files included) instead of the seed's weights.
    pub from_run: Option<PathBuf>,
    /// External randomness for sampling; derived from the commitments if absent.
    pub beacon: Option<[u8; 32]>,
    /// Batch sampling.
    pub sampling: Sampling,
    /// The fraction of rows held out of training (0 for none; below 1): the
    /// split is a function of the dataset's public root and the beacon, see
    /// [`holdout_rows`] and [`Split`](super::super::sampling::Split).
    pub holdout: f64,
    /// Publish the final weights with the opening of `C_{W_T}`.
    pub release_weights: bool,
    /// Show progress bars on standard error.
    pub progress: bool,
    /// Train natively and write the run file and checkpoints, but prove
    /// nothing: prove later with [`prove_range`] or as distributed tasks
    /// ([`group_task`](super::tasks::group_task)).
    pub prove_later: bool,
    /// Receives progress: `"training"` (steps done, steps) and `"proving"`
    /// (proofs done, proofs).
    pub observer: Observer,
}

/// The number of rows a fraction `fraction` of `n_rows` holds out: `round(f
/// n)`, at least one when the fraction is positive; 0 for a fraction of 0.
/// A fraction outside `[0, 1)` is an error.
pub fn holdout_rows(n_rows: u64, fraction: f64) -> Result<u64, Error> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::Options(format!(
            "the held-out fraction {fraction} must lie in [0, 1)"
        )));
    }
    if fraction == 0.0 {
        return Ok(0);
    }
    if n_rows < 2 {
        return Err(Error::Options(format!(
            "a dataset of {n_rows} row(s) cannot hold rows out"
        )));
    }
    let m = (fraction * n_rows as f64).round() as u64;
    Ok(m.clamp(1, n_rows.saturating_sub(1)))
}

/// Parses a model shorthand: `mlp:64-32-10` (layer widths, inputs first,
/// classes last) or `cnn:1x8x8-c4k3p1-relu-avg2-d10` (input channels x height
/// x width, then convolutions, ReLU, pooling and dense layers; see
/// [`Arch`]).
pub fn parse_model(s: &str) -> Result<Arch, Error> {
    Arch::parse(s).map_err(|e| Error::Options(e.to_string()))
}

/// A loss by name: `cross-entropy` (or `ce`, or `cross_entropy` as run files
/// write it) or `mse`.
pub fn parse_loss(s: &str) -> Result<zkpot_circuits::train::Loss, Error> {
    match s {
        "cross-entropy" | "cross_entropy" | "ce" => Ok(zkpot_circuits::train::Loss::CrossEntropy),
        "mse" => Ok(zkpot_circuits::train::Loss::Mse),
        other => Err(Error::Options(format!(
            "unknown loss {other:?} (cross-entropy, mse)"
        ))),
    }
}

/// A batch sampling by name: `shuffle` or `replacement`.
pub fn parse_sampling(s: &str) -> Result<Sampling, Error> {
    match s {
        "shuffle" => Ok(Sampling::Shuffle),
        "replacement" => Ok(Sampling::Replacement),
        other => Err(Error::Options(format!(
            "unknown sampling {other:?} (shuffle, replacement)"
        ))),
    }
}

/// What `train` did.
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// The run file.
    pub run: RunFile,
    /// Proofs created by this invocation (others were already there).
    pub proved: usize,
    /// Total proving seconds of this invocation.
    pub prove_s: f64,
    /// Total bytes of all proofs of the run.
    pub proof_bytes: u64,
    /// The final weights (private unless released).
    #[serde(skip)]
    pub final_params: MlpParams,
}

/// Trains natively, then proves every group of steps not yet proven.
pub fn train(
    cache: &ParamsCache,
    run_dir: &Path,
    opts: &TrainOptions,
) -> Result<TrainReport, Error> {
    let dataset = Dataset::load(&opts.data_dir)?;
    let c = dataset.commitment().clone();
    let schema = &c.schema;
    if opts.model.input_len() != schema.n_features || opts.model.classes() != schema.classes.len() {
        return Err(Error::Options(format!(
            "model {} does not fit the dataset: it takes {} inputs and gives {} classes, \
             the dataset has {} features and {} classes",
            opts.model,
            opts.model.input_len(),
            opts.model.classes(),
            schema.n_features,
            schema.classes.len()
        )));
    }
    let lr_num = (opts.lr * 256.0).round();
    if !(1.0..=65536.0).contains(&lr_num) {
        return Err(Error::Options(format!(
            "learning rate {} must lie in [1/256, 256]",
            opts.lr
        )));
    }
    // The step circuit multiplies by lr_num / 256; another rate would train
    // with a rate the user did not ask for.
    if (opts.lr * 256.0 - lr_num).abs() > 1e-9 {
        let below = (opts.lr * 256.0).floor().max(1.0) / 256.0;
        let above = (opts.lr * 256.0).ceil() / 256.0;
        return Err(Error::Options(format!(
            "learning rate {} is not a multiple of 1/256 (the nearest are {below} and {above})",
            opts.lr
        )));
    }
    let spec = TrainSpec {
        widths: opts.model.widths.clone(),
        conv: opts.model.conv.clone(),
        loss: opts.loss,
        lr_num: lr_num as u32,
        lr_shift: 8,
        batch: opts.batch,
        formats: zkpot_circuits::train::TrainFormats::for_input(schema.format),
    };
    // The verifier's envelope, checked before any work: the spec, the step
    // counts, and a batch that fits the dataset.
    spec.validate()?;
    bound(|| "steps".into(), opts.steps, 1, MAX_RUN_STEPS)?;
    bound(
        || "steps per proof".into(),
        opts.steps_per_proof,
        1,
        MAX_STEPS_PER_PROOF,
    )?;
    let holdout = holdout_rows(dataset.n_rows(), opts.holdout)?;
    let train_rows = dataset.n_rows() - holdout;
    if (opts.batch as u64) > train_rows && opts.sampling == Sampling::Shuffle {
        return Err(Error::Options(format!(
            "the batch ({}) is larger than the training rows ({} of {}, {holdout} held out)",
            opts.batch,
            train_rows,
            dataset.n_rows()
        )));
    }
    // Check the step circuit can be planned, and proven in reasonable
    // memory, before any work.
    let planned = TrainStepCircuit::new(
        spec.clone(),
        schema.layout(),
        c.depth as usize,
        opts.steps_per_proof as usize,
        None,
    )?
    .measure();
    if let Err(CircuitError::TooLarge { rows, .. }) = &planned {
        let k = 64 - (rows.max(&1) - 1).leading_zeros();
        return Err(Error::Options(format!(
            "one proof of {} step(s) of batch {} needs about 2^{k} rows (over {} GiB to \
             prove); the limit is k = {TRAIN_MAX_K}: use a smaller batch or fewer steps per proof",
            opts.steps_per_proof,
            opts.batch,
            (0.6 * f64::from(1u32 << (k.clamp(12, 30) - 12))).round()
        )));
    }
    planned?;

    let (init, salt0, checkpoint) = match &opts.from_run {
        None => (init_params(&spec, opts.seed), init_salt(opts.seed), None),
        Some(prev) => {
            let (params, salt, c) = final_weights(prev, &spec)?;
            (params, salt, Some(c))
        }
    };
    // A directory this command creates is removed again if it fails before
    // the run is written; an existing run is only ever compared, never
    // rewritten, until it is known to be this same run.
    let created = !run_dir.exists();
    let was_empty = created || dir_is_empty(run_dir);
    let start = StartRun {
        opts,
        spec,
        dataset: &dataset,
        holdout,
        init,
        salt0,
        checkpoint,
    };
    let (run, private, secret, params) = match start_run(run_dir, start) {
        Ok(started) => started,
        Err(e) => {
            if created {
                let _ = std::fs::remove_dir_all(run_dir);
            } else if was_empty {
                let _ = std::fs::remove_dir_all(run_dir.join("private"));
                let _ = std::fs::remove_file(run_dir.join("run.json"));
            }
            return Err(e);
        }
    };

    let (proved, prove_s) = prove_groups(
        cache,
        run_dir,
        &run,
        &dataset,
        &private,
        &secret,
        if opts.prove_later {
            0..0
        } else {
            0..run.proofs.len()
        },
        opts.progress,
        &opts.observer,
    )?;
    if opts.release_weights {
        release(run_dir, &run, &params, &private, &secret)?;
    }
    Ok(TrainReport {
        proof_bytes: proof_bytes(run_dir, &run),
        run,
        proved,
        prove_s,
        final_params: params,
    })
}

fn proof_bytes(run_dir: &Path, run: &RunFile) -> u64 {
    run.proofs
        .iter()
        .filter_map(|p| std::fs::metadata(run_dir.join(p)).ok())
        .map(|m| m.len())
        .sum()
}

/// Publishes the final weights and the salt opening `C_{W_T}`.
fn release(
    run_dir: &Path,
    run: &RunFile,
    params: &MlpParams,
    private: &Private,
    secret: &[u8; 32],
) -> Result<(), Error> {
    #[derive(Serialize)]
    struct Released<'a> {
        format: &'static str,
        commitment: &'a str,
        salt: String,
        spec: &'a TrainSpec,
        params: &'a MlpParams,
    }
    let salt = salt_at(secret, private.init_salt(run)?, run.steps);
    let r = Released {
        format: "zkpot-released-model",
        commitment: run.chain.last().map(String::as_str).unwrap_or_default(),
        salt: fp_to_hex(&salt),
        spec: &run.spec,
        params,
    };
    let path = run_dir.join("model.json");
    let text = serde_json::to_vec_pretty(&r).map_err(|_| Error::Internal("model serialization"))?;
    write_atomic(&path, &text).map_err(io(&path))
}

/// Proves the groups in `range` that have no valid proof file yet.
#[allow(clippy::too_many_arguments)]
fn prove_groups(
    cache: &ParamsCache,
    run_dir: &Path,
    run: &RunFile,
    dataset: &Dataset,
    private: &Private,
    secret: &[u8; 32],
    range: std::ops::Range<usize>,
    progress: bool,
    observer: &Observer,
) -> Result<(usize, f64), Error> {
    let bar = crate::progress::bar(progress, range.len() as u64, "proving steps");
    let proofs_dir = run_dir.join("proofs");
    std::fs::create_dir_all(&proofs_dir).map_err(io(&proofs_dir))?;
    let mut keys: Option<(
        u64,
        halo2_proofs::plonk::ProvingKey<halo2_proofs::pasta::EqAffine>,
        u32,
    )> = None;
    let mut proved = 0;
    let mut seconds = 0.0;
    let total = range.len() as u64;
    for (n, g) in range.enumerate() {
        observer.report("proving", n as u64, total);
        if has_proof(run_dir, run, g)? {
            bar.inc(1);
            continue;
        }
        let path = run_dir.join(&run.proofs[g]);
        let (statement, witness) = group_witness(run, dataset, private, secret, g)?;
        let sampler = statement.sampler()?;
        let public = statement.public_inputs(&sampler)?;
        let circuit = TrainStepCircuit::new(
            run.spec.clone(),
            run.dataset.schema.layout(),
            run.dataset.depth as usize,
            statement.steps as usize,
            Some(witness),
        )?;
        let (native_public, _) = circuit.public_inputs()?;
        if native_public != public {
            return Err(Error::Internal("the native run and its statement disagree"));
        }
        let k = circuit.measure()?.k;
        let params = cache.get(k)?;
        if keys.as_ref().map(|(s, _, kk)| (*s, *kk)) != Some((statement.steps, k)) {
            keys = Some((
                statement.steps,
                proving_key(&params, &circuit.describe())?,
                k,
            ));
        }
        let Some((_, pk, _)) = keys.as_ref() else {
            return Err(Error::Internal("proving key missing"));
        };
        let t = Instant::now();
        let proof = prove(&params, pk, circuit, &public)?;
        seconds += t.elapsed().as_secs_f64();
        let bytes = statement.envelope(public, proof)?.to_bytes();
        write_atomic(&path, &bytes).map_err(io(&path))?;
        proved += 1;
        bar.inc(1);
    }
    observer.report("proving", total, total);
    bar.finish_and_clear();
    Ok((proved, seconds))
}

/// Proves the groups whose first step lies in `steps` (for sharing a long run
/// across processes or machines). The run must have been created by `train`.
pub fn prove_range(
    cache: &ParamsCache,
    run_dir: &Path,
    steps: std::ops::Range<u64>,
    progress: bool,
) -> Result<(usize, f64), Error> {
    prove_range_observed(cache, run_dir, steps, progress, &Observer::none())
}

/// [`prove_range`], reporting progress (`"proving"`, proofs done, proofs in
/// the range) to `observer`.
pub fn prove_range_observed(
    cache: &ParamsCache,
    run_dir: &Path,
    steps: std::ops::Range<u64>,
    progress: bool,
    observer: &Observer,
) -> Result<(usize, f64), Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let private = Private::new(run_dir)?;
    let dataset = run_dataset(run_dir, &run)?;
    let secret = private.existing_secret()?;
    let s = run.steps_per_proof;
    let first = (steps.start.div_ceil(s)) as usize;
    let last = (steps.end.div_ceil(s) as usize).min(run.groups());
    prove_groups(
        cache,
        run_dir,
        &run,
        &dataset,
        &private,
        &secret,
        first..last.max(first),
        progress,
        observer,
    )
}

/// The dataset a run trained on, loaded from where its private files say it
/// lives, and checked to be the run's commitment.
pub fn run_dataset(run_dir: &Path, run: &RunFile) -> Result<Dataset, Error> {
    let private = Private {
        dir: run_dir.join("private"),
    };
    let source = private.source_path();
    let data_dir = std::fs::read_to_string(&source).map_err(io(&source))?;
    let dataset = Dataset::load(Path::new(data_dir.trim()))?;
    if dataset.commitment() != &run.dataset {
        return Err(Error::Options(
            "the dataset directory no longer matches the run".into(),
        ));
    }
    Ok(dataset)
}

/// The final weights of a run, their salt and commitment (hex), from its
/// private files, checked against its final commitment and against `spec`'s
/// architecture and formats.
fn final_weights(run_dir: &Path, spec: &TrainSpec) -> Result<(MlpParams, Fp, String), Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    if run.spec.widths != spec.widths
        || run.spec.conv != spec.conv
        || run.spec.formats != spec.formats
    {
        return Err(Error::Options(format!(
            "the checkpoint of {} is a {} model with other formats or layers than {}",
            run_dir.display(),
            run.spec.arch(),
            spec.arch()
        )));
    }
    let private = Private {
        dir: run_dir.join("private"),
    };
    let secret = private.existing_secret()?;
    let params = private.read_checkpoint(run.steps)?;
    let salt = salt_at(&secret, private.init_salt(&run)?, run.steps);
    let c = weights_commitment_native(salt, &params.flatten(), spec.formats.weight.bits());
    let last = run.chain.last().cloned().unwrap_or_default();
    if fp_from_hex(&last) != Some(c) {
        return Err(Error::Options(format!(
            "the private checkpoint of {} does not match its final commitment",
            run_dir.display()
        )));
    }
    Ok((params, salt, last))
}

/// The trained model of a run, ready for proofs of inference whose `C_W` is
/// the run's final commitment (needs the run's private files), and the
/// dataset schema to normalize raw inputs with.
pub fn trained_model(
    run_dir: &Path,
) -> Result<(crate::infer::LoadedModel, crate::data::Schema), Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let (params, salt, _) = final_weights(run_dir, &run.spec)?;
    let (model, weights) = crate::model::from_trained(&run.spec, &params);
    Ok((
        crate::infer::LoadedModel::from_parts(model, weights, salt),
        run.dataset.schema.clone(),
    ))
}
