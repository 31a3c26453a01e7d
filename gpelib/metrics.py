"""Generation metrics: Fréchet distances on two kinds of features, mode coverage, exact W2 (SPEC §1 "Metrics").

* :func:`frechet_distance` — ``‖µ1 − µ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2})`` with a true matrix square root,
  computed in float64 from the eigenvalues of ``Σ1^{1/2} Σ2 Σ1^{1/2}`` (SPEC §5; no ``scipy.linalg.sqrtm``).
* Features: :class:`InceptionFeatures` (the standard FID network, **local weights only**; score name ``"FID"``)
  or :class:`ClassifierFeatures` (a small classifier gpelib trains on the real labelled data; score name
  ``"FD-classifier"``, never ``"FID"``). :func:`default_feature_extractor` picks one.
* :class:`FrechetScore` always carries the sample counts and the feature extractor (SPEC §5).
* Mode coverage (GMEGAN §6.3): :func:`class_counts`, :func:`relative_std`, :func:`mode_coverage`.
* :func:`wasserstein2_exact` — exact W2 between two point clouds with POT.
* Small-sample generation checks (issue 11): :func:`kernel_distance` (KID, unbiased, through ``torchmetrics``),
  :func:`precision_recall_density_coverage` (through ``prdc``), both in :func:`sample_quality` with the Fréchet
  distance against one *held-out* reference set; :func:`memorisation` (are samples closer to the training images
  than unseen real images are?).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import Tensor, nn

from .checkpoint import checkpoint_exists, content_hash, load_checkpoint, save_checkpoint
from .models import MLP
from .train import TrainConfig, adam, fit, resolve_device

__all__ = [
    "frechet_distance",
    "gaussian_stats",
    "frechet_distance_from_features",
    "FeatureStats",
    "feature_stats",
    "FrechetScore",
    "frechet_score",
    "FeatureExtractor",
    "WeightsNotFoundError",
    "INCEPTION_WEIGHTS_FILE",
    "find_inception_weights",
    "fid_inception_v3",
    "InceptionFeatures",
    "ClassifierNet",
    "build_classifier",
    "ClassifierFeatures",
    "train_classifier",
    "default_feature_extractor",
    "class_counts",
    "relative_std",
    "mode_coverage",
    "wasserstein2_exact",
    "wasserstein1_exact",
    "kernel_distance",
    "precision_recall_density_coverage",
    "SampleQuality",
    "sample_quality",
    "Memorisation",
    "memorisation",
]

log = logging.getLogger(__name__)

ArrayLike = np.ndarray | Tensor


def _np64(a: Any, name: str) -> np.ndarray:
    arr = a.detach().cpu().double().numpy() if isinstance(a, Tensor) else np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


# ----------------------------------------------------------------------------------------------------------------
# Fréchet distance
# ----------------------------------------------------------------------------------------------------------------


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root via ``eigh``; tiny negative eigenvalues (round-off) are clamped to 0."""
    w, v = linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet (2-Wasserstein) distance between ``N(µ1, Σ1)`` and ``N(µ2, Σ2)`` — the FID formula (SPEC §1)::

        d² = ‖µ1 − µ2‖² + Tr(Σ1) + Tr(Σ2) − 2 Tr((Σ1 Σ2)^{1/2})

    ``Tr((Σ1 Σ2)^{1/2}) = Σ_k sqrt(max(λ_k, 0))`` with ``λ_k`` the eigenvalues of the symmetric PSD matrix
    ``Σ1^{1/2} Σ2 Σ1^{1/2}`` (similar to ``Σ1 Σ2``), all in float64 (SPEC §5: no ``scipy.linalg.sqrtm``).
    ``µ``: ``(F,)``; ``Σ``: ``(F, F)`` symmetric PSD. Returns ``d²`` (as FID does), clamped at 0 against round-off.
    Raises ``ValueError`` on non-finite input or mismatched shapes.
    """
    m1, m2 = _np64(mu1, "mu1"), _np64(mu2, "mu2")
    s1, s2 = _np64(sigma1, "sigma1"), _np64(sigma2, "sigma2")
    f = m1.shape[0] if m1.ndim == 1 else -1
    if m1.ndim != 1 or m2.shape != (f,) or s1.shape != (f, f) or s2.shape != (f, f):
        raise ValueError(
            f"shape mismatch: mu1 {m1.shape}, mu2 {m2.shape}, sigma1 {s1.shape}, sigma2 {s2.shape}; "
            "expected (F,), (F,), (F, F), (F, F)"
        )
    r1 = _psd_sqrt(s1)
    m = r1 @ ((s2 + s2.T) / 2) @ r1
    lam = linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    diff = m1 - m2
    d = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr_sqrt
    return max(d, 0.0)


def gaussian_stats(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(F,)`` and covariance ``(F, F)`` (``ddof=1``) of ``features`` ``(N, F)``, in float64."""
    x = _np64(features, "features")
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must have shape (N ≥ 2, F); got {x.shape}")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False, ddof=1))


