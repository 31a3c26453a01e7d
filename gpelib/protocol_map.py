"""The protocol map of GPE Table 1 (notebook 04; GPE issue 11 item 4, issue 29 item 2): what the VAE/GPE
fresh-decoder iteration ratio depends on, one factor of the paper's setting changed at a time.

Three kinds of variant, all with fresh decoders of one short ``budget`` on the same seeds:

* **re-read** — Table 1's own runs read otherwise: another ε (*looser ε*), another VAE of the β sweep (*β' = 1 per
  sample*, *β = 0 (an AE)*), the thresholds read as [0, 1] errors (*thresholds in [0, 1] pixels*:
  :data:`THRESHOLD_SCALE`);
* **re-decoded** — Table 1's encoders with new fresh decoders: the released decoder input and loss (*standardised
  latents*, *standardised + released loss*), each method at its largest stable learning rate, and decoders of another
  architecture (*conv decoders*, :func:`decoder_arch_variant`);
* **retrained** (:func:`retrained_runs`) — every encoder and decoder trained again with one factor changed: the pixel
  convention (*retrained on [0, 1] pixels*: images ``(x + 1)/2``, sigmoid decoder outputs, β = 0.1 per pixel kept as a
  number, so that the KL term weighs 4× more against the 4× smaller MSE; read at the *same* reconstruction error as
  every other row, i.e. each threshold ÷ 4 in [0, 1] units, :data:`THRESHOLD_SCALE` — the unit alone is *thresholds in
  [0, 1] pixels*) or the architecture (*retrained as conv nets*: :func:`retrained_arch_variant`).

:func:`gpelib.tables.protocol_map_table` turns the variants into the map, :func:`gpelib.claims.table1.conclusion`
into the sentence that names every factor that flips the ordering or moves the ratio by more than 2×.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from torch import Tensor

from .methods import train_runs
from .recipes import eps_label, table1_run
from .runs import Run, run_folder
from .step_sizes import fresh_decoder_or_none, stable_lrs
from .train import TrainConfig

__all__ = ["FACTORS", "THRESHOLD_SCALE", "PIXELS_01", "decoder_arch_variant", "retrained_arch_variant", "factors",
           "protocol_map_runs", "retrained_runs", "unit_pixels"]

#: The map's variants (GPE issue 11, item 4; issue 29, item 2): name → the factor it changes from the paper's setting.
FACTORS = {
    "as printed": "—",
    "looser ε": "ε",
    "β' = 1 per sample": "β normalisation",
    "standardised latents": "decoder input (as released)",
    "standardised + released loss": "decoder input and loss (as released)",
    "largest stable lr each": "learning rate (Fig. 8's protocol)",
    "β = 0 (an AE)": "the KL term (β = 0: the VAE's encoder without KL)",
    "thresholds in [0, 1] pixels": "pixel range of the thresholds (× 4 on our [−1, 1] images; same runs)",
    "retrained on [0, 1] pixels": "pixel convention (every net retrained on [0, 1] images, sigmoid outputs, β = 0.1 "
                                  "per pixel kept; read at the same error: thresholds ÷ 4)",
}
#: The retrained variant of the pixel convention (:func:`retrained_runs`).
PIXELS_01 = "retrained on [0, 1] pixels"
#: Variants read at other thresholds than printed: name → factor on every threshold (:func:`gpelib.papers.in_our_units`;
#: the map's rows keep the printed threshold).
THRESHOLD_SCALE = {"thresholds in [0, 1] pixels": 4.0, PIXELS_01: 0.25}


def decoder_arch_variant(arch: str) -> str:
    """The name of the variant whose new fresh decoders have architecture ``arch`` (on Table 1's encoders)."""
    return f"{arch} decoders"


def retrained_arch_variant(arch: str) -> str:
    """The name of the variant whose encoders and decoders are all retrained with architecture ``arch``."""
    return f"retrained as {arch} nets"


def factors(names: Sequence[str]) -> dict[str, str]:
    """The factor each variant of ``names`` changes: :data:`FACTORS`, and for the architecture variants the
    architecture they change to."""
    out = {}
    for n in names:
        if n in FACTORS:
            out[n] = FACTORS[n]
        elif n.startswith("retrained as ") and n.endswith(" nets"):
            out[n] = f"architecture ({n.split()[2]} encoders and decoders, retrained)"
        elif n.endswith(" decoders"):
            out[n] = f"decoder architecture ({n.split()[0]} fresh decoders on the same encoders)"
        else:
            raise KeyError(f"unknown protocol-map variant {n!r}")
    return out


def unit_pixels(x: Tensor) -> Tensor:
    """Images in [−1, 1] (gpelib's convention) as [0, 1] pixels: ``(x + 1) / 2``."""
    return (x + 1.0) / 2.0


def _decoder_jobs(runs: Mapping[int, Mapping[str, Run]], data: Tensor, val_data: Tensor, roles: Mapping[str, str],
                  specs: Mapping[str, Mapping[str, Any]], base: TrainConfig, checkpoint_root: str | Path | None,
                  nets: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[str, int, str]]]:
    """One :func:`fresh_decoder_or_none` job per (variant spec, seed, role ∈ ``roles``: role → Table-1 entry), its
    checkpoint folder named by the encoder's weights and the spec; ``nets``: the decoders' ``arch, width, hidden``
    (a spec's ``arch`` overrides)."""
    from .checkpoint import weights_hash

    jobs, keys = [], []
    for s, rr in runs.items():
        for role, key in roles.items():
            src = rr[key]
            for v, spec in specs.items():
                cfg = replace(base, seed=s, lr=spec.get("lr", base.lr))
                kw = dict(standardize=spec.get("standardize", False), objective=spec.get("objective", "mse"))
                arch = {**nets, **({"arch": spec["arch"]} if "arch" in spec else {})}
                if checkpoint_root is not None:
                    folder = run_folder(checkpoint_root, f"map-{role.lower()}", data, val_data, config=cfg,
                                        encoder=weights_hash(src.encoder), **arch, **kw)
                    cfg = replace(cfg, checkpoint_dir=str(folder))
                jobs.append(dict(fn=fresh_decoder_or_none, source=src, data=data, config=cfg, val_data=val_data,
                                 name=role, **arch, **kw))
                keys.append((v, s, role))
    return jobs, keys


