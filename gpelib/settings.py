"""The run profiles and every training stage's optimiser settings: the one home of settings (SPEC §2 "Profiles").

``smoke`` (CI: the code runs, decides nothing), ``quick`` (the whole suite on a 2-core CPU) and ``paper`` (the
papers' settings on a GPU). The notebooks' presets are built on these in :mod:`gpelib.profiles`; the library's
defaults (:func:`gpelib.flows.default_flow_config`, the ``gpe`` command) read them from here, so that no module below
the experiments has to import the presets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from . import papers

__all__ = ["PROFILES", "TRAINING", "resolve_profile", "pick", "stage_settings"]

PROFILES = ("smoke", "quick", "paper")
T = TypeVar("T")

_ENC = papers.gpe_settings("released")  # batch 100, betas (0.5, 0.999); lr 1e-3 (CPU budgets)
_REF = papers.gpe_settings("SPEC reference")  # lr 1e-4 (the paper profile)
_FLOW_BETAS = (0.9, 0.999)


def _stages(batch: int, lr: float, flow_batch: int) -> dict[str, dict[str, Any]]:
    ae = dict(batch_size=batch, lr=lr, betas=tuple(_ENC["betas"]))
    return {"encoder": ae, "decoder": dict(ae), "joint": dict(ae),
            "flow": dict(batch_size=flow_batch, lr=lr, betas=_FLOW_BETAS)}


#: Optimiser settings per profile and stage (``encoder``: GPE Algorithm 1; ``decoder``: Algorithm 2 and fresh
#: decoders; ``joint``: VAE/AE(+MDS); ``flow``: latent CFM). Encoder and decoder use the authors' released batch and
#: betas; CPU profiles their released lr 1e-3, the paper profile SPEC's reference lr 1e-4.
TRAINING: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": _stages(50, float(_ENC["lr"]), 128),
    "quick": _stages(int(_ENC["batch_size"]), float(_ENC["lr"]), 256),
    "paper": _stages(int(_REF["batch_size"]), float(_REF["lr"]), 256),
}


def resolve_profile(profile: str | None = None) -> str:
    """``profile`` if given, else ``$GPE_PROFILE``, else ``"quick"``; validated."""
    p = profile or os.environ.get("GPE_PROFILE") or "quick"
    if p not in PROFILES:
        raise ValueError(f"unknown profile {p!r}; expected one of {PROFILES}")
    return p


def pick(profile: str, table: Mapping[str, T]) -> T:
    """``table[profile]`` with a clear error when settings for that profile are missing."""
    if profile not in table:
        raise KeyError(f"no settings for profile {profile!r}; defined: {sorted(table)}")
    return table[profile]


def stage_settings(profile: str, stage: str) -> dict[str, Any]:
    """A copy of ``TRAINING[profile][stage]`` (``batch_size``, ``lr``, ``betas``)."""
    return dict(pick(stage, pick(resolve_profile(profile), TRAINING)))
