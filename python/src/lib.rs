//! The `zkpot._native` extension module: thin bindings of the zkpot library.
//! Every function here converts its arguments, releases the interpreter
//! while the library works, and converts the result; the Python package
//! (`zkpot/__init__.py`) validates arrays and builds typed results on top.

#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;

use zkpot::data::{Column, CommitOptions, Commitment, DatasetSecret};
use zkpot::params::ParamsCache;
use zkpot::progress::Observer;
use zkpot::train::run::{self, GroupTask, TrainOptions};

create_exception!(
    _native,
    Error,
    PyException,
    "Any error zkpot reports: the base of InputError and VerificationError."
);
create_exception!(
    _native,
    InputError,
    Error,
    "Input that zkpot refuses: a missing or malformed file, bad options, data that does not fit."
);
create_exception!(
    _native,
    VerificationError,
    Error,
    "A proof, run, evaluation or release that does not verify."
);

/// Converts a library error to the Python exception of its kind.
fn to_py(e: zkpot::Error) -> PyErr {
    use zkpot::Error as E;
    let msg = e.to_string();
    match e {
        E::Proof(_) | E::Plonk(_) | E::Release(_) => VerificationError::new_err(msg),
        E::Internal(_) | E::Params(_) => Error::new_err(msg),
        _ => InputError::new_err(msg),
    }
}

fn cache(dir: Option<&Path>) -> PyResult<ParamsCache> {
    ParamsCache::locate(dir).map_err(|e| to_py(e.into()))
}

fn bytes32(b: Option<&[u8]>, what: &str) -> PyResult<Option<[u8; 32]>> {
    b.map(|b| {
        <[u8; 32]>::try_from(b)
            .map_err(|_| InputError::new_err(format!("{what} must be 32 bytes, not {}", b.len())))
    })
    .transpose()
}

/// The first exception a progress callback raised (a `KeyboardInterrupt`
/// from Ctrl-C included), re-raised when the library call returns.
type Raised = Arc<Mutex<Option<PyErr>>>;

/// An observer calling a Python callable `progress(stage, done, total)`.
/// After a callback raises, it is not called again, and the exception is
/// kept in the returned slot (the library call itself runs to its end:
/// nothing it already wrote is lost).
fn observer(progress: Option<Py<PyAny>>) -> (Observer, Raised) {
    let raised: Raised = Arc::new(Mutex::new(None));
    let obs = match progress {
        None => Observer::none(),
        Some(cb) => {
            let slot = Arc::clone(&raised);
            Observer::new(Arc::new(move |stage: &str, done: u64, total: u64| {
                Python::attach(|py| {
                    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
                    if slot.is_none() {
                        if let Err(e) = cb.bind(py).call1((stage, done, total)) {
                            *slot = Some(e);
                        }
                    }
                })
            }))
        }
    };
    (obs, raised)
}

/// `result`, unless a progress callback raised: then that exception.
fn checked<T>(raised: &Raised, result: PyResult<T>) -> PyResult<T> {
    match raised.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(e) => Err(e),
        None => result,
    }
}

/// Commits the CSV (or Parquet) file at `path` into `out_dir` and returns
/// the public commitment as JSON.
#[pyfunction]
#[pyo3(signature = (path, out_dir, *, secret=None, label_column=None, features=None, drop=None, delimiter=b',', normalize="minmax", frac_bits=None, bits=None, progress=false))]
#[allow(clippy::too_many_arguments)]
fn commit_csv(
    py: Python<'_>,
    path: PathBuf,
    out_dir: PathBuf,
    secret: Option<&[u8]>,
    label_column: Option<String>,
    features: Option<Vec<String>>,
    drop: Option<Vec<String>>,
    delimiter: u8,
    normalize: &str,
    frac_bits: Option<u32>,
    bits: Option<u32>,
    progress: bool,
) -> PyResult<String> {
    let mut opts = CommitOptions {
        label_column: label_column.as_deref().map(Column::parse),
        features: features.map(|f| f.iter().map(|c| Column::parse(c)).collect()),
        drop: drop
            .unwrap_or_default()
            .iter()
            .map(|c| Column::parse(c))
            .collect(),
        delimiter,
        normalize: normalize.parse().map_err(InputError::new_err)?,
        progress,
        secret: bytes32(secret, "secret")?.map(DatasetSecret::from_bytes),
        ..CommitOptions::default()
    };
    opts.set_feature_format(bits, frac_bits)
        .map_err(|e| to_py(e.into()))?;
    let c = py
        .detach(|| zkpot::data::commit_csv(&path, &out_dir, &opts).map_err(zkpot::Error::from))
        .map_err(to_py)?;
    serde_json::to_string(&c).map_err(|e| Error::new_err(e.to_string()))
}

