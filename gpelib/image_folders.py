"""Folders of image files: CelebA, CelebA-HQ, Tiny ImageNet and your own images, decoded with PIL (centre square
crop, resize) into :class:`~gpelib.datasets.ImageData` ``(N, 3, size, size)`` in ``[-1, 1]``.

Only ever read from a local folder — nothing is downloaded; a missing or empty folder raises
:class:`~gpelib.datasets.DatasetNotFoundError` with the layout it expects, an unreadable image
:class:`~gpelib.datasets.DatasetFormatError`. Every name is re-exported by :mod:`gpelib.data`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .datasets import _ROOT_HINT, DatasetFormatError, DatasetNotFoundError, ImageData, _to_unit_range

__all__ = [
    "IMAGE_SUFFIXES",
    "load_image_folder",
    "load_celeba",
    "load_celeba_hq",
    "load_tiny_imagenet",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


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
