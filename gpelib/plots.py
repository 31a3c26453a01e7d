"""Figures for the notebooks. Every function returns a matplotlib Figure; :func:`save_figure` writes PNG + PDF
with a stable name into the output folder. Nothing here trains or computes a result."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
import torch

__all__ = [
    "save_figure",
    "embedding_panels",
    "ratio_scatter",
    "certificate_plot",
    "loss_curves",
    "image_grid",
    "image_rows",
]


def save_figure(fig: plt.Figure, out_dir: str | Path, name: str, *, pdf: bool = True, dpi: int = 130) -> Path:
    """Save ``fig`` as ``<out_dir>/<name>.png`` (and ``.pdf``); returns the PNG path.

    The files are the same bytes for the same figure: the PNG carries no Software text chunk (and matplotlib writes
    no date into a PNG), the PDF names gpelib as its creator and holds no producer version and no creation date —
    unless ``SOURCE_DATE_EPOCH`` is set, whose date matplotlib then writes (the reproducible-builds convention)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{name}.png"
    fig.savefig(png, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if pdf:
        meta = {"Creator": "gpelib", "Producer": None}
        if not os.environ.get("SOURCE_DATE_EPOCH"):
            meta["CreationDate"] = None
        fig.savefig(out / f"{name}.pdf", bbox_inches="tight", metadata=meta)
    return png


def _finish(fig: plt.Figure, ax: plt.Axes, title: str | None) -> plt.Figure:
    """The common end of a one-axes figure: its title (if any), a tight layout."""
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def embedding_panels(
    panels: Mapping[str, np.ndarray | torch.Tensor],
    labels: np.ndarray | torch.Tensor,
    *,
    title: str | None = None,
    size: float = 3.2,
) -> plt.Figure:
    """One scatter per panel (first two coordinates), points coloured by ``labels`` (GPE Fig. 3 layout)."""
    lab = _np(labels)
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size))
    axes = np.atleast_1d(axes)
    for ax, (name, pts) in zip(axes, panels.items()):
        p = _np(pts)
        ax.scatter(p[:, 0], p[:, 1], c=lab, cmap="tab20", s=4, linewidths=0)
        ax.set_title(name, fontsize=10)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def ratio_scatter(frames: Mapping[str, pd.DataFrame], *, size: float = 3.6) -> plt.Figure:
    """``‖Tx−Tx'‖/‖x−x'‖`` against ``‖x−x'‖`` per encoder (GMEGAN Fig. 3); frames from ``PairSample.frame()``."""
    fig, axes = plt.subplots(1, len(frames), figsize=(size * len(frames), size), sharey=False)
    axes = np.atleast_1d(axes)
    for ax, (name, df) in zip(axes, frames.items()):
        ax.scatter(df["data_dist"], df["ratio"], s=2, alpha=0.3, linewidths=0)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("‖x − x′‖")
        ax.set_ylabel("‖Tx − Tx′‖ / ‖x − x′‖")
        ax.set_title(name, fontsize=10)
    fig.tight_layout()
    return fig


def certificate_plot(cert: pd.DataFrame, *, hue: str = "method") -> plt.Figure:
    """Empirical ``µ²[K_α]`` (solid) and the Theorem-1 bound ``1 − ε/(log α)²`` (dashed) against α."""
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    groups = cert.groupby(hue) if hue in cert else [("", cert)]
    for i, (name, df) in enumerate(groups):
        c = f"C{i}"
        ax.plot(df["alpha"], df["empirical"], "o-", color=c, label=f"{name} empirical")
        ax.plot(df["alpha"], df["bound"].clip(lower=0), "--", color=c,
                label=f"{name} bound (ε={df['eps'].iloc[0]:.3g})")
    ax.set_xlabel("α")
    ax.set_ylabel("µ²[K_α]")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def loss_curves(
    df: pd.DataFrame,
    *,
    x: str = "iteration",
    y: str = "val_loss",
    hue: str = "method",
    logy: bool = True,
    thresholds: Sequence[float] = (),
    title: str | None = None,
) -> plt.Figure:
    """Tidy curves ``y`` vs ``x`` per ``hue`` with optional horizontal threshold lines."""
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    sns.lineplot(data=df, x=x, y=y, hue=hue, ax=ax, errorbar=None)
    for t in thresholds:
        ax.axhline(t, color="grey", lw=0.8, ls=":")
    if logy:
        ax.set_yscale("log")
    return _finish(fig, ax, title)


