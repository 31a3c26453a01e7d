"""GMEGAN (GMEGAN §5, eqs. 5.1–5.2) and the seven baselines of GMEGAN §6, one small class each, in ONE registry.

Every method shares one interface (:class:`GANMethod`):

* ``__init__(nets, *, latent_dim=None, **hyper)`` — networks from :func:`~gpelib.gan.architectures.build_networks`
  (the method's ``REQUIRES`` parts); ``hyper`` fields of the method's ``Hyper`` dataclass (paper defaults).
* ``modules()`` / ``optimizers()`` — what :func:`gpelib.train.fit` checkpoints.
* ``step(x)`` — one generator iteration with its critic updates (``n_critic`` critic steps on fresh real batches
  drawn from the data attached with :meth:`GANMethod.attach_data`, else on ``x`` again); returns ``"loss"`` (the
  generator-side objective) and components (``"d_loss"``, ``"gme"``, …).
* ``discriminator_step(x)`` moves only the critic side, ``generator_step(x)`` only the generator side
  (``CRITIC_SIDE`` / ``GENERATOR_SIDE`` name the modules); ``budget()``: gradient updates per network side and
  real batches that one ``step`` costs.
* ``sample(n, *, generator=None)`` (in eval mode, for metrics), ``generator_map(y)``, ``latent_of(x)`` (``None``
  without an encoder); ``generator_map``/``latent_of`` run in whatever mode the modules are in.

Notation: data ``x`` ``(B, *data_shape)``, latents ``y``/``z ~ N(0, I_d)`` ``(B, d)``, ``ψ``/``f``/``D`` the critic
(``(B, *data_shape) → (B,)``), ``σ`` the logistic function, ``softplus(t) = −log σ(−t)``. Squared norms ``‖·‖²`` sum
over all coordinates of a sample and are averaged over the batch.

Optimiser settings come from each method's ``Hyper`` (its paper's settings, else GMEGAN Table 1: Adam 1e-4,
betas (0.5, 0.999)), not from :class:`~gpelib.train.TrainConfig`.

Where they live: the interface, the registry and the shared helpers in :mod:`gpelib.gan.method_base`, GMEGAN and its
variants in :mod:`gpelib.gan.gmegan`, the baselines in :mod:`gpelib.gan.baselines`; every name is re-exported here,
and importing this module registers every method (GMEGAN's first, then the baselines).
"""

from __future__ import annotations

# the import order is the registration order of METHODS (GMEGAN's first, then the baselines), as before
# isort: off
from .method_base import (
    METHODS,
    GANMethod,
    frozen,
    get_method,
    grad_norm_sq_at,
    register_method,
    wgan_div_penalty,
    wgan_gp_penalty,
)
from .gmegan import (
    GMEGAN,
    GMEGAN_VARIANTS,
    GMEGANHyper,
    GMEGANMean,
    GMEGANMeanHyper,
    GMEGANReleased,
    GMEGANReleasedHyper,
)
from .baselines import (
    GAN,
    OTM,
    VAEGAN,
    VEEGAN,
    WGAN,
    WGANGP,
    GANHyper,
    OTMHyper,
    VAEGANHyper,
    VEEGANHyper,
    WGANDiv,
    WGANDivHyper,
    WGANGPHyper,
    WGANHyper,
)
# isort: on

__all__ = [
    "METHODS",
    "GANMethod",
    "GMEGAN",
    "GMEGANMean",
    "GMEGANReleased",
    "GMEGAN_VARIANTS",
    "GAN",
    "WGAN",
    "WGANGP",
    "WGANDiv",
    "OTM",
    "VAEGAN",
    "VEEGAN",
    "GMEGANHyper",
    "GMEGANMeanHyper",
    "GMEGANReleasedHyper",
    "GANHyper",
    "WGANHyper",
    "WGANGPHyper",
    "WGANDivHyper",
    "OTMHyper",
    "VAEGANHyper",
    "VEEGANHyper",
    "register_method",
    "get_method",
    "frozen",
    "grad_norm_sq_at",
    "wgan_gp_penalty",
    "wgan_div_penalty",
]
