"""Zero-knowledge proofs of training and inference on committed datasets.

The functions here call the zkpot library (the same code as the ``zkpot``
command line) through the ``zkpot._native`` extension module. Work runs with
the interpreter released, so other Python threads keep running.

Typical use::

    import zkpot
    c = zkpot.commit_dataset(X, y, "data", classes=["a", "b", "c"])
    r = zkpot.train("data", "run", model="mlp:4-8-3", steps=20)
    print(zkpot.verify("run").kind)       # "run"

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
    "TaskProver",
    "commit_dataset",
    "train",
    "prove_range",
    "pending_groups",
    "group_task",
    "install_proofs",
    "verify",
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


def _secret(secret: Optional[bytes]) -> Optional[bytes]:
    if secret is None:
        return None
    if not isinstance(secret, (bytes, bytearray)) or len(secret) != 32:
        raise InputError("secret must be 32 bytes")
    return bytes(secret)


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
    if a.dtype.kind not in "biuf":
        raise InputError(f"features: expected numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise InputError(f"features: row {r}, column {c} is {a[r, c]} (only finite numbers)")
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
    data: Any,
    labels: Any = None,
    out_dir: Optional[PathLike] = None,
    *,
    classes: Optional[Sequence[str]] = None,
    feature_names: Optional[Sequence[str]] = None,
    label_column: Optional[str] = None,
    secret: Optional[bytes] = None,
    frac_bits: Optional[int] = None,
    bits: Optional[int] = None,
    progress: bool = False,
) -> Result:
    """Commits a dataset into ``out_dir`` and returns its public commitment.

    ``data`` is a path to a CSV or Parquet file (then ``label_column`` picks
    the label, the last column by default), or a 2-D array of features with
    ``labels`` a 1-D array of the same length: class indices, or names when
    ``classes`` lists them. Arrays are committed exactly as the same table
    written as CSV would be, so the root does not depend on the route taken.
    ``secret`` (32 bytes) fixes the salts; by default a fresh one is drawn
    and kept in ``out_dir``.
    """
    if isinstance(data, (str, os.PathLike)):
        if out_dir is None:
            out_dir, labels = labels, None
        if labels is not None:
            raise InputError("labels are given with arrays, not with a file (use label_column)")
        if out_dir is None:
            raise InputError("commit_dataset needs out_dir")
        c = _native.commit_csv(
            Path(data), Path(out_dir), secret=_secret(secret), label_column=label_column,
            frac_bits=frac_bits, bits=bits, progress=progress,
        )
        return Result(json.loads(c))
    if out_dir is None:
        raise InputError("commit_dataset needs out_dir")
    if labels is None:
        raise InputError("commit_dataset(X, y, out_dir): labels are missing")
    X = _as_matrix(data)
    ys, names = _labels(labels, X.shape[0], classes)
    n, f = X.shape
    with tempfile.TemporaryDirectory(prefix="zkpot-commit-") as tmp:
        path = Path(tmp) / "table.csv"
        with open(path, "w", encoding="utf-8", newline="") as out:
            if feature_names is None and names is not None:
                # scikit-learn's bundled header: rows, features, class names.
                out.write(",".join([str(n), str(f)] + [_csv_cell(c) for c in names]) + "\n")
            else:
                fn = [str(c) for c in feature_names] if feature_names is not None else [f"x{i}" for i in range(f)]
                if len(fn) != f:
                    raise InputError(f"feature_names: {len(fn)} names for {f} features")
                out.write(",".join([_csv_cell(c) for c in fn] + ["label"]) + "\n")
            for row, label in zip(X.tolist(), ys):
                out.write(",".join(repr(v) for v in row))
                out.write("," + _csv_cell(label) + "\n")
        c = _native.commit_csv(
            path, Path(out_dir), secret=_secret(secret), frac_bits=frac_bits, bits=bits,
            progress=progress,
        )
    return Result(json.loads(c))


def train(
    data_dir: PathLike,
    run_dir: PathLike,
    *,
    model: Union[str, Sequence[int]],
    steps: int = 10,
    lr: float = 0.5,
    batch: int = 16,
    loss: str = "cross-entropy",
    steps_per_proof: int = 1,
    seed: int = 0,
    beacon: Optional[bytes] = None,
    sampling: str = "shuffle",
    holdout: float = 0.0,
    release_weights: bool = False,
    prove_later: bool = False,
    from_run: Optional[PathLike] = None,
    cache_dir: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
) -> Result:
    """Trains an MLP on the committed dataset in ``data_dir`` with a proof of
    every step, into ``run_dir``, and returns the report (``run``,
    ``proved``, ``prove_s``, ``proof_bytes``).

    ``model`` is ``"mlp:4-8-3"`` or the layer widths ``[4, 8, 3]``. With
    ``prove_later`` nothing is proved yet: prove with :func:`prove_range` or
    :func:`zkpot.ray.prove_run`. ``progress(stage, done, total)`` is called
    with ``"training"`` and ``"proving"``. Running again in the same
    directory resumes: proofs already made are kept.
    """
    if isinstance(model, str):
        body = model[4:] if model.startswith("mlp:") else None
        try:
            widths = [int(w) for w in body.split("-")] if body else []
        except ValueError:
            widths = []
        if len(widths) < 2:
            raise InputError(f"model {model!r}: expected mlp:<inputs>-<hidden>...-<classes>, e.g. mlp:64-32-10")
    else:
        widths = [int(w) for w in model]
    if beacon is not None and (not isinstance(beacon, (bytes, bytearray)) or len(beacon) != 32):
        raise InputError("beacon must be 32 bytes")
    for name, v in (("steps", steps), ("batch", batch), ("steps_per_proof", steps_per_proof), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InputError(f"{name} must be a non-negative integer, not {v!r}")
    r = _native.train(
        Path(data_dir), Path(run_dir), widths, loss=loss, lr=float(lr), batch=batch, steps=steps,
        steps_per_proof=steps_per_proof, seed=seed, beacon=None if beacon is None else bytes(beacon),
        sampling=sampling, holdout=float(holdout), release_weights=release_weights,
        prove_later=prove_later, from_run=None if from_run is None else Path(from_run),
        cache_dir=None if cache_dir is None else Path(cache_dir), progress=progress,
    )
    return Result(json.loads(r))


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
        Path(run_dir), start, end, cache_dir=None if cache_dir is None else Path(cache_dir),
        progress=progress,
    )


def pending_groups(run_dir: PathLike) -> List[int]:
    """The groups of a run that have no proof file of their statement."""
    return _native.pending_groups(Path(run_dir))


def group_task(run_dir: PathLike, group: int) -> bytes:
    """The self-contained proving task of one group, to send to a worker
    (:class:`TaskProver`). It carries the group's rows and weights: keep it
    private."""
    return _native.group_task(Path(run_dir), group)


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
        Path(run_dir), [(int(g), bytes(b)) for g, b in proofs],
        cache_dir=None if cache_dir is None else Path(cache_dir),
    )


def verify(
    path: PathLike,
    other: Optional[PathLike] = None,
    *,
    dataset: Optional[PathLike] = None,
    cache_dir: Optional[PathLike] = None,
) -> Result:
    """Verifies a proof file, a run, an evaluation or a release folder (with
    ``other``: a run with its evaluation or an inference proof; with
    ``dataset``: against that ``commitment.json`` or dataset directory) and
    returns what is proven, with ``kind`` naming it. Raises
    :class:`VerificationError` when it does not verify."""
    ds = None
    if dataset is not None:
        ds = Path(dataset)
        if ds.is_dir():
            ds = ds / "commitment.json"
    v = _native.verify(
        Path(path), None if other is None else Path(other), dataset=ds,
        cache_dir=None if cache_dir is None else Path(cache_dir),
    )
    return Result(json.loads(v))
