"""Notebooks 08–09's runs to their plateau (gpelib.gan.image_jobs): scores, floors, job grouping, batched against
single runs, and finished runs left out of a batch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from gpelib import profiles
from gpelib.gan import experiments as gx
from gpelib.gan import image_jobs as ij
from gpelib.metrics import ClassifierFeatures

pytestmark = pytest.mark.filterwarnings("ignore:FD-classifier with 100 samples")
SPEC = gx.ImageSpec(name="digits", n_val=100)
RUN = dict(arch="mlp", latent_dim=4, iterations=20, eval_every=5, batch_size=16, n_track=100, n_counts=150,
           best_k=2, n_grid=8)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    torch.manual_seed(0)
    train, _ = SPEC.load()
    clf = ClassifierFeatures.load_or_train(tmp_path_factory.mktemp("clf"), train.images[:400], train.labels[:400],
                                           epochs=1, tag="t")
    return str(clf.cache_path)


def test_image_scores_take_the_best_k_of_the_last_fifth():
    h = pd.DataFrame({"iteration": [0, 100, 200, 300, 400, 500], "fd": [90.0, 5.0, 30.0, 20.0, 25.0, 40.0],
                      "kid": [9.0, 0.5, 3.0, 2.0, 2.5, 4.0]})
    out = ij.image_scores(h, best_k=2)  # the last fifth: iterations ≥ 400 → fd 25 and 40 (5 at 100 is too early)
    assert out == {"fd": 32.5, "kid": 3.25, "fd_last": 40.0, "kid_last": 4.0, "scored_evaluations": 2.0}
    assert ij.image_scores(h, best_k=1, last=0.5)["fd"] == 20.0  # iterations ≥ 250: 20, 25, 40
    with pytest.raises(ValueError, match="no fd evaluation"):
        ij.image_scores(h.assign(fd=np.nan), best_k=1)


def test_the_floor_is_what_training_images_score_and_far_below_an_untrained_generator(classifier):
    ext, clf = gx._extractor(classifier, None, None), gx._classifier(classifier, None)
    floor = ij.image_floor(ext, clf, SPEC, 100)
    assert floor.n == 100 and floor.draws == 5 and set(floor.noise()) == set(ij.TRACKED)
    assert 0 < floor.fd_sd < floor.fd and floor.relative_std_sd > 0
    (run,) = ij.image_plateau_job("gan", SPEC, classifier_path=classifier, seeds=[0], **{**RUN, "iterations": 1})
    assert run.history.fd.iloc[0] > 5 * floor.fd  # the untrained generator, at iteration 0
    with pytest.raises(ValueError, match="needs 2 ≤ n ≤ 100"):
        ij.image_floor(ext, clf, SPEC, 101)


def test_a_batched_job_trains_what_single_runs_train(classifier):
    """GMEGAN's seeds and a λ-ablation in one batch (one process) against each run alone (train_gan), to float
    rounding; each run keeps its own name, seed and scores."""
    hypers, seeds = [{}, {"lambda1": 0.0}, {}], [0, 0, 1]
    names = ["GMEGAN", "GMEGAN λ1 = 0", "GMEGAN"]
    batched = ij.image_plateau_job("gmegan", SPEC, classifier_path=classifier, seeds=seeds, hypers=hypers,
                                   variants=names, **RUN)
    for b, s, h, v in zip(batched, seeds, hypers, names):
        (single,) = ij.image_plateau_job("gmegan", SPEC, classifier_path=classifier, seeds=[s], hypers=[h], **RUN)
        assert (b.variant, b.seed, b.iterations) == (v, s, 20) and single.iterations == 20
        np.testing.assert_allclose(b.history.fd.dropna(), single.history.fd.dropna(), rtol=1e-3)
        assert b.metrics["fd"] == pytest.approx(single.metrics["fd"], rel=1e-3)
    assert batched[0].history.fd.iloc[-1] != pytest.approx(batched[1].history.fd.iloc[-1], rel=1e-3)  # λ1 matters
    assert set(batched[0].history.columns) >= {"fd", "kid", "relative_std", "val_loss", "iteration"}


def test_a_finished_run_joins_no_batch_and_keeps_its_result(classifier, tmp_path):
    """Notebook 09 asks for the full GMEGAN's runs, which notebook 08 trained to the cap, beside fresh λ-ablations:
    the finished run is loaded as it is, the others train."""
    first = tmp_path / "full"
    (done,) = ij.image_plateau_job("gmegan", SPEC, classifier_path=classifier, seeds=[0], checkpoint_dirs=[str(first)],
                                   **RUN)
    again, fresh = ij.image_plateau_job("gmegan", SPEC, classifier_path=classifier, seeds=[0, 0],
                                        hypers=[{}, {"lambda1": 0.0}],
                                        checkpoint_dirs=[str(first), str(tmp_path / "ablated")], **RUN)
    pd.testing.assert_frame_equal(again.history, done.history)
    assert again.metrics == done.metrics and fresh.iterations == 20


def test_jobs_batch_a_methods_variants_and_seeds_per_architecture_and_share_folders_across_notebooks(tmp_path):
    variants = gx.ablation_variants()
    common = dict(specs=[SPEC], archs=["mlp", "dcgan"], seeds=[0, 1, 2], checkpoint_root=tmp_path, classifier_path="c",
                  iterations=100, min_iteration=40, eval_every=10)
    jobs = ij.image_plateau_jobs(variants, **common)
    mlp = [j for j in jobs if j["arch"] == "mlp"]
    assert sorted(j["method"] for j in mlp) == ["gmegan", "gmegan_released"]
    for j in mlp:  # the full method and its three ablations × 3 seeds: one batch of 12
        assert len(j["seeds"]) == len(set(j["checkpoint_dirs"])) == 12 and len(set(j["variants"])) == 4
        assert j["seeds"][:3] == [0, 1, 2] and j["hypers"][3] == {"lambda1": 0.0}
    dcgan = [j for j in jobs if j["arch"] == "dcgan"]  # not batched: a job per run
    assert len(dcgan) == 24 and all(len(j["seeds"]) == 1 for j in dcgan)
    assert [len(j["seeds"]) for j in jobs] == sorted((len(j["seeds"]) for j in jobs), reverse=True)
    full = ij.image_plateau_jobs({"GMEGAN": ("gmegan", {}), "VEEGAN": ("veegan", {})}, **common)
    assert {d for j in full if j["method"] == "gmegan" and j["arch"] == "mlp" for d in j["checkpoint_dirs"]} == set(
        mlp[0]["checkpoint_dirs"][:3])  # notebook 08's full GMEGAN runs are notebook 09's
    assert all(len(j["seeds"]) == 1 for j in full if j["method"] == "veegan")  # no batched engine


def test_the_quick_preset_batches_every_run_it_can():
    s = profiles.preset("08", "quick")
    assert set(s["archs"]) <= set(ij.BATCHED_ARCHS) and len(s["seeds"]) > 1
    assert s["min_iteration"] <= s["cap"] and s["cap"] % s["eval_every"] == 0
