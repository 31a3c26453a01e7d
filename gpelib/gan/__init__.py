"""GMEGAN (Lee, Yang, Zou & Lerman) and its seven baselines on one method registry and one architecture registry.

* :mod:`.architectures` — ``ARCHITECTURES`` / :func:`build_networks`: generators, critics, encoders, ``R_inv``,
  VEEGAN's joint critic, OTM's map and embedding, for vectors (``mlp``, ``mlp_wide``, ``mlp_deep``) and images
  (``dcgan``, ``dcgan_wide``, ``dcgan_leaky``, ``dcgan_deep``, ``dcgan_bn``).
* :mod:`.methods` — ``METHODS``: ``gmegan``, ``gan``, ``wgan``, ``wgan_gp``, ``wgan_div``, ``otm``, ``vaegan``,
  ``veegan``, each with ``step`` / ``discriminator_step`` / ``generator_step`` / ``sample`` / ``latent_of``; the
  gradient penalties as functions.
* :mod:`.train` — :func:`train_gan` (on :func:`gpelib.train.fit`), :func:`load_gan`.
* :mod:`.diagnostics` — :func:`monotonicity_score` (GMEGAN eq. A.2), :func:`mode_stats`, :func:`energy_distance`.

Any method runs with any architecture::

    result = train_gan("gmegan", mixture.x, arch="mlp", latent_dim=2, config=TrainConfig(batch_size=16))
"""

from .architectures import (
    ARCHITECTURES,
    PAPER_ARCHITECTURES,
    PARTS,
    Critic,
    JointCritic,
    LatentEmbedding,
    Networks,
    build_networks,
    get_architecture,
    register_architecture,
)
from .diagnostics import (
    ModeStats,
    cyclical_monotonicity,
    energy_distance,
    first_coordinates,
    mode_stats,
    monotonicity_score,
    procrustes_rotation,
    transport_agreement,
)
from .methods import (
    GAN,
    GMEGAN,
    GMEGAN_VARIANTS,
    METHODS,
    OTM,
    VAEGAN,
    VEEGAN,
    WGAN,
    WGANGP,
    GANMethod,
    GMEGANMean,
    GMEGANReleased,
    WGANDiv,
    frozen,
    get_method,
    grad_norm_sq_at,
    register_method,
    wgan_div_penalty,
    wgan_gp_penalty,
)
from .train import GANResult, default_val_metric, load_gan, train_gan

__all__ = [
    "ARCHITECTURES",
    "PAPER_ARCHITECTURES",
    "PARTS",
    "Networks",
    "Critic",
    "JointCritic",
    "LatentEmbedding",
    "build_networks",
    "get_architecture",
    "register_architecture",
    "METHODS",
    "GANMethod",
    "GMEGAN",
    "GMEGAN_VARIANTS",
    "GMEGANMean",
    "GMEGANReleased",
    "GAN",
    "WGAN",
    "WGANGP",
    "WGANDiv",
    "OTM",
    "VAEGAN",
    "VEEGAN",
    "register_method",
    "get_method",
    "frozen",
    "grad_norm_sq_at",
    "wgan_gp_penalty",
    "wgan_div_penalty",
    "GANResult",
    "train_gan",
    "load_gan",
    "default_val_metric",
    "cyclical_monotonicity",
    "monotonicity_score",
    "transport_agreement",
    "procrustes_rotation",
    "first_coordinates",
    "mode_stats",
    "ModeStats",
    "energy_distance",
]
