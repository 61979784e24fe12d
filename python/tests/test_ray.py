import pytest

import zkpot
from conftest import TRAIN

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield
    ray.shutdown()


def test_prove_run_on_two_workers_resumes(iris_dir, tmp_path, local_ray):
    import zkpot.ray

    run = tmp_path / "run"
    zkpot.train(iris_dir, run, prove_later=True, **dict(TRAIN, steps=4))
    # One group proven before (an earlier, interrupted driver): it is not sent again.
    zkpot.install_proofs(run, [(1, zkpot.TaskProver().prove(zkpot.group_task(run, 1)))])
    seen = []
    out = zkpot.ray.prove_run(run, max_in_flight=2, progress=lambda d, t: seen.append((d, t)))
    assert out["pending_before"] == 3 and out["proved"] == 3
    assert seen[-1] == (3, 3)
    assert zkpot.pending_groups(run) == []
    assert zkpot.verify(run).kind == "run"
    assert zkpot.ray.prove_run(run)["proved"] == 0


def test_a_killed_task_is_proven_by_the_next_driver_only(iris_dir, tmp_path, local_ray):
    import json
    import time

    import zkpot.ray

    run = zkpot.train(iris_dir, tmp_path / "run", prove_later=True, **dict(TRAIN, steps=4))
    remote = ray.remote(num_cpus=1, max_retries=0)(zkpot.ray._prove_task)
    finished = remote.remote(zkpot.group_task(run, 0), None)
    killed = remote.remote(zkpot.group_task(run, 1), None)
    time.sleep(0.5)
    ray.cancel(killed, force=True)  # kills the worker process mid-proof
    try:
        ray.get(killed)
    except Exception:
        pass
    zkpot.install_proofs(run, [(0, ray.get(finished))])
    first = run.path / json.loads((run.path / "run.json").read_text())["proofs"][0]
    kept = first.read_bytes()
    out = zkpot.ray.prove_run(run)
    assert out["pending_before"] == 3 and out["proved"] == 3
    assert first.read_bytes() == kept, "the finished group is not proven again"
    assert zkpot.verify(run).kind == "run"


def test_bad_arguments_are_refused(iris_dir, tmp_path, local_ray):
    import zkpot.ray

    with pytest.raises(zkpot.InputError):
        zkpot.ray.prove_run(tmp_path / "no-run")
    run = zkpot.train(iris_dir, tmp_path / "run", prove_later=True, **TRAIN)
    with pytest.raises(zkpot.InputError, match="max_in_flight"):
        zkpot.ray.prove_run(run, max_in_flight=0)
