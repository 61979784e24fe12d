"""Proving a run's groups across a Ray cluster.

Train with ``prove_later=True`` (or ``zkpot train --prove-later``), then::

    import zkpot.ray
    zkpot.ray.prove_run("run")            # local Ray, or the cluster at address=

The driver reads each pending group's task (rows and checkpoint, so the
driver needs the run's private files and dataset), ships it to a Ray task,
and verifies every proof that comes back before writing it: a wrong or
failed worker cannot put a bad proof in the run. Interrupted, it resumes
where it stopped: groups already proven are not sent again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import Error, InputError, _native, _path

__all__ = ["prove_run"]

_PROVERS: Dict[Optional[str], Any] = {}


def _prove_task(task: bytes, cache_dir: Optional[str]) -> bytes:
    """Runs on a worker: proves one task, keeping the proving key for the
    next task of the same shape."""
    prover = _PROVERS.get(cache_dir)
    if prover is None:
        prover = _native.TaskProver(None if cache_dir is None else Path(cache_dir))
        _PROVERS[cache_dir] = prover
    return prover.prove(task)


def prove_run(
    run_dir: Any,
    *,
    address: Optional[str] = None,
    max_in_flight: Optional[int] = None,
    max_retries: int = 2,
    cpus_per_task: float = 1.0,
    cache_dir: Optional[Any] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Dict[str, Any]:
    """Proves every pending group of the run in ``run_dir`` on Ray and
    installs the proofs; returns ``{"proved", "pending_before", "seconds"}``.

    Ray is started locally (or joined at ``address``) unless it already is.
    At most ``max_in_flight`` tasks are outstanding (default: twice the
    cluster's CPUs), so a long run does not hold every task in memory. A
    task that fails is retried ``max_retries`` times; if it still fails, the
    proofs already installed stay and :class:`zkpot.Error` names the group.
    ``progress(done, total)`` is called as proofs are installed.
    """
    import ray

    run_dir = _path(run_dir, "run")
    if max_retries < 0:
        raise InputError(f"max_retries must be at least 0, not {max_retries}")
    pending = _native.pending_groups(run_dir)
    start = time.monotonic()
    if not pending:
        return {"proved": 0, "pending_before": 0, "seconds": 0.0}
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="warning")
    if max_in_flight is None:
        max_in_flight = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
    if max_in_flight < 1:
        raise InputError(f"max_in_flight must be at least 1, not {max_in_flight}")
    remote = ray.remote(num_cpus=cpus_per_task, max_retries=max_retries)(_prove_task)
    cache = None if cache_dir is None else str(cache_dir)
    queue: List[int] = list(pending)
    in_flight: Dict[Any, int] = {}
    proved = 0
    try:
        while queue or in_flight:
            while queue and len(in_flight) < max_in_flight:
                g = queue.pop(0)
                in_flight[remote.remote(_native.group_task(run_dir, g), cache)] = g
            ready, rest = ray.wait(list(in_flight), num_returns=1)
            if rest:  # install everything that is done, in one batch
                more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                ready += more
            batch: List[Tuple[int, bytes]] = []
            failed: Optional[Tuple[int, BaseException]] = None
            for ref in ready:
                g = in_flight.pop(ref)
                try:
                    batch.append((g, ray.get(ref)))
                except Exception as e:  # the task failed on every attempt
                    failed = failed or (g, e)
            if batch:
                _native.install_proofs(run_dir, batch, cache_dir=None if cache is None else Path(cache))
                proved += len(batch)
                if progress is not None:
                    progress(proved, len(pending))
            if failed is not None:
                g, e = failed
                raise Error(f"group {g} failed after {max_retries} retries: {e}") from e
    finally:
        for ref in in_flight:
            ray.cancel(ref)
    return {"proved": proved, "pending_before": len(pending), "seconds": time.monotonic() - start}
