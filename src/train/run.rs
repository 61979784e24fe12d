//! Training runs: train natively, prove every group of `s` steps, write a run
//! directory, resume interrupted runs, prove step ranges in separate processes,
//! and verify a whole run.
//!
//! Layout of a run directory:
//!
//! - `run.json` (public): the dataset commitment, spec, sampling, beacon,
//!   initialization seed, step counts and the chain of weight commitments
//!   `C_{W_0}, C_{W_s}, ..., C_{W_T}`;
//! - `proofs/steps-<first>-<last>.zkpot` (public): one envelope per group;
//! - `model.json` (public, only with `--release-weights`): the final weights and
//!   the salt that opens `C_{W_T}`;
//! - `private/` (mode 0700): the run secret (salts of `C_{W_t}`), weight
//!   checkpoints at group boundaries, and where the dataset lives.
//!
//! Files are written through temporary files and renames, so an interrupted run
//! loses nothing already proven and resumes where it stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ff::FromUniformBytes;
use serde::{Deserialize, Serialize};
use zkpot_circuits::proving::{prove, proving_key};
use zkpot_circuits::train::{
    init_params, sgd_step, weights_commitment_native, MlpParams, StepWitness, TrainSpec,
    TrainStepCircuit,
};
use zkpot_circuits::Fp;

use super::sampling::Sampling;
use super::statement::{bytes32, verify_steps, DatasetRef, StepStatement};
use crate::data::{Commitment, DataError, Dataset};
use crate::files::{write_atomic, write_private};
use crate::hex::{bytes_to_hex, fp_from_hex, fp_to_hex};
use crate::params::ParamsCache;
use crate::proof::{Envelope, ProofError};
use crate::Error;

/// The format name of run files.
pub const RUN_FORMAT: &str = "zkpot-training-run";
/// The run file version this build writes and reads.
pub const RUN_VERSION: u32 = 2;

/// The public description of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// Always [`RUN_FORMAT`].
    pub format: String,
    /// Always [`RUN_VERSION`].
    pub version: u32,
    /// The dataset trained on.
    pub dataset: Commitment,
    /// The training spec.
    pub spec: TrainSpec,
    /// How batches are sampled.
    pub sampling: Sampling,
    /// The beacon (hex).
    pub beacon: String,
    /// Whether the beacon was derived from the commitments (grindable) rather
    /// than given.
    pub beacon_derived: bool,
    /// The public initialization seed.
    pub seed: u64,
    /// For fine-tuning: `C_{W_0}` is this commitment, the final model of an
    /// earlier run (its weights stay private), instead of the seed's weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Total SGD steps.
    pub steps: u64,
    /// Steps per proof.
    pub steps_per_proof: u64,
    /// Weight commitments at every proof boundary, `C_{W_0}` first, `C_{W_T}`
    /// last.
    pub chain: Vec<String>,
    /// Proof files, relative to the run directory, in step order.
    pub proofs: Vec<String>,
}

