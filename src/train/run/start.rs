//! Starting a run: native fixed-point training on the sampled batches, the
//! chain of weight commitments and the run file. A directory that already
//! holds a run is compared with the run these options describe and left
//! untouched unless it is the same run (then the command resumes it).

use std::path::Path;

use zkpot_circuits::train::{sgd_step, weights_commitment_native, MlpParams, TrainSpec};
use zkpot_circuits::Fp;

use ff::PrimeField;

use super::super::sampling::Sampler;
use super::file::{proof_name, RunFile, RUN_FORMAT, RUN_VERSION};
use super::private::Private;
use super::prove::TrainOptions;
use super::{derived_beacon, io, salt_at};
use crate::data::Dataset;
use crate::files::{write_atomic, write_private};
use crate::hex::{bytes_to_hex, fp_to_hex};
use crate::Error;

/// What a run starts from, once the options are checked.
pub(super) struct StartRun<'a> {
    pub(super) opts: &'a TrainOptions,
    pub(super) spec: TrainSpec,
    pub(super) dataset: &'a Dataset,
    pub(super) holdout: u64,
    pub(super) init: MlpParams,
    pub(super) salt0: Fp,
    pub(super) checkpoint: Option<String>,
}

/// A started run: its file, private files, secret and final weights.
pub(super) type Started = (RunFile, Private, [u8; 32], MlpParams);

/// Whether `dir` is a directory with nothing in it (an unreadable one
/// counts as not empty, so nothing in it is ever removed).
pub(super) fn dir_is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut entries| entries.next().is_none())
        .unwrap_or(false)
}

fn another_run(run_dir: &Path) -> Error {
    Error::Options(format!(
        "{} holds another run (different data, spec, beacon, steps or secrets); use a new directory",
        run_dir.display()
    ))
}

/// Where private files go: written for a new run; for an existing run
/// compared with what is there (a difference means another run, and nothing
/// is written), files it lacks kept until the whole run is known to match.
struct PrivateSink<'a> {
    private: &'a Private,
    existing: bool,
    run_dir: &'a Path,
    deferred: Vec<(std::path::PathBuf, Vec<u8>)>,
}

impl PrivateSink<'_> {
    fn put(&mut self, path: std::path::PathBuf, bytes: Vec<u8>) -> Result<(), Error> {
        if !self.existing {
            return write_private(&path, &bytes).map_err(io(&path));
        }
        match std::fs::read(&path) {
            Ok(old) if old == bytes => Ok(()),
            Ok(_) => Err(another_run(self.run_dir)),
            Err(_) => {
                self.deferred.push((path, bytes));
                Ok(())
            }
        }
    }

    fn checkpoint(&mut self, t: u64, params: &MlpParams) -> Result<(), Error> {
        let bytes =
            serde_json::to_vec(params).map_err(|_| Error::Internal("checkpoint serialization"))?;
        self.put(self.private.checkpoint_path(t), bytes)
    }

    fn flush(self) -> Result<(), Error> {
        for (path, bytes) in self.deferred {
            write_private(&path, &bytes).map_err(io(&path))?;
        }
        Ok(())
    }
}

/// Trains natively, keeping the weights at proof boundaries, and writes the
/// run file; or, when `run_dir` holds a run, checks it is this one.
pub(super) fn start_run(run_dir: &Path, start: StartRun<'_>) -> Result<Started, Error> {
    let StartRun {
        opts,
        spec,
        dataset,
        holdout,
        init,
        salt0,
        checkpoint,
    } = start;
    let c = dataset.commitment();
    let run_path = run_dir.join("run.json");
    let existing = if run_path.exists() {
        Some(RunFile::read(&run_path)?)
    } else {
        None
    };
    std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;
    let private = Private::new(run_dir)?;
    let secret = match existing {
        Some(_) => private.existing_secret()?,
        None => private.secret()?,
    };
    let c0_fp = weights_commitment_native(salt0, &init.flatten(), spec.formats.weight.bits());
    let (beacon, derived) = match opts.beacon {
        Some(b) => (b, false),
        None => (derived_beacon(c.root()?, c0_fp, &spec)?, true),
    };
    let s = opts.steps_per_proof;
    let groups = opts.steps.div_ceil(s);
    let mut run = RunFile {
        format: RUN_FORMAT.into(),
        version: RUN_VERSION,
        dataset: c.clone(),
        spec,
        sampling: opts.sampling,
        holdout,
        beacon: bytes_to_hex(&beacon),
        beacon_derived: derived,
        seed: opts.seed,
        checkpoint,
        steps: opts.steps,
        steps_per_proof: s,
        chain: vec![fp_to_hex(&c0_fp)],
        proofs: (0..groups).map(|g| proof_name(g, opts.steps, s)).collect(),
    };
    // Another run is told apart before any training, by everything but
    // the commitments after the first.
    if let Some(old) = &existing {
        let mut header = run.clone();
        header.chain.clone_from(&old.chain);
        if header != *old || old.chain.first() != run.chain.first() {
            return Err(another_run(run_dir));
        }
    }
    let mut sink = PrivateSink {
        private: &private,
        existing: existing.is_some(),
        run_dir,
        deferred: Vec::new(),
    };
    if run.checkpoint.is_some() {
        let path = private.dir.join("init.salt");
        sink.put(path, fp_to_hex(&salt0).into_bytes())?;
    }

    let sampler = Sampler::new(
        c.root()?.to_repr(),
        beacon,
        dataset.n_rows(),
        holdout,
        run.spec.batch,
        opts.sampling,
    )?;
    let mut params = init;
    sink.checkpoint(0, &params)?;
    for t in 0..opts.steps {
        opts.observer.report("training", t, opts.steps);
        let batch: Vec<Vec<i64>> = sampler
            .indices(t)
            .into_iter()
            .map(|i| dataset.row(i))
            .collect::<Result<_, _>>()?;
        params = sgd_step(&run.spec, &params, &batch)
            .map_err(|e| {
                Error::Options(format!(
                    "step {t}: {e}; lower the learning rate or widen the formats"
                ))
            })?
            .0;
        let done = t + 1;
        if done % s == 0 || done == opts.steps {
            sink.checkpoint(done, &params)?;
            let salt = salt_at(&secret, salt0, done);
            run.chain.push(fp_to_hex(&weights_commitment_native(
                salt,
                &params.flatten(),
                run.spec.formats.weight.bits(),
            )));
        }
    }
    opts.observer.report("training", opts.steps, opts.steps);
    // The run the verifier will read passes the verifier's checks.
    run.check()?;
    match &existing {
        Some(old) if *old != run => return Err(another_run(run_dir)),
        Some(_) => sink.flush()?,
        None => {
            let text = serde_json::to_vec_pretty(&run)
                .map_err(|_| Error::Internal("run serialization"))?;
            write_atomic(&run_path, &text).map_err(io(&run_path))?;
        }
    }
    let source = private.source_path();
    let data_dir = std::fs::canonicalize(&opts.data_dir).unwrap_or_else(|_| opts.data_dir.clone());
    write_private(&source, data_dir.to_string_lossy().as_bytes()).map_err(io(&source))?;
    Ok((run, private, secret, params))
}
