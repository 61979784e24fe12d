import shutil

import pytest

import zkpot
from conftest import TRAIN


def test_train_verify_and_tampering(iris_dir, tmp_path):
    seen = []
    report = zkpot.train(iris_dir, tmp_path / "run", progress=lambda s, d, t: seen.append((s, d, t)), **TRAIN)
    assert report.proved == 3 and report.path == tmp_path / "run"
    assert ("training", 3, 3) in seen and ("proving", 3, 3) in seen
    v = zkpot.verify(tmp_path / "run", dataset=iris_dir)
    assert v.kind == "run"
    # A tampered proof does not verify.
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "run", bad)
    proof = sorted((bad / "proofs").iterdir())[1]
    data = bytearray(proof.read_bytes())
    data[-40] ^= 1
    proof.write_bytes(bytes(data))
    with pytest.raises(zkpot.VerificationError):
        zkpot.verify(bad)
    with pytest.raises(zkpot.InputError, match="no such file"):
        zkpot.verify(tmp_path / "nothing")
    with pytest.raises(zkpot.InputError, match="model"):
        zkpot.train(iris_dir, tmp_path / "r2", model="cnn", steps=1)
    with pytest.raises(zkpot.InputError, match="loss"):
        zkpot.train(iris_dir, tmp_path / "r2", model="mlp:4-3", loss="hinge", steps=1)
    with pytest.raises(zkpot.InputError, match="beacon"):
        zkpot.train(iris_dir, tmp_path / "r2", model="mlp:4-3", beacon="12", steps=1)
    with pytest.raises(zkpot.InputError, match="dataset"):
        zkpot.train(42, tmp_path / "r2", model="mlp:4-3", steps=1)


def test_prove_later_with_tasks(iris_dir, tmp_path):
    run = tmp_path / "run"
    r = zkpot.train(iris_dir, model="mlp:4-8-3", steps=3, batch=4, lr=0.25, seed=9,
                    beacon="05" * 32, out=run, prove_later=True)
    assert r.proved == 0
    assert zkpot.pending_groups(run) == [0, 1, 2]
    prover = zkpot.TaskProver()
    proof = prover.prove(zkpot.group_task(run, 2))
    with pytest.raises(zkpot.VerificationError, match="another statement"):
        zkpot.install_proofs(run, [(0, proof)])
    zkpot.install_proofs(run, [(2, proof)])
    assert zkpot.pending_groups(run) == [0, 1]
    n, _ = zkpot.prove_range(run, 0, 3)
    assert n == 2
    assert zkpot.verify(r).kind == "run"
    # The same spec with the beacon as bytes or hex is the same run.
    assert r.run.to_dict() == zkpot.train(iris_dir, run, prove_later=True, **TRAIN).run.to_dict()


def test_two_provers_on_one_run_leave_it_valid(iris_dir, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    run = zkpot.train(iris_dir, tmp_path / "run", prove_later=True, **TRAIN)
    # Two provers racing over the same groups: every write is atomic and
    # each proof is valid, so whichever lands last, the run verifies.
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda _: zkpot.prove_range(run, 0, 3), range(2)))
    assert sum(n for n, _ in done) >= 3
    assert zkpot.pending_groups(run) == []
    assert zkpot.verify(run).kind == "run"
    assert not [p for p in (run.path / "proofs").iterdir() if not p.name.endswith(".zkpot")]


def test_an_exception_in_the_progress_callback_is_raised(iris_dir, tmp_path):
    class Stop(Exception):
        pass

    def stop(stage, done, total):
        raise Stop(stage)

    with pytest.raises(Stop, match="training"):
        zkpot.train(iris_dir, tmp_path / "run", progress=stop, **TRAIN)
    # The call ran to its end, so what it wrote is whole and verifies.
    assert zkpot.verify(tmp_path / "run").kind == "run"


def test_a_cnn_trains_proves_and_verifies(tmp_path):
    import gzip

    import numpy as np

    from conftest import ROOT

    with gzip.open(ROOT / "fixtures" / "digits.csv.gz", "rt") as f:
        rows = np.array([[float(v) for v in line.split(",")] for line in f if line.strip()])
    data = zkpot.commit_dataset(rows[:256, :64], rows[:256, 64].astype(int), out=tmp_path / "digits")
    model = "cnn:1x8x8-c2k3p1-relu-avg2-d10"
    run = zkpot.train(data, tmp_path / "run", model=model, steps=2, batch=4, lr=0.5,
                      beacon="09" * 32, prove_later=True)
    assert run.run["spec"]["conv"]["input"] == [1, 8, 8]
    # One group as a task (as Ray workers prove them), the other in process.
    zkpot.install_proofs(run, [(0, zkpot.TaskProver().prove(zkpot.group_task(run, 0)))])
    zkpot.prove_range(run, 1, 2)
    assert zkpot.verify(run, dataset=data).kind == "run"
    # Shapes that do not fit the data or each other are refused before any work.
    for bad, needle in [
        ("cnn:1x8x8-c2k3s2-d10", "does not divide"),
        ("cnn:1x4x4-c2k3p1-d10", "does not fit the dataset"),
        ("cnn:1x8x8-c2k9-d10", "does not fit its"),
    ]:
        with pytest.raises(zkpot.InputError, match=needle):
            zkpot.train(data, tmp_path / "bad", model=bad, steps=1, batch=4)
    assert not (tmp_path / "bad").exists()
