"""Sweeps of GAN runs (gpelib.gan.experiments, gpelib.gan.mixture_jobs) and the process pool they run on
(gpelib.parallel)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from gpelib.gan import experiments as gx
from gpelib.gan import image_jobs as ij
from gpelib.gan import mixture_jobs as mj
from gpelib.metrics import ClassifierFeatures
from gpelib.parallel import JobError, map_jobs

TINY = dict(iterations=12, batch_size=16, eval_every=6, n_eval=120, arch_options={"hidden": 16})
MIX = dict(TINY, n_val=100, n_track=60)  # mixture_job: energy on 100 held-out points, the other scores on 60


def one(method, spec, seed=0, checkpoint_dir=None, **kw):
    """The one run of a single-seed :func:`gpelib.gan.mixture_jobs.mixture_job`."""
    (run,) = mj.mixture_job(method, spec, seeds=[seed], checkpoint_dirs=[checkpoint_dir] if checkpoint_dir else None,
                            **{**MIX, **kw})
    return run


def test_mixture_job_scores_are_in_range_and_runs_are_reproducible():
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    a = one("gmegan", spec, seed=3)
    b = one("gmegan", spec, seed=3)
    assert a.metrics == b.metrics
    m = a.metrics
    assert 0 <= m["modes_covered"] <= 4 and m["n_modes"] == 4
    assert 0 <= m["high_quality"] <= 1 and 0 <= m["monotonicity"] <= 1 and 0 <= m["monotonicity_encoder"] <= 1
    assert math.isfinite(m["energy"])
    assert a.samples.shape == (120, 2) and a.latents.shape == (120, 2) and a.modes.shape == (120,)
    assert list(a.history.iteration) == [0, 6, 12]
    for col in ("val_loss", "modes_covered", "transport_agreement", "cyclic3_encoder"):  # tracked while training
        assert a.history[col].notna().all(), col
    gan = one("gan", spec, seed=3)
    assert math.isnan(gan.metrics["monotonicity_encoder"])  # GAN has no encoder
    assert gan.history.cyclic3_encoder.isna().all()


def test_a_batched_group_scores_each_seed_as_its_single_run_does():
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    group = mj.mixture_job("wgan_gp", spec, seeds=[0, 1], **MIX)
    for run in group:
        alone = one("wgan_gp", spec, seed=run.seed)
        assert run.metrics == pytest.approx(alone.metrics, abs=1e-4, nan_ok=True)


def test_plateau_jobs_group_batched_seeds_and_give_each_run_its_folder(tmp_path):
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    variants = {gx.LABELS[m]: (m, {}) for m in ("gan", "veegan", "otm")}
    jobs = mj.plateau_jobs(variants, specs=[spec], seeds=[0, 1, 2], checkpoint_root=tmp_path, **MIX)
    assert [(j["method"], j["seeds"]) for j in jobs] == [("otm", [0, 1, 2]), ("gan", [0, 1, 2]), ("veegan", [0]),
                                                         ("veegan", [1]), ("veegan", [2])]
    folders = [d for j in jobs for d in j["checkpoint_dirs"]]
    assert len(set(folders)) == 9 and all(str(tmp_path) in d for d in folders)


def test_process_pool_gives_the_in_process_results_in_job_order():
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    jobs = [dict(method=m, spec=spec, seeds=[s], **MIX) for m, s in [("wgan_gp", 0), ("gan", 1), ("veegan", 2)]]
    here = map_jobs(mj.mixture_job, jobs, n_workers=1, threads_per_worker=1)
    pool = map_jobs(mj.mixture_job, jobs, n_workers=2, threads_per_worker=1)
    assert [r.method for (r,) in pool] == ["wgan_gp", "gan", "veegan"]
    for (a,), (b,) in zip(here, pool):
        assert a.metrics == pytest.approx(b.metrics, rel=1e-5, nan_ok=True)


def test_failing_job_names_itself():
    spec = gx.MixtureSpec(n=50, n_modes=4, dim=6)
    with pytest.raises(JobError, match=r"job 1 \(method='nogan'"):
        map_jobs(mj.mixture_job, [dict(method="gan", spec=spec, **MIX), dict(method="nogan", spec=spec, **MIX)])
    with pytest.raises(ValueError, match="n_workers"):
        map_jobs(mj.mixture_job, [], n_workers=0)


def test_checkpointed_job_is_reused_not_retrained(tmp_path):
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    first = one("gan", spec, checkpoint_dir=str(tmp_path / "ck"))
    again = one("gan", spec, checkpoint_dir=str(tmp_path / "ck"))
    assert again.metrics == first.metrics and again.seconds == first.seconds


def test_summaries_and_reference_comparison():
    t = pd.DataFrame({"dataset": ["d"] * 6, "variant": ["A", "A", "B", "B", "C", "C"],
                      "score": [1.0, 3.0, 2.0, 2.0, 5.0, 7.0]})
    s = gx.summarize(t, ["score"])
    assert s.set_index("variant")["score_mean"].to_dict() == {"A": 2.0, "B": 2.0, "C": 6.0}
    assert s.set_index("variant")["score_std"]["B"] == 0.0
    c = gx.compare_reference(s, "score_mean", reference="A", better="lower").set_index("other")
    assert bool(c.loc["C", "reference_better"]) and bool(c.loc["B", "tie"]) and not bool(c.loc["B", "reference_better"])
    c = gx.compare_reference(s, "score_std", reference="B", better="lower")
    assert c.reference_better.all()
    with pytest.raises(ValueError, match="better"):
        gx.compare_reference(s, "score_mean", reference="A", better="smaller")


def _rows_shared(a: torch.Tensor, b: torch.Tensor) -> int:
    """How many rows of ``a`` also occur (exactly) in ``b``."""
    a, b = a.flatten(1), b.flatten(1)
    return int((torch.cdist(a.double(), b.double()) == 0).any(dim=1).sum())


def test_gan_validation_sets_are_held_out_from_training(tmp_path, monkeypatch):
    """Issue #18, item 2: the validation energy of every GAN run is computed on points the run never trains on —
    a fresh draw of the mixture (its own seed), the held-out split of an image dataset."""
    seen = []
    real_train_gan = mj.train_gan

    def spy(method, data, **kw):
        seen.append((data, kw.get("val_data")))
        return real_train_gan(method, data, **kw)

    monkeypatch.setattr(mj, "train_gan", spy)
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    r = one("gan", spec, seed=1)
    data, val = seen[-1]
    assert val is not None and len(val) > 0 and val.shape[1:] == data.shape[1:]
    assert _rows_shared(val, data) == 0
    again = one("gan", spec, seed=2)  # the held-out draw is fixed by the dataset, not the run
    assert torch.equal(seen[-1][1], val)
    assert math.isfinite(r.metrics["energy"]) and math.isfinite(again.history.val_loss.iloc[-1])

    seen.clear()
    spec = gx.ImageSpec(name="digits", n_val=100)
    train, held_out = spec.load()
    clf = ClassifierFeatures.load_or_train(tmp_path, train.images[:400], train.labels[:400], epochs=1, tag="t")
    monkeypatch.setattr(ij, "train_gan", spy)
    ij.image_plateau_job("gan", spec, classifier_path=str(clf.cache_path), arch="dcgan", latent_dim=4, iterations=2,
                         batch_size=16, eval_every=2, n_track=100, n_counts=50, n_grid=4, best_k=1)
    data, val = seen[-1]
    assert val is not None and torch.equal(val, held_out.images)
    assert _rows_shared(val, data) == 0


def test_run_tables_count_gradient_updates_and_real_batches_per_network_side():
    """Issue #18, item 4: the unit "one generator iteration" differs by method (WGAN family: 5 critic updates on 5
    real batches; OTM: 10 map updates), so every run row carries what its iterations cost, derived from the
    method's own constants (``n_critic``, OTM's ``t_steps``)."""
    from gpelib.gan import build_networks, get_method

    def budget(name, **hyper):
        cls = get_method(name)
        return cls(build_networks("mlp", (6,), 2, parts=cls.REQUIRES, hidden=8), **hyper).budget()

    assert budget("wgan_gp") == {"generator_updates": 1, "critic_updates": 5, "real_batches": 5}
    assert budget("otm") == {"generator_updates": 10, "critic_updates": 1, "real_batches": 1}
    assert budget("gan") == {"generator_updates": 1, "critic_updates": 1, "real_batches": 1}
    assert budget("wgan_gp", n_critic=2)["critic_updates"] == 2 and budget("otm", t_steps=3)["generator_updates"] == 3

    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    runs = [one(m, spec, seed=0, hyper=h) for m, h in [("wgan_gp", {}), ("otm", {"t_steps": 2})]]
    t = gx.sweep_table(runs).set_index("method")
    it = TINY["iterations"]
    assert t.loc["wgan_gp", ["generator_updates", "critic_updates", "real_batches"]].tolist() == [it, 5 * it, 5 * it]
    assert t.loc["otm", ["generator_updates", "critic_updates", "real_batches"]].tolist() == [2 * it, it, it]


STEP_TABLE = pd.DataFrame({"key": "k", "round": [0, 0, 0, 1, 1, 1, 2, 2, 2],
                           "method": ["gmegan", "wgan_gp", "otm"] * 3,
                           "ratio": [1.0, 1.8, 4.0, 1.0, 2.0, 4.1, 1.0, 2.4, 3.9]})


def test_equal_time_iterations_divide_the_reference_budget_by_the_median_ratio():
    its = gx.equal_time_iterations(["gmegan", "wgan_gp", "otm"], key="k", units=2000, table=STEP_TABLE)
    assert its == {"gmegan": 2000, "wgan_gp": 1000, "otm": 500}  # 2000 / 2.0, 2000 / 4.0
    assert gx.equal_time_iterations(["otm"], key="k", units=130, table=STEP_TABLE, multiple=10) == {"otm": 30}
    assert gx.equal_time_iterations(["otm"], key="k", units=1000, table=STEP_TABLE) == {"otm": 300}  # 250: halves up
    assert gx.equal_time_iterations(["otm"], key="k", units=10, table=STEP_TABLE) == {"otm": 100}  # at least one
    with pytest.raises(KeyError, match="bench_gan.py"):
        gx.equal_time_iterations(["veegan"], key="k", units=100, table=STEP_TABLE)
    with pytest.raises(KeyError, match="bench_gan.py"):
        gx.equal_time_iterations(["gmegan"], key="other", units=100, table=STEP_TABLE)


def test_step_seconds_times_every_method_against_the_reference_in_each_round():
    data = torch.randn(64, 6)
    t = gx.step_seconds(["gmegan", "gan"], data, arch="mlp", latent_dim=2, batch_size=16, rounds=2, steps=4, skip=1,
                        arch_options={"hidden": 8})
    assert len(t) == 4 and set(t.method) == {"gmegan", "gan"} and (t.s_per_iter > 0).all()
    assert (t[t.method == "gmegan"].ratio == 1.0).all() and set(t.key) == {gx.shape_key("mlp", (6,), 2, 16)}
    with pytest.raises(ValueError, match="reference"):
        gx.step_seconds(["gan"], data, arch="mlp", latent_dim=2, batch_size=16)


def test_image_scores_recomputed_from_the_stored_model_against_held_out_images_at_matched_n(tmp_path):
    """The last evaluation of an image run (fd, kid, relative std) is what its stored model gives on the tracking
    latents against the first n_track held-out images."""
    from gpelib.gan import load_gan
    from gpelib.metrics import class_counts, feature_stats, frechet_score, kernel_distance, relative_std

    spec = gx.ImageSpec(name="digits", n_val=150)
    train, held_out = spec.load()
    clf = ClassifierFeatures.load_or_train(tmp_path, train.images[:400], train.labels[:400], epochs=1, tag="t")
    (r,) = ij.image_plateau_job("gan", spec, classifier_path=str(clf.cache_path), arch="dcgan", latent_dim=4,
                                iterations=4, batch_size=16, eval_every=4, n_track=140, n_counts=50, n_grid=4,
                                best_k=1, checkpoint_dirs=[str(tmp_path / "run")])
    m = load_gan(tmp_path / "run")
    fake = m.sample(140, generator=torch.Generator().manual_seed(ij.TRACK_SEED)).clamp(-1, 1).cpu()
    real = feature_stats(clf, held_out.images[:140], keep=True)
    f = feature_stats(clf, fake, keep=True)
    last = r.history.dropna(subset=["fd"]).iloc[-1]
    assert last.iteration == 4 and last.fd == pytest.approx(frechet_score(clf, real, f).value, rel=1e-6)
    assert last.kid == pytest.approx(kernel_distance(real.features, f.features), rel=1e-6)
    assert last.relative_std == pytest.approx(relative_std(class_counts(clf.predict(fake), 10)), rel=1e-9)
    assert r.metrics["fd_last"] == last.fd and r.metrics["kid_last"] == last.kid


def test_bench_gan_measures_the_calibration_table(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "reproduce" / "bench_gan.py"
    spec = importlib.util.spec_from_file_location("bench_gan", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "steps.csv"
    assert bench.main(["--settings", "mixture100", "--methods", "gmegan", "gan", "--rounds", "2", "--steps", "7",
                       "--csv", str(out)]) == 0
    t = pd.read_csv(out)
    assert set(t.method) == {"gmegan", "gan"} and len(t) == 4 and set(t.key) == {"mlp 100 d=2 b=16"}
    assert "iterations_per_1000" in capsys.readouterr().out
    assert (t[t.method == "gmegan"].ratio == 1.0).all()  # the reference of its own round


def test_paired_values_align_units_and_measure_spread_within_each_seed():
    t = pd.DataFrame({"variant": ["A"] * 4 + ["B"] * 4, "arch": ["m", "d"] * 4, "seed": [1, 1, 0, 0] * 2,
                      "fd": [1.0, 3.0, 2.0, 6.0, 5.0, 5.0, 7.0, 9.0]})
    got = gx.paired_values(t, "fd", ["A", "B"], units=("arch", "seed"))
    assert got == {"A": [6.0, 3.0, 2.0, 1.0], "B": [9.0, 5.0, 7.0, 5.0]}  # (d,0), (d,1), (m,0), (m,1) for both
    dev = gx.paired_values(t, "fd", ["A", "B"], units=("arch", "seed"), spread_over="arch")
    assert dev == {"A": [2.0, 1.0, 2.0, 1.0], "B": [1.0, 0.0, 1.0, 0.0]}  # |x − mean over archs of its seed|
    assert gx.paired_values(t[t.arch == "m"], "fd", ["A"], spread_over="seed") == {"A": [0.5, 0.5]}
    with pytest.raises(ValueError, match="spread_over"):
        gx.paired_values(t, "fd", ["A"], spread_over="arch")
    states = pd.DataFrame({"variant": ["A", "B", "B"], "arch": ["m", "d", "d"], "seed": [0, 1, 1],
                           "metric": ["fd", "fd", "kid"], "state": ["plateau", "improving", "plateau"]})
    assert gx.states_by_run(states, ["A", "B"], "fd", units=("arch", "seed")) == {"A m s0": "plateau",
                                                                                   "B d s1": "improving"}
    assert gx.states_by_run(states, ["B"], "kid") == {"B s1": "plateau"}
