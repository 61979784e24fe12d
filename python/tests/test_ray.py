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