def metric_panels(
    df: pd.DataFrame,
    metrics: Mapping[str, str],
    *,
    x: str = "flow_iteration",
    hue: str = "method",
    references: Mapping[str, Mapping[str, float]] | None = None,
    logx: bool = True,
    title: str | None = None,
) -> plt.Figure:
    """One panel per column of ``metrics`` (``{column: axis label}``) against ``x``, a line per ``hue``: the median
    over the rows that share ``(hue, x)`` (seeds) and a band from their minimum to their maximum.
    ``references[column]`` = ``{label: value}`` draws horizontal reference lines in that panel."""
    cols = list(metrics)
    ncol = min(3, len(cols))
    nrow = -(-len(cols) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.8 * nrow), squeeze=False)
    styles = [":", "--", "-."]
    for ax, col in zip(axes.flat, cols):
        sns.lineplot(data=df, x=x, y=col, hue=hue, ax=ax, estimator="median", errorbar=("pi", 100),
                     legend=col == cols[0])
        for k, (label, v) in enumerate((references or {}).get(col, {}).items()):
            ax.axhline(v, color="grey", lw=1, ls=styles[k % len(styles)], label=label)
        if logx:  # ticks at the observed x values, plain numbers (a log axis over < 2 decades labels minor ticks)
            ax.set_xscale("log")
            ax.set_xticks(sorted(df[x].unique()))
            ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax.xaxis.set_minor_formatter(mticker.NullFormatter())
            ax.tick_params(axis="x", labelsize=7, rotation=45)
        ax.set_ylabel(metrics[col])
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in list(axes.flat)[1 : len(cols)]:  # reference lines drawn in other panels join the one legend
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if axes.flat[0].get_legend() is not None:
        axes.flat[0].get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def image_grid(images: torch.Tensor | np.ndarray, *, nrow: int = 8, title: str | None = None,
               size: float = 0.6) -> plt.Figure:
    """A grid of images ``(N, C, H, W)`` in [−1, 1]."""
    imgs = _np(images)
    n = imgs.shape[0]
    ncol = min(nrow, n)
    nr = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nr, ncol, figsize=(size * ncol + 0.2, size * nr + (0.3 if title else 0.1)))
    axes = np.atleast_1d(axes).reshape(nr, ncol)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            _show(ax, imgs[k])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(wspace=0.04, hspace=0.04)
    return fig


def image_rows(rows: Mapping[str, torch.Tensor | np.ndarray], *, size: float = 0.7) -> plt.Figure:
    """Rows of images with a label per row (e.g. originals / GPE reconstructions / VAE reconstructions)."""
    names = list(rows)
    n = max(_np(r).shape[0] for r in rows.values())
    fig, axes = plt.subplots(len(names), n, figsize=(size * n + 1.2, size * len(names)))
    axes = np.atleast_2d(axes)
    for r, name in enumerate(names):
        imgs = _np(rows[name])
        for k in range(n):
            ax = axes[r, k]
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if k < imgs.shape[0]:
                _show(ax, imgs[k])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(wspace=0.04, hspace=0.04)
    return fig


def _show(ax: plt.Axes, img: np.ndarray) -> None:
    img = np.clip((img + 1.0) / 2.0, 0.0, 1.0)
    if img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.transpose(img, (1, 2, 0)), interpolation="nearest")


