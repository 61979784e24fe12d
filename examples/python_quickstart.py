"""Commit a dataset from NumPy arrays, train with proofs on a local Ray
cluster, and verify: `python examples/python_quickstart.py [WORKDIR]`.

Needs `pip install "./python[ray]"`. Uses the bundled iris table.
"""

import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

import zkpot
import zkpot.ray

ROOT = Path(__file__).resolve().parents[1]
work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="zkpot-"))

with open(ROOT / "fixtures" / "iris.csv") as f:
    rows = list(csv.reader(f))
classes = rows[0][2:]
X = np.array([[float(v) for v in r[:-1]] for r in rows[1:]])
y = np.array([int(r[-1]) for r in rows[1:]])

data = zkpot.commit_dataset(X, y, out=work / "data", classes=classes)
print(f"committed {data.n_rows} rows, root {data.root} (publish it before training)")

report = zkpot.train(
    data, model="mlp:4-8-3", steps=8, batch=8, lr=0.25, out=work / "run",
    beacon="00" * 32, prove_later=True,
    progress=lambda stage, done, total: print(f"  {stage} {done}/{total}", end="\r"),
)
print(f"\ntrained {report.run.steps} steps; proving {len(zkpot.pending_groups(work / 'run'))} groups on Ray")
out = zkpot.ray.prove_run(report, progress=lambda d, t: print(f"  proved {d}/{t}", end="\r"))
print(f"\nproved {out['proved']} groups in {out['seconds']:.1f} s")

v = zkpot.verify(report, dataset=data)
print(f"verified {v.run.proofs} proofs of {v.run.steps} steps on root {v.run.dataset_root}")
print(f"final weights committed as {v.run.final_commitment} (dataset checked: {v.run.dataset_checked})")
