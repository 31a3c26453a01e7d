"""gpelib — geometry-preserving encoders (GPE) and Gromov-Monge embedding GANs (GMEGAN).

The library holds the ideas; the notebooks in ``notebooks/`` tell the story. Modules, from the ground up:
``losses`` (GME cost, reconstruction, KL, MDS), ``models`` (networks by data shape), ``data`` (mixtures, digits,
MNIST/CIFAR10/image folders), ``checkpoint`` (atomic safetensors checkpoints), ``papers`` (the papers' numbers and
settings, one data file); ``train`` (one training loop: GPE Algorithms 1–2 and the VAE/AE baselines), ``geometry``
(distance ratios, the Theorem-1 certificate), ``metrics`` (Fréchet distances, mode coverage); ``flows`` (latent
conditional flow matching), ``gan`` (GMEGAN and baselines), ``recipes`` (train method M on data D with settings S,
one seeding rule, the fresh-decoder protocol), ``tables`` (threshold counts, wall-clock, timing ratios),
``verdicts`` (holds / fails / inconclusive, tested); ``profiles`` (smoke/quick/paper and every notebook's
settings), ``plots``, ``reporting``, ``cli``.
"""

from .losses import gme_cost, gme_cost_matrix, pairwise_sq_dists
from .models import build_model, make_decoder, make_encoder
from .train import TrainConfig, TrainResult, train_autoencoder, train_decoder, train_encoder, train_vae

__version__ = "0.1.0"

__all__ = [
    "gme_cost",
    "gme_cost_matrix",
    "pairwise_sq_dists",
    "make_encoder",
    "make_decoder",
    "build_model",
    "TrainConfig",
    "TrainResult",
    "train_encoder",
    "train_decoder",
    "train_autoencoder",
    "train_vae",
]
