"""Notebook 06's claims: GPE Figs. 9–10 — CFM on GPE latents generates better samples than CFM on VAE latents.

Every comparison is per seed, paired by seed, decided on the median over seeds and its order-statistics interval
(:func:`gpelib.verdicts.less`: lower is better for every score here). The scores compare generated images with the
held-out images at the same n (``06_flow_metric_curve``: ``value`` is the Fréchet distance on the feature
extractor's features, FID or FD-classifier).

=====================================  ======  ================================================================
id                                     kind    rule
=====================================  ======  ================================================================
``gpe.fig9.flow_fd.milestones``        paper   GPE + CFM has the lower Fréchet distance at every flow-iteration
                                               milestone (:func:`~gpelib.verdicts.all_of` the milestones)
``gpe.fig9.flow_fd_kid``               paper   … at the last milestone, on the Fréchet distance and on KID (the
                                               README's headline for Fig. 9)
``gpe.fig9.vae_flow_vs_prior``         paper   VAE + CFM (last milestone) has a lower Fréchet distance than the
                                               VAE decoding prior samples
``gpe.fig9.reconstruction``            paper   GPE's held-out reconstruction MSE is lower than the VAE's (the
                                               paper's explanation of Fig. 9, its Fig. 8)
``gpe.fig9.memorisation``              check   every flow generator's memorisation rate (share of samples nearer
                                               a training image than the held-out ``quantile`` is) is at most
                                               twice the ``quantile`` (:func:`~gpelib.verdicts.at_most`): ours, a
                                               floor under the scores above
``gpe.fig9.ae_control``                 check   GPE + CFM has a lower Fréchet distance than AE + CFM (the VAE's
                                               network with β = 0) at the last milestone: whether the gain over
                                               the VAE comes from a geometry-preserving encoder or from any
                                               deterministic one (issue 29); only where the curve has ``AE``
``gpe.fig9.<precision|recall|density|   check   GPE + CFM is higher than VAE + CFM on that score at the last
coverage>``                                    milestone (:func:`~gpelib.verdicts.greater`, paired): the scores
                                               that split "better" into fidelity (precision, density) and
                                               diversity (recall, coverage) (issue 29)
=====================================  ======  ================================================================
"""

from __future__ import annotations

import pandas as pd

from ..experiments_generation import NO_FLOW
from ..verdicts import HOLDS, Claim, all_of, at_most, greater, less, seeds_text

__all__ = ["decide", "QUALITY"]

#: The sample-quality scores of the curve table (:class:`gpelib.metrics.SampleQuality`), higher is better for each,
#: with what each measures (Kynkäänniemi et al. 2019; Naeem et al. 2020).
QUALITY = {"precision": "fidelity: share of samples inside the real data's k-NN balls",
           "recall": "diversity: share of real images inside the samples' k-NN balls",
           "density": "fidelity: mean count of real k-NN balls a sample falls in (÷ k)",
           "coverage": "diversity: share of real images whose k-NN ball holds a sample"}


def _kid_noise(last: pd.DataFrame, real: pd.Series) -> str:
    """How much KID moves between random halves of the sets (the median over runs of its spread over 100 subsets,
    :func:`gpelib.metrics.kid_subsets`), beside the training images' own — empty for tables without it."""
    if "kid_std" not in last or last["kid_std"].isna().all():
        return ""
    floor = f", training images {real['kid_std']:.2g}" if pd.notna(real.get("kid_std")) else ""
    return f"; KID's spread over 100 subsets of half the points: median {last['kid_std'].median():.2g}{floor}"