/// Trains `model` (a shorthand: `mlp:64-32-10`, `cnn:1x8x8-c4k3p1-relu-avg2-d10`)
/// on the committed dataset in `data_dir`, writing the run to `run_dir` (and
/// proving every group unless `prove_later`); returns the report as JSON.
#[pyfunction]
#[pyo3(signature = (data_dir, run_dir, model, *, loss="cross-entropy", lr=0.5, batch=16, steps=10, steps_per_proof=1, seed=0, beacon=None, sampling="shuffle", holdout=0.0, release_weights=false, prove_later=false, from_run=None, cache_dir=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn train(
    py: Python<'_>,
    data_dir: PathBuf,
    run_dir: PathBuf,
    model: &str,
    loss: &str,
    lr: f64,
    batch: usize,
    steps: u64,
    steps_per_proof: u64,
    seed: u64,
    beacon: Option<&[u8]>,
    sampling: &str,
    holdout: f64,
    release_weights: bool,
    prove_later: bool,
    from_run: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let (obs, raised) = observer(progress);
    let opts = TrainOptions {
        data_dir,
        model: run::parse_model(model).map_err(to_py)?,
        loss: run::parse_loss(loss).map_err(to_py)?,
        lr,
        batch,
        steps,
        steps_per_proof,
        seed,
        from_run,
        beacon: bytes32(beacon, "beacon")?,
        sampling: run::parse_sampling(sampling).map_err(to_py)?,
        holdout,
        release_weights,
        progress: false,
        prove_later,
        observer: obs,
    };
    let cache = cache(cache_dir.as_deref())?;
    let report = py
        .detach(|| run::train(&cache, &run_dir, &opts))
        .map_err(to_py);
    let report = checked(&raised, report)?;
    serde_json::to_string(&report).map_err(|e| Error::new_err(e.to_string()))
}

/// Proves the groups of the run in `run_dir` that start in steps
/// `start..end` and have no proof yet; returns (proofs made, seconds).
#[pyfunction]
#[pyo3(signature = (run_dir, start, end, *, cache_dir=None, progress=None))]
fn prove_range(
    py: Python<'_>,
    run_dir: PathBuf,
    start: u64,
    end: u64,
    cache_dir: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(usize, f64)> {
    let cache = cache(cache_dir.as_deref())?;
    let (obs, raised) = observer(progress);
    let done = py
        .detach(|| run::prove_range_observed(&cache, &run_dir, start..end, false, &obs))
        .map_err(to_py);
    checked(&raised, done)
}

/// The groups of the run in `run_dir` without a proof of their statement.
#[pyfunction]
fn pending_groups(py: Python<'_>, run_dir: PathBuf) -> PyResult<Vec<u64>> {
    py.detach(|| run::pending_groups(&run_dir)).map_err(to_py)
}

/// The proving task of one group, as bytes to send to a worker. It holds
/// the group's rows and checkpoint: treat it as private.
#[pyfunction]
fn group_task(py: Python<'_>, run_dir: PathBuf, group: u64) -> PyResult<Py<PyBytes>> {
    let bytes = py
        .detach(|| run::group_task(&run_dir, group).and_then(|t| t.to_bytes()))
        .map_err(to_py)?;
    Ok(PyBytes::new(py, &bytes).unbind())
}

/// Verifies proofs of groups (a list of `(group, proof bytes)`) against the
/// run in `run_dir` and writes those to the run's proof files; nothing is
/// written when one of them fails.
#[pyfunction]
#[pyo3(signature = (run_dir, proofs, *, cache_dir=None))]
fn install_proofs(
    py: Python<'_>,
    run_dir: PathBuf,
    proofs: Vec<(u64, PyBackedBytes)>,
    cache_dir: Option<PathBuf>,
) -> PyResult<()> {
    let cache = cache(cache_dir.as_deref())?;
    let owned: Vec<(u64, Vec<u8>)> = proofs.into_iter().map(|(g, b)| (g, b.to_vec())).collect();
    py.detach(|| run::install_proofs(&cache, &run_dir, &owned))
        .map_err(to_py)
}

/// Proves group tasks; keeps the last proving key, so a worker proving
/// many groups of one run makes it once.
#[pyclass(module = "zkpot._native")]
struct TaskProver {
    inner: run::TaskProver,
}

#[pymethods]
impl TaskProver {
    #[new]
    #[pyo3(signature = (cache_dir=None))]
    fn new(cache_dir: Option<PathBuf>) -> PyResult<Self> {
        Ok(Self {
            inner: run::TaskProver::new(cache(cache_dir.as_deref())?),
        })
    }

    /// Proves a task made by `group_task`; returns the proof file's bytes.
    fn prove(&self, py: Python<'_>, task: &[u8]) -> PyResult<Py<PyBytes>> {
        let task = task.to_vec();
        let bytes = py
            .detach(|| GroupTask::from_bytes(&task).and_then(|t| self.inner.prove(&t)))
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes).unbind())
    }
}