impl RunFile {
    /// Reads a run file, refusing other formats and versions.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DataError::Malformed {
                path: path.to_path_buf(),
                reason: format!("not valid JSON ({e})"),
            })?;
        if value.get("format").and_then(|v| v.as_str()) != Some(RUN_FORMAT) {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                reason: format!("not a {RUN_FORMAT} file"),
            }
            .into());
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
        if version != RUN_VERSION {
            return Err(DataError::Version {
                path: path.to_path_buf(),
                found: version,
                expected: RUN_VERSION,
            }
            .into());
        }
        serde_json::from_value(value).map_err(|e| {
            DataError::Malformed {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// The statement of proof group `g`.
    pub fn statement(&self, g: usize) -> Result<StepStatement, Error> {
        let first = g as u64 * self.steps_per_proof;
        let steps = self.steps_per_proof.min(self.steps - first);
        let (Some(c_in), Some(c_out)) = (self.chain.get(g), self.chain.get(g + 1)) else {
            return Err(
                ProofError::Statement(format!("the commitment chain has no link {g}")).into(),
            );
        };
        Ok(StepStatement {
            spec: self.spec.clone(),
            dataset: DatasetRef {
                root: self.dataset.root.clone(),
                n_rows: self.dataset.n_rows,
                depth: self.dataset.depth,
                layout: self.dataset.schema.layout(),
            },
            sampling: self.sampling,
            beacon: self.beacon.clone(),
            first_step: first,
            steps,
            c_in: c_in.clone(),
            c_out: c_out.clone(),
        })
    }

    /// Number of proof groups.
    pub fn groups(&self) -> usize {
        self.steps.div_ceil(self.steps_per_proof) as usize
    }
}

/// The largest `k` a training proof may need: memory grows as `2^k` (about
/// 0.6 GiB at `k = 12`), so `k = 16` stays near 10 GiB.
pub const TRAIN_MAX_K: u32 = 16;

/// Options of [`train`].
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The dataset directory (written by `zkpot data commit`).
    pub data_dir: PathBuf,
    /// Layer widths, inputs first, classes last.
    pub widths: Vec<usize>,
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
    /// Publish the final weights with the opening of `C_{W_T}`.
    pub release_weights: bool,
    /// Show progress.
    pub progress: bool,
}

/// Parses a model shorthand such as `mlp:64-32-10` into layer widths.
pub fn parse_model(s: &str) -> Result<Vec<usize>, Error> {
    let bad = || {
        Error::Options(format!(
            "model {s:?}: expected mlp:<inputs>-<hidden>...-<classes>, e.g. mlp:64-32-10"
        ))
    };
    let body = s.strip_prefix("mlp:").ok_or_else(bad)?;
    let widths: Vec<usize> = body
        .split('-')
        .map(|w| w.parse::<usize>().ok().filter(|w| *w > 0 && *w <= 4096))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    if widths.len() < 2 {
        return Err(bad());
    }
    Ok(widths)
}

/// The public salt of `C_{W_0}` for seed-initialized runs (anyone can recompute
/// `W_0`, so hiding it is moot; the salt only has to be reproducible).
pub fn init_salt(seed: u64) -> Fp {
    kdf(b"zkpot.init.salt\0", &[0; 32], seed)
}

fn kdf(personal: &[u8; 16], key: &[u8; 32], n: u64) -> Fp {
    let h = blake2b_simd::Params::new()
        .hash_length(64)
        .key(key)
        .personal(personal)
        .hash(&n.to_le_bytes());
    let mut wide = [0u8; 64];
    wide.copy_from_slice(h.as_bytes());
    Fp::from_uniform_bytes(&wide)
}

/// The beacon used when none is given: a hash of the dataset root, `C_{W_0}`
/// and the spec. A prover who can vary its secrets can grind it.
pub fn derived_beacon(root: &str, c0: &str, spec: &TrainSpec) -> [u8; 32] {
    let mut st = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"zkpot.beacon.v1\0")
        .to_state();
    st.update(root.as_bytes());
    st.update(c0.as_bytes());
    st.update(&serde_json::to_vec(spec).unwrap_or_default());
    let mut out = [0u8; 32];
    out.copy_from_slice(st.finalize().as_bytes());
    out
}

/// Private state of a run.
struct Private {
    dir: PathBuf,
}