def frechet_distance_from_features(f1: ArrayLike, f2: ArrayLike) -> float:
    """:func:`frechet_distance` between Gaussians fitted to ``f1`` ``(N1, F)`` and ``f2`` ``(N2, F)``."""
    return frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2))


# ----------------------------------------------------------------------------------------------------------------
# feature extractors
# ----------------------------------------------------------------------------------------------------------------


def _as_tensor(x: ArrayLike) -> Tensor:
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, Tensor) else x
    return t.detach().float()


class FeatureExtractor(ABC):
    """Maps samples to feature vectors: ``__call__(images (N, C, H, W) in [−1, 1]) → np.ndarray (N, F)``.

    ``name`` is the metric's name (``"FID"`` only for the Inception network); ``description`` says which network
    and weights. Subclasses implement :meth:`_features` for one batch on :attr:`device`; calls run batched,
    without gradients, in eval mode.
    """

    name: str
    description: str
    batch_size: int = 256

    @property
    @abstractmethod
    def device(self) -> torch.device: ...

    @abstractmethod
    def _features(self, x: Tensor) -> Tensor:
        """Features ``(B, F)`` of one batch ``x`` already on :attr:`device`."""

    def __call__(self, images: ArrayLike, *, batch_size: int | None = None) -> np.ndarray:
        x = _as_tensor(images)
        bs = batch_size or self.batch_size
        out = []
        with torch.no_grad():
            for i in range(0, x.shape[0], bs):
                out.append(self._features(x[i : i + bs].to(self.device)).float().cpu())
        if not out:
            raise ValueError("no samples given")
        return torch.cat(out).numpy()


