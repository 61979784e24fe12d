import numpy as np
import pytest

import zkpot
from conftest import IRIS, SECRET, iris_arrays


def test_arrays_commit_to_the_same_root_as_the_csv(tmp_path):
    from_csv = zkpot.commit_dataset(IRIS, tmp_path / "a", secret=SECRET)
    X, y, classes = iris_arrays()
    from_arrays = zkpot.commit_dataset(X, y, out=tmp_path / "b", classes=classes, secret=SECRET.hex())
    assert from_arrays.path == tmp_path / "b"
    assert from_arrays.root == from_csv.root
    assert from_arrays.n_rows == 150
    # Labels by name give the same table.
    names = np.array([classes[i] for i in y])
    by_name = zkpot.commit_dataset(X, names, tmp_path / "c", classes=classes, secret=SECRET)
    assert by_name.root == from_csv.root
    assert from_csv.to_dict()["root"] == from_csv.root


def test_bad_arrays_are_input_errors(tmp_path):
    X, y, classes = iris_arrays()
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(zkpot.InputError, match="row 3, column 2"):
        zkpot.commit_dataset(bad, y, tmp_path / "d")
    with pytest.raises(zkpot.InputError, match="2-D"):
        zkpot.commit_dataset(X[:, 0], y, tmp_path / "d")
    with pytest.raises(zkpot.InputError, match="149 labels for 150 rows"):
        zkpot.commit_dataset(X, y[1:], tmp_path / "d")
    with pytest.raises(zkpot.InputError, match="not one of 3 classes"):
        zkpot.commit_dataset(X, y + 1, tmp_path / "d", classes=classes)
    with pytest.raises(zkpot.InputError, match="dtype"):
        zkpot.commit_dataset(X.astype(str), y, tmp_path / "d")
    with pytest.raises(zkpot.InputError):
        zkpot.commit_dataset(tmp_path / "missing.csv", tmp_path / "d")
    with pytest.raises(zkpot.InputError, match="32 bytes"):
        zkpot.commit_dataset(X, y, tmp_path / "d", secret=b"short")
    assert issubclass(zkpot.InputError, zkpot.Error)
    assert issubclass(zkpot.VerificationError, zkpot.Error)


def test_standardized_outliers_get_a_wider_scale_or_a_named_refusal(tmp_path):
    # Nine zeros and a 10: standardized, the 10 is 3 deviations out, beyond
    # the default scale's range (-2 to 2).
    X = np.array([[0.0]] * 9 + [[10.0]])
    y = np.array([0, 1] * 5)
    d = zkpot.commit_dataset(X, y, tmp_path / "a", normalize="standard")
    assert d.to_dict()["schema"]["format"]["frac_bits"] == 5
    with pytest.raises(zkpot.InputError, match="--frac-bits 5"):
        zkpot.commit_dataset(X, y, tmp_path / "b", normalize="standard", frac_bits=6)
    assert not (tmp_path / "b").exists()
