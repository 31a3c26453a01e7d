"""The run profiles and every training stage's optimiser settings: the one home of settings (SPEC §2 "Profiles").

``smoke`` (CI: the code runs, decides nothing), ``quick`` (the whole suite on a 2-core CPU) and ``paper`` (the
papers' settings on a GPU). The notebooks' presets are built on these in :mod:`gpelib.profiles`; the library's
defaults (:func:`gpelib.flows.default_flow_config`, the ``gpe`` command) read them from here, so that no module below
the experiments has to import the presets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from . import papers

if TYPE_CHECKING:
    from .train_setup import TrainConfig

__all__ = ["PROFILES", "TRAINING", "STAGE_KEYS", "Stage", "resolve_profile", "pick", "stage_settings", "stages"]

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


def whole_number(v: Any) -> bool:
    """An ``int`` that is not a ``bool`` (no silent ``int(5.7)``)."""
    return isinstance(v, int) and not isinstance(v, bool)


def finite_number(v: Any) -> bool:
    """A finite ``int`` or ``float`` (not a ``bool``): inf and nan pass every comparison they should fail (inf > 0)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: Each field of :class:`Stage`: (its test, what it must be) — the one statement of what a stage accepts, read by
#: :class:`Stage` and by the ``gpe`` command's configuration check (:mod:`gpelib.cli_settings`).
STAGE_RULES: dict[str, tuple[Any, str]] = {
    "iterations": (lambda v: whole_number(v) and v > 0, "a whole number > 0"),
    "batch_size": (lambda v: whole_number(v) and v >= 2, "a whole number ≥ 2"),
    "lr": (lambda v: finite_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "betas": (lambda v: isinstance(v, (list, tuple)) and len(v) == 2
              and all(finite_number(b) and 0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    "eval_every": (lambda v: whole_number(v) and v > 0, "a whole number > 0"),
    "target": (lambda v: v is None or (finite_number(v) and v > 0), "a finite number > 0 or null"),
}


@dataclass(frozen=True)
class Stage:
    """One training stage's settings, typed and checked when made: ``iterations`` (the budget; for a GPE encoder the
    cap), ``batch_size``, Adam's ``lr`` and ``betas``, ``eval_every`` (held-out scoring interval) and ``target`` (the
    ε target of GPE Algorithm 1: stop once the held-out GME cost is ≤ ε; None: train the whole budget).

    A bad value raises ``ValueError`` naming the field, the value and what was expected. :meth:`config` gives the
    :class:`gpelib.train.TrainConfig` that trains it; :func:`stages` reads a notebook preset's stages."""

    iterations: int
    batch_size: int
    lr: float
    betas: tuple[float, float]
    eval_every: int
    target: float | None = None

    def __post_init__(self) -> None:
        bad = [f"{f.name}={getattr(self, f.name)!r} (expected {STAGE_RULES[f.name][1]})" for f in fields(self)
               if not STAGE_RULES[f.name][0](getattr(self, f.name))]
        if bad:
            raise ValueError("a training stage's settings are out of range: " + "; ".join(bad))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))

    def config(self, *, seed: int, device: str | None = None, **extra: Any) -> TrainConfig:
        """The :class:`~gpelib.train.TrainConfig` of this stage for ``seed`` on ``device``; ``extra`` sets the loop's
        other fields (``checkpoint_dir``, ``progress``, ``max_seconds`` …) or overrides this stage's (``target=ε``)."""
        from .train_setup import TrainConfig

        own = {f.name: getattr(self, f.name) for f in fields(self)}
        return TrainConfig(**(own | dict(seed=seed, device=device) | extra))


#: Where each stage's settings sit in a notebook's preset (:func:`gpelib.profiles.preset`): the one renaming from the
#: presets' short names to :class:`Stage`'s (``batch`` → ``batch_size``, ``encoder_cap`` → ``iterations`` …).
#: ``joint``: a jointly trained VAE/AE(+MDS); ``encoder``: a GPE encoder (``encoder_cap``: the cap on its way to ε);
#: ``decoder``: a decoder on a frozen encoder; ``flow``: the latent flow; ``mixture``: notebook 01's encoders.
STAGE_KEYS: dict[str, dict[str, str]] = {
    "joint": dict(iterations="vae_iterations", lr="lr", batch_size="batch", eval_every="eval_every"),
    "encoder": dict(iterations="encoder_cap", lr="encoder_lr", batch_size="batch", eval_every="encoder_eval"),
    "decoder": dict(iterations="decoder_iterations", lr="lr", batch_size="batch", eval_every="eval_every"),
    "flow": dict(iterations="flow_iterations", lr="flow_lr", batch_size="flow_batch", eval_every="flow_eval"),
    "mixture": dict(iterations="iterations", lr="lr", batch_size="batch", eval_every="eval_every"),
}
#: Adam's betas per stage, :data:`TRAINING`'s (the same in every profile); notebook 01's encoders train as ``joint``.
STAGE_BETAS = {**{s: t["betas"] for s, t in TRAINING["quick"].items()}, "mixture": TRAINING["quick"]["joint"]["betas"]}


def stages(preset: Mapping[str, Any], *names: str) -> dict[str, Stage]:
    """The training stages ``names`` (keys of :data:`STAGE_KEYS`) of a notebook ``preset``, typed and checked:
    ``stages(S, "encoder", "decoder")["encoder"].config(seed=0, target=ε)``. A preset without one of the stage's
    settings raises ``KeyError`` naming it."""
    out = {}
    for name in names:
        if name not in STAGE_KEYS:
            raise KeyError(f"no training stage {name!r}; stages: {sorted(STAGE_KEYS)}")
        missing = [k for k in STAGE_KEYS[name].values() if k not in preset]
        if missing:
            raise KeyError(f"this preset has no {name} stage: it lacks {missing} (keys {sorted(preset)})")
        out[name] = Stage(betas=STAGE_BETAS[name], **{f: preset[k] for f, k in STAGE_KEYS[name].items()})
    return out
