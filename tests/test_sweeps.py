"""Sweeps of GAN runs (gpelib.gan.experiments, gpelib.gan.mixture_jobs) and the process pool they run on
(gpelib.parallel)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from gpelib.gan import experiments as gx
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


def test_image_job_milestones_and_class_counts(tmp_path):
    torch.manual_seed(0)
    spec = gx.ImageSpec(name="digits", n_val=100)
    train, _ = spec.load()
    clf = ClassifierFeatures.load_or_train(tmp_path, train.images[:400], train.labels[:400], epochs=1, tag="t")
    r = gx.image_job("gan", spec, classifier_path=str(clf.cache_path), arch="dcgan", latent_dim=4,
                     milestones=[4, 8], batch_size=16, eval_every=4, n_fake=150, n_real=150, n_counts=150,
                     n_grid=16, best_k=1, arch_options={"width": 4})
    m = r.metrics
    assert m["n_classes"] == 10 and 1 <= m["classes_covered"] <= 10 and m["relative_std"] >= 0
    assert m["fd"] <= m["fd_last"] + 1e-9  # the best of the milestones is no worse than the last one
    assert r.iterations == 8 and r.samples.shape == (16, 1, 8, 8)


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


def test_late_improvement_measures_the_fall_over_the_last_part_of_the_budget():
    it = list(range(0, 1001, 100))
    h = pd.DataFrame({
        "dataset": "d", "seed": 0,
        "method": ["flat"] * 11 + ["falling"] * 11,
        "iteration": it * 2,
        "val_loss": [1.0] * 11 + [10.0 - 0.5 * (i // 100) for i in it],  # falling: 6.0 at 800, 5.0 at 1000
    })
    out = gx.late_improvement(h).set_index("method")
    assert out.loc["flat", "late_improvement"] == 0.0
    assert out.loc["falling", "value_at_start"] == 6.0 and out.loc["falling", "value_at_end"] == 5.0
    assert out.loc["falling", "late_improvement"] == pytest.approx(1 / 6)
    with pytest.raises(ValueError):
        gx.late_improvement(h, last=1.5)


def _rows_shared(a: torch.Tensor, b: torch.Tensor) -> int:
    """How many rows of ``a`` also occur (exactly) in ``b``."""
    a, b = a.flatten(1), b.flatten(1)
    return int((torch.cdist(a.double(), b.double()) == 0).any(dim=1).sum())


def test_gan_validation_sets_are_held_out_from_training(tmp_path, monkeypatch):
    """Issue #18, item 2: the validation energy of every GAN run is computed on points the run never trains on —
    a fresh draw of the mixture (its own seed), the held-out split of an image dataset."""
    seen = []
    real_train_gan = gx.train_gan

    def spy(method, data, **kw):
        seen.append((data, kw.get("val_data")))
        return real_train_gan(method, data, **kw)

    monkeypatch.setattr(gx, "train_gan", spy)
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
    gx.image_job("gan", spec, classifier_path=str(clf.cache_path), arch="dcgan", latent_dim=4, milestones=[2],
                 batch_size=16, eval_every=2, n_fake=150, n_real=150, n_counts=50, n_grid=4, best_k=1,
                 arch_options={"width": 4})
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


def test_late_improvement_window_averages_noisy_evaluations():
    it = list(range(0, 1001, 100))
    zigzag = [5.0 + (0.5 if k % 2 else -0.5) for k in range(11)]  # flat on average, ±10 % from one point to the next
    falling = [10.0 - 0.5 * k for k in range(11)]
    h = pd.DataFrame({"dataset": "d", "seed": 0, "method": ["zigzag"] * 11 + ["falling"] * 11, "iteration": it * 2,
                      "val_loss": zigzag + falling})
    raw = gx.late_improvement(h).set_index("method").late_improvement
    smooth = gx.late_improvement(h, window=3).set_index("method").late_improvement
    assert raw["zigzag"] == pytest.approx(0.0) and abs(smooth["zigzag"]) < 0.07  # (4.5,5.5,4.5) vs (5.5,4.5,5.5)
    assert smooth["falling"] == pytest.approx(1 - 5.5 / 6.5)  # mean(7, 6.5, 6) → mean(6, 5.5, 5)
    h2 = h.copy()
    h2.loc[h2.method == "zigzag", "val_loss"] = [5.0] * 10 + [4.0]  # one low last value decides alone at window 1
    assert gx.late_improvement(h2).set_index("method").late_improvement["zigzag"] == pytest.approx(0.2)
    assert gx.late_improvement(h2, window=3).set_index("method").late_improvement["zigzag"] < 0.1
    with pytest.raises(ValueError, match="window"):
        gx.late_improvement(h, window=0)


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


def test_equal_time_jobs_give_each_method_its_iterations_and_twenty_evaluations():
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)
    key = gx.shape_key("mlp", (6,), 2, 16)
    table = STEP_TABLE.assign(key=key)
    jobs = gx.equal_time_jobs({"GMEGAN": ("gmegan", {}), "WGAN-GP": ("wgan_gp", {})}, specs=[spec], archs=["mlp"],
                              seeds=[0, 1], units=4000, batch_size=16, latent_dim=2, table=table, n_eval=100)
    got = {(j["variant"], j["seed"]): (j["iterations"], j["eval_every"]) for j in jobs}
    assert got == {("GMEGAN", 0): (4000, 200), ("GMEGAN", 1): (4000, 200), ("WGAN-GP", 0): (2000, 100),
                   ("WGAN-GP", 1): (2000, 100)}


def test_step_seconds_times_every_method_against_the_reference_in_each_round():
    data = torch.randn(64, 6)
    t = gx.step_seconds(["gmegan", "gan"], data, arch="mlp", latent_dim=2, batch_size=16, rounds=2, steps=4, skip=1,
                        arch_options={"hidden": 8})
    assert len(t) == 4 and set(t.method) == {"gmegan", "gan"} and (t.s_per_iter > 0).all()
    assert (t[t.method == "gmegan"].ratio == 1.0).all() and set(t.key) == {gx.shape_key("mlp", (6,), 2, 16)}
    with pytest.raises(ValueError, match="reference"):
        gx.step_seconds(["gan"], data, arch="mlp", latent_dim=2, batch_size=16)


def test_compute_table_reports_budget_updates_and_convergence_per_method():
    table = pd.DataFrame({"dataset": "d", "variant": ["A", "A", "B", "B"], "method": ["gmegan"] * 2 + ["wgan_gp"] * 2,
                          "seed": [0, 1, 0, 1], "iterations": [2000, 2000, 1000, 1000],
                          "generator_updates": [2000, 2000, 1000, 1000], "critic_updates": [2000, 2000, 5000, 5000]})
    late = pd.DataFrame({"dataset": "d", "variant": ["A", "A", "B", "B"], "seed": [0, 1, 0, 1],
                         "late_improvement": [0.02, 0.30, -0.1, 0.05]})
    steps = pd.DataFrame({"key": "k", "method": ["gmegan", "wgan_gp"], "s_per_iter": [0.01, 0.02], "ratio": [1, 2]})
    c = gx.compute_table(table, late, key="k", step_table=steps).set_index("variant")
    assert c.loc["A", "updates"] == 4000 and c.loc["B", "updates"] == 6000
    assert c.reference_seconds.tolist() == pytest.approx([20.0, 20.0])  # 2000 × 0.01 s, 1000 × 0.02 s
    assert c.loc["A", "converged"] == "1/2" and c.loc["B", "converged"] == "2/2"
    assert c.loc["A", "late_improvement"] == pytest.approx(0.16)
    # with the whole-budget fall known, a run flat at the end that never learned (B seed 1: 3 %) is not converged
    late["total_improvement"] = [0.6, 0.7, 0.5, 0.03]
    c2 = gx.compute_table(table, late, key="k", step_table=steps).set_index("variant")
    assert c2.loc["A", "converged"] == "1/2" and c2.loc["B", "converged"] == "1/2"


def test_equal_time_jobs_scale_image_milestones_with_each_budget():
    key = gx.shape_key("mlp", (6,), 2, 16)
    spec = gx.MixtureSpec(n=150, n_modes=4, dim=6)  # the shape decides the key; image_job takes the milestones
    jobs = gx.equal_time_jobs({"GMEGAN": ("gmegan", {}), "OTM": ("otm", {})}, specs=[spec], archs=["mlp"], seeds=[0],
                              units=1000, batch_size=16, latent_dim=2, milestones=(0.8, 0.9, 1.0),
                              table=STEP_TABLE.assign(key=key))
    got = {j["variant"]: j["milestones"] for j in jobs}
    assert got == {"GMEGAN": [800, 900, 1000], "OTM": [240, 270, 300]}  # OTM: 1000 / 4.0 = 250 → 300 (halves up)
    assert all("iterations" not in j for j in jobs)
    with pytest.raises(ValueError, match="fractions"):
        gx.equal_time_jobs({"GMEGAN": ("gmegan", {})}, specs=[spec], archs=["mlp"], seeds=[0], units=1000,
                           batch_size=16, latent_dim=2, milestones=(0.5, 0.9), table=STEP_TABLE.assign(key=key))


def test_image_job_scores_against_held_out_images_at_matched_n_with_kid(tmp_path):
    from gpelib.metrics import feature_stats, frechet_score, kernel_distance

    spec = gx.ImageSpec(name="digits", n_val=150)
    train, held_out = spec.load()
    clf = ClassifierFeatures.load_or_train(tmp_path, train.images[:400], train.labels[:400], epochs=1, tag="t")
    kw = dict(classifier_path=str(clf.cache_path), arch="dcgan", latent_dim=4, milestones=[4], batch_size=16,
              eval_every=4, n_fake=120, n_real=120, n_counts=50, n_grid=4, best_k=1, arch_options={"width": 4},
              checkpoint_dir=str(tmp_path / "run"))
    r = gx.image_job("gan", spec, reference="held_out", **kw)
    from gpelib.gan import load_gan

    m = load_gan(tmp_path / "run")  # recompute the score from the stored model and the job's sampling seed
    fake = m.sample(120, generator=torch.Generator().manual_seed(40_000 + 0 + 4)).cpu()
    real = feature_stats(clf, held_out.images[:120], keep=True)
    f = feature_stats(clf, fake, keep=True)
    assert r.metrics["fd"] == pytest.approx(frechet_score(clf, real, f).value, rel=1e-6)
    assert r.metrics["kid"] == pytest.approx(kernel_distance(real.features, f.features), rel=1e-6)
    assert r.metrics["kid_last"] == r.metrics["kid"]
    with pytest.raises(ValueError, match="held-out images asked for"):
        gx.image_job("gan", spec, reference="held_out", **{**kw, "n_real": 999, "checkpoint_dir": None})
    with pytest.raises(ValueError, match="reference"):
        gx.image_job("gan", spec, reference="test", **{**kw, "checkpoint_dir": None})


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
    late = pd.DataFrame({"variant": ["A", "B"], "arch": ["m", "d"], "seed": [0, 1], "late_improvement": [0.2, 0.0],
                         "total_improvement": [0.5, 0.01]})
    by_run = gx.late_by_run(late, ["A", "B"], units=("arch", "seed"))
    assert by_run.late_improvement.to_dict() == {"A m s0": 0.2, "B d s1": 0.0}
    assert by_run.total_improvement.to_dict() == {"A m s0": 0.5, "B d s1": 0.01}
    assert gx.late_by_run(late, ["B"]).late_improvement.to_dict() == {"B s1": 0.0}
