"""Measures proving one run's groups in-process and on a local Ray cluster
of 1 and 2 workers: `python python/benchmarks/ray_scaling.py [--groups 32]
[--repeat 3] [--json]`. Prints the median and range of each, the scaling
ratio (1 worker / 2 workers) and the per-task overhead of Ray over proving
in-process (1-worker time minus in-process time, per group).
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zkpot

ROOT = Path(__file__).resolve().parents[2]
SPEC = dict(model="mlp:4-8-3", batch=8, lr=0.25, seed=3, beacon="11" * 32)


def ray_once(run: str, workers: int) -> float:
    import ray

    import zkpot.ray

    ray.init(num_cpus=workers, include_dashboard=False, logging_level="error")
    try:
        start = time.monotonic()
        out = zkpot.ray.prove_run(run, max_in_flight=2 * workers)
        assert out["pending_before"] == out["proved"]
        return time.monotonic() - start
    finally:
        ray.shutdown()


def fresh(base: Path, run: Path, i: int) -> Path:
    """A copy of the unproved run (its private files included)."""
    copy = base / f"copy-{i}"
    shutil.copytree(run, copy)
    return copy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--ray-child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ray_child:
        print(ray_once(a.ray_child[0], int(a.ray_child[1])))
        return
    with tempfile.TemporaryDirectory(prefix="zkpot-scaling-") as tmp:
        base = Path(tmp)
        data = zkpot.commit_dataset(ROOT / "fixtures" / "iris.csv", out=base / "data")
        run = zkpot.train(data, out=base / "run", steps=a.groups, prove_later=True, **SPEC).path
        # Keys are cached per process: warm the parameter cache once.
        zkpot.TaskProver().prove(zkpot.group_task(run, 0))
        times = {"in_process": [], "ray_1": [], "ray_2": []}
        n = 0
        for _ in range(a.repeat):
            r = fresh(base, run, n); n += 1
            prover = zkpot.TaskProver()
            start = time.monotonic()
            zkpot.install_proofs(r, [(g, prover.prove(zkpot.group_task(r, g))) for g in zkpot.pending_groups(r)])
            times["in_process"].append(time.monotonic() - start)
            for w in (1, 2):
                r = fresh(base, run, n); n += 1
                out = subprocess.run([sys.executable, __file__, "--ray-child", str(r), str(w)],
                                     capture_output=True, text=True, check=True)
                times[f"ray_{w}"].append(float(out.stdout.strip().splitlines()[-1]))
        med = {k: statistics.median(v) for k, v in times.items()}
        report = {
            "groups": a.groups,
            "repeat": a.repeat,
            "seconds": {k: {"median": med[k], "min": min(v), "max": max(v)} for k, v in times.items()},
            "scaling_1_to_2": med["ray_1"] / med["ray_2"],
            "overhead_per_task_s": (med["ray_1"] - med["in_process"]) / a.groups,
        }
        if a.json:
            print(json.dumps(report, indent=2))
        else:
            for k, s in report["seconds"].items():
                print(f"{k:>11}  median {s['median']:7.1f} s  (range {s['min']:.1f}-{s['max']:.1f})")
            print(f"scaling 1 -> 2 workers: {report['scaling_1_to_2']:.2f}x")
            print(f"Ray overhead per task: {report['overhead_per_task_s']:.2f} s")


if __name__ == "__main__":
    main()
