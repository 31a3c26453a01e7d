"""The papers' numbers and settings, read from one data file (``gpelib/paper_values.csv``).

Tidy rows ``table, dataset, method, quantity, value, source``:

* ``Table 1`` / ``Table 2`` — GPE Tables 1–2 (fresh-decoder iterations, seconds per iteration, latent sizes, loss
  thresholds, the encoders' ε) as printed (SPEC §4);
* ``Settings`` — the GPE encoder's training settings: ``source = "released"`` for the authors' public defaults
  (stated as facts, SPEC §2), ``"SPEC reference"`` for the reference learning rate of SPEC §1;
* ``GMEGAN Table 1`` — GMEGAN's λ1, λ2, λ3, batch size, learning rates and epochs per data set, as printed.

Every notebook preset of the ``paper`` profile (:mod:`gpelib.profiles`) takes these values from here, and a test
checks that the library's defaults (e.g. :class:`gpelib.gan.methods.GMEGANHyper`) agree with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["paper_values", "paper_table1", "GPEDataset", "gpe_dataset", "gpe_settings", "gmegan_settings",
           "PIXEL_UNITS", "in_our_units"]

#: Table 1's loss thresholds do not say in which pixel range the MSE was measured (issue 29). Our images are in
#: [−1, 1] (:mod:`gpelib.data`); a mean squared error measured on [0, 1] pixels is a quarter of the same error on
#: [−1, 1] pixels. Unit → the factor that turns a threshold stated in that unit into ours.
PIXEL_UNITS = {"[-1, 1]": 1.0, "[0, 1]": 4.0}


def in_our_units(threshold: float, unit: str) -> float:
    """A reconstruction-MSE threshold stated for pixels in ``unit`` (a key of :data:`PIXEL_UNITS`), as the same
    error on our [−1, 1] images: ``threshold × (2 / width of unit)²``."""
    if unit not in PIXEL_UNITS:
        raise ValueError(f"unknown pixel unit {unit!r}; expected one of {list(PIXEL_UNITS)}")
    return float(threshold) * PIXEL_UNITS[unit]


@lru_cache(maxsize=4)
def _read(path: str | None) -> pd.DataFrame:
    src = Path(path) if path else resources.files("gpelib") / "paper_values.csv"
    with src.open() as f:
        df = pd.read_csv(f)
    need = {"table", "dataset", "method", "quantity", "value", "source"}
    if not need <= set(df.columns):
        raise ValueError(f"{src} needs the columns {sorted(need)}; has {list(df.columns)}")
    return df


def paper_values(path: str | Path | None = None) -> pd.DataFrame:
    """All rows of the data file as a DataFrame (a copy): ``table, dataset, method, quantity, value, source``."""
    return _read(None if path is None else str(path)).copy()


def _pick(table: str, dataset: str, method: str, *, source: str | None = None) -> dict[str, float]:
    v = paper_values()
    rows = v[(v.table == table) & (v.dataset.str.lower() == dataset.lower()) & (v.method == method)]
    if source is not None:
        rows = rows[rows.source == source]
    if rows.empty:
        have = sorted(v[v.table == table].dataset.unique())
        raise KeyError(f"no {table!r} values for dataset {dataset!r}, method {method!r}; datasets: {have}")
    return dict(zip(rows.quantity, rows.value.astype(float)))


def paper_table1(values: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """GPE Table 1 for one dataset, wide: one row per method in the paper's order, columns ``method, eps,
    encoder_iterations, iterations_threshold_1, iterations_threshold_2`` plus the thresholds and latent size."""
    t = values[(values["table"] == "Table 1") & (values["dataset"].str.lower() == dataset.lower())]
    if t.empty:
        have = sorted(values[values["table"] == "Table 1"]["dataset"].unique())
        raise KeyError(f"no Table 1 values for {dataset!r}; have {have}")
    common = t[t.method == "all"].set_index("quantity")["value"]
    rows = t[t.method != "all"]
    order = list(dict.fromkeys(rows.method))
    wide = rows.pivot_table(index="method", columns="quantity", values="value", aggfunc="first").reindex(order)
    wide = wide.reset_index()
    wide.columns.name = None
    for q, v in common.items():
        wide[q] = v
    if "eps" not in wide:
        wide["eps"] = math.nan
    return wide


@dataclass(frozen=True)
class GPEDataset:
    """One data set's settings in the GPE paper: latent size ``d``, Table 1's two loss thresholds, the ε of its GPE
    encoders (loosest first) and Table 2's encoder threshold."""

    name: str
    latent_dim: int
    thresholds: tuple[float, float]
    eps: tuple[float, ...]
    encoder_threshold: float


def gpe_dataset(name: str) -> GPEDataset:
    """GPE Tables 1–2 settings for ``name`` (``"MNIST"``, ``"CIFAR10"``, ``"CelebA"``, ``"CelebA-HQ"``; any case)."""
    t1 = paper_table1(paper_values(), name)
    eps = tuple(sorted((float(e) for e in t1.eps.dropna()), reverse=True))
    enc = _pick("Table 2", name, "GPE")["encoder_threshold"]
    label = str(paper_values().query("table == 'Table 1'").dataset.drop_duplicates()
                .loc[lambda s: s.str.lower() == name.lower()].iloc[0])
    return GPEDataset(label, int(t1.latent_dim.iloc[0]), (float(t1.threshold_1.iloc[0]), float(t1.threshold_2.iloc[0])),
                      eps, float(enc))


def gpe_settings(source: str = "released") -> dict[str, float | tuple[float, float]]:
    """The GPE encoder's Adam settings: ``{"batch_size", "lr", "betas"}`` from the authors' public defaults
    (``"released"``: batch 100, lr 1e-3, betas (0.5, 0.999)) or ``"SPEC reference"`` (lr 1e-4, same batch/betas)."""
    rel = _pick("Settings", "all", "GPE encoder", source="released")
    out: dict[str, float | tuple[float, float]] = {"batch_size": int(rel["batch_size"]), "lr": rel["lr"],
                                                   "betas": (rel["beta1"], rel["beta2"])}
    if source != "released":
        out["lr"] = _pick("Settings", "all", "GPE encoder", source=source)["lr"]
    return out


def gmegan_settings(dataset: str) -> dict[str, float]:
    """GMEGAN Table 1 for ``"synthetic"``, ``"CIFAR10"`` or ``"TinyImageNet"``: ``lambda1, lambda2, lambda3,
    batch_size, lr_g, lr_d`` (and ``epochs`` for the image data sets)."""
    return _pick("GMEGAN Table 1", dataset, "GMEGAN")
