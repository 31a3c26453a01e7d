"""The paper profile's dry run (issue 13): its settings transform, the fake data sets in every real layout, and the
folders it keeps to itself. The dry run itself (every notebook) is `make test-paper` (reproduce/dry_run.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpelib import data, fake_data, profiles, reporting
from gpelib.gan import experiments as gx


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("notebook", sorted(profiles.NOTEBOOKS))
def test_every_integer_setting_has_a_dry_run_rule(notebook, profile):
    """A new budget in a preset cannot slip through a dry run at full size: dry_run raises on an unruled setting."""
    profiles.dry_run(profiles.preset(notebook, profile))


def test_unruled_settings_are_refused():
    with pytest.raises(KeyError, match="new_budget"):
        profiles.dry_run({"iterations": 10, "nested": {"new_budget": 5000}})
    with pytest.raises(KeyError, match="steps_list"):
        profiles.dry_run({"steps_list": [100, 200]})


def _walk(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, path)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield (*path, f.name), getattr(value, f.name)
    else:
        yield path, value


@pytest.mark.parametrize("notebook", sorted(profiles.NOTEBOOKS))
def test_paper_dry_run_shrinks_budgets_and_keeps_what_a_run_is(notebook):
    d = profiles.DryRun()
    full, dry = profiles.preset(notebook, "paper"), profiles.dry_run(profiles.preset(notebook, "paper"), d)
    assert set(full) == set(dry)
    budgets = {"iterations", "encoder_iterations", "decoder_iterations", "flow_iterations", "vae_iterations",
               "encoder_cap", "units", "cap", "min_iteration"}
    for path, v in _walk(dry):
        key = path[-1] if path else None
        if key in budgets:
            assert 2 <= v <= d.max_iterations, (path, v)
        if key in ("n_val", "n_fake", "n_real", "n_counts", "n_eval", "n_track") or (key == "n" and notebook != "10"):
            assert v <= d.max_samples, (path, v)
        if key in ("batch", "flow_batch"):
            assert v <= d.max_batch
    if "seeds" in full:
        assert dry["seeds"] == list(full["seeds"])[:1]
    for key in ("archs", "latent", "betas", "eps", "arch", "hidden", "velocity"):  # what the run is: unchanged
        if key in full:
            assert dry[key] == full[key], key
    if notebook == "04":  # nested data sets: their sizes and loaders kept, the protocol's budget shrunk
        assert dry["datasets"] == full["datasets"]
        assert dry["protocol"]["decoder_iterations"] == d.max_iterations < full["protocol"]["decoder_iterations"]
    if notebook in ("08", "09"):
        specs = dry["datasets"] if notebook == "08" else [dry["dataset"]]
        fulls = full["datasets"] if notebook == "08" else [full["dataset"]]
        assert [(s.name, s.options) for s in specs] == [(s.name, s.options) for s in fulls]
        assert all(s.n_val == d.max_samples for s in specs)
        assert dry["min_iteration"] <= dry["cap"] < full["cap"] and dry["eval_every"] < full["eval_every"]
        assert 10 * dry["eval_every"] <= dry["cap"]  # two evaluations after the last fifth's start: a plateau to judge


def test_dry_run_scale_and_limits():
    s = {"vae_iterations": 300000, "eval_every": 1000, "flow_milestones": [5000, 10000, 25000, 50000]}
    out = profiles.dry_run(s, profiles.DryRun(scale=1e-4, max_iterations=4))
    assert out == {"vae_iterations": 4, "eval_every": 1, "flow_milestones": [2, 3, 4]}
    assert profiles.dry_run({"iterations": 10}, profiles.DryRun(scale=0.5))["iterations"] == 5
    assert profiles.dry_run({"iterations": 1}, profiles.DryRun(scale=0.5))["iterations"] == 2  # at least 2
    for bad in (dict(scale=0.0), dict(scale=2.0), dict(scale=float("nan")), dict(max_samples=0)):
        with pytest.raises(ValueError):
            profiles.DryRun(**bad)


def test_dry_run_from_the_environment(monkeypatch):
    monkeypatch.delenv("GPE_DRY_RUN", raising=False)
    assert profiles.dry_run_from_env() is None
    full = profiles.preset("06", "paper")
    monkeypatch.setenv("GPE_DRY_RUN", "1e-3")
    assert profiles.dry_run_from_env() == profiles.DryRun(scale=1e-3)
    assert profiles.preset("06", "paper") == profiles.dry_run(full)
    monkeypatch.setenv("GPE_DRY_RUN", "fast")
    with pytest.raises(ValueError, match="GPE_DRY_RUN"):
        profiles.preset("06", "paper")


def test_fake_datasets_load_in_every_real_layout(tmp_path):
    sizes = fake_data.FakeSizes(mnist_train=50, mnist_test=10, cifar_per_batch=7, celeba=5, celeba_hq=3,
                                tiny_classes=3, tiny_per_class=4)
    folders = fake_data.write_fake_datasets(tmp_path, sizes)
    assert sorted(folders) == ["celeba", "celeba_hq", "cifar10", "mnist", "tiny_imagenet"]
    m = data.load_dataset("mnist", tmp_path)
    assert m.images.shape == (50, 1, 28, 28) and len(set(m.labels.tolist())) > 3  # shuffled, not sorted by class
    assert data.load_mnist(tmp_path, train=False).images.shape == (10, 1, 28, 28)
    packaged = data.load_mnist_5k()  # every fake MNIST image is a packaged digit, to the byte
    flat = ((packaged.images.flatten(1) + 1) * 127.5).round()
    hit = (flat[None] == ((m.images[:3].flatten(1) + 1) * 127.5).round()[:, None]).all(-1).any(-1)
    assert hit.all()
    c = data.load_dataset("cifar10", tmp_path)
    assert c.images.shape == (35, 3, 32, 32) and c.labels.max() <= 9
    assert data.load_cifar10(tmp_path, train=False).images.shape == (7, 3, 32, 32)
    assert data.load_dataset("celeba", tmp_path, size=64).images.shape == (5, 3, 64, 64)
    assert data.load_dataset("celeba_hq", tmp_path, size=256).images.shape == (3, 3, 256, 256)
    t = data.load_dataset("tiny_imagenet", tmp_path, size=32)
    assert t.images.shape == (12, 3, 32, 32) and t.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_fake_cifar_classes_are_learnable(tmp_path):
    """Class-coloured images: the class means differ (a classifier in the dry run has something to fit)."""
    fake_data.write_cifar10(tmp_path, 200)
    c = data.load_cifar10(tmp_path)
    means = np.stack([c.images[c.labels == k].mean(0).numpy() for k in range(10)])
    gaps = np.abs(means[:, None] - means[None]).mean(axis=(2, 3, 4))
    assert gaps[~np.eye(10, dtype=bool)].min() > 0.05


def test_idx_writer_round_trips(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert (data.read_idx(fake_data.write_idx(tmp_path / "x", a, 2051), magic=2051) == a).all()


def test_runs_root_and_calibration_file_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("GPE_RUNS_DIR", raising=False)
    assert reporting.runs_root() == reporting.project_root() / "runs"
    monkeypatch.setenv("GPE_RUNS_DIR", str(tmp_path / "r"))
    assert reporting.runs_root() == tmp_path / "r"
    assert reporting.run_checkpoints("paper") == tmp_path / "r" / "paper" / "checkpoints" / "runs"
    monkeypatch.delenv("GPE_STEP_SECONDS", raising=False)
    assert gx.step_seconds_path() == gx.STEP_SECONDS
    monkeypatch.setenv("GPE_STEP_SECONDS", str(tmp_path / "none.csv"))
    with pytest.raises(FileNotFoundError, match="bench_gan.py --write"):
        gx.equal_time_iterations(["gmegan"], key="mlp 1x8x8 d=8 b=64", units=100)
