"""Notebook 02's claims: GMEGAN Fig. 3 (distance ratios) and Theorem 1 (the certificate; GPE Theorem 2).

=================================  ======  =====================================================================
id                                 kind    rule
=================================  ======  =====================================================================
``gmegan.fig3.ratio_spread``       paper   the held-out spread ``q95/q05`` of ``‖Tx−Tx′‖/‖x−x′‖`` is smaller for
                                           GPE than for the VAE (:func:`~gpelib.verdicts.less`, paired by seed)
``gmegan.thm1.bound.train``        sanity  ``µ²[K_α] ≥ 1 − ε/(log α)²`` on the pairs ε was measured on, every α,
                                           seed, encoder, raw and rescaled latents: Markov's inequality, it cannot
                                           fail (:func:`~gpelib.verdicts.at_least`)
``gmegan.thm1.bound.heldout``      paper   the same bound on held-out pairs with ε from the training pairs, raw
                                           latents, every α, seed and encoder (:func:`~gpelib.verdicts.at_least`)
``gmegan.thm1.scaled_vs_vae``      check   GPE certifies more held-out pairs than the VAE, ``µ²[K_α]`` at
                                           ``α = 0.5`` with each latent times its best scalar
                                           (:func:`~gpelib.verdicts.greater`, paired by seed): ours, the paper
                                           compares no encoders by their certificate
=================================  ======  =====================================================================
"""

from __future__ import annotations

import pandas as pd

from ..verdicts import Claim, at_least, greater, less

__all__ = ["decide"]


def _median(values: list[float]) -> float:
    return float(pd.Series(values).median())


def decide(geometry: pd.DataFrame, certificate: pd.DataFrame, *, profile: str, alpha: float = 0.5) -> list[Claim]:
    """The verdict rows of notebook 02 (see the module's table).

    ``geometry``: ``02_encoder_geometry.csv`` — per (``seed``, ``method`` GPE / VAE) the held-out ``spread``.
    ``certificate``: ``02_certificate.csv`` — per (``seed``, ``method``, ``latent`` raw / scaled, ``split`` train /
    held-out, ``alpha``) the ``empirical`` µ²[K_α], the ``bound`` and the ``eps`` it used
    (:func:`gpelib.geometry.certificate`). ``alpha``: where GPE and VAE are compared (and GPE's ε is quoted).
    """
    def per_seed(df: pd.DataFrame, col: str) -> list[float]:
        return df.sort_values("seed")[col].tolist()

    def at(method: str, latent: str, split: str) -> list[float]:
        c = certificate
        return per_seed(c[(c.method == method) & (c.latent == latent) & (c.split == split) & (c.alpha == alpha)],
                        "empirical")

    spread = {m: per_seed(geometry[geometry.method == m], "spread") for m in ("GPE", "VAE")}
    tr = certificate[certificate.split == "train"]
    ho = certificate[(certificate.split == "held-out") & (certificate.latent == "raw")]
    ho_gpe = ho[ho.method == "GPE"]
    a = f"{alpha:g}"
    return [
        Claim.from_decision(
            "GME encoder keeps ‖Tx−Tx′‖/‖x−x′‖ nearly constant; VAE does not (ratio spread q95/q05, held-out)",
            "GMEGAN Fig. 3 (visual)",
            f"median spread GPE {_median(spread['GPE']):.3g} vs VAE {_median(spread['VAE']):.3g}",
            less(spread["GPE"], spread["VAE"]), id="gmegan.fig3.ratio_spread", kind="paper", profile=profile),
        Claim.from_decision(  # ε is measured on these very pairs: the bound holds by construction
            "Theorem 1 bound holds on the training pairs (every α, seed, encoder)", "µ²[K_α] > 1 − ε/(log α)²",
            f"min margin {(tr.empirical - tr.bound).min():.3f}", at_least(tr.empirical, tr.bound),
            id="gmegan.thm1.bound.train", kind="sanity", profile=profile),
        Claim.from_decision(
            "Theorem 1 bound, ε from training pairs, holds on held-out pairs (every α and seed)",
            "population statement",
            f"GPE median ε {_median(per_seed(ho_gpe[ho_gpe.alpha == alpha], 'eps')):.3g}: min margin "
            f"{(ho_gpe.empirical - ho_gpe.bound).min():.3f}; all encoders: {(ho.empirical - ho.bound).min():.3f}",
            at_least(ho.empirical, ho.bound), id="gmegan.thm1.bound.heldout", kind="paper", profile=profile),
        Claim.from_decision(
            f"GPE certifies more pairs than VAE, scale-free: µ²[K_{a}] on held-out pairs, each latent × its best "
            "scalar", "implied by small ε",
            f"scaled: GPE {_median(at('GPE', 'scaled', 'held-out')):.3f} vs VAE "
            f"{_median(at('VAE', 'scaled', 'held-out')):.3f} (raw latents: {_median(at('GPE', 'raw', 'held-out')):.3f}"
            f" vs {_median(at('VAE', 'raw', 'held-out')):.3f})",
            greater(at("GPE", "scaled", "held-out"), at("VAE", "scaled", "held-out")),
            id="gmegan.thm1.scaled_vs_vae", kind="check", profile=profile),
    ]
