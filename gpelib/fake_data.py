"""Small stand-ins for the paper profile's data sets, written in each one's real on-disk layout.

The ``paper`` profile reads MNIST (IDX files), CIFAR10 (python pickle batches), CelebA, CelebA-HQ and Tiny ImageNet
(JPEG folders) from disk; none of them may be downloaded here. :func:`write_fake_datasets` writes a few hundred
images in exactly the layouts :mod:`gpelib.data` reads, so that a dry run of the paper profile
(``reproduce/dry_run.py``) goes through every loader. The MNIST stand-in holds real digits (the packaged ones,
:func:`gpelib.data.load_mnist_5k`); the others are class-coloured noise (labelled sets: a class is a colour and a
blob position, so a classifier has something to learn) — their results mean nothing.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FakeSizes", "write_fake_datasets", "write_idx", "write_mnist", "write_cifar10", "write_jpegs"]


@dataclass(frozen=True)
class FakeSizes:
    """How many images each fake data set holds (the real ones: MNIST 60,000 + 10,000; CIFAR10 5 × 10,000 +
    10,000; CelebA 202,599; CelebA-HQ 30,000; Tiny ImageNet 200 classes × 500)."""

    mnist_train: int = 600
    mnist_test: int = 100
    cifar_per_batch: int = 60
    celeba: int = 96
    celeba_hq: int = 96
    tiny_classes: int = 4
    tiny_per_class: int = 40


def write_idx(path: Path, array: np.ndarray, magic: int) -> Path:
    """``array`` (uint8) as an IDX file: magic (big-endian int32), one big-endian int32 per dimension, the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())
    return path


def write_mnist(root: Path, n_train: int, n_test: int, *, seed: int = 0) -> Path:
    """``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (torchvision's layout) holding
    ``n_train + n_test`` packaged MNIST digits drawn at random (the packaged file is sorted by class), 28×28 uint8."""
    from .data import load_mnist_5k

    d = load_mnist_5k()
    if n_train + n_test > len(d):
        raise ValueError(f"the packaged digits hold {len(d)} images; asked for {n_train} + {n_test}")
    keep = np.random.default_rng(seed).permutation(len(d))[: n_train + n_test]
    pixels = ((d.images[keep, 0].numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    labels = d.labels.numpy()[keep].astype(np.uint8)
    raw = root / "MNIST" / "raw"
    for prefix, sl in (("train", slice(0, n_train)), ("t10k", slice(n_train, n_train + n_test))):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels[sl], 2051)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[sl], 2049)
    return raw


def _class_images(n: int, size: int, classes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(n, size, size, 3)`` uint8 and labels: class k is a colour and a bright square at a class-dependent place,
    on noise."""
    labels = rng.integers(0, classes, n)
    palette = rng.integers(40, 216, (classes, 3))
    img = rng.normal(0, 30, (n, size, size, 3)) + palette[labels][:, None, None, :]
    side = max(2, size // 4)
    for i, k in enumerate(labels):
        r, c = divmod(int(k) % 9, 3)
        y, x = r * (size - side) // 2, c * (size - side) // 2
        img[i, y : y + side, x : x + side] += 60
    return img.clip(0, 255).astype(np.uint8), labels


def write_cifar10(root: Path, per_batch: int, *, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py/{data_batch_1..5, test_batch}``: pickled dicts with ``b"data"`` (uint8
    ``(N, 3072)``, the red plane, then green, then blue) and ``b"labels"`` (a list of ints), as in the real batches."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        img, labels = _class_images(per_batch, 32, 10, rng)
        batch = {b"batch_label": name.encode(), b"labels": [int(k) for k in labels],
                 b"data": img.transpose(0, 3, 1, 2).reshape(per_batch, 3072),
                 b"filenames": [f"fake_{i}.png".encode() for i in range(per_batch)]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    return folder


def write_jpegs(folder: Path, names: list[str], width: int, height: int, *, classes: int = 5, seed: int = 0) -> Path:
    """One ``width × height`` JPEG per name in ``folder`` (names may hold sub-folders)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    img, _ = _class_images(len(names), max(width, height), classes, rng)
    for a, name in zip(img, names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a[:height, :width]).save(path, quality=90)
    return folder


def write_fake_datasets(root: str | Path, sizes: FakeSizes | None = None, *, seed: int = 0) -> dict[str, Path]:
    """Every paper-profile data set under ``root``, in the layout :func:`gpelib.data.load_dataset` reads from a data
    root: ``MNIST/raw/…``, ``cifar-10-batches-py/…``, ``celeba/img_align_celeba/*.jpg`` (178×218, as CelebA's
    aligned crops), ``celeba_hq/*.jpg`` (320×320; the real ones are 1024×1024), and
    ``tiny-imagenet-200/train/<wnid>/images/*.JPEG`` (64×64). Returns each data set's folder."""
    s = sizes or FakeSizes()
    root = Path(root).expanduser()
    wnids = [f"n{9000000 + k:08d}" for k in range(s.tiny_classes)]
    tiny = [f"{w}/images/{w}_{i}.JPEG" for w in wnids for i in range(s.tiny_per_class)]
    return {
        "mnist": write_mnist(root, s.mnist_train, s.mnist_test, seed=seed),
        "cifar10": write_cifar10(root, s.cifar_per_batch, seed=seed),
        "celeba": write_jpegs(root / "celeba" / "img_align_celeba", [f"{i:06d}.jpg" for i in range(1, s.celeba + 1)],
                              178, 218, seed=seed + 1),
        "celeba_hq": write_jpegs(root / "celeba_hq", [f"{i:05d}.jpg" for i in range(s.celeba_hq)], 320, 320,
                                 seed=seed + 2),
        "tiny_imagenet": write_jpegs(root / "tiny-imagenet-200" / "train", tiny, 64, 64, seed=seed + 3),
    }
