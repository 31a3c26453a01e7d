"""Training GMEGAN and its baselines with the library's one training loop (:func:`gpelib.train.fit`).

:func:`train_gan` builds the networks from the architecture registry and the method from the method registry, seeds
everything, and runs ``fit`` with ``method.step`` as the iteration — so every method gets the same tidy history
(``iteration | seconds | train_loss | val_loss | …``), progress bar, non-finite check and checkpoint/resume. A
checkpoint stores the method name, architecture, its options, the latent dimension, the data shape and the resolved
hyper-parameters, so :func:`load_gan` rebuilds the method from the folder alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor

from ..checkpoint import checkpoint_exists, load_checkpoint, weights_hash
from ..distributed import dist_info
from ..plateau import PlateauStop
from ..train import HistoryResult, TrainConfig, _split_val, fit, resolve_device, seed_everything
from .architectures import build_networks
from .diagnostics import energy_distance
from .methods import GANMethod, get_method

__all__ = ["GANResult", "train_gan", "load_gan", "default_val_metric"]

EvalFn = Callable[[GANMethod], dict[str, float]]


@dataclass
class GANResult(HistoryResult):
    """Outcome of :func:`train_gan`: the trained method, the tidy history (:attr:`final_val`: its last validation
    metric) and per-iteration losses."""

    method: GANMethod
    steps: pd.DataFrame
    stopped: str
    iterations: int
    seconds: float
    config: TrainConfig = field(repr=False)
    method_name: str = ""
    arch: str = ""

    def sample(self, n: int, *, seed: int = 0) -> Tensor:
        """``n`` generated samples from a seeded CPU generator (model on its device, result on CPU)."""
        return self.method.sample(n, generator=torch.Generator().manual_seed(seed)).cpu()


def default_val_metric(method: GANMethod, val: Tensor, *, n: int = 500, seed: int = 0) -> float:
    """Squared energy distance (:func:`~gpelib.gan.diagnostics.energy_distance`) between ``n`` generated samples,
    drawn with a fixed seed, and the first ``n`` points of the fixed validation set ``val``."""
    fake = method.sample(n, generator=torch.Generator().manual_seed(seed))
    real = val[:n].to(fake.device)
    return energy_distance(fake, real)


def _stored_config(path: Path) -> dict[str, Any]:
    return json.loads((path / "config.json").read_text())


def train_gan(
    method: str,
    data: Tensor,
    *,
    arch: str = "mlp",
    latent_dim: int,
    config: TrainConfig | None = None,
    hyper: dict[str, Any] | None = None,
    arch_options: dict[str, Any] | None = None,
    val_data: Tensor | None = None,
    eval_fn: EvalFn | None = None,
    n_val: int = 500,
    stop: PlateauStop | None = None,
) -> GANResult:
    """Train the registered ``method`` (``"gmegan"``, ``"gan"``, ``"wgan"``, ``"wgan_gp"``, ``"wgan_div"``,
    ``"otm"``, ``"vaegan"``, ``"veegan"``) with architecture ``arch`` on ``data`` ``(N, *data_shape)``.

    * ``config``: iterations, batch size, seed, device, evaluation/checkpoint cadence (:class:`TrainConfig`); its
      ``lr``/``betas`` are *not* used — optimiser settings are the method's ``hyper`` (paper defaults).
    * ``hyper``: fields of the method's ``Hyper`` dataclass (e.g. ``{"lambda1": 0}`` for the GMEGAN ablation).
    * ``arch_options``: passed to the architecture factory (e.g. ``{"hidden": 64}``).
    * Validation (history column ``val_loss``, every ``config.eval_every`` iterations): ``eval_fn(method)`` if
      given (a dict of floats; without a ``"val_loss"`` key the default is added), else the default — the squared
      energy distance between ``n_val`` samples generated with a fixed seed and ``n_val`` points of ``val_data``
      (default: a seeded subset of ``data``, *not* held out; pass ``val_data`` for a held-out set, as
      :func:`~gpelib.gan.mixture_jobs.mixture_job` and :func:`~gpelib.gan.image_jobs.image_plateau_job` do). The
      checkpoint records a hash of the validation set (``val_hash``): resuming on another one is refused.
    * ``stop``: a :class:`~gpelib.plateau.PlateauStop` on history columns (``eval_fn``'s metrics): the run stops at
      its plateau (``stopped="plateau"``) instead of at ``config.iterations``, its cap. The rule is part of the
      checkpoint's description, so a run stored under another rule is not resumed.
    * Extra critic steps draw fresh real batches from ``data`` with torch's global generator, which ``fit`` seeds
      and checkpoints, so an interrupted run resumes exactly.
    """
    config = config or TrainConfig()
    if dist_info().world_size > 1:
        raise NotImplementedError("train_gan runs in one process; launch it without torchrun (the encoder, decoder, "
                                  "baseline and flow trainers are the ones that run data-parallel)")
    cls = get_method(method)
    if data.ndim not in (2, 4):
        raise ValueError(f"data must have shape (N, D) or (N, C, H, W); got {tuple(data.shape)}")
    hyper, arch_options = dict(hyper or {}), dict(arch_options or {})
    seed_everything(config.seed)
    device = resolve_device(config.device)
    data_shape = tuple(int(s) for s in data.shape[1:])
    nets = build_networks(arch, data_shape, latent_dim, parts=cls.REQUIRES, **arch_options).to(device)
    m = cls(nets, latent_dim=latent_dim, **hyper)
    data = data.to(device)
    m.attach_data(data)
    val = _split_val(data, val_data, n_val, config.seed)
    # val_hash: the validation set the history's val_loss was measured on; a run resumed on another one is refused
    description = {"method": method, "arch": arch, "latent_dim": int(latent_dim), "data_shape": list(data_shape),
                   "hyper": m.hyper, "arch_options": arch_options, "val_hash": weights_hash({"val": val[:n_val]})}
    if stop is not None:
        description["stop"] = stop.describe()

    ckpt = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    if ckpt is not None and config.resume and checkpoint_exists(ckpt):
        stored = _stored_config(ckpt)
        changed = [f"{k}: {stored.get(k)!r} → {v!r}" for k, v in json.loads(json.dumps(description)).items()
                   if stored.get(k) != v]
        if changed:
            raise ValueError(f"checkpoint at {ckpt} describes another model or validation set "
                             f"({'; '.join(changed)}); delete the folder, pick another checkpoint_dir, or set "
                             "resume=False")

    def evaluate() -> dict[str, float]:
        metrics = {k: float(v) for k, v in (eval_fn(m) if eval_fn is not None else {}).items()}
        if "val_loss" not in metrics:
            metrics["val_loss"] = default_val_metric(m, val, n=n_val, seed=config.seed)
        return metrics

    res = fit(name=f"gan:{method}", modules=m.modules(), optimizers=m.optimizers(), step=m.step,
              evaluate=evaluate, data=data, config=config, extra_config=description, stop=stop)
    return GANResult(method=m, history=res.history, steps=res.steps, stopped=res.stopped, iterations=res.iterations,
                     seconds=res.seconds, config=config, method_name=method, arch=arch)


def load_gan(path: str | Path, *, device: str | torch.device | None = "cpu") -> GANMethod:
    """Rebuild a trained method from a :func:`train_gan` checkpoint folder (networks, weights, hyper-parameters).

    The optimisers are fresh; to continue training call :func:`train_gan` again with the same ``checkpoint_dir``.
    """
    ck = load_checkpoint(path, map_location="cpu")
    cfg = ck.config
    missing = [k for k in ("method", "arch", "latent_dim", "data_shape", "hyper") if k not in cfg]
    if missing:
        raise ValueError(f"checkpoint at {path} was not written by train_gan (missing {missing} in config.json)")
    cls = get_method(cfg["method"])
    nets = build_networks(cfg["arch"], cfg["data_shape"], cfg["latent_dim"], parts=cls.REQUIRES,
                          **cfg.get("arch_options", {}))
    m = cls(nets, **cfg["hyper"])
    for name, module in m.modules().items():
        module.load_state_dict(ck.weights[name])
    nets.to(resolve_device(device))
    return m
