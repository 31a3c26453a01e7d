"""Fréchet distances against closed forms, mode-coverage statistics, the FD-classifier, Inception's local weights."""

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.datasets import load_digits

from gpelib import features, metrics
from gpelib.metrics import (
    INCEPTION_WEIGHTS_FILE,
    ClassifierFeatures,
    FeatureStats,
    FrechetScore,
    InceptionFeatures,
    WeightsNotFoundError,
    class_counts,
    default_feature_extractor,
    feature_stats,
    frechet_distance,
    frechet_distance_from_features,
    frechet_score,
    gaussian_stats,
    mode_coverage,
    relative_std,
    train_classifier,
    wasserstein2_exact,
)


def random_spd(f, rng, rank=None):
    a = rng.standard_normal((f, rank or f))
    return a @ a.T / f + (0 if rank else 0.1 * np.eye(f))


# ------------------------------------------------------------------ Fréchet distance


def test_commuting_covariances_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    m1, m2 = rng.standard_normal(6), rng.standard_normal(6)
    want = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(want, rel=1e-10)


def test_non_commuting_pair_matches_sqrtm():
    rng = np.random.default_rng(1)
    s1, s2 = random_spd(8, rng), random_spd(8, rng)
    m1, m2 = rng.standard_normal(8), rng.standard_normal(8)
    assert not np.allclose(s1 @ s2, s2 @ s1)
    root = scipy.linalg.sqrtm(s1 @ s2)  # independent float64 route (called without ``disp``, gone in SciPy 1.18)
    root = root[0] if isinstance(root, tuple) else root
    want = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real
    got = frechet_distance(m1, s1, m2, s2)
    assert got == pytest.approx(want, rel=1e-8)
    assert got == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-10)  # symmetric
    # accepts torch tensors too
    assert frechet_distance(*(torch.as_tensor(v) for v in (m1, s1, m2, s2))) == pytest.approx(got, rel=1e-10)


def test_identical_statistics_give_zero():
    rng = np.random.default_rng(2)
    s, m = random_spd(20, rng), rng.standard_normal(20)
    assert abs(frechet_distance(m, s, m, s)) < 1e-8


def test_rank_deficient_covariance_is_finite_and_non_negative():
    rng = np.random.default_rng(3)
    s1, s2 = random_spd(16, rng, rank=3), random_spd(16, rng, rank=5)
    m = np.zeros(16)
    for a, b in [(s1, s2), (s1, s1), (s2, s1)]:
        d = frechet_distance(m, a, m, b)
        assert math.isfinite(d) and d >= 0
    assert frechet_distance(m, s1, m, s1) < 1e-8


def test_errors_on_nan_and_shape_mismatch():
    m, s = np.zeros(3), np.eye(3)
    bad = s.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(m, bad, m, s)
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.array([0, np.inf, 0]), s, m, s)
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(m, s, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="shape"):
        frechet_distance(m, np.eye(2), m, s)


def test_gaussian_stats_and_features():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((50, 3))
    mu, sigma = gaussian_stats(f)
    assert mu.dtype == np.float64 and np.allclose(sigma, np.cov(f.T, ddof=1))
    g = f + np.array([1.0, 0.0, 0.0])
    assert frechet_distance_from_features(f, g) == pytest.approx(1.0, rel=1e-10)  # a pure shift


def test_wasserstein2_exact_on_a_shift_and_a_permutation():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((40, 2))
    assert wasserstein2_exact(a, a[rng.permutation(40)]) == pytest.approx(0.0, abs=1e-7)
    assert wasserstein2_exact(a, a + np.array([3.0, 4.0])) == pytest.approx(5.0, rel=1e-9)


# ------------------------------------------------------------------ mode coverage (GMEGAN §6.3)


def test_relative_std_and_counts():
    assert relative_std([10, 10, 10]) == 0.0
    c = np.array([3.0, 10.0, 0.0, 7.0])
    mean = c.sum() / 4
    by_hand = math.sqrt(((c - mean) ** 2).sum() / 3) / mean
    assert relative_std(c) == pytest.approx(by_hand, rel=1e-12)
    assert class_counts([0, 2, 2, 4, 4, 4], 6).tolist() == [1, 0, 2, 0, 3, 0]
    assert mode_coverage([0, 2, 2, 4, 4, 4], 6) == 3
    assert mode_coverage([0, 2, 2, 4, 4, 4], 6, min_count=2) == 2
    with pytest.raises(ValueError):
        class_counts([0, 7], 6)
    with pytest.raises(ValueError):
        relative_std([0, 0, 0])


