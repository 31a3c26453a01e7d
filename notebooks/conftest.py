"""nbval over the notebooks never runs on models that other code trained (issue 30 item 1).

The notebooks load every finished run they find in the runs folder (``$GPE_RUNS_DIR``, else ``runs/``), keyed by its
settings, not by the code that trained it: ``pytest notebooks --nbval-lax`` from a checkout whose ``runs/`` holds
checkpoints passed with GAN training made to raise. So unless ``GPE_RUNS_DIR`` names a folder (``make test`` gives a
fresh temporary one), the notebooks here run with a fresh temporary runs folder, removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_FRESH = "_gpe_fresh_runs_dir"


def pytest_configure(config) -> None:
    if os.environ.get("GPE_RUNS_DIR"):
        return
    folder = tempfile.mkdtemp(prefix="gpe-nbval-runs-")
    os.environ["GPE_RUNS_DIR"] = folder  # the notebook kernels inherit it
    setattr(config, _FRESH, folder)


def pytest_unconfigure(config) -> None:
    folder = getattr(config, _FRESH, None)
    if folder is not None:
        os.environ.pop("GPE_RUNS_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)