def decide(curve: pd.DataFrame, reference_scores: pd.DataFrame, reconstruction: pd.DataFrame,
           memorisation: pd.DataFrame, *, profile: str) -> list[Claim]:
    """The verdict rows of notebook 06 (see the module's table).

    ``curve``: ``06_flow_metric_curve.csv`` — per (``seed``, ``method`` GPE / VAE, ``flow_iteration``) the
    ``metric`` name (``FID`` or ``FD-classifier``), its ``value``, ``kid``, ``n_fake`` and the :data:`QUALITY`
    scores.
    ``reference_scores``: ``06_reference_scores.csv`` — per seed the ``fd`` of ``"VAE without flow"``, and one row of
    the training images' own ``fd`` and ``kid`` (the level of real data at the same n).
    ``reconstruction``: ``06_reconstruction.csv`` — per (``seed``, ``method``) the held-out ``reconstruction_mse``.
    ``memorisation``: ``06_memorisation.csv`` — per (``seed``, ``method``) the memorisation ``rate`` and the
    ``quantile`` it is calibrated at (:func:`gpelib.metrics.memorisation`).
    """
    missing = [q for q in QUALITY if q not in curve]
    if missing:
        raise ValueError(f"the flow-metric curve lacks the sample-quality columns {missing} (SampleQuality)")
    label = "FD-classifier" if curve["metric"].iloc[0] != "FID" else "FID"
    n_fake = int(curve["n_fake"].iloc[0])
    it = int(curve.flow_iteration.max())
    at = curve[curve.flow_iteration == it].pivot_table(index="seed", columns="method", values=["value", "kid"])
    fd, kid = {m: at["value"][m].tolist() for m in ("GPE", "VAE")}, {m: at["kid"][m].tolist() for m in ("GPE", "VAE")}
    nf = reference_scores[reference_scores.method == NO_FLOW].sort_values("seed")
    real = reference_scores[reference_scores.method != NO_FLOW].iloc[0]
    recon = reconstruction.pivot_table(index="seed", columns="method", values="reconstruction_mse")
    rate = memorisation[memorisation.method != NO_FLOW].pivot_table(index="seed", columns="method", values="rate")
    flows = [m for m in ("GPE", "VAE", "AE") if m in rate]
    q = float(memorisation["quantile"].iloc[0])  # the memorisation check's calibration quantile
    by_it = curve.pivot_table(index=["flow_iteration", "seed"], columns="method", values="value")
    per_milestone = {m: less(g["GPE"].tolist(), g["VAE"].tolist()) for m, g in by_it.groupby(level=0)}
    lower_at = [m for m, d in per_milestone.items() if d.outcome == HOLDS]
    quality = [
        Claim.from_decision(
            f"GPE + CFM has the higher {q} than VAE + CFM after {it:,} flow iterations ({what})",
            "— (the paper reports FID only)",
            f"GPE {seeds_text(g)} vs VAE {seeds_text(v)}", greater(g, v), id=f"gpe.fig9.{q}", kind="check",
            profile=profile)
        for q, what in QUALITY.items()
        for g, v in [tuple(curve[(curve.flow_iteration == it) & (curve.method == m)].sort_values("seed")[q].tolist()
                           for m in ("GPE", "VAE"))]]
    return [
        Claim.from_decision(
            f"GPE + CFM scores better ({label}) than VAE + CFM at every matched flow-iteration milestone",
            "GPE lower at matched iterations on MNIST, CIFAR10, CelebA (Fig. 9, FID)",
            f"GPE lower (over seeds) at {len(lower_at)}/{len(per_milestone)} milestones"
            + (f": {', '.join(f'{m:,}' for m in lower_at)}" if lower_at else ""),
            all_of(per_milestone.values(), detail="; ".join(f"{m:,}: {d.outcome}" for m, d in per_milestone.items())),
            id="gpe.fig9.flow_fd.milestones", kind="paper", profile=profile),
        Claim.from_decision(
            f"GPE + CFM scores better than VAE + CFM after {it:,} flow iterations ({label} and KID, "
            f"n = {n_fake:,} vs held-out)",
            "the end of Fig. 9's curves: GPE lower on MNIST, CIFAR10, CelebA",
            f"FD GPE {seeds_text(fd['GPE'])} vs VAE {seeds_text(fd['VAE'])}; KID GPE {seeds_text(kid['GPE'])} vs "
            f"VAE {seeds_text(kid['VAE'])} (training images: FD {real.fd:.3g}, KID {real.kid:.2g})"
            + _kid_noise(curve[curve.flow_iteration == it], real),
            all_of([less(fd["GPE"], fd["VAE"]), less(kid["GPE"], kid["VAE"])]),
            id="gpe.fig9.flow_fd_kid", kind="paper", profile=profile),
        Claim.from_decision(
            "CFM on the VAE latents improves on decoding prior samples (VAE without flow)",
            "the no-flow VAE line lies above the flow curves (Fig. 9)",
            f"FD VAE+CFM {seeds_text(fd['VAE'])} vs no flow {seeds_text(nf['fd'].tolist())}",
            less(fd["VAE"], nf["fd"].tolist()), id="gpe.fig9.vae_flow_vs_prior", kind="paper", profile=profile),
        Claim.from_decision(
            "GPE reconstructs held-out images better than the VAE (the paper's explanation of Fig. 9)",
            "lower reconstruction error (Fig. 8)",
            f"held-out MSE GPE {seeds_text(recon['GPE'].tolist())} vs VAE {seeds_text(recon['VAE'].tolist())}",
            less(recon["GPE"].tolist(), recon["VAE"].tolist()), id="gpe.fig9.reconstruction", kind="paper",
            profile=profile),
        Claim.from_decision(
            "The flow samples are new images, not copies (our check of the scores above)",
            "— (a generator replaying training images would score a low FD)",
            f"share of samples closer to a training image than {1 - q:.0%} of held-out images: "
            + ", ".join(f"{m} {seeds_text(rate[m].dropna().tolist())}" for m in flows)
            + f" (≈ {q:g} without copying)",
            at_most([v for m in flows for v in rate[m].dropna().tolist()], 2 * q), id="gpe.fig9.memorisation",
            kind="check",
            profile=profile),
        *quality,
        *_ae_control(at, it, label, profile),
    ]


def _ae_control(at: pd.DataFrame, it: int, label: str, profile: str) -> list[Claim]:
    """``gpe.fig9.ae_control`` from the last milestone's pivot (``value`` per seed and method), when it has the AE:
    on the seeds that have an AE flow (the control may have fewer seeds than the GPE and VAE flows)."""
    if "AE" not in at["value"]:
        return []
    pair = at["value"][["GPE", "AE"]].dropna()
    g, a = pair["GPE"].tolist(), pair["AE"].tolist()
    return [Claim.from_decision(
        f"GPE + CFM scores better ({label}) than AE + CFM after {it:,} flow iterations (the AE: the VAE's network "
        "with β = 0 — a deterministic encoder that does not preserve geometry)",
        "— (no AE in the paper; its explanation, Theorems 4–5, credits the geometry)",
        f"FD GPE {seeds_text(g)} vs AE {seeds_text(a)}", less(g, a), id="gpe.fig9.ae_control", kind="check",
        profile=profile)]