class WeightsNotFoundError(FileNotFoundError):
    """The Inception FID weights are not on this machine (gpelib never downloads them)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        looked = "\n".join(f"  {p}" for p in paths)
        super().__init__(
            f"Inception FID weights not found; looked at:\n{looked}\n"
            f"Place {INCEPTION_WEIGHTS_FILE} (the pytorch-fid weights) there or pass weights_path=...; without them "
            "gpelib reports the Fréchet distance on its own classifier's features as 'FD-classifier'."
        )

    def __str__(self) -> str:
        return self.args[0]


INCEPTION_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"


def _inception_candidates(weights_path: str | Path | None) -> list[Path]:
    if weights_path is not None:
        return [Path(weights_path).expanduser()]
    return [Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE]


def find_inception_weights(weights_path: str | Path | None = None) -> Path | None:
    """The local FID weights file: ``weights_path`` if given (and only it), else
    ``$TORCH_HOME/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth`` (default ``~/.cache/torch/...``).
    ``None`` when absent."""
    for p in _inception_candidates(weights_path):
        if p.is_file():
            return p
    return None


def fid_inception_v3() -> nn.Module:
    """The FID network without weights: torchvision's Inception-v3 (1008 classes, no auxiliary head) with the FID
    blocks of ``pytorch-fid`` (average pools that exclude padding in the A/C/E₁ blocks, a max pool in the last E
    block) — what ``pytorch_fid.inception.fid_inception_v3`` builds before it downloads the weights, which gpelib
    never does. Its ``state_dict`` has the keys and shapes of :data:`INCEPTION_WEIGHTS_FILE`."""
    from pytorch_fid.inception import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2
    from torchvision.models import inception_v3

    net = inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False, transform_input=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    return net


class InceptionFeatures(FeatureExtractor):
    """The standard FID network's 2048-d pool features (Inception-v3, TF 2015-12-05 weights as ported by
    pytorch-fid), from a **local** weights file only; never downloads.

    The network is :func:`fid_inception_v3` (pytorch-fid's FID blocks on torchvision's Inception-v3) with the
    classifier replaced by the identity, loaded from the local file. Inputs ``(N, C, H, W)`` in [−1, 1] with
    ``C`` ∈ {1, 3} (grayscale is replicated to 3 channels) are resized to 299×299 (bilinear) and fed as they are:
    the FID weights expect [−1, 1]. Values may differ slightly from TensorFlow FID (different resize), as with
    pytorch-fid.

    Raises :class:`WeightsNotFoundError` naming the paths looked at when the file is absent.
    """

    name = "FID"

    def __init__(
        self, weights_path: str | Path | None = None, *, device: str | torch.device | None = None,
        batch_size: int = 64,
    ) -> None:
        path = find_inception_weights(weights_path)
        if path is None:
            raise WeightsNotFoundError(_inception_candidates(weights_path))
        net = fid_inception_v3()
        net.fc = nn.Identity()
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise ValueError(f"{path} does not hold a state dict")
        state = {k: v for k, v in state.items() if not k.startswith(("fc.", "AuxLogits."))}
        try:
            res = net.load_state_dict(state, strict=False)
        except RuntimeError as e:
            raise ValueError(f"{path} is not an Inception-v3 FID state dict: {e}") from e
        self.missing_keys: list[str] = list(res.missing_keys)
        self.unexpected_keys: list[str] = list(res.unexpected_keys)
        if not set(state) & set(net.state_dict()):  # (missing_keys omits the batch-norm step counters)
            raise ValueError(f"{path} matched none of Inception-v3's parameters: not the FID weights")
        if self.missing_keys:
            warnings.warn(f"Inception FID weights {path}: {len(self.missing_keys)} parameters missing "
                          f"(left uninitialised): {self.missing_keys[:8]}...", stacklevel=2)
        if self.unexpected_keys:
            log.info("Inception FID weights %s: ignored keys %s", path, self.unexpected_keys[:8])
        self._device = resolve_device(device)
        self.net = net.eval().to(self._device)
        self.weights_path = path
        self.batch_size = batch_size
        self.description = f"Inception-v3 pool3 (2048-d), weights {path.name}"

    @property
    def device(self) -> torch.device:
        return self._device

    @staticmethod
    def compatible(shape: tuple[int, ...]) -> bool:
        """True for image batches ``(N, C, H, W)`` with 1 or 3 channels."""
        return len(shape) == 4 and shape[1] in (1, 3)

    def _features(self, x: Tensor) -> Tensor:
        if not self.compatible(tuple(x.shape)):
            raise ValueError(f"Inception features need images (N, 1 or 3, H, W); got {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.net(x)


# ------------------------------- the classifier that stands in for Inception ------------------------------------


class ClassifierNet(nn.Module):
    """Small classifier with a penultimate feature layer: ``body: x → (B, feature_dim)``, ``head → (B, K)``.

    Images ``(C, H, W)`` (8 to 64 px): blocks ``[conv3×3, ReLU, conv3×3 stride 2, ReLU]`` halving the size down to
    ≤ 4 px, the width doubling from ``width`` (capped at 128), then ``Linear → ReLU`` to ``feature_dim``. Vectors
    ``(D,)``: an MLP ``D → 128 → feature_dim`` with ReLU. Inputs are first shifted and scaled by the buffers
    ``shift``/``scale`` (set from the training data). Features are the post-ReLU penultimate activations.
    """

    def __init__(self, input_shape: tuple[int, ...], n_classes: int, *, feature_dim: int = 128, width: int = 32
                 ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if n_classes < 2:
            raise ValueError(f"need at least 2 classes; got {n_classes}")
        self.register_buffer("shift", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))
        if len(shape) == 3:
            c, size = shape[0], shape[1]
            layers: list[nn.Module] = []
            w = width
            while True:
                layers += [nn.Conv2d(c, w, 3, 1, 1), nn.ReLU(), nn.Conv2d(w, w, 3, 2, 1), nn.ReLU()]
                c, size = w, (size + 1) // 2
                w = min(2 * w, 128)
                if size <= 4:
                    break
            layers += [nn.Flatten(), nn.Linear(c * size * size, feature_dim), nn.ReLU()]
            self.body: nn.Module = nn.Sequential(*layers)
        elif len(shape) == 1:
            self.body = nn.Sequential(MLP(shape[0], feature_dim, hidden=128, n_layers=2), nn.ReLU())
        else:
            raise ValueError(f"input_shape must be (C, H, W) or (D,); got {shape}")
        self.head = nn.Linear(feature_dim, n_classes)
        self.config: dict[str, Any] = {"kind": "classifier", "input_shape": list(shape), "n_classes": int(n_classes),
                                       "feature_dim": int(feature_dim), "width": int(width)}

    def features(self, x: Tensor) -> Tensor:
        return self.body((x - self.shift) / self.scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def build_classifier(config: dict[str, Any]) -> ClassifierNet:
    """Rebuild a :class:`ClassifierNet` from its ``config``."""
    return ClassifierNet(tuple(config["input_shape"]), int(config["n_classes"]),
                         feature_dim=int(config.get("feature_dim", 128)), width=int(config.get("width", 32)))


class ClassifierFeatures(FeatureExtractor):
    """Penultimate features of a classifier trained by gpelib on the real labelled data (SPEC §1 "Metrics").

    The Fréchet distance on these features is reported as ``"FD-classifier"`` — never as ``"FID"``.
    ``test_accuracy`` is the accuracy on the held-out fraction of the data it was trained on.
    """

    name = "FD-classifier"

    def __init__(self, net: ClassifierNet, *, test_accuracy: float = math.nan, tag: str = "",
                 device: str | torch.device | None = None, batch_size: int = 512) -> None:
        self._device = resolve_device(device)
        self.net = net.eval().to(self._device)
        self.test_accuracy = float(test_accuracy)
        self.tag = tag
        self.batch_size = batch_size
        self.cache_path: Path | None = None
        acc = "n/a" if math.isnan(self.test_accuracy) else f"{self.test_accuracy:.3f}"
        self.description = (f"gpelib classifier{' ' + tag if tag else ''} "
                            f"({net.config['feature_dim']}-d penultimate features, test accuracy {acc})")

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def n_classes(self) -> int:
        return int(self.net.config["n_classes"])

    def _check(self, x: Tensor) -> None:
        want = tuple(self.net.config["input_shape"])
        if tuple(x.shape[1:]) != want:
            raise ValueError(f"this classifier takes inputs of shape (N, {', '.join(map(str, want))}); "
                             f"got {tuple(x.shape)}")

    def _features(self, x: Tensor) -> Tensor:
        self._check(x)
        return self.net.features(x)

    def features(self, images: ArrayLike, *, batch_size: int | None = None) -> np.ndarray:
        """Penultimate activations ``(N, feature_dim)``."""
        return self(images, batch_size=batch_size)

    @torch.no_grad()
    def predict(self, images: ArrayLike, *, batch_size: int | None = None) -> np.ndarray:
        """Predicted class indices ``(N,)`` (int64)."""
        x = _as_tensor(images)
        self._check(x)
        bs = batch_size or self.batch_size
        return torch.cat([self.net(x[i : i + bs].to(self.device)).argmax(1).cpu()
                          for i in range(0, x.shape[0], bs)]).numpy()

    def save(self, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Checkpoint (safetensors + JSON) via :func:`gpelib.checkpoint.save_checkpoint`."""
        cfg = {"kind": "classifier_features", "tag": self.tag, "test_accuracy": self.test_accuracy, **(extra or {})}
        return save_checkpoint(path, modules={"classifier": self.net}, config=cfg)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None) -> ClassifierFeatures:
        ck = load_checkpoint(path)
        if ck.config.get("kind") != "classifier_features":
            raise ValueError(f"{path} is not a ClassifierFeatures checkpoint (kind={ck.config.get('kind')!r})")
        net = build_classifier(ck.config["modules"]["classifier"])
        net.load_state_dict(ck.weights["classifier"])
        out = cls(net, test_accuracy=float(ck.config.get("test_accuracy", math.nan)), tag=ck.config.get("tag", ""),
                  device=device)
        out.cache_path = Path(path)
        return out

    @classmethod
    def load_or_train(
        cls,
        cache_dir: str | Path,
        images: ArrayLike,
        labels: ArrayLike,
        *,
        tag: str = "data",
        epochs: int = 15,
        seed: int = 0,
        device: str | torch.device | None = None,
        val_fraction: float = 0.2,
        batch_size: int = 64,
        lr: float = 1e-3,
        feature_dim: int = 128,
        width: int = 32,
        verbose: bool = False,
    ) -> ClassifierFeatures:
        """Load the cached classifier for this dataset and these settings, or train (:func:`train_classifier`) and
        cache it under ``cache_dir/classifier-<tag>-<key>``.

        ``key`` hashes the data shape, the label counts, a coarse fingerprint of the values (mean and std rounded
        to 6 significant digits), the seed and every training setting.
        """
        x, y = _as_tensor(images), torch.as_tensor(np.asarray(labels)).long()
        spec = {
            "tag": tag, "shape": list(x.shape), "label_counts": torch.bincount(y).tolist(),
            "fingerprint": [float(f"{float(x.double().mean()):.6g}"), float(f"{float(x.double().std()):.6g}")],
            "epochs": epochs, "seed": seed, "val_fraction": val_fraction, "batch_size": batch_size, "lr": lr,
            "feature_dim": feature_dim, "width": width,
        }
        key = content_hash(spec, 16)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag) or "data"
        path = Path(cache_dir) / f"classifier-{safe}-{key}"
        if checkpoint_exists(path):
            out = cls.load(path, device=device)
            if verbose:
                print(f"FD-classifier: loaded cached classifier {path} (test accuracy {out.test_accuracy:.3f})")
            return out
        out = train_classifier(x, y, epochs=epochs, seed=seed, device=device, val_fraction=val_fraction,
                               batch_size=batch_size, lr=lr, feature_dim=feature_dim, width=width, tag=tag,
                               verbose=verbose)
        out.save(path, extra={"cache_key": key, "cache_spec": spec})
        out.cache_path = path
        return out


