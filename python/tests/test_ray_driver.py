"""The Ray driver's bookkeeping, with an in-process stand-in for Ray: a
worker that returns a bad proof gets its group sent again, good proofs are
kept, and a group that keeps failing is named."""

import pytest

import zkpot
import zkpot.ray
from conftest import TRAIN


class FakeRay:
    """Runs each task at once in-process; `corrupt(group, attempt)` says
    which results to spoil."""

    def __init__(self, corrupt):
        self.corrupt = corrupt
        self.sent = []
        self.prover = zkpot.TaskProver()

    def nodes(self):
        return [{"Alive": True, "Resources": {"CPU": 2.0}}]

    def cluster_resources(self):
        return {"CPU": 2.0}

    def remote(self, **_):
        fake = self

        class Remote:
            def remote(self, task, cache):
                return fake.run(task)

        return lambda f: Remote()

    def run(self, task):
        import json

        g = json.loads(task)["group"]
        attempt = sum(1 for s in self.sent if s == g)
        self.sent.append(g)
        proof = self.prover.prove(task)
        if self.corrupt(g, attempt):
            proof = proof[:-64] + bytes(64)
        return (g, proof)

    def wait(self, refs, num_returns=1, timeout=None):
        return list(refs[:num_returns]), list(refs[num_returns:])

    def get(self, ref):
        return ref[1]

    def cancel(self, ref):
        pass


def drive(run, fake, retries):
    pending = zkpot.pending_groups(run)
    return zkpot.ray._prove_pending(fake, run.path, pending, 0.0, 2, retries, 1.0, None, None)


def test_bad_proofs_are_sent_again_and_good_ones_kept(iris_dir, tmp_path):
    run = zkpot.train(iris_dir, tmp_path / "run", prove_later=True, **TRAIN)
    fake = FakeRay(lambda g, attempt: g == 1 and attempt == 0)
    out = drive(run, fake, retries=1)
    assert out["proved"] == 3
    assert fake.sent.count(1) == 2 and fake.sent.count(0) == 1
    assert zkpot.verify(run).kind == "run"


def test_a_group_that_keeps_failing_is_named(iris_dir, tmp_path):
    run = zkpot.train(iris_dir, tmp_path / "run", prove_later=True, **TRAIN)
    fake = FakeRay(lambda g, attempt: g == 2)
    with pytest.raises(zkpot.Error, match="group 2"):
        drive(run, fake, retries=1)
    assert zkpot.pending_groups(run) == [2], "the good proofs were installed"
