"""Where a result came from: the commit of the code, the versions of the key packages, the hardware.

:func:`collect` is what ``reproduce/run_all.py`` records for every notebook run (``figures/runs.json`` and the head
of ``figures/report.md``); :func:`stamp` is its cheap, per-process cached subset (commit and versions) that every
checkpoint's ``config.json`` carries under ``provenance`` (:func:`gpelib.checkpoint.save_checkpoint`) and that
``gpe evaluate`` prints. Nothing here writes anything; a missing piece (no git, no GPU) is ``None``.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "collect", "stamp", "git_info", "package_versions", "cpu_info", "gpu_info", "summary"]

#: Distributions whose versions every record names (the ones that decide this project's numbers and figures).
PACKAGES = ("gpelib", "torch", "torchvision", "numpy", "scipy", "pandas", "POT", "torchdiffeq", "scikit-learn",
            "matplotlib")


def _source_root() -> Path:
    """The folder above the ``gpelib`` package (the repository root of a checkout or editable install)."""
    return Path(__file__).resolve().parent.parent


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                             check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_info(root: str | Path | None = None) -> dict[str, Any]:
    """``{"commit": sha, "dirty": bool}`` of the git checkout at ``root`` (default: the one holding this gpelib);
    ``dirty`` is True when a tracked file differs from the commit (untracked files do not count), the runner's own
    outputs aside — ``figures/`` and ``README.md`` (whose findings block it writes): a rerun after a run is not a
    change of code. Both ``None`` outside a git checkout (an installed wheel)."""
    root = Path(root) if root is not None else _source_root()
    if not (root / ".git").exists():  # a folder or, in a worktree, a file; not a repository further up
        return {"commit": None, "dirty": None}
    commit = _git(root, "rev-parse", "HEAD")
    status = (_git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)figures",
                   ":(exclude)README.md") if commit else None)
    return {"commit": commit or None, "dirty": None if status is None else bool(status)}


def package_versions(names: tuple[str, ...] | list[str] = PACKAGES) -> dict[str, str | None]:
    """The installed version of each distribution (``None`` when not installed)."""
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def cpu_info() -> dict[str, Any]:
    """CPU model, logical cores (``os.cpu_count()``), the threads torch computes with, and any thread-count
    variables set in the environment."""
    import torch

    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ}
    return {"model": _cpu_model(), "logical_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            **({"env": env} if env else {})}


def _driver_version() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


def gpu_info(device: str | None = None) -> dict[str, Any] | None:
    """The GPU a run uses: name, driver, CUDA and cuDNN versions, memory. ``device`` as the notebooks take it:
    ``None`` means CUDA when available (so the GPU is recorded when there is one), ``"cpu"`` records none."""
    import torch

    if device is not None and torch.device(device).type != "cuda":
        return None
    if not torch.cuda.is_available():
        return None
    idx = torch.device(device).index if device is not None else None
    idx = torch.cuda.current_device() if idx is None else idx
    props = torch.cuda.get_device_properties(idx)
    return {"name": props.name, "count": torch.cuda.device_count(), "driver": _driver_version(),
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "capability": f"{props.major}.{props.minor}", "memory_gib": round(props.total_memory / 2**30, 1)}


def collect(device: str | None = None, *, root: str | Path | None = None) -> dict[str, Any]:
    """Everything a run record holds about where it ran: ``git`` (commit, dirty), ``python``, ``platform``,
    ``packages`` (:data:`PACKAGES`), ``cpu`` (:func:`cpu_info`) and ``gpu`` (:func:`gpu_info` for ``device``;
    ``None`` on the CPU). Reads only; JSON-serialisable."""
    return {"git": git_info(root), "python": platform.python_version(), "platform": platform.platform(),
            "packages": package_versions(), "cpu": cpu_info(), "gpu": gpu_info(device)}


@functools.cache
def stamp() -> dict[str, Any]:
    """The commit (and whether the tree was dirty), Python and package versions of this process, computed once per
    process: what every checkpoint records of the code that wrote it."""
    g = git_info()
    return {"commit": g["commit"], "dirty": g["dirty"], "python": platform.python_version(),
            "packages": package_versions()}


def summary(prov: dict[str, Any]) -> str:
    """One line for people: ``commit abc1234 (dirty), Python 3.11.7, torch 2.14.1, numpy …`` from a
    :func:`collect` or :func:`stamp` record (missing fields are skipped)."""
    git = prov.get("git", prov)
    commit = git.get("commit")
    parts = [f"commit {commit[:12]}{' (dirty)' if git.get('dirty') else ''}" if commit else "commit unknown"]
    if prov.get("python"):
        parts.append(f"Python {prov['python']}")
    parts += [f"{k} {v}" for k, v in (prov.get("packages") or {}).items() if v]
    return ", ".join(parts)