def train_classifier(
    images: ArrayLike,
    labels: ArrayLike,
    *,
    epochs: int = 15,
    seed: int = 0,
    device: str | torch.device | None = None,
    val_fraction: float = 0.2,
    batch_size: int = 64,
    lr: float = 1e-3,
    feature_dim: int = 128,
    width: int = 32,
    tag: str = "",
    verbose: bool = False,
) -> ClassifierFeatures:
    """Train a :class:`ClassifierNet` (Adam, cross-entropy) on ``images`` ``(N, C, H, W)`` in [−1, 1] or vectors
    ``(N, D)`` with integer ``labels`` ``(N,)``; a seeded ``val_fraction`` of the data is held out and its accuracy
    stored as ``test_accuracy``.

    Runs :func:`gpelib.train.fit` (in this process alone, also under ``torchrun``): ``epochs`` passes over the
    training part in seeded shuffled batches of ``batch_size`` (each pass drops its last incomplete batch), the
    held-out cross-entropy and accuracy evaluated after each pass; a non-finite loss raises
    :class:`gpelib.train.NonFiniteLossError` (a ``FloatingPointError``). Deterministic for a given ``seed`` on a
    given device; leaves the global RNG alone.
    """
    x, y = _as_tensor(images), torch.as_tensor(np.asarray(labels)).long()
    if x.shape[0] != y.shape[0] or y.ndim != 1:
        raise ValueError(f"images {tuple(x.shape)} and labels {tuple(y.shape)} do not match")
    if not 0 <= val_fraction < 1:
        raise ValueError("val_fraction must be in [0, 1)")
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or inf")
    n_classes = int(y.max()) + 1
    dev = resolve_device(device)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    n_val = int(round(val_fraction * x.shape[0]))
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ClassifierNet(tuple(x.shape[1:]), n_classes, feature_dim=feature_dim, width=width)
    xt, yt = x[tr_idx], y[tr_idx]
    net.shift.fill_(float(xt.mean()))
    net.scale.fill_(max(float(xt.std()), 1e-8))
    net.to(dev).train()
    opt = adam(net.parameters(), lr=lr)
    xt_d, yt_d, xv, yv = xt.to(dev), yt.to(dev), x[val_idx], y[val_idx]
    per_epoch = max(1, xt.shape[0] // min(batch_size, xt.shape[0]))

    def step(idx: Tensor) -> dict[str, Tensor]:  # the batch is a set of row indices of the training part
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xt_d[idx]), yt_d[idx])
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def evaluate() -> dict[str, float]:
        if not n_val:
            return {"val_loss": math.nan, "val_accuracy": math.nan}
        logits = torch.cat([net(xv[i : i + 512].to(dev)).float().cpu() for i in range(0, n_val, 512)])
        accuracy = float((logits.argmax(1) == yv).double().mean())
        return {"val_loss": float(F.cross_entropy(logits, yv)), "val_accuracy": accuracy}

    config = TrainConfig(iterations=epochs * per_epoch, batch_size=batch_size, lr=lr, betas=(0.9, 0.999), seed=seed,
                         device=str(dev), eval_every=per_epoch, progress=False)
    res = fit(name="fd_classifier", modules={"classifier": net}, optimizers={"classifier": opt}, step=step,
              evaluate=evaluate, data=torch.arange(xt.shape[0]), config=config, distributed=False)
    out = ClassifierFeatures(net, test_accuracy=float(res.history["val_accuracy"].iloc[-1]), tag=tag, device=dev)
    if verbose:
        print(f"FD-classifier: trained classifier on {xt.shape[0]} samples, {epochs} epochs, "
              f"held-out accuracy {out.test_accuracy:.3f}")
    return out