def wallclock_curves(
    df: pd.DataFrame,
    *,
    offsets: Mapping[str, float] | None = None,
    x: str = "seconds",
    y: str = "val_loss",
    hue: str = "method",
    thresholds: Sequence[float] = (),
    logy: bool = True,
    title: str | None = None,
) -> plt.Figure:
    """Validation reconstruction against wall-clock per method (GPE Fig. 8). ``offsets`` maps a method to the
    seconds its curve was shifted by (the GPE encoder's training time); each offset is drawn as a dashed vertical
    line with its value, so the encoder phase is visible on the figure."""
    fig, ax = plt.subplots(figsize=(5.8, 3.9))
    for i, (name, g) in enumerate(df.groupby(hue, sort=False)):
        ax.plot(g[x], g[y], color=f"C{i}", lw=1.4, label=str(name))
        off = (offsets or {}).get(name)
        if off:
            ax.axvline(off, color=f"C{i}", lw=0.8, ls="--")
            ax.annotate(f"{name} encoder: {off:.1f} s", (off, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -12), textcoords="offset points", fontsize=7, color=f"C{i}")
    for t in thresholds:
        ax.axhline(t, color="grey", lw=0.8, ls=":")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("wall-clock training seconds" if x == "seconds" else x)
    ax.set_ylabel("validation reconstruction MSE" if y == "val_loss" else y)
    ax.legend(fontsize=8)
    return _finish(fig, ax, title)


def ratio_vs_beta(df: pd.DataFrame, *, x: str = "beta", y: str = "ratio", hue: str = "threshold",
                  lower: str | None = "ratio_lower_bound", title: str | None = None) -> plt.Figure:
    """VAE/GPE iteration ratio against the KL weight β (symmetric-log x axis so that β = 0 shows). Where the VAE
    never reached the threshold, ``lower`` (budget / GPE iterations) is drawn as an open triangle: a lower bound."""
    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    for i, (name, g) in enumerate(df.groupby(hue, sort=True)):
        g = g.sort_values(x)
        ax.plot(g[x], g[y], "o-", color=f"C{i}", label=f"{hue} {name}")
        if lower is not None and lower in g:
            lb = g[g[y].isna() & g[lower].notna()]
            if len(lb):
                ax.plot(lb[x], lb[lower], "^", mfc="none", color=f"C{i}", ms=8,
                        label=f"{hue} {name}: lower bound (VAE never reached it)")
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    xs = np.asarray(df[x], dtype=float)
    pos = xs[xs > 0]
    lin = float(pos.min()) if pos.size else 1.0
    ax.set_xscale("symlog", linthresh=lin)
    ax.set_xlim(-0.3 * lin if (xs <= 0).any() else lin / 2, (float(pos.max()) if pos.size else 1.0) * 2)
    ax.set_yscale("log")
    ax.set_xlabel("β (MSE + β·KL/d)")
    ax.set_ylabel("VAE iterations / GPE iterations")
    ax.legend(fontsize=8)
    return _finish(fig, ax, title)


def geometry_speed(family: pd.DataFrame, *, threshold: float, geometry: str = "spread",
                   title: str | None = None) -> plt.Figure:
    """Fresh-decoder iterations to ``threshold`` against each encoder's held-out ``geometry`` (issue 29): one point
    per (encoder, seed) from :func:`gpelib.tables.encoder_family_table`, log-log; a decoder that never reached the
    threshold is drawn at its budget as an open triangle (a lower bound)."""
    f = family[np.isclose(family.threshold, threshold)]
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    for i, (name, g) in enumerate(f.groupby("method", sort=False)):
        its = pd.to_numeric(g.iterations, errors="coerce").astype(float)
        ax.plot(g[geometry][its.notna()], its[its.notna()], "o", color=f"C{i % 10}", label=name)
        if its.isna().any():
            ax.plot(g[geometry][its.isna()], g.budget[its.isna()], "^", mfc="none", color=f"C{i % 10}", ms=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())  # decades only: minor labels collide on a short range
    ax.set_xlabel({"spread": "held-out bi-Lipschitz spread q95/q05", "gme": "held-out GME cost"}.get(geometry,
                                                                                                    geometry))
    ax.set_ylabel(f"fresh-decoder iterations to loss {threshold:g}")
    ax.legend(fontsize=7, ncol=2)
    return _finish(fig, ax, title)