# ------------------------------------------------------------------ FD-classifier on the 8×8 digits


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    x = (torch.tensor(d.images, dtype=torch.float32) / 16.0 * 2 - 1)[:, None]
    return x, torch.tensor(d.target)


@pytest.fixture(scope="module")
def classifier(digits, tmp_path_factory):
    x, y = digits
    cache = tmp_path_factory.mktemp("clf")
    return ClassifierFeatures.load_or_train(cache, x, y, tag="digits", epochs=8, seed=0, device="cpu"), cache


def test_classifier_accuracy_name_and_shapes(classifier, digits):
    clf, _ = classifier
    x, y = digits
    assert clf.name == "FD-classifier" and "FID" not in clf.name
    assert clf.test_accuracy > 0.85
    f = clf.features(x[:10])
    assert f.shape == (10, 128) and np.isfinite(f).all()
    assert clf.predict(x[:10]).shape == (10,)
    with pytest.raises(ValueError, match="shape"):
        clf.features(torch.zeros(2, 3, 8, 8))


def test_classifier_cache_round_trip(classifier, digits, monkeypatch):
    clf, cache = classifier
    x, y = digits

    def no_training(*a, **k):
        raise AssertionError("should have loaded the cached classifier")

    monkeypatch.setattr(features, "train_classifier", no_training)  # load_or_train lives in gpelib.features
    again = ClassifierFeatures.load_or_train(cache, x, y, tag="digits", epochs=8, seed=0, device="cpu")
    assert again.cache_path == clf.cache_path and again.test_accuracy == clf.test_accuracy
    np.testing.assert_array_equal(again.features(x[:50]), clf.features(x[:50]))
    with pytest.raises(AssertionError, match="cached"):  # other settings: another cache entry
        ClassifierFeatures.load_or_train(cache, x, y, tag="digits", epochs=9, seed=0, device="cpu")


def test_fd_between_real_halves_is_far_below_real_vs_noise(classifier, digits):
    clf, _ = classifier
    x, _ = digits
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    a, b = x[perm[:800]], x[perm[800:1600]]
    noise = torch.rand(800, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    real = feature_stats(clf, a)
    same = frechet_score(clf, real, b)
    other = frechet_score(clf, real, noise)
    assert isinstance(same, FrechetScore) and isinstance(real, FeatureStats)
    assert same.metric == "FD-classifier" and (same.n_real, same.n_fake) == (800, 800)
    assert "classifier" in same.extractor
    assert 0 <= same.value < 0.1 * other.value
    assert frechet_score(clf, a, b).value == pytest.approx(same.value, rel=1e-9)


def test_classifier_on_vectors():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 5.0], [5.0, 0.0], [0.0, -5.0], [-5.0, 0.0]])
    k = torch.randint(0, 4, (600,), generator=g)
    pts = centres[k] + 0.5 * torch.randn(600, 2, generator=g)
    clf = train_classifier(pts, k, epochs=10, seed=0, device="cpu")
    assert clf.test_accuracy > 0.95 and clf.features(pts).shape == (600, 128)
    pred = clf.predict(pts[:200])
    assert mode_coverage(pred, 4) == 4 and relative_std(class_counts(pred, 4)) < 0.3


