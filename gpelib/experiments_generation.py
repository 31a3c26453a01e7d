"""GPE Figs. 9–10 (notebook 06): CFM flows on each method's latents, scored at several flow-training iterations,
beside the VAE decoding prior samples ("without flow") and a memorisation check of every generator.

Its tables are the ones notebook 06 saves (``06_flow_metric_curve``, ``06_reference_scores``, ``06_memorisation``);
:mod:`gpelib.claims.generation` decides the verdict from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from .flows import LatentGenerator
from .metrics import FeatureExtractor, FeatureStats, SampleQuality, memorisation, sample_quality
from .models import encode
from .recipes import flow_metric_curve, train_runs
from .train import TrainConfig

__all__ = ["NO_FLOW", "FlowCurves", "flow_curves", "prior_samples", "no_flow_and_memorisation", "score_columns",
           "reference_scores", "score_references"]

#: The method name of the VAE decoding prior samples ``S(z)``, ``z ~ N(0, I)`` (Fig. 9's horizontal line).
NO_FLOW = "VAE without flow"


@dataclass(frozen=True)
class FlowCurves:
    """``curve``: one row per (``seed``, ``method``, ``flow_iteration``) as :func:`gpelib.recipes.flow_metric_curve`
    gives it; ``generators``: each (seed, method)'s :class:`~gpelib.flows.LatentGenerator` at the last milestone."""

    curve: pd.DataFrame
    generators: dict[tuple[int, str], LatentGenerator]


def flow_curves(runs: Mapping[int, Mapping[str, Any]], x_train: Tensor, x_val: Tensor, *, extractor: FeatureExtractor,
                reference: FeatureStats, settings: Mapping[str, Any],
                checkpoint_dir: Callable[[int, str], str | Path], device: str | None = None) -> FlowCurves:
    """A CFM flow on the training latents of every run ``runs[seed][method]`` (a :class:`gpelib.runs.Run` with an
    encoder and a decoder), scored against ``reference`` at each of ``settings["flow_milestones"]``; every
    (seed, method) is one job on the worker pool (:func:`gpelib.recipes.train_runs`).

    ``settings``: notebook 06's preset (``flow_batch``, ``flow_lr``, ``flow_betas``, ``flow_milestones``,
    ``n_fake``, ``velocity``, ``sample_steps``); ``checkpoint_dir(seed, method)``: the folder each flow resumes from,
    one milestone to the next. Each flow is validated on the held-out latents ``encode(x_val)``.
    """
    st = settings
    common = dict(batch_size=st["flow_batch"], lr=st["flow_lr"], betas=tuple(st["flow_betas"]), device=device,
                  eval_every=max(st["flow_milestones"][0] // 2, 1))
    keys = [(s, name) for s, rr in runs.items() for name in rr]
    jobs = [dict(fn=flow_metric_curve, name=name, latents=encode(runs[s][name].encoder, x_train),
                 decoder=runs[s][name].decoder, extractor=extractor, real=reference,
                 milestones=st["flow_milestones"],
                 config=TrainConfig(seed=s, checkpoint_dir=str(checkpoint_dir(s, name)), **common),
                 n_fake=st["n_fake"], val_latents=encode(runs[s][name].encoder, x_val),
                 velocity_size=st["velocity"], sample_steps=st["sample_steps"]) for s, name in keys]
    done = dict(zip(keys, train_runs(jobs, device=device, desc="latent flows")))
    curve = pd.concat([c.assign(seed=s) for (s, _), (c, _) in done.items()], ignore_index=True)
    return FlowCurves(curve, {k: g for k, (_, g) in done.items()})


def prior_samples(decoder: nn.Module, n: int, latent_dim: int, *, seed: int) -> Tensor:
    """``S(z)`` for ``n`` draws ``z ~ N(0, I_latent_dim)`` from a CPU generator seeded ``seed`` (reproducible across
    devices), the decoder in eval mode; ``(n, ...)`` on the CPU."""
    dec = decoder.eval()
    with torch.no_grad():
        z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
        return dec(z.to(next(dec.parameters()).device)).cpu()


def no_flow_and_memorisation(runs: Mapping[int, Mapping[str, Any]], generators: Mapping[tuple[int, str], Any], *,
                             extractor: FeatureExtractor, reference: FeatureStats, x_train: Tensor, x_val: Tensor,
                             settings: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per seed: the scores of :data:`NO_FLOW` (``n_fake`` prior samples of ``runs[seed]["VAE"]``'s decoder, seed
    ``seed + 1``) against ``reference``, and the memorisation check (:func:`gpelib.metrics.memorisation` against
    ``x_train``, calibrated on ``x_val``) of those and of every flow generator's ``n_fake`` samples (the last
    milestone's scored samples: seed ``seed + 1``, ``settings["sample_steps"]``).

    Returns ``(no_flow, memo)``: one row per seed (:class:`~gpelib.metrics.SampleQuality`'s fields), one per
    (seed, method) (:class:`~gpelib.metrics.Memorisation`'s)."""
    n, no_flow, memo = settings["n_fake"], [], []
    for s, rr in runs.items():
        prior = prior_samples(rr["VAE"].decoder, n, settings["latent"], seed=s + 1)
        no_flow.append(dict(seed=s, method=NO_FLOW, **asdict(sample_quality(extractor, reference, prior,
                                                                            nearest_k=settings["nearest_k"]))))
        samples = {NO_FLOW: prior}
        for name in rr:
            samples[name] = generators[(s, name)].generate(n, seed=s + 1, steps=settings["sample_steps"])
        memo += [dict(seed=s, method=m, **asdict(memorisation(x, x_train, x_val))) for m, x in samples.items()]
    return pd.DataFrame(no_flow), pd.DataFrame(memo)


def score_columns(metric: str) -> dict[str, str]:
    """The score columns of a flow curve and their names in a figure: ``value`` is the Fréchet distance, named
    ``FID`` only on the Inception features (``metric`` the extractor's name), ``FD-classifier`` otherwise."""
    return dict(value="FD-classifier" if metric != "FID" else "FID", kid="KID", precision="precision",
                recall="recall", density="density", coverage="coverage")


def reference_scores(no_flow: pd.DataFrame, real_level: SampleQuality) -> pd.DataFrame:
    """``06_reference_scores``: the :data:`NO_FLOW` rows, then ``real_level`` — the scores of as many training
    images as generated ones — as method ``"<n> training images"``, seed −1."""
    real = dict(seed=-1, method=f"{real_level.n_fake} training images", **asdict(real_level))
    return pd.concat([no_flow, pd.DataFrame([real])], ignore_index=True)


def score_references(scores: pd.DataFrame, columns: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """Fig. 9's reference lines per score column of ``columns`` (:func:`score_columns`), from a
    :func:`reference_scores` table: the training images' level and the median of the :data:`NO_FLOW` seeds."""
    real = scores[scores.method != NO_FLOW].iloc[0]
    nf = scores[scores.method == NO_FLOW]
    col = lambda k: "fd" if k == "value" else k  # noqa: E731
    return {k: {real.method: float(real[col(k)]), f"{NO_FLOW} (median)": float(nf[col(k)].median())}
            for k in columns}
