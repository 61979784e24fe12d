import csv
from pathlib import Path

import numpy as np
import pytest

import zkpot

ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "fixtures" / "iris.csv"
SECRET = bytes([21] * 32)


def iris_arrays():
    with open(IRIS) as f:
        rows = list(csv.reader(f))
    classes = rows[0][2:]
    data = np.array([[float(v) for v in r[:-1]] for r in rows[1:]])
    labels = np.array([int(r[-1]) for r in rows[1:]])
    return data, labels, classes


@pytest.fixture(scope="session")
def iris_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("iris") / "data"
    zkpot.commit_dataset(IRIS, out, secret=SECRET)
    return out


TRAIN = dict(model="mlp:4-8-3", steps=3, batch=4, lr=0.25, seed=9, beacon=bytes([5] * 32))