def default_feature_extractor(
    dataset_images: ArrayLike,
    labels: ArrayLike | None,
    *,
    cache_dir: str | Path,
    weights_path: str | Path | None = None,
    tag: str = "data",
    epochs: int = 15,
    width: int = 32,
    seed: int = 0,
    device: str | torch.device | None = None,
    verbose: bool = True,
) -> FeatureExtractor:
    """Inception (``"FID"``) when its weights are found locally and the data are 1- or 3-channel images; otherwise
    a classifier trained on ``(dataset_images, labels)`` and cached in ``cache_dir`` (``"FD-classifier"``; ``epochs``
    and ``width`` as in :meth:`ClassifierFeatures.load_or_train`).
    Prints (``verbose``) and logs which one, with the classifier's held-out accuracy. An explicit ``weights_path``
    that does not exist raises :class:`WeightsNotFoundError` instead of silently falling back."""
    shape = tuple(dataset_images.shape)
    weights = find_inception_weights(weights_path)
    if weights is not None and InceptionFeatures.compatible(shape):
        ext: FeatureExtractor = InceptionFeatures(weights, device=device)
        msg = f"feature extractor: Inception-v3 ({weights}); scores are reported as FID"
    else:
        if weights_path is not None and weights is None:
            raise WeightsNotFoundError(_inception_candidates(weights_path))
        if labels is None:
            raise ValueError("no local Inception weights (or non-image data) and no labels to train a classifier on")
        why = ("no local Inception FID weights" if weights is None
               else f"data of shape {shape[1:]} do not suit Inception")
        ext = ClassifierFeatures.load_or_train(cache_dir, dataset_images, labels, tag=tag, epochs=epochs, width=width,
                                               seed=seed, device=device)
        msg = (f"feature extractor: gpelib classifier ({why}); held-out accuracy {ext.test_accuracy:.3f}; "
               "scores are reported as FD-classifier, not FID")
    log.info(msg)
    if verbose:
        print(msg)
    return ext


