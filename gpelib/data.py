"""Datasets by name: the entry point :func:`load_dataset` (and :func:`load_splits`) and the synthetic Gaussian mixtures.

Everything returns plain tensors (the trainer indexes them directly; there is no DataLoader here):

* :func:`gaussian_mixture` — a :class:`Mixture` of Gaussians in ``R^dim`` whose centres lie in the first two
  coordinates (GPE Fig. 3, GMEGAN Figs. 4–5), with helpers to classify generated samples.
* :func:`load_dataset` (by name or folder, with a fixed seeded held-out split) over the loaders of
  :mod:`gpelib.datasets` — :class:`ImageData` (images ``(N, C, H, W)`` float32 in ``[-1, 1]``, optional labels, a
  seeded held-out split), :func:`load_digits` (ships with scikit-learn), :func:`load_mnist_5k`, :func:`load_mnist`,
  :func:`load_cifar10` — and of :mod:`gpelib.image_folders` — :func:`load_image_folder` (CelebA, CelebA-HQ, your
  own images), :func:`load_tiny_imagenet`. Every loader's name is re-exported here.

Real datasets are only ever read from a local folder — nothing is downloaded. A missing dataset raises
:class:`DatasetNotFoundError` printing the folder tree that was expected; a file that exists but cannot be
parsed raises :class:`DatasetFormatError` naming the file and what was expected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .datasets import (
    MNIST_5K_HELD_OUT,
    DatasetFormatError,
    DatasetNotFoundError,
    ImageData,
    load_cifar10,
    load_digits,
    load_mnist,
    load_mnist_5k,
    mnist_5k_path,
    read_idx,
)
from .image_folders import IMAGE_SUFFIXES, load_celeba, load_celeba_hq, load_image_folder, load_tiny_imagenet

__all__ = [
    "Mixture",
    "gaussian_mixture",
    "ImageData",
    "DatasetNotFoundError",
    "DatasetFormatError",
    "load_digits",
    "read_idx",
    "load_mnist",
    "load_cifar10",
    "load_image_folder",
    "load_celeba",
    "load_celeba_hq",
    "load_tiny_imagenet",
    "load_mnist_5k",
    "load_dataset",
    "load_splits",
    "held_out_size",
    "HELD_OUT",
    "default_data_root",
    "DATASETS",
    "IMAGE_SUFFIXES",
    "MNIST_5K_HELD_OUT",
    "mnist_5k_path",
]


# --------------------------------------------------------------------------------------------------------------
# Gaussian mixtures
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Mixture:
    """Samples of an equal-weight Gaussian mixture in ``R^dim`` with centres in the first two coordinates.

    ``x``: ``(n, dim)`` float32; ``labels``: ``(n,)`` int64 mode indices; ``centres``: ``(n_modes, dim)`` float32
    (zero beyond the first two coordinates); covariance ``diag(std_major², std_major², std_minor², …)``.
    """

    x: Tensor
    labels: Tensor
    centres: Tensor
    std_major: float
    std_minor: float
    layout: str = "grid"

    @property
    def n_modes(self) -> int:
        return int(self.centres.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centres.shape[1])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def _plane_dists(self, points: Tensor) -> Tensor:
        """Distances ``(m, n_modes)`` from ``points[:, :2]`` to the centres in the first two coordinates."""
        points = torch.as_tensor(points)
        if points.ndim != 2 or points.shape[1] < 2:
            raise ValueError(f"points must have shape (m, >=2), got {tuple(points.shape)}")
        p = points[:, :2].detach().to(device="cpu", dtype=torch.float64)
        return torch.cdist(p, self.centres[:, :2].to(torch.float64))

    def assign(self, points: Tensor) -> Tensor:
        """Index ``(m,)`` int64 of the nearest centre to each point, measured in the first two coordinates."""
        return self._plane_dists(points).argmin(dim=1)

    def is_high_quality(self, points: Tensor, n_std: float = 3.0) -> Tensor:
        """Bool ``(m,)``: the point lies within ``n_std·std_major`` of its nearest centre (first two coords)."""
        return self._plane_dists(points).min(dim=1).values <= n_std * self.std_major

    def sample(self, n: int, seed: int = 0) -> Mixture:
        """Fresh ``n`` points from the same mixture (same centres and covariance), seeded."""
        x, labels = _draw_mixture(self.centres.numpy().astype(np.float64), n, self.std_major, self.std_minor, seed)
        return Mixture(x, labels, self.centres, self.std_major, self.std_minor, self.layout)


def _mixture_centres(n_modes: int, dim: int, layout: str, spacing: float) -> np.ndarray:
    """Centres ``(n_modes, dim)`` in the plane of the first two coordinates, centred on the origin."""
    plane = np.zeros((n_modes, 2))
    if layout == "grid":
        cols = math.ceil(math.sqrt(n_modes))
        rows = math.ceil(n_modes / cols)
        idx = np.arange(n_modes)
        plane[:, 0] = (idx % cols - (cols - 1) / 2) * spacing
        plane[:, 1] = (idx // cols - (rows - 1) / 2) * spacing
    elif n_modes > 1:  # ring: chord between neighbours = 2 r sin(π/K) = spacing
        radius = spacing / (2.0 * math.sin(math.pi / n_modes))
        angles = 2.0 * math.pi * np.arange(n_modes) / n_modes
        plane[:, 0] = radius * np.cos(angles)
        plane[:, 1] = radius * np.sin(angles)
    centres = np.zeros((n_modes, dim))
    centres[:, :2] = plane
    return centres


def _draw_mixture(centres: np.ndarray, n: int, std_major: float, std_minor: float, seed: int) -> tuple[Tensor, Tensor]:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    k, dim = centres.shape
    labels = rng.integers(0, k, size=n)
    std = np.full(dim, std_minor)
    std[:2] = std_major
    x = centres[labels] + rng.standard_normal((n, dim)) * std
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))


def gaussian_mixture(
    n: int,
    *,
    n_modes: int = 9,
    dim: int = 100,
    layout: str = "auto",
    spacing: float = 4.0,
    var_major: float = 0.3,
    var_minor: float = 0.003,
    seed: int = 0,
) -> Mixture:
    """Draw ``n`` points of an equal-weight mixture of ``n_modes`` Gaussians in ``R^dim`` (SPEC §2, notebook 01).

    Covariance is diagonal: ``var_major`` on the first two coordinates, ``var_minor`` on the rest. The centres
    lie in the first two coordinates: ``layout="grid"`` on a near-square grid (9 → 3×3) with step ``spacing``,
    ``"ring"`` on a circle whose neighbouring centres are ``spacing`` apart, ``"auto"`` = grid when ``n_modes``
    is a perfect square, else ring (12 → ring). The centres do not depend on ``seed``; the draw does.
    """
    if n_modes < 1:
        raise ValueError(f"n_modes must be >= 1, got {n_modes}")
    if dim < 2:
        raise ValueError(f"dim must be >= 2 (centres live in the first two coordinates), got {dim}")
    if var_major <= 0 or var_minor <= 0 or spacing < 0:
        raise ValueError(f"need var_major > 0, var_minor > 0, spacing >= 0; got {var_major}, {var_minor}, {spacing}")
    if layout == "auto":
        layout = "grid" if math.isqrt(n_modes) ** 2 == n_modes else "ring"
    if layout not in ("grid", "ring"):
        raise ValueError(f"layout must be 'auto', 'grid' or 'ring', got {layout!r}")
    centres = _mixture_centres(n_modes, dim, layout, spacing)
    std_major, std_minor = math.sqrt(var_major), math.sqrt(var_minor)
    x, labels = _draw_mixture(centres, n, std_major, std_minor, seed)
    return Mixture(x, labels, torch.from_numpy(centres.astype(np.float32)), std_major, std_minor, layout)


# --------------------------------------------------------------------------------------------------------------
# By name
# --------------------------------------------------------------------------------------------------------------


def default_data_root() -> Path:
    """``$GPE_DATA_ROOT`` if set, else ``~/data``."""
    env = os.environ.get("GPE_DATA_ROOT")
    return Path(env).expanduser() if env else Path.home() / "data"


def _folder(root: Path, **kw: Any) -> ImageData:
    kw.setdefault("name", root.name or "images")
    return load_image_folder(root, **kw)


# name → loader(root, **kw); the root handed over is the data root (or, for "folder", the folder itself).
DATASETS: dict[str, Callable[..., ImageData]] = {
    "digits": lambda root, **kw: load_digits(**kw),
    "mnist": lambda root, **kw: load_mnist(root, **kw),
    "mnist_5k": lambda root, **kw: load_mnist_5k(**kw),
    "cifar10": lambda root, **kw: load_cifar10(root, **kw),
    "celeba": lambda root, **kw: load_celeba(root / "celeba", **kw),
    "celeba_hq": lambda root, **kw: load_celeba_hq(root / "celeba_hq", **kw),
    "tiny_imagenet": lambda root, **kw: load_tiny_imagenet(root, **kw),
    "folder": _folder,
}


#: The fixed held-out size of each dataset's split (:func:`load_dataset` with ``split=``); others: 10 %, ≤ 10,000.
HELD_OUT: dict[str, int] = {"digits": 300, "mnist_5k": MNIST_5K_HELD_OUT, "mnist": 10000, "cifar10": 10000,
                            "tiny_imagenet": 10000}
SPLITS = ("all", "train", "held_out")


def held_out_size(name: str, n: int) -> int:
    """The held-out size of dataset ``name`` with ``n`` images: :data:`HELD_OUT`, else 10 % (at most 10,000); always
    leaves at least one training image."""
    k = HELD_OUT.get(name.strip().lower().replace("-", "_"), min(10000, max(1, n // 10)))
    return max(1, min(k, n - 1))


def load_dataset(name: str | Path, root: str | Path | None = None, *, split: str = "all", n_val: int | None = None,
                 seed: int = 0, **kw: Any) -> ImageData:
    """One entry point for every dataset: images ``(N, C, H, W)`` in ``[−1, 1]``, labels if the dataset has them.

    ``name``: a dataset name (``digits``, ``mnist_5k`` (packaged: nothing to download), ``mnist``, ``cifar10``,
    ``celeba``, ``celeba_hq``, ``tiny_imagenet``) or **a folder of images** (any path that is a directory; 64×64
    unless ``size=``). ``root`` (named datasets) defaults to :func:`default_data_root`; layouts:
    ``root/MNIST/raw/…``, ``root/cifar-10-batches-py/…``, ``root/celeba/img_align_celeba/*.jpg``,
    ``root/celeba_hq/*``. ``split``: ``"all"`` (every image), or ``"train"`` / ``"held_out"`` — the two parts of one
    fixed seeded split (:meth:`ImageData.split` with ``n_val`` held out, default :func:`held_out_size`, and
    ``seed``), the same on every call. Extra keywords go to the loader (e.g. ``train=False``, ``size=32``,
    ``limit=1000``). A missing dataset raises :class:`DatasetNotFoundError` naming the folder layout it expects.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    path = Path(name).expanduser()
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASETS or key == "folder":
        if path.is_dir() or key == "folder":
            folder = path if key != "folder" else (Path(root).expanduser() if root is not None else None)
            if folder is None:
                raise ValueError("dataset 'folder' needs the folder as root=…; or pass the folder's path as the name")
            images = _folder(folder, **kw)
        elif path.exists() or "/" in str(name):
            raise DatasetNotFoundError(f"Image folder {str(name)!r}", path,
                                       [f"{path}/<any name>.png|.jpg|.jpeg   (a directory; sub-folders are searched)"])
        else:
            names = ", ".join(sorted(k for k in DATASETS if k != "folder"))
            raise ValueError(f"unknown dataset {str(name)!r}: neither a dataset name ({names}) nor an existing "
                             "folder of images")
    else:
        base = default_data_root() if root is None else Path(root).expanduser()
        images = DATASETS[key](base, **kw)
    if split == "all":
        return images
    train, held = images.split(held_out_size(key, len(images)) if n_val is None else n_val, seed=seed)
    return train if split == "train" else held


def load_splits(name: str | Path, root: str | Path | None = None, *, n_val: int | None = None, seed: int = 0,
                **kw: Any) -> tuple[ImageData, ImageData]:
    """``(train, held_out)`` of :func:`load_dataset`'s fixed split, loading the data once."""
    images = load_dataset(name, root, **kw)
    key = str(name).strip().lower().replace("-", "_")
    return images.split(held_out_size(key, len(images)) if n_val is None else n_val, seed=seed)