def test_default_extractor_without_weights_is_the_classifier(digits, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    x, y = digits
    ext = default_feature_extractor(x[:400], y[:400], cache_dir=tmp_path / "c", epochs=2)
    assert isinstance(ext, ClassifierFeatures) and ext.name == "FD-classifier"
    out = capsys.readouterr().out
    assert "FD-classifier" in out and "accuracy" in out
    # the width reaches the classifier and its cache key: a width-16 one is a second, narrower network
    narrow = default_feature_extractor(x[:400], y[:400], cache_dir=tmp_path / "c", epochs=2, width=16, verbose=False)
    assert narrow.net.config["width"] == 16 and ext.net.config["width"] == 32
    assert narrow.cache_path != ext.cache_path and narrow.net.body[0].out_channels == 16


# ------------------------------------------------------------------ Inception: local weights only


def test_inception_missing_weights_names_the_expected_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    with pytest.raises(WeightsNotFoundError) as e:
        InceptionFeatures()
    assert str(expected) in str(e.value) and e.value.paths == [expected]
    assert isinstance(e.value, FileNotFoundError)


def test_inception_explicit_missing_path_errors(tmp_path):
    missing = tmp_path / "nowhere" / "fid.pth"
    with pytest.raises(WeightsNotFoundError, match="nowhere"):
        InceptionFeatures(weights_path=missing)
    with pytest.raises(WeightsNotFoundError, match="nowhere"):
        default_feature_extractor(torch.zeros(4, 1, 8, 8), torch.arange(4), cache_dir=tmp_path, weights_path=missing)


@pytest.fixture(scope="module")
def fake_fid_weights(tmp_path_factory):
    """A randomly initialised state dict with the keys and shapes of the real FID weights, in a TORCH_HOME."""
    torch_home = tmp_path_factory.mktemp("torch_home")
    path = torch_home / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        torch.save(metrics.fid_inception_v3().state_dict(), path)
    return torch_home


def _no_network(monkeypatch):
    import socket
    import urllib.request

    import pytorch_fid.inception

    def refuse(*a, **k):
        raise AssertionError("tried the network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(pytorch_fid.inception, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_inception_features_from_local_weights_only(fake_fid_weights, monkeypatch, tmp_path):
    _no_network(monkeypatch)
    monkeypatch.setenv("TORCH_HOME", str(fake_fid_weights))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every parameter found: no "missing" warning
        ext = InceptionFeatures(device="cpu")
    assert ext.name == "FID" and ext.weights_path.parent == fake_fid_weights / "hub" / "checkpoints"
    assert not ext.missing_keys and ext.unexpected_keys == []  # the classifier (fc) keys are dropped, not unexpected
    gray = torch.rand(2, 1, 16, 16) * 2 - 1
    f = ext(gray)
    assert f.shape == (2, 2048) and np.isfinite(f).all() and np.abs(f).max() > 0
    np.testing.assert_array_equal(ext(gray.expand(-1, 3, -1, -1)), f)  # grayscale = the same image in 3 channels
    # the default extractor picks it for images, and the classifier for data Inception cannot take
    chosen = default_feature_extractor(gray, None, cache_dir=tmp_path, verbose=False)
    assert isinstance(chosen, InceptionFeatures)
    with pytest.raises(ValueError, match="labels"):
        default_feature_extractor(torch.zeros(4, 5), None, cache_dir=tmp_path, verbose=False)


def test_inception_rejects_a_file_that_is_not_the_fid_network(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"something.else": torch.zeros(3)}, bad)
    with pytest.raises(ValueError, match="matched none"):
        InceptionFeatures(weights_path=bad)


def test_train_classifier_is_seeded_and_leaves_the_global_rng_alone(digits):
    x, y = digits
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train_classifier(x[:300], y[:300], epochs=2, seed=4, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)
    b = train_classifier(x[:300], y[:300], epochs=2, seed=4, device="cpu")
    assert a.test_accuracy == b.test_accuracy and 0 <= a.test_accuracy <= 1
    np.testing.assert_array_equal(a.features(x[:20]), b.features(x[:20]))
    assert not a.net.training
    no_val = train_classifier(x[:100], y[:100], epochs=1, val_fraction=0.0, device="cpu")
    assert math.isnan(no_val.test_accuracy)


# ---------------------------------------------------------------- small-sample checks (KID, PRDC, memorisation)


def _mmd2_unbiased(a: np.ndarray, b: np.ndarray, degree: int = 3) -> float:
    """Re-derivation: MMD²_u = mean_{i≠j} k(a_i,a_j) + mean_{i≠j} k(b_i,b_j) − 2 mean_{i,j} k(a_i,b_j)."""
    k = lambda x, y: (x @ y.T / a.shape[1] + 1.0) ** degree
    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    n, m = len(a), len(b)
    return ((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
            - 2 * kab.mean())


def test_kernel_distance_is_the_unbiased_polynomial_mmd():
    r = np.random.default_rng(1)
    a, b = r.normal(size=(60, 5)), r.normal(size=(45, 5)) + 0.3
    assert metrics.kernel_distance(a, b) == pytest.approx(_mmd2_unbiased(a, b), rel=1e-9)
    assert metrics.kernel_distance(a, b) == pytest.approx(metrics.kernel_distance(b, a), rel=1e-9)


def test_kernel_distance_is_centred_on_zero_for_one_distribution_and_positive_for_two():
    r = np.random.default_rng(2)
    same = np.array([metrics.kernel_distance(r.normal(size=(40, 4)), r.normal(size=(30, 4))) for _ in range(300)])
    assert abs(same.mean()) < 3 * same.std(ddof=1) / math.sqrt(len(same))  # unbiased: E = 0 at n = 40 / 30
    assert (same < 0).any()  # and therefore sometimes negative
    shifted = metrics.kernel_distance(r.normal(size=(40, 4)), r.normal(size=(30, 4)) + 1.0)
    assert shifted > 10 * same.std(ddof=1)


def test_kid_over_subsets_agrees_with_the_full_estimate_and_its_spread_shrinks_with_the_subset():
    r = np.random.default_rng(4)
    a, b = r.normal(size=(80, 5)), r.normal(size=(60, 5)) + 0.4
    # one subset of every point of each set (in another order) is the full-sample estimate: the U-statistic is
    # invariant to the order of the points
    mean, std = metrics.kid_subsets(a, b, n_subsets=1, subset_size=60)
    assert std == 0.0
    assert metrics.kid_subsets(a[:60], b, n_subsets=1, subset_size=60)[0] == pytest.approx(
        metrics.kernel_distance(a[:60], b), rel=1e-9)
    # many subsets: their mean estimates the same MMD² (unbiased at every size), their spread is larger for smaller
    # subsets, and the draws are seeded
    m20, s20 = metrics.kid_subsets(a, b, n_subsets=200, subset_size=20, seed=1)
    m40, s40 = metrics.kid_subsets(a, b, n_subsets=200, subset_size=40, seed=1)
    full = metrics.kernel_distance(a, b)
    assert abs(m20 - full) < 4 * s20 / math.sqrt(200) and abs(m40 - full) < 4 * s40 / math.sqrt(200)
    assert s20 > s40 > 0
    assert metrics.kid_subsets(a, b, n_subsets=200, subset_size=20, seed=1) == (m20, s20)
    with pytest.raises(ValueError, match="subset_size"):
        metrics.kid_subsets(a, b, subset_size=61)


def test_prdc_limits():
    r = np.random.default_rng(3)
    real = r.normal(size=(200, 6))
    assert metrics.precision_recall_density_coverage(real, real.copy(), nearest_k=5)["coverage"] == 1.0
    far = metrics.precision_recall_density_coverage(real, real + 100.0, nearest_k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    collapsed = metrics.precision_recall_density_coverage(real, np.repeat(real[:1], 200, 0), nearest_k=5)
    assert collapsed["precision"] == 1.0 and collapsed["coverage"] < 0.1  # faithful but not diverse
    with pytest.raises(ValueError, match="nearest_k"):
        metrics.precision_recall_density_coverage(real[:5], real[:5], nearest_k=5)


def test_sample_quality_needs_reference_features(classifier, digits):
    classifier, x = classifier[0], digits[0]
    with pytest.raises(ValueError, match="keep=True"):
        metrics.sample_quality(classifier, metrics.feature_stats(classifier, x[:200]), x[200:400])
    q = metrics.sample_quality(classifier, metrics.feature_stats(classifier, x[:300], keep=True), x[300:600])
    assert (q.n_real, q.n_fake) == (300, 300) and q.metric == "FD-classifier"
    assert 0.0 <= q.precision <= 1.0 and 0.0 <= q.coverage <= 1.0 and q.fd >= 0.0
    noise = metrics.sample_quality(classifier, metrics.feature_stats(classifier, x[:300], keep=True),
                                   torch.rand(300, *x.shape[1:]) * 2 - 1)
    assert noise.fd > q.fd and noise.kid > q.kid and noise.precision < q.precision


def test_memorisation_flags_copies_and_not_fresh_draws():
    g = torch.Generator().manual_seed(0)
    train, held = torch.randn(400, 1, 4, 4, generator=g), torch.randn(300, 1, 4, 4, generator=g)
    copies = metrics.memorisation(train[:100] + 1e-3 * torch.randn(100, 1, 4, 4, generator=g), train, held)
    assert copies.rate == 1.0 and copies.median_ratio < 0.01
    fresh = metrics.memorisation(held, train, held, quantile=0.1)  # the calibration set itself: rate = quantile
    assert fresh.rate == pytest.approx(0.1, abs=1 / 300) and fresh.median_ratio == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same size"):
        metrics.memorisation(torch.randn(5, 3), train, held)


def test_wasserstein1_exact_on_a_shift():
    a = np.random.default_rng(8).normal(size=(30, 3))
    assert metrics.wasserstein1_exact(a, a + np.array([3.0, 4.0, 0.0])) == pytest.approx(5.0, rel=1e-9)
    assert metrics.wasserstein1_exact(a, a[::-1]) == pytest.approx(0.0, abs=1e-7)
