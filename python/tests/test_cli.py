"""The package and the command line are one library: the same inputs give
the same verdicts and the same public commitment fields."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import zkpot
from conftest import IRIS, ROOT, TRAIN

BIN = os.environ.get("ZKPOT_BIN") or shutil.which("zkpot")
if BIN is None and (ROOT / "target" / "debug" / "zkpot").exists():
    BIN = str(ROOT / "target" / "debug" / "zkpot")
pytestmark = pytest.mark.skipif(BIN is None, reason="no zkpot binary (set ZKPOT_BIN)")


def untimed(v):
    if isinstance(v, dict):
        return {k: untimed(x) for k, x in v.items() if not k.endswith("_s")}
    if isinstance(v, list):
        return [untimed(x) for x in v]
    return v


def test_cli_and_python_agree(iris_dir, tmp_path):
    run = zkpot.train(iris_dir, tmp_path / "run", **TRAIN)
    out = subprocess.run(
        [BIN, "verify", str(run.path), "--dataset", str(iris_dir / "commitment.json"), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert untimed(json.loads(out)) == untimed(zkpot.verify(run, dataset=iris_dir).to_dict())

    # Committing the same file: everything public but the salted roots agrees.
    subprocess.run(
        [BIN, "data", "commit", str(IRIS), "--out", str(tmp_path / "cli"), "--normalize", "none", "--frac-bits", "4", "--quiet"],
        check=True, capture_output=True,
    )
    cli = json.loads((tmp_path / "cli" / "commitment.json").read_text())
    py = zkpot.commit_dataset(IRIS, out=tmp_path / "py", normalize="none", frac_bits=4).to_dict()
    assert cli.keys() == py.keys()
    for k in cli:
        if k not in ("root", "tree_root"):
            assert cli[k] == py[k], k
    # With the CLI's secret, the package reproduces its root exactly.
    secret = (tmp_path / "cli" / "dataset.secret").read_bytes()
    again = zkpot.commit_dataset(IRIS, out=tmp_path / "py2", normalize="none", frac_bits=4, secret=secret)
    assert again.root == cli["root"]


def test_bad_options_are_input_errors(tmp_path):
    with pytest.raises(zkpot.InputError, match="normaliz"):
        zkpot.commit_dataset(IRIS, out=tmp_path / "d", normalize="zscore")
    with pytest.raises(zkpot.InputError, match="delimiter"):
        zkpot.commit_dataset(IRIS, out=tmp_path / "d", delimiter=";;")
