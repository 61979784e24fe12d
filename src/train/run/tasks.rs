//! Proving a run's groups anywhere: each group of steps becomes a
//! self-contained [`GroupTask`] (the public run file, the checkpoint weights
//! the group starts from, its two salts and only the rows it opens, with their
//! salts and Merkle paths), which a worker proves with a [`TaskProver`]
//! without the run directory or the dataset. The driver installs what comes
//! back with [`install_proofs`], which verifies every proof before it is
//! written, so a faulty or hostile worker cannot leave a bad proof behind.
//!
//! A task carries private data (weights, rows, salts): ship it only to
//! machines allowed to see the run's data.

use std::path::Path;
use std::sync::{Arc, Mutex};

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::plonk::ProvingKey;
use serde::{Deserialize, Serialize};
use zkpot_circuits::chips::merkle::MerklePath;
use zkpot_circuits::circuits::membership::{leaf_native, RowOpening};
use zkpot_circuits::proving::{prove, proving_key};
use zkpot_circuits::train::{MlpParams, StepWitness, TrainStepCircuit};
use zkpot_circuits::Fp;

use super::super::statement::{verify_steps, StepStatement};
use super::file::RunFile;
use super::private::Private;
use super::{io, salt_at};
use crate::data::Dataset;
use crate::files::write_atomic;
use crate::hex::{fp_from_hex, fp_to_hex};
use crate::params::ParamsCache;
use crate::proof::{Envelope, ProofError};
use crate::Error;

/// The format name of serialized group tasks.
pub const TASK_FORMAT: &str = "zkpot-group-task";
/// The group task version this build writes and reads.
pub const TASK_VERSION: u32 = 1;
/// The largest serialized task read (weights of a large MLP are a few MiB).
pub const MAX_TASK_BYTES: usize = 256 << 20;

/// One row a task opens: its index, quantized values, salt and Merkle path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskOpening {
    /// The row's index in the dataset.
    pub index: u64,
    /// The row's quantized values (features, then the class).
    pub values: Vec<i64>,
    /// The row's salt (hex).
    pub salt: String,
    /// The Merkle path's siblings, leaf level first (hex).
    pub siblings: Vec<String>,
}

/// Everything needed to prove one group of a run's steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTask {
    /// Always [`TASK_FORMAT`].
    pub format: String,
    /// Always [`TASK_VERSION`].
    pub version: u32,
    /// The public run file.
    pub run: RunFile,
    /// The group to prove.
    pub group: u64,
    /// The weights at the group's first step (private).
    pub params: MlpParams,
    /// The salt of the group's input commitment (hex, private).
    pub salt_in: String,
    /// The salt of the group's output commitment (hex, private).
    pub salt_out: String,
    /// The rows the group's steps open, step by step (private).
    pub openings: Vec<TaskOpening>,
}

fn bad_task(reason: impl Into<String>) -> Error {
    Error::Options(format!("not a valid group task: {}", reason.into()))
}

fn fp(hex: &str, what: &str) -> Result<Fp, Error> {
    fp_from_hex(hex).ok_or_else(|| bad_task(format!("{what} is not a field element")))
}