# ----------------------------------------------------------------------------------------------------------------
# scores
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class FeatureStats:
    """Gaussian statistics of one sample set's features, with where they came from (to reuse the real set's).
    ``features`` ``(n, F)`` are kept when asked (:func:`feature_stats` with ``keep=True``): KID and
    precision/recall need the points, not only their moments."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    extractor: str
    features: np.ndarray | None = field(default=None, repr=False)


def feature_stats(extractor: FeatureExtractor, images: ArrayLike, *, keep: bool = False) -> FeatureStats:
    """Features of ``images`` → mean, covariance (ddof=1) and count (and the features themselves if ``keep``)."""
    f = extractor(images)
    mu, sigma = gaussian_stats(f)
    return FeatureStats(mu=mu, sigma=sigma, n=f.shape[0], extractor=extractor.description,
                        features=f if keep else None)


@dataclass
class FrechetScore:
    """A Fréchet distance with what it means: ``metric`` (``"FID"`` or ``"FD-classifier"``), the sample counts
    and the feature extractor (SPEC §5: scores are only comparable at equal counts and features)."""

    value: float
    metric: str
    n_real: int
    n_fake: int
    extractor: str

    def __str__(self) -> str:
        return f"{self.metric} = {self.value:.4g} ({self.n_real} real vs {self.n_fake} generated; {self.extractor})"


def frechet_score(
    extractor: FeatureExtractor, real_images: ArrayLike | FeatureStats, fake_images: ArrayLike | FeatureStats
) -> FrechetScore:
    """Fréchet distance between the features of ``real_images`` and ``fake_images`` (each ``(N, ...)``, or
    precomputed :class:`FeatureStats`). Warns when a sample count does not exceed the feature dimension."""
    real = real_images if isinstance(real_images, FeatureStats) else feature_stats(extractor, real_images)
    fake = fake_images if isinstance(fake_images, FeatureStats) else feature_stats(extractor, fake_images)
    dim = real.mu.shape[0]
    if min(real.n, fake.n) <= dim:
        warnings.warn(f"{extractor.name} with {min(real.n, fake.n)} samples for {dim}-d features: the covariance is "
                      "singular and the score biased; use many more samples than feature dimensions", stacklevel=2)
    value = frechet_distance(real.mu, real.sigma, fake.mu, fake.sigma)
    return FrechetScore(value=value, metric=extractor.name, n_real=real.n, n_fake=fake.n,
                        extractor=extractor.description)


# ----------------------------------------------------------------------------------------------------------------
# mode coverage (GMEGAN §6.3) and exact W2
# ----------------------------------------------------------------------------------------------------------------


def class_counts(predictions: ArrayLike, n_classes: int) -> np.ndarray:
    """``n_i`` = number of predictions equal to ``i``, for ``i < n_classes``; shape ``(n_classes,)``."""
    p = np.asarray(predictions.cpu() if isinstance(predictions, Tensor) else predictions).astype(np.int64).ravel()
    if p.size and (p.min() < 0 or p.max() >= n_classes):
        raise ValueError(f"predictions must lie in [0, {n_classes}); got range [{p.min()}, {p.max()}]")
    return np.bincount(p, minlength=n_classes)


def relative_std(counts: ArrayLike) -> float:
    """``std(n_i, ddof=1) / mean(n_i)`` over the K class counts (GMEGAN §6.3; 0 = perfectly balanced)."""
    c = np.asarray(counts, dtype=np.float64).ravel()
    if c.size < 2:
        raise ValueError("need at least 2 class counts")
    if c.mean() <= 0:
        raise ValueError("all counts are zero")
    return float(c.std(ddof=1) / c.mean())


def mode_coverage(predictions: ArrayLike, n_classes: int, min_count: int = 1) -> int:
    """Number of classes predicted at least ``min_count`` times."""
    return int((class_counts(predictions, n_classes) >= min_count).sum())


def _emd_cost(a: ArrayLike, b: ArrayLike, metric: str, max_iter: int) -> float:
    """``min_π Σ π_ij c(a_i, b_j)`` between the uniform empirical measures of ``a`` ``(N, d)`` and ``b`` ``(M, d)``
    by network simplex (POT ``ot.emd2``), ``c`` = POT's ``metric`` (``"sqeuclidean"``, ``"euclidean"``)."""
    import ot

    x, y = _np64(a, "a"), _np64(b, "b")
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected (N, d) and (M, d); got {x.shape} and {y.shape}")
    cost = ot.dist(x, y, metric=metric)
    wa, wb = np.full(x.shape[0], 1.0 / x.shape[0]), np.full(y.shape[0], 1.0 / y.shape[0])
    return max(float(ot.emd2(wa, wb, cost, numItermax=max_iter)), 0.0)


