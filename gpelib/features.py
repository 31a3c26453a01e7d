"""Feature extractors for the generation metrics: the networks that map samples to feature vectors (SPEC §1 "Metrics").

* :class:`FeatureExtractor` — the interface: ``images (N, C, H, W) in [−1, 1] → np.ndarray (N, F)``, batched.
* :class:`InceptionFeatures` (the standard FID network, **local weights only**; score name ``"FID"``):
  :func:`find_inception_weights`, :func:`fid_inception_v3`, :class:`WeightsNotFoundError`.
* :class:`ClassifierFeatures` (a small classifier gpelib trains on the real labelled data; score name
  ``"FD-classifier"``, never ``"FID"``): :class:`ClassifierNet`, :func:`train_classifier`, and its cache
  (:meth:`ClassifierFeatures.load_or_train`).
* :func:`default_feature_extractor` picks one.

The scores computed on these features are in :mod:`gpelib.metrics`, which re-exports every name here.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoint import checkpoint_exists, content_hash, load_checkpoint, save_checkpoint
from .models import MLP
from .train_setup import TrainConfig, adam
from .training_loop import fit, resolve_device

__all__ = [
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
]

log = logging.getLogger(__name__)

ArrayLike = np.ndarray | Tensor


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
