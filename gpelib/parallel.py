"""Independent training jobs on several CPU processes (seeds × methods × architectures sweeps).

:func:`map_jobs` calls a module-level function once per job, in order of the jobs, either in this process
(``n_workers=1``) or in a pool of *spawned* worker processes (never forked: a fork after torch has started its
thread pool can hang). Each worker limits torch to ``threads_per_worker`` threads, so ``n_workers ×
threads_per_worker`` should not exceed the cores, and (Linux) ends when the process that started it dies. Results
come back in job order; the first failing job re-raises its exception with the job's description.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any, TypeVar

R = TypeVar("R")

__all__ = ["map_jobs", "default_workers", "JobError"]


class JobError(RuntimeError):
    """A job of :func:`map_jobs` failed; the message names the job, ``__cause__`` holds the original error."""


def default_workers(device: str | None = None) -> int:
    """Worker processes for a sweep: one per CPU core (``os.sched_getaffinity``) on the CPU, 1 on a GPU (the jobs
    would only queue on one device)."""
    if device is not None and str(device).startswith("cuda"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def _die_with(parent: int) -> None:
    """Linux: this worker gets SIGTERM when ``parent`` (the process that started the pool) dies, so a killed
    notebook or runner leaves no orphan training on its cores (``prctl(PR_SET_PDEATHSIG)``); elsewhere nothing."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request: nothing will send the signal
        os._exit(1)


def _init_worker(threads: int, parent: int | None = None) -> None:
    import torch

    if parent is not None:
        _die_with(parent)
    torch.set_num_threads(threads)


def _describe(job: Mapping[str, Any]) -> str:
    if set(job) == {"fn", "kwargs"} and isinstance(job["kwargs"], Mapping):  # a call wrapped by recipes.train_runs
        inner = _describe(job["kwargs"])
        return f"{getattr(job['fn'], '__name__', job['fn'])}: {inner}"
    short = {k: v for k, v in job.items() if isinstance(v, (str, int, float, bool, type(None)))}
    return ", ".join(f"{k}={v!r}" for k, v in short.items()) or "(no scalar arguments)"


def map_jobs(
    fn: Callable[..., R],
    jobs: Sequence[Mapping[str, Any]],
    *,
    n_workers: int = 1,
    threads_per_worker: int | None = None,
    desc: str = "jobs",
    progress: bool = True,
) -> list[R]:
    """``[fn(**job) for job in jobs]``, on ``n_workers`` spawned processes when ``n_workers > 1``.

    ``fn`` must be importable by name (defined at module level in an installed module), and the jobs' values and
    the results picklable. A progress bar counts finished jobs (``TQDM_DISABLE=1`` hides it).
    ``threads_per_worker``: torch threads in each worker (default: the cores divided among the workers); with
    ``n_workers=1`` the jobs run in this process and, if given, the thread count is set for their duration only.
    """
    import torch
    from tqdm.auto import tqdm

    if n_workers < 1:
        raise ValueError(f"n_workers must be ≥ 1; got {n_workers}")
    jobs = list(jobs)
    disable = not progress or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    bar = tqdm(total=len(jobs), desc=desc, disable=disable, leave=False, dynamic_ncols=True)
    results: list[Any] = [None] * len(jobs)
    try:
        if n_workers == 1 or len(jobs) <= 1:
            before = torch.get_num_threads()
            if threads_per_worker is not None:
                torch.set_num_threads(threads_per_worker)
            try:
                for i, job in enumerate(jobs):
                    try:
                        results[i] = fn(**job)
                    except Exception as e:
                        raise JobError(f"{desc}: job {i} ({_describe(job)}) failed: {type(e).__name__}: {e}") from e
                    bar.update(1)
            finally:
                torch.set_num_threads(before)
            return results
        n = min(n_workers, len(jobs))
        threads = threads_per_worker or max(1, default_workers() // n)
        with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn"), initializer=_init_worker,
                                 initargs=(threads, os.getpid())) as pool:
            futures = {pool.submit(fn, **job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as e:
                    for f in futures:
                        f.cancel()
                    raise JobError(f"{desc}: job {i} ({_describe(jobs[i])}) failed: {type(e).__name__}: {e}") from e
                bar.update(1)
        return results
    finally:
        bar.close()