impl GroupTask {
    /// The task as bytes (JSON), to ship to a worker.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(|_| Error::Internal("task serialization"))
    }

    /// Reads a task written by [`GroupTask::to_bytes`], refusing other
    /// formats and versions.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_TASK_BYTES {
            return Err(bad_task(format!(
                "{} bytes; a task is at most {MAX_TASK_BYTES}",
                bytes.len()
            )));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad_task(format!("not JSON ({e})")))?;
        if value.get("format").and_then(|v| v.as_str()) != Some(TASK_FORMAT) {
            return Err(bad_task(format!("not a {TASK_FORMAT}")));
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(TASK_VERSION) {
            return Err(bad_task(format!(
                "version {version}; this build reads version {TASK_VERSION}"
            )));
        }
        serde_json::from_value(value).map_err(|e| bad_task(e.to_string()))
    }

    /// The statement the task proves, from its run file (checked first).
    pub fn statement(&self) -> Result<StepStatement, Error> {
        self.run.check()?;
        let g = usize::try_from(self.group)
            .ok()
            .filter(|g| *g < self.run.groups())
            .ok_or_else(|| {
                bad_task(format!(
                    "group {} of a run of {} groups",
                    self.group,
                    self.run.groups()
                ))
            })?;
        self.run.statement(g)
    }

    /// Refuses openings and weights of the wrong shape or out of their
    /// formats' ranges for the run (so a malformed task is an error, not an
    /// out-of-bounds index or an overflow in the native pass).
    fn check_shapes(&self) -> Result<(), Error> {
        let layout = self.run.dataset.schema.layout();
        let width = layout.features + 1;
        let depth = self.run.dataset.depth as usize;
        let spec = &self.run.spec;
        let classes = spec.classes() as i64;
        let fits = |v: i64, bits: u32| {
            let half = 1i64 << bits.clamp(1, 62).saturating_sub(1);
            (-half..half).contains(&v)
        };
        for (i, o) in self.openings.iter().enumerate() {
            if o.values.len() != width || o.siblings.len() != depth {
                return Err(bad_task(format!(
                    "opening {i} has {} values and {} siblings; the dataset needs {width} and {depth}",
                    o.values.len(),
                    o.siblings.len()
                )));
            }
            let (features, label) = o.values.split_at(layout.features);
            if let Some(v) = features.iter().find(|v| !fits(**v, layout.feature_bits)) {
                return Err(bad_task(format!(
                    "opening {i} has feature value {v}, outside {} bits",
                    layout.feature_bits
                )));
            }
            if !(0..classes).contains(&label[0]) {
                return Err(bad_task(format!(
                    "opening {i} has label {}, the model has {classes} classes",
                    label[0]
                )));
            }
        }
        let layers: Vec<usize> = spec
            .model()
            .weight_shapes()
            .iter()
            .map(|(r, c)| r * c)
            .collect();
        let found: Vec<usize> = self.params.layers.iter().map(Vec::len).collect();
        if found != layers {
            return Err(bad_task(format!(
                "weights of layer sizes {found:?}; the model {} has {layers:?}",
                spec.arch()
            )));
        }
        let bits = self.run.spec.formats.weight.bits();
        if let Some(v) = self.params.flatten().into_iter().find(|v| !fits(*v, bits)) {
            return Err(bad_task(format!("weight {v} is outside {bits} bits")));
        }
        Ok(())
    }

    fn witness(&self, statement: &StepStatement) -> Result<StepWitness, Error> {
        self.check_shapes()?;
        let openings = self
            .openings
            .iter()
            .map(|o| {
                Ok(RowOpening {
                    values: o.values.clone(),
                    salt: fp(&o.salt, "a row salt")?,
                    path: MerklePath {
                        index: o.index,
                        siblings: o
                            .siblings
                            .iter()
                            .map(|s| fp(s, "a Merkle sibling"))
                            .collect::<Result<_, _>>()?,
                    },
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(StepWitness {
            params: self.params.clone(),
            salt_in: fp(&self.salt_in, "the input salt")?,
            salt_out: fp(&self.salt_out, "the output salt")?,
            openings,
            context: statement.context()?,
        })
    }
}

/// The groups of a run with no proof file of their statement yet, in order.
/// (A file of the right statement counts as done here; [`install_proofs`]
/// and verification check the proofs themselves.)
pub fn pending_groups(run_dir: &Path) -> Result<Vec<u64>, Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let mut pending = Vec::new();
    for g in 0..run.groups() {
        if !has_proof(run_dir, &run, g)? {
            pending.push(g as u64);
        }
    }
    Ok(pending)
}

/// Whether group `g` of `run` has a proof file of its statement.
pub(super) fn has_proof(run_dir: &Path, run: &RunFile, g: usize) -> Result<bool, Error> {
    let statement = run.statement(g)?.to_bytes()?;
    let Ok(bytes) = crate::files::read_bounded(
        &run_dir.join(&run.proofs[g]),
        crate::proof::MAX_ENVELOPE_FILE,
    ) else {
        return Ok(false);
    };
    Ok(Envelope::from_bytes(&bytes).is_ok_and(|e| e.statement == statement))
}

/// The witness of group `g`: the statement, and the checkpoint, salts and
/// openings from the run's private files and dataset.
pub(super) fn group_witness(
    run: &RunFile,
    dataset: &Dataset,
    private: &Private,
    secret: &[u8; 32],
    g: usize,
) -> Result<(StepStatement, StepWitness), Error> {
    let statement = run.statement(g)?;
    let sampler = statement.sampler()?;
    let first = statement.first_step;
    let mut openings = Vec::new();
    for t in first..first + statement.steps {
        for i in sampler.indices(t) {
            openings.push(dataset.opening(i)?);
        }
    }
    let salt0 = private.init_salt(run)?;
    let witness = StepWitness {
        params: private.read_checkpoint(first)?,
        salt_in: salt_at(secret, salt0, first),
        salt_out: salt_at(secret, salt0, first + statement.steps),
        openings,
        context: statement.context()?,
    };
    Ok((statement, witness))
}

/// The proving task of group `group` of the run in `run_dir` (needs the run's
/// private files and its dataset).
pub fn group_task(run_dir: &Path, group: u64) -> Result<GroupTask, Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let g = usize::try_from(group)
        .ok()
        .filter(|g| *g < run.groups())
        .ok_or_else(|| {
            Error::Options(format!(
                "group {group}: the run has {} groups (0..{})",
                run.groups(),
                run.groups()
            ))
        })?;
    let private = Private {
        dir: run_dir.join("private"),
    };
    let secret = private.existing_secret()?;
    let dataset = super::prove::run_dataset(run_dir, &run)?;
    let (_, w) = group_witness(&run, &dataset, &private, &secret, g)?;
    Ok(GroupTask {
        format: TASK_FORMAT.into(),
        version: TASK_VERSION,
        run,
        group,
        params: w.params,
        salt_in: fp_to_hex(&w.salt_in),
        salt_out: fp_to_hex(&w.salt_out),
        openings: w
            .openings
            .iter()
            .map(|o| TaskOpening {
                index: o.path.index,
                values: o.values.clone(),
                salt: fp_to_hex(&o.salt),
                siblings: o.path.siblings.iter().map(fp_to_hex).collect(),
            })
            .collect(),
    })
}

/// A step circuit's proving key and what it was made for.
type KeyEntry = (String, Arc<ProvingKey<EqAffine>>);

/// Proves group tasks, keeping the last proving key (a worker that proves
/// many groups of one run makes it once).
pub struct TaskProver {
    cache: ParamsCache,
    key: Mutex<Option<KeyEntry>>,
}

impl TaskProver {
    /// A prover reading (or generating) parameters through `cache`.
    pub fn new(cache: ParamsCache) -> Self {
        Self {
            cache,
            key: Mutex::new(None),
        }
    }

    /// Proves `task` and returns the proof file's bytes (an envelope).
    pub fn prove(&self, task: &GroupTask) -> Result<Vec<u8>, Error> {
        let statement = task.statement()?;
        let sampler = statement.sampler()?;
        let public = statement.public_inputs(&sampler)?;
        let circuit = TrainStepCircuit::new(
            task.run.spec.clone(),
            task.run.dataset.schema.layout(),
            task.run.dataset.depth as usize,
            statement.steps as usize,
            Some(task.witness(&statement)?),
        )?;
        // The witness must reproduce the statement (the rows it samples, the
        // commitments it chains, and every opening the statement's root); a
        // wrong task fails here, before proving.
        let layout = task.run.dataset.schema.layout();
        let roots: Vec<Fp> = task
            .openings
            .iter()
            .map(|o| {
                let salt = fp(&o.salt, "a row salt")?;
                let path = MerklePath {
                    index: o.index,
                    siblings: o
                        .siblings
                        .iter()
                        .map(|s| fp(s, "a Merkle sibling"))
                        .collect::<Result<_, _>>()?,
                };
                Ok(path.root(leaf_native(&layout, salt, &o.values)))
            })
            .collect::<Result<_, Error>>()?;
        let (native_public, _) = circuit.public_inputs()?;
        if native_public != public || roots.windows(2).any(|r| r[0] != r[1]) {
            return Err(bad_task(format!(
                "its weights, salts or rows do not give the statement of group {}",
                task.group
            )));
        }
        let k = circuit.measure()?.k;
        let params = self.cache.get(k)?;
        let id = serde_json::to_string(&(
            &task.run.spec,
            task.run.dataset.schema.layout(),
            task.run.dataset.depth,
            statement.steps,
            k,
        ))
        .map_err(|_| Error::Internal("key description"))?;
        // The lock is held only to look up or replace the key, not while
        // proving; a poisoned lock still holds a valid key or none.
        let pk = {
            let mut key = self.key.lock().unwrap_or_else(|p| p.into_inner());
            match key.as_ref() {
                Some((i, pk)) if *i == id => Arc::clone(pk),
                _ => {
                    let pk = Arc::new(proving_key(&params, &circuit.describe())?);
                    *key = Some((id, Arc::clone(&pk)));
                    pk
                }
            }
        };
        let proof = prove(&params, &pk, circuit, &public)?;
        Ok(statement.envelope(public, proof)?.to_bytes())
    }
}

/// Verifies proofs of groups of the run in `run_dir` (each `(group, proof
/// file bytes)`) and writes those that verify to their canonical files,
/// atomically. A proof of another statement, or one that fails, is refused
/// and nothing of that call is written. Installing a group twice is harmless.
pub fn install_proofs(
    cache: &ParamsCache,
    run_dir: &Path,
    proofs: &[(u64, Vec<u8>)],
) -> Result<(), Error> {
    let run = RunFile::read(&run_dir.join("run.json"))?;
    run.check()?;
    let mut envelopes = Vec::with_capacity(proofs.len());
    for (g, bytes) in proofs {
        let gi = usize::try_from(*g)
            .ok()
            .filter(|gi| *gi < run.groups())
            .ok_or_else(|| {
                Error::Options(format!("group {g}: the run has {} groups", run.groups()))
            })?;
        let e = Envelope::from_bytes(bytes)?;
        if e.statement != run.statement(gi)?.to_bytes()? {
            return Err(ProofError::Mismatch(format!(
                "the proof given for group {g} proves another statement"
            ))
            .into());
        }
        envelopes.push(e);
    }
    verify_steps(cache, &envelopes)?;
    let proofs_dir = run_dir.join("proofs");
    std::fs::create_dir_all(&proofs_dir).map_err(io(&proofs_dir))?;
    for (g, bytes) in proofs {
        let path = run_dir.join(&run.proofs[*g as usize]);
        write_atomic(&path, bytes).map_err(io(&path))?;
    }
    Ok(())
}