def protocol_map_runs(
    runs: Mapping[int, Mapping[str, Run]],
    data: Tensor,
    val_data: Tensor,
    *,
    vae: str,
    gpe: str,
    looser_gpe: str,
    per_sample_vae: str,
    ae: str | None = None,
    decoder_config: TrainConfig,
    budget: int,
    lrs: Sequence[float],
    stable_tol: float = 1.1,
    decoder_archs: Sequence[str] = (),
    checkpoint_root: str | Path | None = None,
    device: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
) -> tuple[dict[str, dict[int, dict[str, Run | None]]], pd.DataFrame]:
    """The re-read and re-decoded variants of the map (module doc) on the Table-1 runs of each seed (``runs[seed]
    [name]``, as :func:`gpelib.recipes.fresh_decoder_sweep` returns them), every decoder with ``budget`` iterations:

    * *as printed*: ``vae`` against ``gpe`` (the runs themselves, read at ``budget`` with :meth:`Run.until`);
      *looser ε*: ``looser_gpe`` instead of ``gpe``; *β' = 1 per sample*: ``per_sample_vae`` instead of ``vae``;
      *β = 0 (an AE)*: ``ae`` (the β-sweep's β = 0 entry, when given) instead of ``vae``; *thresholds in [0, 1]
      pixels*: the printed runs read at thresholds × 4 (:data:`THRESHOLD_SCALE`, applied by
      :func:`gpelib.tables.protocol_map_table`);
    * *standardised latents* and *standardised + released loss*: new fresh decoders on both encoders
      (:func:`fresh_decoder` with ``standardize`` / ``objective="released"``); one variant of new fresh decoders of
      each architecture in ``decoder_archs`` (:func:`decoder_arch_variant`);
    * *largest stable lr each*: new fresh decoders at each of ``lrs``; a learning rate is *stable* for a method when
      every seed trains with finite losses to a final held-out MSE ≤ ``stable_tol`` × that at
      ``decoder_config.lr``, and each method is read at its largest stable rate (the paper's Fig. 8 protocol,
      :func:`gpelib.step_sizes.stable_lrs`).

    New decoders are jobs of :func:`train_runs`, checkpointed under ``checkpoint_root`` in folders named by the
    encoder's weights and the variant. Returns ``(variants, lr_table)``: ``variants[name][seed] = {"VAE": run,
    "GPE": run}`` and the learning-rate sweep (``method, lr, seed, final_val, stable``).
    """
    base = replace(decoder_config, iterations=budget)
    specs = {"standardised latents": dict(standardize=True),
             "standardised + released loss": dict(standardize=True, objective="released"),
             **{f"lr {lr:g}": dict(lr=float(lr)) for lr in lrs},
             **{decoder_arch_variant(a): dict(arch=a) for a in decoder_archs}}
    jobs, keys = _decoder_jobs(runs, data, val_data, {"VAE": vae, "GPE": gpe}, specs, base, checkpoint_root,
                               dict(arch=arch, width=width, hidden=hidden))
    new: dict[str, dict[int, dict[str, Run | None]]] = {}
    for (v, s, role), run in zip(keys, train_runs(jobs, device=device, desc="protocol map decoders")):
        new.setdefault(v, {}).setdefault(s, {})[role] = run
    cut = lambda r: r.until(budget) if r.iterations > budget else r  # noqa: E731
    pair = lambda v, g: {s: {"VAE": cut(rr[v]), "GPE": cut(rr[g])} for s, rr in runs.items()}  # noqa: E731
    variants: dict[str, dict[int, dict[str, Run | None]]] = {
        "as printed": pair(vae, gpe), "looser ε": pair(vae, looser_gpe), "β' = 1 per sample": pair(per_sample_vae, gpe),
        **({"β = 0 (an AE)": pair(ae, gpe)} if ae is not None else {}),
        "thresholds in [0, 1] pixels": pair(vae, gpe),
        **{v: new[v] for v in specs if not v.startswith("lr ")},
    }
    lr_table, best = stable_lrs(variants["as printed"], {float(lr): new[f"lr {lr:g}"] for lr in lrs}, base_lr=base.lr,
                                stable_tol=stable_tol)
    pick = lambda s, role: (variants["as printed"][s][role] if best[role] == base.lr  # noqa: E731
                            else new[f"lr {best[role]:g}"][s][role])
    variants["largest stable lr each"] = {s: {"VAE": pick(s, "VAE"), "GPE": pick(s, "GPE")} for s in runs}
    return variants, lr_table