def ratio_bars(df: pd.DataFrame, *, x: str = "method", y: str = "ratio", hue: str = "source",
               title: str | None = None) -> plt.Figure:
    """Grouped bars of a ratio per method and source (e.g. seconds per iteration ÷ VAE's, ours vs the paper): the
    median of the rows of each bar (repeats, e.g. timing rounds) with their range as the error bar."""
    fig, ax = plt.subplots(figsize=(5.8, 3.4))
    sns.barplot(data=df, x=x, y=y, hue=hue, ax=ax, estimator="median", errorbar=("pi", 100))
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.tick_params(axis="x", labelsize=8, rotation=20)
    return _finish(fig, ax, title)


def protocol_map(table: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """The protocol map (GPE issue 11): one panel per threshold, one row per variant, the VAE/GPE iteration ratio's
    median (dot) and interval (line) on a log axis; a censored median is drawn as its bound with an arrow. Right of
    the dashed line at 1 the GPE decoder is faster."""
    ths = list(dict.fromkeys(table["threshold"]))
    fig, axes = plt.subplots(1, len(ths), figsize=(4.3 * len(ths), 0.42 * table.variant.nunique() + 1.3),
                             sharey=True, squeeze=False)
    order = list(dict.fromkeys(table["variant"]))
    for ax, t in zip(axes[0], ths):
        g = table[table.threshold == t].set_index("variant").loc[order]
        y = np.arange(len(order))[::-1]
        lo = np.clip(g["low"].to_numpy(float), 1e-3, 1e3)
        hi = np.clip(g["high"].to_numpy(float), 1e-3, 1e3)
        ax.hlines(y, lo, hi, color="C0", lw=2)
        med = g["ratio"].to_numpy(float)
        known = np.isfinite(med)
        ax.plot(med[known], y[known], "o", color="C0")
        lb = np.clip(g["lower_bound"].to_numpy(float), 1e-3, 1e3)
        ax.plot(lb[~known], y[~known], ">", color="C3", label="censored: lower bound")
        ax.axvline(1.0, color="k", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks(y, order, fontsize=8)
        ax.set_xlabel("VAE ÷ GPE fresh-decoder iterations")
        ax.set_title(f"loss {t:g}", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ += ["wallclock_curves", "ratio_vs_beta", "ratio_bars", "protocol_map"]


def latent_and_data(latent: np.ndarray | torch.Tensor, datasets: Mapping[str, tuple], *, size: float = 3.0
                    ) -> plt.Figure:
    """GMEGAN Fig. 4: latent samples ``(n, 2)`` coloured by their distance to the origin, then each dataset's first
    two coordinates coloured by mode (``datasets``: name → ``(points (n, ≥2), labels (n,))``)."""
    y = _np(latent)
    fig, axes = plt.subplots(1, 1 + len(datasets), figsize=(size * (1 + len(datasets)), size))
    axes = np.atleast_1d(axes)
    axes[0].scatter(y[:, 0], y[:, 1], c=np.linalg.norm(y, axis=1), cmap="viridis", s=4, linewidths=0)
    axes[0].set_title("latent ν = N(0, I₂), coloured by ‖y‖", fontsize=9)
    for ax, (name, (pts, lab)) in zip(axes[1:], datasets.items()):
        p = _np(pts)
        ax.scatter(p[:, 0], p[:, 1], c=_np(lab), cmap="tab20", s=4, linewidths=0)
        ax.set_title(f"{name} (first two coordinates)", fontsize=9)
    for ax in axes:
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def generator_panels(
    panels: Mapping[str, tuple],
    data_xy: np.ndarray | torch.Tensor,
    *,
    n_modes: int,
    title: str | None = None,
    size: float = 2.1,
) -> plt.Figure:
    """GMEGAN Fig. 5 for one dataset, one column per method. ``panels``: name → ``(y (n, 2), G(y) first two
    coordinates (n, 2), mode of G(y) (n,))``. Row 1: the samples coloured by ``‖y‖`` over the data (grey); row 2: the
    latent points coloured by the mode their sample falls nearest to (a monotone generator keeps the radial colour
    order in row 1; a good latent embedding shows every mode as a connected region in row 2)."""
    d = _np(data_xy)
    names = list(panels)
    fig, axes = plt.subplots(2, len(names), figsize=(size * len(names), 2 * size + 0.3), squeeze=False)
    for j, name in enumerate(names):
        y, s, modes = (_np(a) for a in panels[name])
        ax = axes[0, j]
        ax.scatter(d[:, 0], d[:, 1], c="0.75", s=2, linewidths=0)
        ax.scatter(s[:, 0], s[:, 1], c=np.linalg.norm(y, axis=1), cmap="viridis", s=3, linewidths=0)
        ax.set_title(name, fontsize=9)
        ax = axes[1, j]
        ax.scatter(y[:, 0], y[:, 1], c=modes, cmap="tab20", vmin=0, vmax=max(n_modes - 1, 1), s=3, linewidths=0)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal", adjustable="datalim")
    axes[0, 0].set_ylabel("G(y), coloured by ‖y‖", fontsize=8)
    axes[1, 0].set_ylabel("y, coloured by mode of G(y)", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def metric_boxes(
    df: pd.DataFrame,
    metrics: Mapping[str, str],
    *,
    x: str = "label",
    hue: str | None = None,
    order: Sequence[str] | None = None,
    title: str | None = None,
    logy: Sequence[str] = (),
) -> plt.Figure:
    """One box-and-whisker panel per metric (``metrics``: column → axis label) with every run as a dot (GMEGAN
    Figs. 6–8: the spread over architectures or seeds is the point)."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6), squeeze=False)
    for ax, (col, lab) in zip(axes[0], metrics.items()):
        sns.boxplot(data=df, x=x, y=col, hue=hue, order=order, ax=ax, fliersize=0, linewidth=0.8)
        state = np.random.get_state()  # seaborn jitters the dots with numpy's global generator: seed it here, so the
        np.random.seed(0)  # figure's bytes do not depend on what ran before in the kernel
        try:
            sns.stripplot(data=df, x=x, y=col, hue=hue, order=order, ax=ax, dodge=hue is not None, size=3,
                          color="k" if hue is None else None, alpha=0.6, legend=False)
        finally:
            np.random.set_state(state)
        ax.set_ylabel(lab)
        ax.set_xlabel("")
        ax.tick_params(axis="x", labelsize=8, rotation=30)
        if col in logy:
            ax.set_yscale("log")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ += ["latent_and_data", "generator_panels", "metric_boxes"]


def threshold_curves(curves: pd.DataFrame, *, paper: pd.DataFrame | None = None, title: str | None = None
                     ) -> plt.Figure:
    """Fresh-decoder iterations to reach each loss threshold (GPE Table 1 as a curve): per method the median over
    seeds (line; drawn where more than half the seeds reached the threshold) and the min–max band of the seeds that
    did; thresholds decrease to the right, both axes logarithmic. ``paper``: points ``method, threshold,
    iterations`` drawn as stars in the matching colour (methods matched by name prefix: "VAE", "GPE")."""
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    colours = {}
    for i, (m, g) in enumerate(curves.groupby("method", sort=False)):
        g = g.sort_values("threshold", ascending=False)
        colours[m] = f"C{i}"
        ax.plot(g["threshold"], g["median"], "-", color=colours[m], label=f"{m} (median of {int(g.seeds.max())})")
        ax.fill_between(g["threshold"], g["low"], g["high"], color=colours[m], alpha=0.2, lw=0)
    if paper is not None and len(paper):
        for _, r in paper.iterrows():
            c = next((colours[m] for m in colours if m.split()[0] == str(r["method"]).split()[0]), "k")
            ax.plot(r["threshold"], r["iterations"], "*", color=c, ms=11, mec="k", mew=0.5)
        ax.plot([], [], "*", color="grey", ms=11, mec="k", mew=0.5, label="paper (Table 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("loss threshold (training MSE, running mean)")
    ax.set_ylabel("fresh-decoder iterations to reach it")
    ax.legend(fontsize=7)
    return _finish(fig, ax, title)