def wasserstein2_exact(a: ArrayLike, b: ArrayLike, *, max_iter: int = 1_000_000) -> float:
    """Exact ``W2`` between the empirical measures of ``a`` ``(N, d)`` and ``b`` ``(M, d)`` (uniform weights,
    squared Euclidean cost) by network simplex (POT ``ot.emd2``): ``sqrt(min_π Σ π_ij ‖a_i − b_j‖²)``."""
    return math.sqrt(_emd_cost(a, b, "sqeuclidean", max_iter))


def wasserstein1_exact(a: ArrayLike, b: ArrayLike, *, max_iter: int = 1_000_000) -> float:
    """Exact ``W1`` between the empirical measures of ``a`` and ``b`` (Euclidean cost): ``min_π Σ π_ij ‖a_i − b_j‖``."""
    return _emd_cost(a, b, "euclidean", max_iter)

# ----------------------------------------------------------------------------------------------------------------
# small-sample generation checks: KID, precision/recall/density/coverage, memorisation
# ----------------------------------------------------------------------------------------------------------------


def kernel_distance(real: ArrayLike, fake: ArrayLike, *, degree: int = 3) -> float:
    """KID (Bińkowski et al. 2018): the unbiased estimate of ``MMD²`` between the feature sets ``real`` ``(n, F)``
    and ``fake`` ``(m, F)`` with the polynomial kernel ``k(a, b) = (aᵀb / F + 1)^degree`` (``torchmetrics``'
    ``poly_kernel``), on *all* points (no subsets), in float64::

        Σ_{i≠j} k(r_i, r_j) / (n(n−1)) + Σ_{i≠j} k(f_i, f_j) / (m(m−1)) − 2 Σ_{i,j} k(r_i, f_j) / (nm)

    (``torchmetrics``' own ``poly_mmd`` divides all three sums by the first set's size, which is this only when
    n = m). Unbiased: its expectation is 0 for two samples of one distribution at any sample size (the Fréchet
    distance's is not), so it can be negative."""
    from torchmetrics.image.kid import poly_kernel

    a, b = torch.from_numpy(_np64(real, "real")), torch.from_numpy(_np64(fake, "fake"))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(a.shape[0], b.shape[0]) < 2:
        raise ValueError(f"expected features (N ≥ 2, F) and (M ≥ 2, F); got {tuple(a.shape)} and {tuple(b.shape)}")
    n, m = a.shape[0], b.shape[0]
    k_aa, k_bb, k_ab = poly_kernel(a, a, degree), poly_kernel(b, b, degree), poly_kernel(a, b, degree)
    within = (k_aa.sum() - k_aa.trace()) / (n * (n - 1)) + (k_bb.sum() - k_bb.trace()) / (m * (m - 1))
    return float(within - 2.0 * k_ab.mean())