def retrained_runs(
    x: Tensor,
    x_val: Tensor,
    *,
    seeds: Sequence[int],
    pixels01: bool = False,
    archs: Sequence[str] = (),
    latent_dim: int,
    eps: float,
    vae_config: TrainConfig,
    encoder_config: TrainConfig,
    decoder_config: TrainConfig,
    budget: int,
    beta: float = 0.1,
    device: str | None = None,
    arch: str | None = None,
    width: int = 32,
    hidden: int = 256,
    checkpoint_root: str | Path | None = None,
) -> dict[str, dict[int, dict[str, Run]]]:
    """The retrained variants of the map (module doc): with ``pixels01``, :data:`PIXELS_01` (every net trained on
    :func:`unit_pixels` images; the decoders' outputs follow, :func:`gpelib.models.pixel_range`), and for each of
    ``archs`` :func:`retrained_arch_variant` (every net of that architecture) — in each, a β-VAE (``vae_config``,
    ``beta``) and a GPE encoder trained to ``eps`` (``encoder_config``) on every seed, each with a fresh decoder of
    ``budget`` iterations (``decoder_config``): Table 1's pair trained again with one factor changed. Every (variant,
    seed, method) is one job of :func:`train_runs` (:func:`gpelib.recipes.table1_run`, checkpointed under
    ``checkpoint_root``). Returns ``{name: {seed: {"VAE": run, "GPE": run}}}``."""
    variants = {**({PIXELS_01: dict(pixels01=True)} if pixels01 else {}),
                **{retrained_arch_variant(a): dict(arch=a) for a in archs}}
    dec = replace(decoder_config, iterations=budget)
    jobs, keys = [], []
    for name, spec in variants.items():
        xs = (unit_pixels(x), unit_pixels(x_val)) if spec.get("pixels01") else (x, x_val)
        nets = dict(arch=spec.get("arch", arch), width=width, hidden=hidden, checkpoint_root=checkpoint_root)
        for s in seeds:
            cfgs = dict(vae_config=replace(vae_config, seed=s), encoder_config=replace(encoder_config, seed=s),
                        decoder_config=replace(dec, seed=s), latent_dim=latent_dim, beta=beta, **nets)
            for role, entry in (("VAE", dict(kind="vae")), ("GPE", dict(kind="gpe", eps=eps, name=eps_label(eps)))):
                jobs.append(dict(x=xs[0], x_val=xs[1], **cfgs, **entry))
                keys.append((name, s, role))
    out: dict[str, dict[int, dict[str, Run]]] = {n: {s: {} for s in seeds} for n in variants}
    for (name, s, role), run in zip(keys, train_runs(jobs, fn=table1_run, device=device, desc="retrained pairs")):
        out[name][s][role] = run
    return out