/// Verifies a proof file, run, evaluation or release folder (with `second`:
/// a run with its evaluation or an inference proof; with `dataset`: against
/// that commitment.json) and returns what was verified as JSON.
#[pyfunction]
#[pyo3(signature = (path, second=None, *, dataset=None, cache_dir=None))]
fn verify(
    py: Python<'_>,
    path: PathBuf,
    second: Option<PathBuf>,
    dataset: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
) -> PyResult<String> {
    for p in std::iter::once(&path).chain(&second).chain(&dataset) {
        if !p.exists() {
            return Err(InputError::new_err(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    let cache = cache(cache_dir.as_deref())?;
    let commitment = dataset
        .as_deref()
        .map(Commitment::read)
        .transpose()
        .map_err(|e| to_py(e.into()))?;
    let verified = py
        .detach(|| {
            zkpot::verify::verify_path(&cache, &path, second.as_deref(), commitment.as_ref(), false)
        })
        .map_err(|e| match e {
            // The verifier's own trouble (its parameter cache, a bug) is
            // not a verdict on what it was handed.
            zkpot::Error::Internal(_) | zkpot::Error::Params(_) => to_py(e),
            other => VerificationError::new_err(other.to_string()),
        })?;
    serde_json::to_string(&verified).map_err(|e| Error::new_err(e.to_string()))
}

/// Proves one inference of an ONNX/JSON `model` file or of a training
/// `run`'s trained model on `input`, writes the proof to `out` and returns
/// the outcome as JSON.
#[pyfunction]
#[pyo3(signature = (inputs, out, *, model=None, run=None, calibration=None, input_visibility="private", output_visibility="public", secret=None, cache_dir=None))]
#[allow(clippy::too_many_arguments)]
fn prove_inference(
    py: Python<'_>,
    inputs: Vec<Vec<f64>>,
    out: PathBuf,
    model: Option<PathBuf>,
    run: Option<PathBuf>,
    calibration: Option<Vec<Vec<f64>>>,
    input_visibility: &str,
    output_visibility: &str,
    secret: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
) -> PyResult<String> {
    use zkpot::infer::request::{parse_visibility, InferRequest, ModelSource};
    let model = match (model, run) {
        (Some(m), None) => ModelSource::File(m),
        (None, Some(r)) => ModelSource::Run(r),
        (Some(model), Some(run)) => ModelSource::RunFile { model, run },
        (None, None) => return Err(InputError::new_err("give a model, a run, or both")),
    };
    let req = InferRequest {
        model,
        inputs,
        calibration,
        input_visibility: parse_visibility(input_visibility).map_err(to_py)?,
        output_visibility: parse_visibility(output_visibility).map_err(to_py)?,
        secret,
        out,
        progress: false,
    };
    let cache = cache(cache_dir.as_deref())?;
    let o = py
        .detach(|| zkpot::infer::request::prove_inference(&cache, &req))
        .map_err(to_py)?;
    serde_json::to_string(&o).map_err(|e| Error::new_err(e.to_string()))
}

/// Writes a run's trained model as float ONNX to `out`; returns what was
/// written as JSON.
#[pyfunction]
fn export_onnx(py: Python<'_>, run: PathBuf, out: PathBuf) -> PyResult<String> {
    let e = py
        .detach(|| zkpot::train::run::export_onnx(&run, &out))
        .map_err(to_py)?;
    serde_json::to_string(&e).map_err(|e| Error::new_err(e.to_string()))
}

/// The classes a run's final fixed-point model predicts for raw rows,
/// without proving.
#[pyfunction]
fn predict(py: Python<'_>, run: PathBuf, rows: Vec<Vec<f64>>) -> PyResult<Vec<usize>> {
    py.detach(|| zkpot::train::run::predict(&run, &rows))
        .map_err(to_py)
}

/// The zkpot library's version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("VerificationError", py.get_type::<VerificationError>())?;
    m.add_class::<TaskProver>()?;
    for f in [
        wrap_pyfunction!(commit_csv, m)?,
        wrap_pyfunction!(train, m)?,
        wrap_pyfunction!(prove_range, m)?,
        wrap_pyfunction!(pending_groups, m)?,
        wrap_pyfunction!(group_task, m)?,
        wrap_pyfunction!(install_proofs, m)?,
        wrap_pyfunction!(verify, m)?,
        wrap_pyfunction!(prove_inference, m)?,
        wrap_pyfunction!(export_onnx, m)?,
        wrap_pyfunction!(predict, m)?,
        wrap_pyfunction!(version, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