impl Private {
    fn new(run: &Path) -> Result<Self, Error> {
        let dir = run.join("private");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&dir))?;
        }
        Ok(Self { dir })
    }

    fn secret(&self) -> Result<[u8; 32], Error> {
        let path = self.dir.join("run.secret");
        match std::fs::read(&path) {
            Ok(b) => b.as_slice().try_into().map_err(|_| {
                DataError::Malformed {
                    path: path.clone(),
                    reason: "a run secret is 32 bytes".into(),
                }
                .into()
            }),
            Err(_) => {
                let bytes = crate::data::random_bytes32();
                write_private(&path, &bytes).map_err(io(&path))?;
                Ok(bytes)
            }
        }
    }

    /// The run secret, which must exist.
    fn existing_secret(&self) -> Result<[u8; 32], Error> {
        let path = self.dir.join("run.secret");
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        bytes.as_slice().try_into().map_err(|_| {
            DataError::Malformed {
                path,
                reason: "a run secret is 32 bytes".into(),
            }
            .into()
        })
    }

    fn checkpoint_path(&self, t: u64) -> PathBuf {
        self.dir.join(format!("weights-{t:08}.json"))
    }

    fn write_checkpoint(&self, t: u64, p: &MlpParams) -> Result<(), Error> {
        let path = self.checkpoint_path(t);
        let bytes =
            serde_json::to_vec(p).map_err(|_| Error::Internal("checkpoint serialization"))?;
        write_private(&path, &bytes).map_err(io(&path))
    }

    fn read_checkpoint(&self, t: u64) -> Result<MlpParams, Error> {
        let path = self.checkpoint_path(t);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            DataError::Malformed {
                path,
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// The salt of `C_{W_0}`: public from the seed, or the private salt of
    /// the checkpoint a fine-tuning run started from.
    fn init_salt(&self, run: &RunFile) -> Result<Fp, Error> {
        if run.checkpoint.is_none() {
            return Ok(init_salt(run.seed));
        }
        let path = self.dir.join("init.salt");
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        fp_from_hex(text.trim()).ok_or_else(|| {
            DataError::Malformed {
                path,
                reason: "not a field element".into(),
            }
            .into()
        })
    }

    fn source_path(&self) -> PathBuf {
        self.dir.join("dataset-dir.txt")
    }
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

/// The salt of `C_{W_t}`: `init` for `t = 0`, from the run secret otherwise.
fn salt_at(secret: &[u8; 32], init: Fp, t: u64) -> Fp {
    if t == 0 {
        init
    } else {
        kdf(b"zkpot.wsalt.v1\0\0", secret, t)
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
    if opts.widths.first() != Some(&schema.n_features)
        || opts.widths.last() != Some(&schema.classes.len())
    {
        return Err(Error::Options(format!(
            "model widths {:?} do not fit the dataset: {} features, {} classes",
            opts.widths,
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
    let spec = TrainSpec {
        widths: opts.widths.clone(),
        loss: opts.loss,
        lr_num: lr_num as u32,
        lr_shift: 8,
        batch: opts.batch,
        formats: zkpot_circuits::train::TrainFormats::for_input(schema.format),
    };
    spec.validate().map_err(|e| Error::Options(e.to_string()))?;
    if opts.steps == 0 || opts.steps_per_proof == 0 {
        return Err(Error::Options(
            "steps and steps per proof must be positive".into(),
        ));
    }
    if (opts.batch as u64) > dataset.n_rows() && opts.sampling == Sampling::Shuffle {
        return Err(Error::Options(
            "the batch is larger than the dataset".into(),
        ));
    }
    // Check the step circuit can be planned, and proven in reasonable
    // memory, before any work.
    let k = TrainStepCircuit::new(
        spec.clone(),
        schema.layout(),
        c.depth as usize,
        opts.steps_per_proof as usize,
        None,
    )?
    .measure()?
    .k;
    if k > TRAIN_MAX_K {
        return Err(Error::Options(format!(
            "one proof of {} step(s) of batch {} needs k = {k} (about {} GiB to prove); \
             the limit is k = {TRAIN_MAX_K}: use a smaller batch or fewer steps per proof",
            opts.steps_per_proof,
            opts.batch,
            (0.6 * f64::from(1u32 << (k - 12))).round()
        )));
    }

    let (init, salt0, checkpoint) = match &opts.from_run {
        None => (init_params(&spec, opts.seed), init_salt(opts.seed), None),
        Some(prev) => {
            let (params, salt, c) = final_weights(prev, &spec)?;
            (params, salt, Some(c))
        }
    };
    std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;
    let private = Private::new(run_dir)?;
    let secret = private.secret()?;
    if checkpoint.is_some() {
        let path = private.dir.join("init.salt");
        write_private(&path, fp_to_hex(&salt0).as_bytes()).map_err(io(&path))?;
    }
    let c0 = fp_to_hex(&weights_commitment_native(
        salt0,
        &init.flatten(),
        spec.formats.weight.bits,
    ));
    let (beacon, derived) = match opts.beacon {
        Some(b) => (b, false),
        None => (derived_beacon(&c.root, &c0, &spec), true),
    };

    // Native training, keeping the weights at proof boundaries.
    let mut sampler = super::sampling::Sampler::new(
        c.root().map(|r| {
            use ff::PrimeField;
            r.to_repr()
        })?,
        beacon,
        dataset.n_rows(),
        spec.batch,
        opts.sampling,
    );
    let s = opts.steps_per_proof;
    let mut params = init.clone();
    let mut chain = vec![c0];
    private.write_checkpoint(0, &params)?;
    for t in 0..opts.steps {
        let batch: Vec<Vec<i64>> = sampler
            .indices(t)
            .into_iter()
            .map(|i| dataset.row(i))
            .collect::<Result<_, _>>()?;
        params = sgd_step(&spec, &params, &batch)
            .map_err(|e| {
                Error::Options(format!(
                    "step {t}: {e}; lower the learning rate or widen the formats"
                ))
            })?
            .0;
        let done = t + 1;
        if done % s == 0 || done == opts.steps {
            private.write_checkpoint(done, &params)?;
            let salt = salt_at(&secret, salt0, done);
            chain.push(fp_to_hex(&weights_commitment_native(
                salt,
                &params.flatten(),
                spec.formats.weight.bits,
            )));
        }
    }
    let groups = opts.steps.div_ceil(s) as usize;
    let run = RunFile {
        format: RUN_FORMAT.into(),
        version: RUN_VERSION,
        dataset: c.clone(),
        spec,
        sampling: opts.sampling,
        beacon: bytes_to_hex(&beacon),
        beacon_derived: derived,
        seed: opts.seed,
        checkpoint,
        steps: opts.steps,
        steps_per_proof: s,
        chain,
        proofs: (0..groups)
            .map(|g| {
                let first = g as u64 * s;
                let last = (first + s).min(opts.steps) - 1;
                format!("proofs/steps-{first:08}-{last:08}.zkpot")
            })
            .collect(),
    };
    let run_path = run_dir.join("run.json");
    if run_path.exists() {
        let existing = RunFile::read(&run_path)?;
        if existing != run {
            return Err(Error::Options(format!(
                "{} holds another run (different data, spec, beacon, steps or secrets); use a new directory",
                run_dir.display()
            )));
        }
    } else {
        let text =
            serde_json::to_vec_pretty(&run).map_err(|_| Error::Internal("run serialization"))?;
        write_atomic(&run_path, &text).map_err(io(&run_path))?;
    }
    let source = private.source_path();
    let data_dir = std::fs::canonicalize(&opts.data_dir).unwrap_or_else(|_| opts.data_dir.clone());
    write_private(&source, data_dir.to_string_lossy().as_bytes()).map_err(io(&source))?;

    let (proved, prove_s) = prove_groups(
        cache,
        run_dir,
        &run,
        &dataset,
        &private,
        &secret,
        0..groups,
        opts.progress,
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
) -> Result<(usize, f64), Error> {
    let bar = if progress {
        let b = indicatif::ProgressBar::new(range.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "proving steps [{bar:30}] {pos}/{len} proofs ({eta} left)",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let proofs_dir = run_dir.join("proofs");
    std::fs::create_dir_all(&proofs_dir).map_err(io(&proofs_dir))?;
    let mut keys: Option<(
        u64,
        halo2_proofs::plonk::ProvingKey<halo2_proofs::pasta::EqAffine>,
        u32,
    )> = None;
    let salt0 = private.init_salt(run)?;
    let mut proved = 0;
    let mut seconds = 0.0;
    for g in range {
        let statement = run.statement(g)?;
        let path = run_dir.join(&run.proofs[g]);
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(e) = Envelope::from_bytes(&bytes) {
                if e.statement == statement.to_bytes() {
                    bar.inc(1);
                    continue;
                }
            }
        }
        let mut sampler = statement.sampler()?;
        let public = statement.public_inputs(&mut sampler)?;
        let first = statement.first_step;
        let mut openings = Vec::new();
        for t in first..first + statement.steps {
            for i in sampler.indices(t) {
                openings.push(dataset.opening(i)?);
            }
        }
        let witness = StepWitness {
            params: private.read_checkpoint(first)?,
            salt_in: salt_at(secret, salt0, first),
            salt_out: salt_at(secret, salt0, first + statement.steps),
            openings,
            context: statement.context(),
        };
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
        let bytes = statement.envelope(public, proof).to_bytes();
        write_atomic(&path, &bytes).map_err(io(&path))?;
        proved += 1;
        bar.inc(1);
    }
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
    let run = RunFile::read(&run_dir.join("run.json"))?;
    let private = Private::new(run_dir)?;
    let source = private.source_path();
    let data_dir = std::fs::read_to_string(&source).map_err(io(&source))?;
    let dataset = Dataset::load(Path::new(data_dir.trim()))?;
    if dataset.commitment() != &run.dataset {
        return Err(Error::Options(
            "the dataset directory no longer matches the run".into(),
        ));
    }
    let secret = private.secret()?;
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
    )
}

/// The final weights of a run, their salt and commitment (hex), from its
/// private files, checked against its final commitment and against `spec`'s
/// architecture and formats.
fn final_weights(run_dir: &Path, spec: &TrainSpec) -> Result<(MlpParams, Fp, String), Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    if run.spec.widths != spec.widths || run.spec.formats != spec.formats {
        return Err(Error::Options(format!(
            "the checkpoint of {} is a {:?} model with other formats or widths than {:?}",
            run_dir.display(),
            run.spec.widths,
            spec.widths
        )));
    }
    let private = Private {
        dir: run_dir.join("private"),
    };
    let secret = private.existing_secret()?;
    let params = private.read_checkpoint(run.steps)?;
    let salt = salt_at(&secret, private.init_salt(&run)?, run.steps);
    let c = weights_commitment_native(salt, &params.flatten(), spec.formats.weight.bits);
    let last = run.chain.last().cloned().unwrap_or_default();
    if fp_from_hex(&last) != Some(c) {
        return Err(Error::Options(format!(
            "the private checkpoint of {} does not match its final commitment",
            run_dir.display()
        )));
    }
    Ok((params, salt, last))
}

/// Verifies that `parent` is a valid run whose trained model is the
/// checkpoint the fine-tuning run `child` started from (both runs verified).
pub fn verify_parent(
    cache: &ParamsCache,
    child: &Path,
    parent: &Path,
) -> Result<(RunVerdict, RunVerdict), Error> {
    let c = verify_run(cache, child)?;
    let p = verify_run(cache, parent)?;
    if !c.from_checkpoint || c.initial_commitment != p.final_commitment {
        return Err(ProofError::Mismatch(format!(
            "{} did not start from the model {} trained",
            child.display(),
            parent.display()
        ))
        .into());
    }
    if c.spec.widths != p.spec.widths || c.spec.formats != p.spec.formats {
        return Err(ProofError::Mismatch(
            "the runs train different architectures or formats".into(),
        )
        .into());
    }
    Ok((c, p))
}

/// What verifying a run established.
#[derive(Clone, Debug, Serialize)]
pub struct RunVerdict {
    /// The dataset root trained on.
    pub dataset_root: String,
    /// Rows in the dataset.
    pub n_rows: u64,
    /// Steps proven.
    pub steps: u64,
    /// Proofs checked.
    pub proofs: usize,
    /// The spec.
    pub spec: TrainSpec,
    /// The sampling mode.
    pub sampling: Sampling,
    /// The beacon, and whether it was derived (grindable).
    pub beacon: String,
    /// True when the beacon was derived from the commitments.
    pub beacon_derived: bool,
    /// `C_{W_0}`.
    pub initial_commitment: String,
    /// True when `C_{W_0}` is a checkpoint (fine-tuning) rather than the
    /// seed's weights.
    pub from_checkpoint: bool,
    /// `C_{W_T}`: the trained model's commitment.
    pub final_commitment: String,
    /// Seconds spent verifying.
    pub verify_s: f64,
}

/// Verifies a whole run: `C_{W_0}` from the seed, a derived beacon's
/// derivation, every proof present, in order, linking the commitment chain,
/// with indices from the sampling function, all proofs batch-verified.
pub fn verify_run(cache: &ParamsCache, run_dir: &Path) -> Result<RunVerdict, Error> {
    let start = Instant::now();
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.spec
        .validate()
        .map_err(|e| ProofError::Statement(e.to_string()))?;
    let groups = run.groups();
    if run.steps == 0
        || run.steps_per_proof == 0
        || run.chain.len() != groups + 1
        || run.proofs.len() != groups
    {
        return Err(ProofError::Statement(
            "the run's step counts, chain and proof list disagree".into(),
        )
        .into());
    }
    match &run.checkpoint {
        // Fine-tuning: C_W0 is the stated checkpoint (link it to the run that
        // produced it with `verify_parent`).
        Some(c) => {
            if fp_from_hex(c).is_none() || run.chain[0] != *c {
                return Err(ProofError::Mismatch(
                    "C_W0 is not the stated checkpoint commitment".into(),
                )
                .into());
            }
        }
        None => {
            let init = init_params(&run.spec, run.seed);
            let c0 = weights_commitment_native(
                init_salt(run.seed),
                &init.flatten(),
                run.spec.formats.weight.bits,
            );
            if fp_from_hex(&run.chain[0]) != Some(c0) {
                return Err(ProofError::Mismatch(
                    "C_W0 is not the commitment of the seed's initial weights".into(),
                )
                .into());
            }
        }
    }
    if run.beacon_derived {
        let b = derived_beacon(&run.dataset.root, &run.chain[0], &run.spec);
        if bytes32(&run.beacon) != Some(b) {
            return Err(ProofError::Mismatch(
                "the beacon is marked derived but is not the derivation".into(),
            )
            .into());
        }
    }
    let mut envelopes = Vec::with_capacity(groups);
    for g in 0..groups {
        let path = run_dir.join(&run.proofs[g]);
        let bytes = std::fs::read(&path)
            .map_err(|_| ProofError::Statement(format!("proof {} is missing", run.proofs[g])))?;
        let e = Envelope::from_bytes(&bytes)?;
        let expected = run.statement(g)?;
        if e.statement != expected.to_bytes() {
            return Err(ProofError::Mismatch(format!(
                "{} does not prove steps {}..{} linking {} to {}",
                run.proofs[g],
                expected.first_step,
                expected.first_step + expected.steps,
                expected.c_in,
                expected.c_out
            ))
            .into());
        }
        envelopes.push(e);
    }
    verify_steps(cache, &envelopes)?;
    Ok(RunVerdict {
        dataset_root: run.dataset.root.clone(),
        n_rows: run.dataset.n_rows,
        steps: run.steps,
        proofs: groups,
        spec: run.spec.clone(),
        sampling: run.sampling,
        beacon: run.beacon.clone(),
        beacon_derived: run.beacon_derived,
        initial_commitment: run.chain[0].clone(),
        from_checkpoint: run.checkpoint.is_some(),
        final_commitment: run.chain.last().cloned().unwrap_or_default(),
        verify_s: start.elapsed().as_secs_f64(),
    })
}

/// The trained model of a run, ready for proofs of inference whose `C_W` is
/// the run's final commitment (needs the run's private files), and the
/// dataset schema to normalize raw inputs with.
pub fn trained_model(
    run_dir: &Path,
) -> Result<(crate::infer::LoadedModel, crate::data::Schema), Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    let (params, salt, _) = final_weights(run_dir, &run.spec)?;
    let (model, weights) = crate::model::from_trained(&run.spec, &params);
    Ok((
        crate::infer::LoadedModel::from_parts(model, weights, salt),
        run.dataset.schema.clone(),
    ))
}

/// Verifies a run and an inference proof, and that the inference used the
/// run's trained model: the same architecture and formats, and `C_W` equal to
/// the run's final commitment.
pub fn verify_linked(
    cache: &ParamsCache,
    run_dir: &Path,
    inference: &Envelope,
) -> Result<(RunVerdict, crate::infer::InferenceStatement), Error> {
    let verdict = verify_run(cache, run_dir)?;
    let statement = crate::infer::verify_inferences(cache, std::slice::from_ref(inference))?
        .pop()
        .ok_or(Error::Internal("no statement"))?;
    let run = RunFile::read(&run_dir.join("run.json"))?;
    let (expected, _) = crate::model::from_trained(&run.spec, &MlpParams { layers: vec![] });
    if statement.model != expected {
        return Err(ProofError::Mismatch(
            "the inference used another architecture or formats than the run trained".into(),
        )
        .into());
    }
    if statement.weights_commitment != verdict.final_commitment {
        return Err(ProofError::Mismatch(
            "the inference used other weights than the run's final model".into(),
        )
        .into());
    }
    Ok((verdict, statement))
}