def precision_recall_density_coverage(real: ArrayLike, fake: ArrayLike, *, nearest_k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (Naeem et al. 2020, the ``prdc``
    package) from k-nearest-neighbour balls in feature space: precision/density = how many fakes fall inside real
    balls (fidelity), recall/coverage = how much of the real set the fakes reach (diversity)."""
    from prdc import compute_prdc

    a, b = _np64(real, "real").astype(np.float32), _np64(fake, "fake").astype(np.float32)
    if min(a.shape[0], b.shape[0]) <= nearest_k:
        raise ValueError(f"need more than nearest_k={nearest_k} points in each set; got {a.shape[0]} and {b.shape[0]}")
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
        out = compute_prdc(real_features=a, fake_features=b, nearest_k=nearest_k)
    return {k: float(v) for k, v in out.items()}


@dataclass(frozen=True)
class SampleQuality:
    """Every score of one generated set against one reference set, in one feature space, at stated counts."""

    fd: float
    kid: float
    precision: float
    recall: float
    density: float
    coverage: float
    metric: str
    n_real: int
    n_fake: int
    nearest_k: int
    extractor: str


def sample_quality(extractor: FeatureExtractor, reference: FeatureStats, fake_images: ArrayLike, *,
                   nearest_k: int = 5) -> SampleQuality:
    """Fréchet distance, KID and precision/recall/density/coverage of ``fake_images`` against ``reference``
    (made with ``feature_stats(..., keep=True)``, ideally of held-out images the extractor never saw, with as many
    points as ``fake_images``: the Fréchet distance is biased upward at small n, so compare at matched n)."""
    if reference.features is None:
        raise ValueError("reference has no features: make it with feature_stats(extractor, images, keep=True)")
    fake = feature_stats(extractor, fake_images, keep=True)
    prdc = precision_recall_density_coverage(reference.features, fake.features, nearest_k=nearest_k)
    return SampleQuality(fd=frechet_score(extractor, reference, fake).value,
                         kid=kernel_distance(reference.features, fake.features), **prdc, metric=extractor.name,
                         n_real=reference.n, n_fake=fake.n, nearest_k=nearest_k, extractor=extractor.description)


@dataclass(frozen=True)
class Memorisation:
    """How often generated samples sit closer to a training image than unseen real images do.

    ``rate``: fraction of samples whose nearest-training-image distance is below ``threshold``, the ``quantile`` of
    the held-out images' nearest-training-image distances: ≈ ``quantile`` for a generator that does not copy, → 1 for
    one that replays training images. ``median_ratio``: median sample distance ÷ median held-out distance."""

    rate: float
    quantile: float
    threshold: float
    median_ratio: float
    n_samples: int
    n_train: int
    n_heldout: int


def _nearest_distances(x: Tensor, ref: Tensor, chunk: int = 1024) -> Tensor:
    """``min_j ‖x_i − ref_j‖`` for each row of ``x`` ``(N, D)`` against ``ref`` ``(M, D)``, in float64 chunks."""
    out = [torch.cdist(x[i : i + chunk], ref).amin(1) for i in range(0, x.shape[0], chunk)]
    return torch.cat(out)


def memorisation(samples: ArrayLike, train: ArrayLike, heldout: ArrayLike, *, quantile: float = 0.05) -> Memorisation:
    """:class:`Memorisation` of ``samples`` against ``train``, calibrated on ``heldout`` (all ``(N, ...)`` in the
    same pixel space; distances are Euclidean on the flattened images)."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie in (0, 1); got {quantile}")
    s, t, h = (_as_tensor(a).double().flatten(1) for a in (samples, train, heldout))
    if not (s.shape[1] == t.shape[1] == h.shape[1]):
        raise ValueError(f"samples, train and heldout must have the same size per item; got {s.shape[1]}, "
                         f"{t.shape[1]}, {h.shape[1]}")
    ds, dh = _nearest_distances(s, t), _nearest_distances(h, t)
    threshold = float(torch.quantile(dh, quantile))
    return Memorisation(rate=float((ds < threshold).double().mean()), quantile=quantile, threshold=threshold,
                        median_ratio=float(ds.median() / dh.median()), n_samples=s.shape[0], n_train=t.shape[0],
                        n_heldout=h.shape[0])
