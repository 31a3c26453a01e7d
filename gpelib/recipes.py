"""Recipes: "train method M on data D with settings S", the fresh-decoder protocol and the latent-flow curve.

One seeding rule (:func:`init_models`) and one run record (:class:`Run`) for every notebook, the command line and
the benchmarks, so that "the GPE encoder with seed 0" is the same network wherever it is trained:

* networks are initialised from ``torch.manual_seed(seed + OFFSET[role])`` right before each is built, with
  ``OFFSET = {"encoder": 0, "decoder": 1, "velocity": 2}`` — so every method's decoder (and every fresh decoder)
  starts from the same weights, independent of the encoder built before it;
* training itself (batch order, noise) is seeded by ``TrainConfig.seed`` inside :func:`gpelib.train.fit`.

Methods (GPE paper §8.2–8.4, all on the *same* encoder/decoder architectures, SPEC §1):

* ``gpe`` — GPE Algorithm 1 (encoder on the GME cost alone, until ``encoder_config.target = ε``), then
  Algorithm 2 (frozen encoder, a fresh decoder on ``E‖x − S(Tx)‖²``);
* ``vae`` — β-VAE trained jointly on ``MSE + β · KL/d`` (per-pixel normalisation, SPEC §1; default β = 0.1, the
  authors' public value — the paper does not print β);
* ``ae`` — the same without KL;
* ``vae+mds`` / ``ae+mds`` — plus ``λ_MDS · mean_{i≠j}(‖µ_i − µ_j‖ − ‖x_i − x_j‖)²`` (Yu et al. 2013; GPE §8.4).

**Default λ_MDS = 1/D** (``D`` = pixels per image). The MDS term is a squared difference of *distances*, which
grow like ``√D``, so the term grows like ``D``; the reconstruction term is a per-pixel mean. Dividing by ``D`` puts
MDS on the per-pixel scale, the normalisation the SPEC uses for KL (``β · KL/d``). The paper's own value did not
survive the text extraction; its criterion was "stable, concurrent decay of the reconstruction, MDS and KL terms",
which 1/D meets on the 8×8 digits (λ = 10⁻³ leaves the MDS term flat, λ = 0.1 slows the reconstruction over the
first hundreds of iterations; both checked on a pilot before any GPE comparison was run).

**Fresh-decoder protocol** (GPE Table 1): :func:`fresh_decoder` freezes a trained encoder (GPE's, or a VAE's mean
head), throws its decoder away and trains a new one, initialised identically for every method, on reconstruction
only; :func:`gpelib.tables.threshold_table` counts the iterations to reach each loss threshold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from .methods import (
    OFFSET,
    default_mds_weight,
    embed,
    fresh_decoder,
    init_models,
    reconstruct,
    train_gpe_encoder,
    train_method,
    train_runs,
)
from .runs import LABELS, METHODS, REGISTRY, RUN_PROTOCOL, Run, _method_folder, _settings, run_folder
from .settings import stages
from .train import (
    TrainConfig,
)

__all__ = [
    "METHODS",
    "LABELS",
    "OFFSET",
    "Run",
    "init_models",
    "default_mds_weight",
    "train_gpe_encoder",
    "train_method",
    "train_runs",
    "fresh_decoder",
    "RUN_PROTOCOL",
    "run_folder",
    "table1_run",
    "fresh_decoder_runs",
    "fresh_decoder_sweep",
    "beta_label",
    "eps_label",
    "AE_CONTROL",
    "FAMILY_ONLY",
    "family_label",
    "table1_entries",
    "encoder_family",
    "embed",
    "reconstruct",
    "flow_metric_curve",
    "stage_configs",
    "step_time_rounds",
]

def eps_label(eps: float | None) -> str:
    """``"GPE ε=0.03"`` (or ``"GPE"`` when no target)."""
    return "GPE" if eps is None else f"GPE ε={eps:g}"


def table1_run(
    kind: str,
    x: Tensor,
    x_val: Tensor,
    *,
    latent_dim: int,
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    eps: float | None = None,
    name: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> Run:
    """One entry of GPE Table 1: ``kind="vae"`` trains a β-VAE jointly (``vae_config``), freezes its mean encoder and
    trains a fresh decoder (``decoder_config``) — as does every other jointly trained method of
    :data:`gpelib.runs.METHODS` (``"ae"``, ``"ae+mds"``, ``"vae+mds"``: the encoder family's extra members);
    ``kind="gpe"`` trains a GPE encoder to ``eps`` (``encoder_config`` with ``target=eps``) and its decoder the same
    way. Every decoder starts from the same weights
    (``decoder_config.seed + 1``). ``name`` defaults to ``"VAE"`` / :func:`eps_label`. ``checkpoint_root``: see
    :func:`train_method` (the VAE's fresh decoder goes to ``fresh-decoder-<hash>/`` inside the VAE's folder)."""
    kw = dict(arch=arch, width=width, hidden=hidden)
    if kind in REGISTRY and not REGISTRY[kind].two_phase:
        vae = train_method(kind, x, latent_dim=latent_dim, config=vae_config, beta=beta, val_data=x_val,
                           checkpoint_root=checkpoint_root, **kw)
        if checkpoint_root is not None:
            from .checkpoint import content_hash

            folder = _method_folder(checkpoint_root, kind, x, x_val, latent_dim, vae_config, None, beta, None, kw)
            decoder_config = replace(decoder_config, checkpoint_dir=str(
                folder / f"fresh-decoder-{content_hash(_settings(decoder_config), 12)}"))
        return fresh_decoder(vae, x, config=decoder_config, val_data=x_val, name=name or LABELS[kind], **kw)
    if kind == "gpe":
        if eps is None:
            raise ValueError("a GPE entry of Table 1 needs its ε (eps)")
        run = train_method("gpe", x, latent_dim=latent_dim, config=decoder_config,
                           encoder_config=replace(encoder_config, target=eps), val_data=x_val,
                           checkpoint_root=checkpoint_root, **kw)
        if name:
            run.method = name
        return run
    raise ValueError(f"kind must be 'gpe' or a jointly trained method ('vae', 'ae', 'ae+mds', 'vae+mds'); got "
                     f"{kind!r}")


def stage_configs(settings: Mapping[str, Any], *, seed: int, device: str | None = None) -> dict[str, TrainConfig]:
    """The three training configs of a GPE-paper notebook preset (``vae_iterations``, ``encoder_cap``,
    ``encoder_eval``, ``decoder_iterations``, ``eval_every``, ``lr``, ``encoder_lr``, ``batch``), named as
    :func:`table1_run` takes them: ``vae_config`` (joint VAE), ``encoder_config`` (GPE encoder cap; set ``target``),
    ``decoder_config`` (fresh decoder). Notebooks 04–06 build them here, so that equal settings give equal configs
    and therefore the same shared run folders (:func:`run_folder`)."""
    st = stages(settings, "joint", "encoder", "decoder")  # gpelib.settings.STAGE_KEYS: the one renaming
    return {f"{key}_config": st[name].config(seed=seed, device=device)
            for key, name in (("vae", "joint"), ("encoder", "encoder"), ("decoder", "decoder"))}


def step_time_rounds(
    data: Tensor,
    *,
    latent_dim: int,
    config: TrainConfig,
    methods: Sequence[str] = METHODS,
    rounds: int = 7,
    iterations: int = 60,
    skip: int = 10,
    beta: float = 0.1,
    mds_weight: float | None = None,
    reference: str = "vae",
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> pd.DataFrame:
    """Seconds per iteration of each method (GPE Table 2) by **interleaved repeats**.

    In each of ``rounds`` rounds every method of ``methods`` trains ``iterations`` steps from fresh models with the
    notebooks' trainers (:func:`train_method` with ``config``'s batch and optimiser, one evaluation at the end), one
    method after the other in an order rotated by one each round (no method always runs first), and its seconds per
    iteration (:func:`gpelib.tables.seconds_per_iteration`, median step after ``skip``) is recorded per phase. A
    change of machine load over the minutes of the benchmark hits the methods of one round alike, and the ratio to
    ``reference`` *within* each round cancels it; the spread of the ratios over rounds is what the timing knows.

    Returns a tidy DataFrame: ``round, method`` (``"GPE encoder"``, ``"GPE decoder"``, ``"VAE"``, …)``, phase,
    s_per_iter, iterations, ratio`` (÷ ``reference``'s joint s/iter in the same round).
    """
    from .tables import timing_table

    if rounds < 1 or iterations < skip + 2:
        raise ValueError(f"need rounds ≥ 1 and iterations ≥ skip + 2; got {rounds}, {iterations} (skip {skip})")
    if reference not in methods:
        raise ValueError(f"the reference {reference!r} must be one of the timed methods {list(methods)}")
    cfg = replace(config, iterations=iterations, eval_every=iterations, target=None, checkpoint_dir=None,
                  progress=False, max_seconds=None)
    kw = dict(latent_dim=latent_dim, config=cfg, encoder_config=cfg, beta=beta, mds_weight=mds_weight, arch=arch,
              width=width, hidden=hidden)
    frames = []
    for r in range(rounds):
        order = [methods[(r + k) % len(methods)] for k in range(len(methods))]
        runs = {m: train_method(m, data, **kw) for m in order}
        frames.append(timing_table(runs, reference=reference, skip=skip).assign(round=r))
    return pd.concat(frames, ignore_index=True)[["round", "method", "phase", "s_per_iter", "iterations", "ratio"]]


def fresh_decoder_runs(
    x: Tensor,
    x_val: Tensor,
    *,
    latent_dim: int,
    eps_values: Sequence[float],
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> dict[str, Run]:
    """GPE Table 1 for one dataset and one seed (the configs'): :func:`table1_run` for the VAE and for each ε.

    Returns ``{"VAE": ..., "GPE ε=<eps>": ...}``; each run's ``steps`` feed :func:`gpelib.tables.threshold_table`.
    """
    kw = dict(latent_dim=latent_dim, vae_config=vae_config, encoder_config=encoder_config,
              decoder_config=decoder_config, beta=beta, arch=arch, width=width, hidden=hidden)
    runs = {"VAE": table1_run("vae", x, x_val, **kw)}
    for e in eps_values:
        runs[eps_label(e)] = table1_run("gpe", x, x_val, eps=e, **kw)
    return runs


def beta_label(beta: float) -> str:
    """``"VAE β=<beta>"``: the name of a β-sweep entry."""
    return f"VAE β={beta:g}"


AE_CONTROL = "AE (VAE β=0)"
"""Table 1's control row (issue 29): the β-sweep's β = 0 entry — the VAE's architecture and training with the KL
term off, i.e. a plain autoencoder's encoder — under the same fresh-decoder protocol."""


FAMILY_ONLY = " (family)"
"""The suffix of :func:`fresh_decoder_sweep`'s entries that are members of the encoder family only (a third ε, the
AE+MDS): not rows of Table 1, listed by :func:`encoder_family` without it."""


def family_label(label: str) -> str:
    """The sweep's name of a family-only entry: ``label`` + :data:`FAMILY_ONLY`."""
    return label + FAMILY_ONLY


def table1_entries(runs: Mapping[str, Run]) -> dict[str, Run]:
    """One seed's Table-1 runs from :func:`fresh_decoder_sweep`'s: the VAE and the GPE encoders as they are, the
    β = 0 entry (when swept) renamed :data:`AE_CONTROL`, every other β-sweep entry and every family-only entry left
    out."""
    out = {k: r for k, r in runs.items() if not k.startswith("VAE β=") and not k.endswith(FAMILY_ONLY)}
    if beta_label(0.0) in runs:
        out[AE_CONTROL] = runs[beta_label(0.0)]
    return out


def encoder_family(runs: Mapping[str, Run]) -> dict[str, Run]:
    """One seed's every encoder with its fresh decoder (issue 29, "encoders as a family"): :func:`table1_entries`,
    the β-sweep's other VAEs under their :func:`beta_label` names and the family-only entries (a third ε, the AE+MDS)
    under their own."""
    rest = {k: r for k, r in runs.items() if k.startswith("VAE β=") and k != beta_label(0.0)}
    extra = {k.removesuffix(FAMILY_ONLY): r for k, r in runs.items() if k.endswith(FAMILY_ONLY)}
    return table1_entries(runs) | rest | extra


def fresh_decoder_sweep(
    x: Tensor,
    x_val: Tensor,
    *,
    seeds: Sequence[int],
    latent_dim: int,
    eps_values: Sequence[float],
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    extra_betas: Sequence[float] = (),
    family_eps: Sequence[float] = (),
    family_methods: Sequence[str] = (),
    extra_seeds: Sequence[int] | None = None,
    device: str | None = None,
    n_workers: int | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> dict[int, dict[str, Run]]:
    """:func:`fresh_decoder_runs` for every seed (each config's ``seed`` replaced), plus a VAE for each of
    ``extra_betas`` (named :func:`beta_label`) and the encoder family's extra members — a GPE encoder at each of
    ``family_eps``, a jointly trained encoder of each of ``family_methods`` (e.g. ``"ae+mds"``), named
    :func:`family_label` — every (seed, entry) one job of :func:`train_runs`; ``checkpoint_root``: see
    :func:`train_method` (finished runs are loaded, not retrained). ``extra_seeds``: the seeds that get the extra
    β and family members (default: every seed), so that Table 1's own runs can have more seeds than the sweeps.

    Returns ``{seed: {"VAE": ..., "GPE ε=…": ..., "VAE β=…": ..., "… (family)": ...}}``.
    """
    extra_seeds = set(seeds if extra_seeds is None else extra_seeds)
    if not extra_seeds <= set(seeds):
        raise ValueError(f"extra_seeds {sorted(extra_seeds)} must be among the seeds {list(seeds)}")
    common = dict(latent_dim=latent_dim, arch=arch, width=width, hidden=hidden, checkpoint_root=checkpoint_root)
    jobs, keys = [], []
    for s in seeds:
        cfgs = dict(vae_config=replace(vae_config, seed=s), encoder_config=replace(encoder_config, seed=s),
                    decoder_config=replace(decoder_config, seed=s))
        entries = [("VAE", dict(kind="vae", beta=beta))]
        entries += [(eps_label(e), dict(kind="gpe", eps=e, beta=beta)) for e in eps_values]
        if s in extra_seeds:
            entries += [(beta_label(b), dict(kind="vae", beta=b, name="VAE")) for b in extra_betas]
            entries += [(family_label(eps_label(e)), dict(kind="gpe", eps=e, beta=beta)) for e in family_eps]
            entries += [(family_label(LABELS[m]), dict(kind=m, beta=beta)) for m in family_methods]
        for label, entry in entries:
            jobs.append(dict(x=x, x_val=x_val, **cfgs, **common, **entry))
            keys.append((s, label))
    done = train_runs(jobs, fn=table1_run, device=device, n_workers=n_workers, desc="Table 1 runs")
    out: dict[int, dict[str, Run]] = {s: {} for s in seeds}
    for (s, label), run in zip(keys, done):
        out[s][label] = run
    return out


def table1_encoders(
    x: Tensor,
    x_val: Tensor,
    *,
    seeds: Sequence[int],
    latent_dim: int,
    eps: float,
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    beta: float = 0.1,
    device: str | None = None,
    n_workers: int | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> dict[int, dict[str, Run]]:
    """The encoders of :func:`fresh_decoder_sweep`'s ``"VAE"`` and ``"GPE ε=…"`` entries for every seed, *without*
    the GPE fresh decoder: the GPE encoder trained to ``eps`` (GPE Algorithm 1) and the β-VAE (trained jointly, as
    Table 1 does). With ``checkpoint_root`` each goes to the very folder :func:`table1_run` uses (the same configs
    give the same :func:`run_folder`), so a notebook that only needs the encoders (02) trains them once for the
    notebooks that add decoders (03–06), and a rerun loads them. Returns ``{seed: {"GPE": run, "VAE": run}}``."""
    kw = dict(arch=arch, width=width, hidden=hidden)
    jobs = []
    for s in seeds:
        enc_cfg = replace(encoder_config, seed=s, target=eps)
        if checkpoint_root is not None:
            folder = _method_folder(checkpoint_root, "gpe", x, x_val, latent_dim, replace(decoder_config, seed=s),
                                    enc_cfg, beta, None, kw)
            enc_cfg = replace(enc_cfg, checkpoint_dir=str(folder / "encoder"))
        jobs.append(dict(fn=train_gpe_encoder, data=x, latent_dim=latent_dim, config=enc_cfg, val_data=x_val, **kw))
        jobs.append(dict(method="vae", data=x, latent_dim=latent_dim, config=replace(vae_config, seed=s), beta=beta,
                         val_data=x_val, checkpoint_root=checkpoint_root, **kw))
    done = train_runs(jobs, device=device, n_workers=n_workers, desc="encoders")
    return {s: {"GPE": done[2 * i], "VAE": done[2 * i + 1]} for i, s in enumerate(seeds)}


def flow_metric_curve(
    name: str,
    latents: Tensor,
    decoder: nn.Module,
    *,
    extractor,
    real,
    milestones: Sequence[int],
    config: TrainConfig,
    n_fake: int,
    val_latents: Tensor | None = None,
    velocity_size: str = "small",
    sample_method: str = "heun",
    sample_steps: int = 50,
):
    """Generation metric vs flow-training iterations (GPE Fig. 9) for one latent space.

    Trains a CFM velocity (initialised from ``config.seed + OFFSET["velocity"]``) on ``latents`` (N, d) up to each
    milestone in turn — each stage resumes exactly from the previous stage's checkpoint in ``config.checkpoint_dir``,
    so the curve is one training run observed at several points — and scores ``n_fake`` generated samples
    ``decoder(flow(z))`` against ``real`` (images or precomputed :class:`gpelib.metrics.FeatureStats`) with
    ``extractor``. When ``real`` keeps its features (``feature_stats(..., keep=True)``, e.g. of held-out images at
    ``n_fake`` points) each milestone also gets KID and precision/recall/density/coverage
    (:func:`gpelib.metrics.sample_quality`).

    Returns ``(curve, generator)``: a tidy DataFrame (method, flow_iteration, metric, value = the Fréchet distance,
    n_real, n_fake, extractor, [kid, kid_mean, kid_std, precision, recall, density, coverage,] flow_seconds,
    flow_val_loss) and the
    :class:`gpelib.flows.LatentGenerator` at the last milestone. Its arguments pickle, so curves of several seeds or
    latent spaces can run as jobs of :func:`train_runs` (``fn=flow_metric_curve``).
    """
    from .flows import LatentGenerator, make_velocity, train_flow
    from .metrics import FeatureStats, frechet_score, sample_quality
    from .train import observe_milestones

    if config.checkpoint_dir is None:
        raise ValueError("flow_metric_curve needs config.checkpoint_dir (each milestone resumes the previous one)")
    state: dict = {}

    def train_to(m: int):
        torch.manual_seed(config.seed + OFFSET["velocity"])
        vel = make_velocity(latents.shape[1], velocity_size)
        res = train_flow(vel, latents, config=replace(config, iterations=int(m)), val_latents=val_latents)
        state["gen"] = LatentGenerator.from_result(res, decoder)
        return res

    def score(res) -> dict:
        fake = state["gen"].generate(n_fake, seed=config.seed + 1, method=sample_method, steps=sample_steps)
        if quality:
            q = sample_quality(extractor, real, fake)
            scores = dict(metric=q.metric, value=q.fd, n_real=q.n_real, n_fake=q.n_fake, extractor=q.extractor,
                          kid=q.kid, kid_mean=q.kid_mean, kid_std=q.kid_std, precision=q.precision,
                          recall=q.recall, density=q.density, coverage=q.coverage)
        else:
            s = frechet_score(extractor, real, fake)
            scores = dict(metric=s.metric, value=s.value, n_real=s.n_real, n_fake=s.n_fake, extractor=s.extractor)
        return dict(method=name, flow_iteration=res.iterations, **scores, flow_seconds=res.seconds,
                    flow_val_loss=res.final_val)

    quality = isinstance(real, FeatureStats) and real.features is not None
    real_key = (real.n, float(real.mu.sum())) if isinstance(real, FeatureStats) else tuple(real.shape)
    key = dict(extractor=getattr(extractor, "description", str(extractor)), real=real_key, n_fake=n_fake,
               method=sample_method, steps=sample_steps, seed=config.seed, quality=quality)
    rows, _ = observe_milestones(train_to, score, milestones, config.checkpoint_dir, key=key)
    return pd.DataFrame(rows).drop(columns="milestone"), state["gen"]
