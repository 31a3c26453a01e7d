"""The committed GAN step-time calibration (``gpelib/gan/step_seconds.csv``, written by ``reproduce/bench_gan.py``)
and what is read from it: each method's seconds per generator iteration relative to GMEGAN's, per setting
(:func:`shape_key`), turned into equal-wall-clock iteration counts (:func:`equal_time_iterations`). Pure tables: the
measurement itself is :func:`gpelib.gan.experiments.step_seconds`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

__all__ = ["STEP_SECONDS", "step_seconds_path", "shape_key", "equal_time_iterations"]

STEP_SECONDS = Path(__file__).with_name("step_seconds.csv")
"""Seconds per generator iteration of every method on the notebooks' shapes, measured by ``reproduce/bench_gan.py``
(interleaved rounds on a 2-core CPU, one thread per process as the worker pool runs them): the calibration behind
:func:`equal_time_iterations`. ``$GPE_STEP_SECONDS`` names another file (:func:`step_seconds_path`)."""


def step_seconds_path() -> Path:
    """The calibration file in use: ``$GPE_STEP_SECONDS`` if set (a dry run, or a GPU machine keeping its own
    measurements apart from the committed ones), else :data:`STEP_SECONDS`."""
    env = os.environ.get("GPE_STEP_SECONDS")
    return Path(env).expanduser() if env else STEP_SECONDS


def shape_key(arch: str, data_shape: Sequence[int], latent_dim: int, batch_size: int) -> str:
    """The name of a timing setting: ``"<arch> <C>x<H>x<W> d=<latent> b=<batch>"``."""
    return f"{arch} {'x'.join(str(int(s)) for s in data_shape)} d={int(latent_dim)} b={int(batch_size)}"


def _step_table(table: pd.DataFrame | str | Path | None) -> tuple[pd.DataFrame, str]:
    """The calibration table (given, a CSV path, or :func:`step_seconds_path`) and where it came from, for messages."""
    if isinstance(table, pd.DataFrame):
        return table, "the given table"
    path = Path(table) if table is not None else step_seconds_path()
    if not path.is_file():
        raise FileNotFoundError(f"no GAN step-time calibration at {path}; measure it with "
                                "`python reproduce/bench_gan.py --write` (see $GPE_STEP_SECONDS)")
    return pd.read_csv(path), str(path)


def equal_time_iterations(
    methods: Sequence[str],
    *,
    key: str,
    units: int,
    reference: str = "gmegan",
    multiple: int = 100,
    table: pd.DataFrame | str | Path | None = None,
) -> dict[str, int]:
    """Iterations that give every method the same wall-clock: ``units`` iterations of ``reference`` divided by each
    method's time ratio to it (median over the rounds of :data:`STEP_SECONDS` for the setting ``key``), rounded to the
    nearest ``multiple`` (halves up; at least one ``multiple``). The ratios are a committed calibration, so the
    iteration counts — and with them every result — do not depend on the load of the machine that runs the notebook;
    the notebooks report the seconds each run actually took beside them."""
    t, where = _step_table(table)
    t = t[t.key == key]
    missing = [m for m in methods if m not in set(t.method)]
    if missing:
        raise KeyError(f"no step time for {missing} at {key!r} in {where}; measure it with "
                       f"`python reproduce/bench_gan.py --write` (settings: {sorted(set(t.key)) or 'none'})")
    if reference not in set(t.method):
        raise KeyError(f"the reference {reference!r} has no step time at {key!r}")
    ratio = t.groupby("method").ratio.median()
    return {m: max(multiple, math.floor(units / float(ratio[m]) / multiple + 0.5) * multiple) for m in methods}
