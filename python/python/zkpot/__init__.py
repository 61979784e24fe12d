"""Zero-knowledge proofs of training and inference on committed datasets.

The functions here call the zkpot library (the same code as the ``zkpot``
command line) through the ``zkpot._native`` extension module. Work runs with
the interpreter released, so other Python threads keep running.

Typical use::

    import zkpot
    data = zkpot.commit_dataset(X, y, out="data", classes=["a", "b", "c"])
    run = zkpot.train(data, model="mlp:4-8-3", steps=20, out="run")
    print(zkpot.verify(run.path).kind)    # "run"

Every failure raises :class:`zkpot.Error`: :class:`zkpot.InputError` for
input zkpot refuses, :class:`zkpot.VerificationError` for something that
does not verify.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import _native
from ._native import Error, InputError, TaskProver, VerificationError

__all__ = [
    "Error",
    "InputError",
    "VerificationError",
    "Result",
    "Dataset",
    "Run",
    "TaskProver",
    "commit_dataset",
    "train",
    "prove_range",
    "pending_groups",
    "group_task",
    "install_proofs",
    "verify",
    "infer",
    "export_model",
    "predict",
    "__version__",
]

__version__: str = _native.version()

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[[str, int, int], None]


class Result:
    """A result of zkpot as a read-only record: fields are attributes (and
    keys), and :meth:`to_dict` gives the whole JSON document."""

    def __init__(self, data: Dict[str, Any]):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(name) from None
        return Result(value) if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def keys(self) -> Iterable[str]:
        """The field names."""
        return self._data.keys()

    def to_dict(self) -> Dict[str, Any]:
        """The result as plain JSON-compatible data (a copy)."""
        return json.loads(json.dumps(self._data))

    def __repr__(self) -> str:
        kind = self._data.get("kind")
        head = f"kind={kind!r}, " if kind is not None else ""
        return f"zkpot.Result({head}fields={sorted(self._data)})"


class Dataset(Result):
    """A committed dataset: the public commitment's fields (``root``,
    ``n_rows``, ``schema``, ...) and ``path``, its directory."""

    def __init__(self, data: Dict[str, Any], path: Path):
        super().__init__(data)
        self.path = path

    def __repr__(self) -> str:
        return f"zkpot.Dataset(path={str(self.path)!r}, root={self._data.get('root')!r})"


class Run(Result):
    """A training run: the report's fields (``run``, ``proved``,
    ``prove_s``, ``proof_bytes``) and ``path``, its directory."""

    def __init__(self, data: Dict[str, Any], path: Path):
        super().__init__(data)
        self.path = path

    def __repr__(self) -> str:
        return f"zkpot.Run(path={str(self.path)!r}, proved={self._data.get('proved')!r})"


def _path(x: Any, what: str) -> Path:
    """A path from a str, an os.PathLike, or a zkpot object with ``.path``."""
    if isinstance(x, (Dataset, Run)):
        return x.path
    if isinstance(x, (str, os.PathLike)):
        return Path(x)
    raise InputError(f"{what}: expected a path, not {type(x).__name__}")


def _bytes32(v: Any, what: str) -> Optional[bytes]:
    """32 bytes from bytes or 64 hex digits (``0x`` allowed)."""
    if v is None:
        return None
    if isinstance(v, str):
        h = v[2:] if v.startswith(("0x", "0X")) else v
        try:
            b = bytes.fromhex(h)
        except ValueError:
            b = b""
        if len(b) != 32:
            raise InputError(f"{what} must be 64 hex digits or 32 bytes, not {v!r}")
        return b
    if isinstance(v, (bytes, bytearray)) and len(v) == 32:
        return bytes(v)
    raise InputError(f"{what} must be 64 hex digits or 32 bytes")


def _secret(secret: Any) -> Optional[bytes]:
    return _bytes32(secret, "secret")


def _as_matrix(X: Any) -> Any:
    import numpy as np

    try:
        a = np.asarray(X)
    except Exception as e:  # ragged lists and the like
        raise InputError(f"features: not an array ({e})") from None
    if a.ndim != 2:
        raise InputError(f"features: expected a 2-D array (rows x features), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"features: empty array of shape {a.shape}")
    return _finite(a, "features")


def _finite(a: Any, what: str) -> Any:
    """``a`` as float64, refusing non-numbers and NaN or infinite entries
    (named by their position)."""
    import numpy as np

    if a.dtype.kind not in "biuf":
        raise InputError(f"{what}: expected numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        at = tuple(int(i) for i in bad[0])
        where = f"row {at[0]}, column {at[1]}" if len(at) == 2 else f"element {at[0]}"
        raise InputError(f"{what}: {where} is {a[at]} (only finite numbers)")
    return a


def _labels(y: Any, n_rows: int, classes: Optional[Sequence[str]]) -> Tuple[List[str], Optional[List[str]]]:
    import numpy as np

    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise InputError(f"labels: expected a 1-D array, got shape {a.shape}")
    if a.shape[0] != n_rows:
        raise InputError(f"labels: {a.shape[0]} labels for {n_rows} rows")
    if classes is None:
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
                raise InputError("labels: float labels must be whole numbers (class indices)")
            a = a.astype(np.int64)
        return [str(v) for v in a.tolist()], None
    names = [str(c) for c in classes]
    if len(set(names)) != len(names) or not names:
        raise InputError(f"classes: {names} must be distinct and non-empty")
    index = {n: i for i, n in enumerate(names)}
    out = []
    for r, v in enumerate(a.tolist()):
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < len(names):
            out.append(str(int(v)))
        elif isinstance(v, float) and v.is_integer() and 0 <= v < len(names):
            out.append(str(int(v)))
        elif str(v) in index:
            out.append(str(index[str(v)]))
        else:
            raise InputError(f"labels: row {r} has label {v!r}, not one of {len(names)} classes {names}")
    return out, names


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def commit_dataset(
    features: Any,
    labels: Any = None,
    out: Optional[PathLike] = None,
    *,
    classes: Optional[Sequence[str]] = None,
    feature_names: Optional[Sequence[str]] = None,
    label_column: Optional[str] = None,
    columns: Optional[Sequence[str]] = None,
    drop: Optional[Sequence[str]] = None,
    delimiter: str = ",",
    normalize: str = "minmax",
    secret: Optional[Union[bytes, str]] = None,
    frac_bits: Optional[int] = None,
    bits: Optional[int] = None,
    progress: bool = False,
) -> Dataset:
    """Commits a dataset into the directory ``out`` and returns it
    (:class:`Dataset`: the public commitment and its ``path``).

    ``features`` is a path to a CSV or Parquet file (then ``label_column``
    picks the label, the last column by default; ``columns`` the feature
    columns in order and ``drop`` columns to leave out, by name or 0-based
    index; ``delimiter`` one character or ``"tab"``), or a 2-D array of
    features with ``labels`` a 1-D array of the same length: class indices,
    or names when ``classes`` lists them. Arrays are committed exactly as
    the same table written as CSV would be, so the root does not depend on
    the route taken. ``secret`` (32 bytes or 64 hex digits) fixes the salts;
    by default a fresh one is drawn and kept in ``out``. ``normalize`` is
    ``"minmax"``, ``"standard"`` or ``"none"``. Features are quantized with
    ``bits`` signed bits (8 by default) and ``frac_bits`` fractional bits;
    without ``frac_bits``, 6 (at most ``bits - 2``), lowered when the
    normalized features need the range (standardized values beyond two
    deviations, raw values); with it, such data is refused, naming the
    feature and the fractional bits that would fit.
    """
    if delimiter == "tab":
        delimiter = "\t"
    if not isinstance(delimiter, str) or len(delimiter) != 1 or not delimiter.isascii() or delimiter == '"':
        raise InputError(f"delimiter {delimiter!r}: give one ASCII character (not a quote) or 'tab'")
    if isinstance(features, (str, os.PathLike)):
        if out is None and labels is not None and isinstance(labels, (str, os.PathLike)):
            out, labels = labels, None
        if labels is not None:
            raise InputError("labels are given with arrays, not with a file (use label_column)")
        if out is None:
            raise InputError("commit_dataset needs out (the dataset directory to write)")
        c = _native.commit_csv(
            Path(features), Path(out), secret=_secret(secret), label_column=label_column,
            features=None if columns is None else [str(c) for c in columns],
            drop=None if drop is None else [str(c) for c in drop],
            delimiter=ord(delimiter), normalize=normalize, frac_bits=frac_bits, bits=bits,
            progress=progress,
        )
        return Dataset(json.loads(c), Path(out))
    if out is None:
        raise InputError("commit_dataset needs out (the dataset directory to write)")
    if labels is None:
        raise InputError("commit_dataset(features, labels, out=DIR): labels are missing")
    X = _as_matrix(features)
    ys, names = _labels(labels, X.shape[0], classes)
    n, f = X.shape
    with tempfile.TemporaryDirectory(prefix="zkpot-commit-") as tmp:
        path = Path(tmp) / "table.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            if feature_names is None and names is not None:
                # scikit-learn's bundled header: rows, features, class names.
                fh.write(",".join([str(n), str(f)] + [_csv_cell(c) for c in names]) + "\n")
            else:
                fn = [str(c) for c in feature_names] if feature_names is not None else [f"x{i}" for i in range(f)]
                if len(fn) != f:
                    raise InputError(f"feature_names: {len(fn)} names for {f} features")
                fh.write(",".join([_csv_cell(c) for c in fn] + ["label"]) + "\n")
            for row, label in zip(X.tolist(), ys):
                fh.write(",".join(repr(v) for v in row))
                fh.write("," + _csv_cell(label) + "\n")
        c = _native.commit_csv(
            path, Path(out), secret=_secret(secret), normalize=normalize, frac_bits=frac_bits,
            bits=bits, progress=progress,
        )
    return Dataset(json.loads(c), Path(out))


def train(
    dataset: Union[PathLike, Dataset],
    out: Optional[PathLike] = None,
    *,
    model: Union[str, Sequence[int]],
    steps: int = 10,
    lr: float = 0.5,
    batch: int = 16,
    loss: str = "cross-entropy",
    steps_per_proof: int = 1,
    seed: int = 0,
    beacon: Optional[Union[bytes, str]] = None,
    sampling: str = "shuffle",
    holdout: float = 0.0,
    release_weights: bool = False,
    prove_later: bool = False,
    from_run: Optional[PathLike] = None,
    cache_dir: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> Run:
    """Trains a model on the committed ``dataset`` (a :class:`Dataset` or its
    directory) with a proof of every step, into the directory ``out``, and
    returns the :class:`Run` (``path``; the report's ``run``, ``proved``,
    ``prove_s``, ``proof_bytes``). ``beacon`` is 64 hex digits or 32 bytes
    of public randomness fixing the batches.

    ``model`` is ``"mlp:4-8-3"`` or the layer widths ``[4, 8, 3]``, or a
    CNN such as ``"cnn:1x8x8-c4k3p1-relu-avg2-d10"`` (input channels x
    height x width, then ``c<channels>k<kernel>[p<pad>][s<stride>]``,
    ``relu``, ``avg<n>``/``max<n>`` pooling and ``d<units>`` layers). With
    ``prove_later`` nothing is proved yet: prove with :func:`prove_range` or
    :func:`zkpot.ray.prove_run`. ``progress(stage, done, total)`` is called
    with ``"training"`` and ``"proving"``. Running again in the same
    directory resumes: proofs already made are kept.
    """
    if not isinstance(model, str):
        try:
            model = "mlp:" + "-".join(str(int(w)) for w in model)
        except (TypeError, ValueError):
            raise InputError(f"model {model!r}: a shorthand string or a list of layer widths") from None
    beacon_bytes = _bytes32(beacon, "beacon")
    if out is None:
        raise InputError("train needs out (the run directory to write)")
    for name, v in (("steps", steps), ("batch", batch), ("steps_per_proof", steps_per_proof), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"{name} must be a non-negative integer, not {v!r}")
    r = _native.train(
        _path(dataset, "dataset"), Path(out), model, loss=loss, lr=float(lr), batch=batch, steps=steps,
        steps_per_proof=steps_per_proof, seed=seed, beacon=beacon_bytes,
        sampling=sampling, holdout=float(holdout), release_weights=release_weights,
        prove_later=prove_later, from_run=None if from_run is None else Path(from_run),
        cache_dir=None if cache_dir is None else Path(cache_dir), progress=progress,
    )
    return Run(json.loads(r), Path(out))


def prove_range(
    run_dir: PathLike,
    start: int,
    end: int,
    *,
    cache_dir: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> Tuple[int, float]:
    """Proves the groups of a run that start in steps ``start..end`` and have
    no proof yet; returns (proofs made, seconds). Processes may prove
    disjoint ranges of one run at once."""
    if start < 0 or end < start:
        raise InputError(f"range {start}..{end}: expected 0 <= start <= end")
    return _native.prove_range(
        _path(run_dir, "run"), start, end, cache_dir=None if cache_dir is None else Path(cache_dir),
        progress=progress,
    )


def pending_groups(run_dir: PathLike) -> List[int]:
    """The groups of a run that have no proof file of their statement."""
    return _native.pending_groups(_path(run_dir, "run"))


def group_task(run_dir: PathLike, group: int) -> bytes:
    """The self-contained proving task of one group, to send to a worker
    (:class:`TaskProver`). It carries the group's rows and weights: keep it
    private."""
    return _native.group_task(_path(run_dir, "run"), group)


def install_proofs(
    run_dir: PathLike,
    proofs: Sequence[Tuple[int, bytes]],
    *,
    cache_dir: Optional[PathLike] = None,
) -> None:
    """Verifies ``(group, proof bytes)`` pairs against the run and writes
    them to its proof files; raises :class:`VerificationError` (and writes
    nothing) when one does not verify."""
    _native.install_proofs(
        _path(run_dir, "run"), [(int(g), bytes(b)) for g, b in proofs],
        cache_dir=None if cache_dir is None else Path(cache_dir),
    )


def verify(
    path: Union[PathLike, Run],
    other: Optional[PathLike] = None,
    *,
    dataset: Optional[Union[PathLike, Dataset]] = None,
    cache_dir: Optional[PathLike] = None,
) -> Result:
    """Verifies a proof file, a run, an evaluation or a release folder (with
    ``other``: a run with its evaluation or an inference proof; with
    ``dataset``: against that ``commitment.json`` or dataset directory) and
    returns what is proven, with ``kind`` naming it. Raises
    :class:`VerificationError` when it does not verify."""
    ds = None
    if dataset is not None:
        ds = _path(dataset, "dataset")
        if ds.is_dir():
            ds = ds / "commitment.json"
    v = _native.verify(
        _path(path, "path"), None if other is None else _path(other, "other"), dataset=ds,
        cache_dir=None if cache_dir is None else Path(cache_dir),
    )
    return Result(json.loads(v))


def _vector(x: Any, what: str) -> List[float]:
    import numpy as np

    a = np.asarray(x)
    if a.ndim == 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 1 or a.shape[0] == 0:
        raise InputError(f"{what}: expected one input (a 1-D array), got shape {a.shape}")
    return _finite(a, what).tolist()


def _inputs(x: Any) -> List[List[float]]:
    """One input (a 1-D array) or several (a 2-D array, one per row), as
    lists of floats."""
    import numpy as np

    try:
        a = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise InputError(f"input: not an array ({e})") from None
    if a.ndim == 1:
        return [_vector(a, "input")]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(
            f"input: expected one input (a 1-D array) or one per row (a 2-D array), "
            f"got shape {a.shape}"
        )
    return _finite(a, "input").tolist()


def infer(
    model: Union[PathLike, Run],
    x: Any,
    *,
    out: PathLike,
    calibration: Any = None,
    input_visibility: str = "private",
    output_visibility: str = "public",
    secret: Optional[PathLike] = None,
    cache_dir: Optional[PathLike] = None,
    run: Optional[Union[PathLike, Run]] = None,
) -> Result:
    """Proves an inference and writes the proof file ``out``; returns the
    outcome (``class``, ``label`` when the model names its classes,
    ``output``, ``k``, ``prove_s``, ``proof_bytes``, and ``notes``: what the
    import rewrote or left out).

    ``x`` is one input (a 1-D array) or several (a 2-D array, one input per
    row, up to 256): several are proven in one proof that commits the
    weights once, and ``results`` lists each one's ``class``, ``label`` and
    ``output`` in order (``class``, ``label`` and ``output`` are the first
    row's); ``prove_per_input_s`` is the proving time per input.

    ``model`` is an ONNX or JSON model file, or a training run (a
    :class:`Run` or its directory: the proof then names the run's final
    weight commitment, and ``x`` is raw features, normalized as the
    dataset's were). With ``run`` as well, ``model`` is a file exported from
    that run (:func:`export_model`), proven linked to it and refused unless
    its weights are exactly the run's. ``calibration`` (a 2-D array)
    calibrates an imported model's fixed-point scales (default: the inputs).
    ``secret`` is the weight secret file (default ``<model>.zkpot-secret``,
    created if missing). Verify with ``zkpot.verify(out)``, or
    ``zkpot.verify(run, out)`` to check the link to a run.
    """
    if run is not None:
        xs = _inputs(x)
        o = _native.prove_inference(
            xs, Path(out), model=_path(model, "model"), run=_path(run, "run"),
            input_visibility=input_visibility, output_visibility=output_visibility,
            cache_dir=None if cache_dir is None else Path(cache_dir),
        )
        return Result(json.loads(o))
    xs = _inputs(x)
    cal = None
    if calibration is not None:
        import numpy as np

        cal = _as_matrix(np.asarray(calibration)).tolist()
    p = _path(model, "model")
    is_run = isinstance(model, Run) or p.is_dir()
    o = _native.prove_inference(
        xs, Path(out), model=None if is_run else p, run=p if is_run else None, calibration=cal,
        input_visibility=input_visibility, output_visibility=output_visibility,
        secret=None if secret is None else Path(secret),
        cache_dir=None if cache_dir is None else Path(cache_dir),
    )
    return Result(json.loads(o))


def export_model(run: Union[PathLike, Run], out: PathLike) -> Result:
    """Writes a run's trained model as a float ONNX file ``out`` (opset 13)
    that takes raw features: the dataset's normalization first, weights
    exactly the run's fixed-point values, the final weight commitment in its
    metadata. Needs the run's private files. Returns ``path``, ``bytes``,
    ``weights_commitment`` and ``dataset_root``; prove the deployed file
    linked to the run with ``zkpot.infer(out, x, run=run, out=...)``.
    """
    return Result(json.loads(_native.export_onnx(_path(run, "run"), Path(out))))


def predict(run: Union[PathLike, Run], X: Any) -> Any:
    """The class the run's final fixed-point model predicts for each row of
    ``X`` (raw features, a 2-D array or one row), computed natively without
    a proof: normalized as the dataset was, quantized, the fixed-point
    forward pass, argmax. It is the class an inference proof of the row
    shows, and what the exported model (``export_model``) must predict when
    run elsewhere. Returns a NumPy array of class indices.
    """
    import numpy as np

    a = np.asarray(X) if not isinstance(X, np.ndarray) else X
    rows = _as_matrix(a.reshape(1, -1) if a.ndim == 1 else a)
    out = _native.predict(_path(run, "run"), rows.tolist())
    return np.asarray(out, dtype=np.int64)
