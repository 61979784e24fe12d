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

from . import Error, InputError, VerificationError, _native, _path

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

    Ray is started locally (or joined at ``address``) unless it already is;
    a local instance started here is shut down at the end. At most
    ``max_in_flight`` tasks are outstanding (default: twice the cluster's
    CPUs), so a long run does not hold every task in memory. A task that
    fails, or returns a proof that does not verify, is sent again up to
    ``max_retries`` times; the other groups go on, their proofs are
    installed as they arrive, and at the end :class:`zkpot.Error` names
    every group that could not be proven (run again to retry them).
    ``progress(done, total)`` is called as proofs are installed.
    """
    run_dir = _path(run_dir, "run")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InputError(f"max_retries must be an integer of at least 0, not {max_retries!r}")
    if max_in_flight is not None and (not isinstance(max_in_flight, int) or max_in_flight < 1):
        raise InputError(f"max_in_flight must be an integer of at least 1, not {max_in_flight!r}")
    if not cpus_per_task > 0:
        raise InputError(f"cpus_per_task must be positive, not {cpus_per_task!r}")
    pending = _native.pending_groups(run_dir)
    start = time.monotonic()
    if not pending:
        return {"proved": 0, "pending_before": 0, "seconds": 0.0}

    import ray

    started = False
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level="warning")
        started = address is None
    try:
        return _prove_pending(
            ray, run_dir, pending, start, max_in_flight, max_retries, cpus_per_task,
            None if cache_dir is None else str(cache_dir), progress,
        )
    finally:
        if started:
            ray.shutdown()


def _prove_pending(ray: Any, run_dir: Path, pending: List[int], start: float,
                   max_in_flight: Optional[int], max_retries: int, cpus_per_task: float,
                   cache: Optional[str], progress: Optional[Callable[[int, int], None]]) -> Dict[str, Any]:
    largest = max((n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=0)
    if cpus_per_task > largest:
        raise InputError(f"cpus_per_task {cpus_per_task}: no node of the cluster has that many CPUs ({largest})")
    if max_in_flight is None:
        max_in_flight = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
    # The prover's thread pool (rayon) sized to the CPUs Ray reserved for the
    # task, as Ray does for OpenMP: tasks sharing a node do not oversubscribe it.
    threads = str(max(1, int(cpus_per_task)))
    remote = ray.remote(num_cpus=cpus_per_task, max_retries=max_retries,
                        runtime_env={"env_vars": {"RAYON_NUM_THREADS": threads}})(_prove_task)
    cache_path = None if cache is None else Path(cache)
    queue: List[int] = list(pending)
    attempts: Dict[int, int] = {}
    failed: Dict[int, str] = {}
    in_flight: Dict[Any, int] = {}
    proved = 0

    def refused(g: int, why: str) -> None:
        # A proof that does not verify: send the group again, or give up on it.
        attempts[g] = attempts.get(g, 0) + 1
        if attempts[g] <= max_retries:
            queue.append(g)
        else:
            failed[g] = why

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
            for ref in ready:
                g = in_flight.pop(ref)
                try:
                    batch.append((g, ray.get(ref)))
                except Exception as e:  # the task failed on every attempt Ray made
                    failed[g] = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
            try:
                if batch:
                    _native.install_proofs(run_dir, batch, cache_dir=cache_path)
                installed = [g for g, _ in batch]
            except VerificationError:
                # One bad proof refuses the whole batch: install one by one.
                installed = []
                for g, proof in batch:
                    try:
                        _native.install_proofs(run_dir, [(g, proof)], cache_dir=cache_path)
                        installed.append(g)
                    except VerificationError as e:
                        refused(g, str(e))
            proved += len(installed)
            if installed and progress is not None:
                progress(proved, len(pending))
    finally:
        for ref in in_flight:
            ray.cancel(ref)
    if failed:
        detail = "; ".join(f"group {g}: {why}" for g, why in sorted(failed.items()))
        raise Error(f"{len(failed)} group(s) not proven (run prove_run again to retry): {detail}")
    return {"proved": proved, "pending_before": len(pending), "seconds": time.monotonic() - start}
