"""Recipes and tables of the reconstruction-efficiency protocols: threshold counts, wall-clock shift, the five-method
interface, the one seeding rule, the fresh-decoder protocol, timing tables and the paper's numbers (GPE Tables 1–2)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from gpelib import papers, plots, recipes, tables
from gpelib.recipes import METHODS, Run, default_mds_weight, fresh_decoder, train_method
from gpelib.tables import (
    iterations_to_reach,
    seconds_per_iteration,
    shift_wallclock,
    threshold_table,
    time_to_reach,
    timing_table,
)
from gpelib.train import TrainConfig

TIDY = ["method", "phase", "iteration", "seconds", "train_loss", "val_loss"]


def images(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.tanh(torch.randn(n, 1, 8, 8, generator=g))


def cfg(**kw):
    base = dict(iterations=6, batch_size=12, lr=1e-3, eval_every=3, progress=False)
    return TrainConfig(**(base | kw))


# ---------------------------------------------------------------- iterations_to_reach


@pytest.mark.parametrize(
    "losses, threshold, window, expected",
    [
        ([1.0, 0.5, 0.2, 0.05, 0.01], 0.2, 1, 3),  # iteration = position + 1
        ([1.0, 0.5, 0.2, 0.05, 0.01], 0.01, 1, 5),  # reached at the very last iteration
        ([1.0, 0.5, 0.2, 0.05, 0.01], 0.001, 1, None),  # never reached
        ([0.05, 0.5], 0.1, 1, 1),  # already below at iteration 1
        ([1.0, 0.0, 1.0, 1.0], 0.4, 1, 2),  # the raw loss counts a single lucky batch ...
        ([1.0, 0.0, 1.0, 1.0], 0.4, 2, None),  # ... a running mean of 2 never goes below 0.5
        ([1.0, 0.4, 0.4, 0.4], 0.4, 2, 3),  # mean(1.0, 0.4) = 0.7 > 0.4, mean(0.4, 0.4) = 0.4 ≤ 0.4
        # a run shorter than the window is averaged whole, a mean known only at its last iteration (it was 1 when
        # partial windows counted, min_periods=1: the first loss alone could decide the count)
        ([0.2, 0.2, 0.2], 0.3, 5, 3),
        ([0.1, 5, 5, 5, 5], 1.0, 3, None),  # one lucky first minibatch is not a window (was 1 with min_periods=1)
        ([0.1, 0.1, 0.1, 5, 5], 1.0, 3, 3),  # the first full window counts at its last iteration
        ([], 0.3, 1, None),
    ],
)
def test_iterations_to_reach_on_known_sequences(losses, threshold, window, expected):
    assert iterations_to_reach(losses, threshold, window=window) == expected


def test_iterations_to_reach_against_direct_running_mean():
    rng = np.random.default_rng(0)
    loss = np.exp(-np.arange(500) / 80) + 0.05 * rng.random(500)
    w, t = 7, 0.2
    means = {k: loss[k - w + 1 : k + 1].mean() for k in range(w - 1, loss.size)}  # full windows only
    expected = next(k + 1 for k, m in means.items() if m <= t)
    assert iterations_to_reach(loss, t, window=w) == expected
    assert iterations_to_reach(torch.tensor(loss), t, window=w) == expected


def test_iterations_to_reach_uses_the_iteration_column():
    steps = pd.DataFrame({"iteration": [101, 102, 103], "seconds": [1, 2, 3], "loss": [0.5, 0.3, 0.1]})
    assert iterations_to_reach(steps, 0.3, window=1) == 102
    hist = pd.DataFrame({"iteration": [0, 50, 100], "val_loss": [0.9, 0.2, 0.1], "train_loss": [np.nan, 0.3, 0.1]})
    assert iterations_to_reach(hist, 0.2, window=1) == 50  # val_loss is the default when there is no "loss"
    assert iterations_to_reach(hist, 0.2, column="train_loss", window=1) == 100  # NaN rows are skipped
    with pytest.raises(KeyError):
        iterations_to_reach(hist, 0.2, column="nope")
    with pytest.raises(ValueError):
        iterations_to_reach([1.0], 0.2, window=0)


# ---------------------------------------------------------------- wall-clock


def test_shift_wallclock_moves_only_the_time_column():
    h = pd.DataFrame({"iteration": [0, 10, 20], "seconds": [0.0, 1.0, 2.5], "val_loss": [1.0, 0.5, 0.2]})
    s = shift_wallclock(h, 4.0)
    assert s.seconds.tolist() == [4.0, 5.0, 6.5] and (s.offset == 4.0).all()
    assert s.iteration.tolist() == h.iteration.tolist() and s.val_loss.tolist() == h.val_loss.tolist()
    assert h.seconds.tolist() == [0.0, 1.0, 2.5]  # the input is not modified
    assert time_to_reach(s, 0.5) == 5.0 and time_to_reach(h, 0.5) == 1.0 and time_to_reach(s, 0.1) is None
    with pytest.raises(ValueError):
        shift_wallclock(h, -1.0)


def test_seconds_per_iteration_skips_warm_up():
    steps = pd.DataFrame({"iteration": np.arange(1, 21), "seconds": np.r_[5.0, 5.0 + 0.1 * np.arange(1, 20)]})
    assert seconds_per_iteration(steps, skip=0) == pytest.approx(0.1)  # first step's 5 s warm-up left out anyway
    assert seconds_per_iteration(steps, skip=5) == pytest.approx(0.1)
    assert math.isnan(seconds_per_iteration(steps.iloc[:1]))


def test_seconds_per_iteration_ignores_a_burst_of_load():
    dt = np.full(200, 0.01)
    dt[50:80] = 0.5  # 30 iterations slowed down by another job on the machine: the mean would be 8x too high
    steps = pd.DataFrame({"iteration": np.arange(1, 201), "seconds": np.cumsum(dt)})
    assert seconds_per_iteration(steps) == pytest.approx(0.01)


# ---------------------------------------------------------------- the five methods


@pytest.fixture(scope="module")
def five_runs():
    x, xv = images(48, 0), images(24, 1)
    runs = {m: train_method(m, x, latent_dim=3, config=cfg(), encoder_config=cfg(iterations=4), val_data=xv)
            for m in METHODS}
    return runs, x, xv


def test_five_methods_return_the_same_tidy_history(five_runs):
    runs, _, _ = five_runs
    for m, r in runs.items():
        assert isinstance(r, Run) and r.method == m
        assert list(r.history.columns[:6]) == TIDY
        assert (r.history.method == m).all() and r.history.iteration.tolist() == [0, 3, 6]
        assert r.history.seconds.is_monotonic_increasing and np.isfinite(r.history.val_loss).all()
        assert r.iterations == 6 and len(r.steps) == 6 and r.seconds > 0
        assert r.decoder(r.encoder(torch.zeros(2, 1, 8, 8))).shape == (2, 1, 8, 8)
    assert (runs["gpe"].history.phase == "decoder").all()
    assert all((runs[m].history.phase == "joint").all() for m in METHODS[1:])
    with pytest.raises(ValueError, match="unknown method"):
        train_method("wae", images(), latent_dim=2, config=cfg())


def test_gpe_records_its_encoder_phase_for_the_shift(five_runs):
    g = five_runs[0]["gpe"]
    assert g.encoder_iterations == 4 and g.encoder_seconds > 0 and len(g.encoder_steps) == 4
    assert math.isfinite(g.info["eps"]) and g.total_seconds == pytest.approx(g.encoder_seconds + g.seconds)
    w = g.wallclock()
    assert np.allclose(w.seconds, g.history.seconds + g.encoder_seconds)
    for m in METHODS[1:]:  # joint methods are not shifted
        r = five_runs[0][m]
        assert r.encoder_seconds == 0 and np.allclose(r.wallclock().seconds, r.history.seconds)
    wf = tables.wallclock_frame(five_runs[0])
    assert set(wf.method) == set(METHODS) and wf.loc[wf.method == "gpe", "seconds"].min() >= g.encoder_seconds


@pytest.mark.parametrize("method", ["vae", "ae", "vae+mds", "ae+mds"])
def test_kl_and_mds_weights_reach_the_loss(five_runs, method):
    r = five_runs[0][method]
    s = r.steps
    d, lam, beta = 3, default_mds_weight((1, 8, 8)), 0.1
    expected = s["recon"].copy()
    if method.startswith("vae"):
        assert r.info["beta"] == beta and (s["kl"] > 0).all()
        expected += beta * s["kl"] / d
    else:
        assert "kl" not in s
    if method.endswith("+mds"):
        assert r.info["mds_weight"] == pytest.approx(1 / 64) and (s["mds"] > 0).all()
        expected += lam * s["mds"]
    else:
        assert "mds" not in s
    assert np.allclose(s["loss"], expected, rtol=1e-5, atol=1e-7)


def test_custom_weights_change_the_loss():
    x = images(36)
    r = train_method("vae+mds", x, latent_dim=2, config=cfg(iterations=3), beta=1.0, mds_weight=0.5)
    s = r.steps
    assert r.info == {"beta": 1.0, "mds_weight": 0.5, "stopped": "iterations"}
    assert np.allclose(s["loss"], s["recon"] + 1.0 * s["kl"] / 2 + 0.5 * s["mds"], rtol=1e-5)


def test_every_method_starts_from_the_same_decoder():
    x = images(36)
    a = train_method("gpe", x, latent_dim=2, config=cfg(iterations=0))
    b = train_method("vae", x, latent_dim=2, config=cfg(iterations=0))
    for pa, pb in zip(a.decoder.parameters(), b.decoder.parameters()):
        assert torch.equal(pa, pb)


# ---------------------------------------------------------------- fresh decoder (Table 1)


def test_fresh_decoder_freezes_the_encoder_and_trains_a_new_decoder(five_runs):
    runs, x, xv = five_runs
    vae = runs["vae"]
    before = [p.detach().clone() for p in vae.encoder.parameters()]
    fd = fresh_decoder(vae, x, config=cfg(iterations=9), val_data=xv)
    assert fd.decoder is not vae.decoder and fd.method == "VAE"
    assert all(torch.equal(p, q) for p, q in zip(before, vae.encoder.parameters()))
    assert fd.encoder_iterations == vae.iterations and fd.encoder_seconds == pytest.approx(vae.seconds)
    assert fd.iterations == 9 and list(fd.history.columns[:6]) == TIDY and (fd.history.phase == "decoder").all()
    assert math.isfinite(fd.info["eps"]) and fd.info["beta"] == 0.1
    g = fresh_decoder(runs["gpe"], x, config=cfg(iterations=9), val_data=xv, name="GPE eps")
    assert g.method == "GPE eps" and g.encoder_iterations == 4
    # identical decoder initialisation for every encoder: same seed, same architecture
    h = fresh_decoder(runs["gpe"].encoder, x, config=cfg(iterations=0), val_data=xv)
    k = fresh_decoder(vae.encoder, x, config=cfg(iterations=0), val_data=xv)
    assert all(torch.equal(p, q) for p, q in zip(h.decoder.parameters(), k.decoder.parameters()))

    tab = threshold_table({"VAE": fd, "GPE": g}, [10.0, 1e-9], window=3)
    assert list(tab.columns) == ["method", "threshold", "iterations", "iterations_val", "budget",
                                 "encoder_iterations", "encoder_seconds", "eps"]
    assert len(tab) == 4 and tab.iterations.dtype == "Int64"
    hi, lo = tab[tab.threshold == 10.0], tab[tab.threshold == 1e-9]
    # reached at once: at the end of the first full window of 3 (training loss), at the first evaluation (val)
    assert (hi.iterations == 3).all() and (hi.iterations_val == 0).all()
    assert lo.iterations.isna().all() and lo.iterations_val.isna().all()  # never reached → <NA>


def test_timing_table_ratios(five_runs):
    runs = five_runs[0]
    t = timing_table(runs, skip=1)
    assert t.method.tolist() == ["GPE encoder", "GPE decoder", "VAE", "AE", "VAE+MDS", "AE+MDS"]
    assert (t.s_per_iter > 0).all() and t.loc[t.method == "VAE", "ratio"].item() == pytest.approx(1.0)


def test_encoder_diagnostics_table(five_runs):
    runs, _, xv = five_runs
    d = tables.encoder_table({"gpe": runs["gpe"]}, xv, max_pairs=100)
    assert {"eps", "spread", "gme", "encoder_iterations"} <= set(d.columns) and d.spread.iloc[0] >= 1


# ---------------------------------------------------------------- the paper's numbers


def test_paper_values_hold_tables_1_and_2():
    v = papers.paper_values()
    assert list(v.columns) == ["table", "dataset", "method", "quantity", "value", "source"]
    assert set(v[v.table.str.match("Table [12]")].dataset) == {"MNIST", "CIFAR10", "CelebA", "CelebA-HQ"}
    t1 = papers.paper_table1(v, "mnist")
    assert t1.method.tolist() == ["VAE", "GPE eps=0.03", "GPE eps=0.004"]
    vae, tight = t1.iloc[0], t1.iloc[2]
    assert vae.iterations_threshold_2 == 280899 and tight.iterations_threshold_2 == 308
    assert t1.threshold_2.iloc[0] == 0.022 and t1.latent_dim.iloc[0] == 30
    # "3× (CelebA) to 900× (MNIST)" is the ratio of the last column
    assert round(vae.iterations_threshold_2 / tight.iterations_threshold_2) == 912
    c = papers.paper_table1(v, "CelebA")
    assert round(c.iterations_threshold_2.iloc[0] / c.iterations_threshold_2.iloc[1]) == 3
    t2 = v[(v.table == "Table 2") & (v.quantity == "seconds_per_iteration")]
    assert len(t2) == 4 * 6 and t2.value.between(0.01, 1).all()
    with pytest.raises(KeyError):
        papers.paper_table1(v, "imagenet")


# ---------------------------------------------------------------- ratios, races and Table-1 layout


def _run(name, losses, seconds, offset=0.0, every=1):
    """A Run stand-in with given per-iteration losses; history = every ``every``-th step as validation."""
    it = np.arange(1, len(losses) + 1)
    steps = pd.DataFrame({"iteration": it, "seconds": np.cumsum(seconds), "loss": losses})
    h = steps.iloc[every - 1 :: every].rename(columns={"loss": "val_loss"}).assign(train_loss=np.nan)
    h = h.assign(method=name, phase="decoder" if offset else "joint")[TIDY]
    return Run(h.reset_index(drop=True), method=name, encoder=torch.nn.Identity(), decoder=torch.nn.Identity(),
               steps=steps, seconds=float(steps.seconds.iloc[-1]), iterations=len(losses), encoder_seconds=offset,
               info={"eps": 0.1})


def test_iteration_ratios_and_lower_bounds():
    vae = _run("VAE", [1.0, 0.5, 0.3, 0.2, 0.2, 0.2], [1.0] * 6)
    gpe = _run("GPE", [1.0, 0.3, 0.1, 0.05, 0.05, 0.05], [1.0] * 6, offset=2.0)
    tab = threshold_table({"VAE": vae, "GPE": gpe}, [0.5, 0.1], window=1)
    r = tables.iteration_ratios(tab, numerator="VAE", denominator="GPE").set_index("threshold")
    assert r.loc[0.5, "ratio"] == pytest.approx(2 / 2) and math.isnan(r.loc[0.5, "ratio_lower_bound"])
    assert math.isnan(r.loc[0.1, "ratio"]) and r.loc[0.1, "ratio_lower_bound"] == pytest.approx(6 / 3)


def test_wallclock_race_and_table_count_the_encoder_time():
    gpe = _run("GPE", [0.5, 0.1, 0.05, 0.04], [1.0] * 4, offset=3.0)  # reaches 0.05 at 3 + 3 = 6 s
    ae = _run("AE", [0.5, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05], [1.0] * 8)  # final 0.05, first at 4 s
    vae = _run("VAE", [0.5, 0.3, 0.2] + [0.2] * 9, [1.0] * 12)  # final 0.2 first at 3 s; GPE at 3 + 2 = 5 s
    race = tables.wallclock_race({"GPE": gpe, "AE": ae, "VAE": vae}).set_index("method")
    assert race.loc["AE", "seconds_method"] == 4.0 and race.loc["AE", "seconds_reference"] == 6.0
    assert race.loc["AE", "speedup"] == pytest.approx(4 / 6)
    assert race.loc["VAE", "seconds_method"] == 3.0 and race.loc["VAE", "seconds_reference"] == 5.0
    never = tables.wallclock_race({"GPE": _run("GPE", [0.5, 0.4], [1.0, 1.0], offset=1.0), "AE": ae})
    assert math.isnan(never.speedup.iloc[0]) and math.isnan(never.seconds_reference.iloc[0])
    wt = tables.wallclock_table({"GPE": gpe, "AE": ae}, [0.1, 0.01]).set_index(["method", "level"])
    assert wt.loc[("GPE", 0.1), "seconds"] == 5.0 and wt.loc[("GPE", 0.1), "iteration"] == 2
    assert wt.loc[("AE", 0.1), "seconds"] == 3.0 and math.isnan(wt.loc[("AE", 0.01), "seconds"])
    assert pd.isna(wt.loc[("AE", 0.01), "iteration"]) and wt.loc[("GPE", 0.1), "total_seconds"] == 7.0


def test_compare_table1_aligns_our_rows_with_the_papers():
    runs = {"VAE": _run("VAE", [0.5, 0.2, 0.05], [1.0] * 3),
            "GPE ε=0.03": _run("GPE", [0.5, 0.1, 0.02], [1.0] * 3, offset=1.0),
            "GPE ε=0.01": _run("GPE", [0.3, 0.05, 0.01], [1.0] * 3, offset=1.0)}
    runs["GPE ε=0.03"].info["eps"], runs["GPE ε=0.01"].info["eps"] = 0.03, 0.01
    ours = threshold_table(runs, [0.1, 0.02], window=1)
    side = tables.compare_table1(ours, papers.paper_table1(papers.paper_values(), "MNIST"))
    assert side.method.tolist() == ["VAE", "GPE ε=0.03", "GPE ε=0.01"]
    assert side["paper method"].tolist() == ["VAE", "GPE eps=0.03", "GPE eps=0.004"]
    assert side["iterations ≤ 0.1"].tolist() == [3, 2, 2] and side["paper ≤ 0.022"].tolist() == [280899, 1044, 308]
    assert pd.isna(side.loc[0, "iterations ≤ 0.02"]) and side.loc[2, "iterations ≤ 0.02"] == 3
    celeba = tables.compare_table1(ours, papers.paper_table1(papers.paper_values(), "CelebA"))
    assert celeba["paper method"].iloc[:2].tolist() == ["VAE", "GPE eps=0.0007"]
    assert pd.isna(celeba["paper method"].iloc[2])  # the paper has one GPE row for CelebA
    # a control row (the AE) has no counterpart in the paper and takes none of the GPE rows'
    runs[recipes.AE_CONTROL] = _run("VAE", [0.4, 0.1, 0.04], [1.0] * 3)
    ctl = tables.compare_table1(threshold_table(runs, [0.1, 0.02], window=1),
                                papers.paper_table1(papers.paper_values(), "MNIST"))
    assert ctl.method.tolist() == ["VAE", recipes.AE_CONTROL, "GPE ε=0.03", "GPE ε=0.01"]
    assert ctl["paper method"].iloc[[0, 2, 3]].tolist() == ["VAE", "GPE eps=0.03", "GPE eps=0.004"]
    assert pd.isna(ctl["paper method"].iloc[1]) and pd.isna(ctl["paper ≤ 0.1"].iloc[1])
    # per dataset, stacked: each dataset's seed medians beside its own paper dataset's row
    counts = pd.concat([threshold_table(runs, [0.1, 0.02], window=1).assign(seed=s, dataset=d)
                        for d in ("a", "b") for s in (0, 1)], ignore_index=True)
    sides = tables.table1_sides(counts, {"a": {"paper": "MNIST"}, "b": {"paper": "CelebA"}}, papers.paper_values())
    assert sides.dataset.tolist() == ["a"] * 4 + ["b"] * 4
    b = sides[sides.dataset == "b"]["paper method"].tolist()
    assert b[0] == "VAE" and b[2] == "GPE eps=0.0007" and pd.isna(b[1]) and pd.isna(b[3])
    assert sides[sides.dataset == "a"]["iterations ≤ 0.1"].tolist() == ctl["iterations ≤ 0.1"].tolist()


# ---------------------------------------------------------------- one seeding rule


def test_gpe_encoder_seed_0_is_the_same_network_through_every_entry_point(tmp_path):
    """"The GPE encoder with seed 0" trained through each notebook-facing entry point (notebooks 01/02/06:
    train_gpe_encoder; 03/05: train_method; 04: fresh_decoder_runs; the command line) has identical weights."""
    from gpelib import cli
    from gpelib.checkpoint import load_checkpoint
    from gpelib.data import load_digits
    from gpelib.recipes import fresh_decoder_runs, train_gpe_encoder

    args = ["--data", "digits", "--latent-dim", "3", "--iterations", "5", "--batch-size", "20"]
    run = tmp_path / "cli"
    assert cli.main(["train-encoder", "--run", str(run), *args]) == 0
    cfg = cli._train_config(cli._settings(cli.build_parser().parse_args(["train-encoder", "--run", str(run), *args]),
                                          "encoder"), "encoder", tmp_path / "ck")
    cfg = dataclasses.replace(cfg, checkpoint_dir=None, progress=False)
    train, val = load_digits().split(300, seed=0)  # the CLI's default held-out size
    x, xv = train.images, val.images
    a = train_gpe_encoder(x, latent_dim=3, config=cfg, val_data=xv).encoder
    b = train_method("gpe", x, latent_dim=3, config=dataclasses.replace(cfg, iterations=1), encoder_config=cfg,
                     val_data=xv).encoder
    c = fresh_decoder_runs(x, xv, latent_dim=3, eps_values=[1e-9], vae_config=dataclasses.replace(cfg, iterations=1),
                           encoder_config=cfg, decoder_config=dataclasses.replace(cfg, iterations=1))["GPE ε=1e-09"]
    d = load_checkpoint(run / "encoder").weights["encoder"]
    for name, p in a.state_dict().items():
        assert torch.equal(p, b.state_dict()[name]) and torch.equal(p, c.encoder.state_dict()[name])
        assert torch.equal(p.cpu(), d[name].cpu()), name
    untrained = train_gpe_encoder(x, latent_dim=3, config=dataclasses.replace(cfg, iterations=0), val_data=xv).encoder
    assert not all(torch.equal(p, untrained.state_dict()[k]) for k, p in a.state_dict().items())  # it did train


def test_seeding_rule_offsets_roles():
    from gpelib.recipes import OFFSET, init_models

    enc, dec = init_models((1, 8, 8), 3, seed=5)
    torch.manual_seed(5 + OFFSET["encoder"])
    from gpelib.models import make_decoder, make_encoder

    enc2 = make_encoder((1, 8, 8), 3)
    torch.manual_seed(5 + OFFSET["decoder"])
    dec2 = make_decoder((1, 8, 8), 3)
    assert all(torch.equal(p, q) for p, q in zip(enc.parameters(), enc2.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(dec.parameters(), dec2.parameters()))
    with pytest.raises(ValueError, match="latent_dim"):
        init_models((1, 8, 8), 0, seed=0)


def test_eps_of_a_fresh_decoder_uses_the_encoders_data_scale():
    """Issue #18, item 5b: ε is the encoder's GME cost, so a fresh decoder measures it with the data scale the
    encoder was trained with, not with its own (decoder) config's."""
    from gpelib.recipes import train_gpe_encoder
    from gpelib.train import evaluate_gme

    x, xv = images(48, 0), images(24, 1)
    enc_run = train_gpe_encoder(x, latent_dim=3, config=cfg(iterations=3, data_scale=0.5), val_data=xv)
    assert enc_run.info["eps_data_scale"] == 0.5
    fd = fresh_decoder(enc_run, x, config=cfg(iterations=2), val_data=xv)  # decoder config: data_scale 1.0
    assert fd.info["eps"] == pytest.approx(evaluate_gme(enc_run.encoder, xv, data_scale=0.5), rel=1e-6)
    assert fd.info["eps"] == pytest.approx(enc_run.info["eps"], rel=1e-5)  # the same number as the encoder phase's
    assert fd.info["eps_data_scale"] == 0.5
    other = fresh_decoder(enc_run, x, config=cfg(iterations=2), val_data=xv, eps_data_scale=2.0)
    assert other.info["eps"] == pytest.approx(evaluate_gme(enc_run.encoder, xv, data_scale=2.0), rel=1e-6)
    bare = fresh_decoder(enc_run.encoder, x, config=cfg(iterations=2, data_scale=0.5), val_data=xv)
    assert bare.info["eps"] == pytest.approx(evaluate_gme(enc_run.encoder, xv, data_scale=1.0), rel=1e-6)


def test_encoder_table_passes_the_data_scale_through(five_runs):
    from gpelib.geometry import diagnose_encoder
    from gpelib.tables import encoder_table

    runs, _, xv = five_runs
    one = {"GPE": runs["gpe"]}
    t1, t2 = encoder_table(one, xv), encoder_table(one, xv, data_scale=0.5)
    direct = diagnose_encoder(runs["gpe"].encoder, xv, data_scale=0.5).as_dict()
    cols = [c for c in direct if isinstance(direct[c], float) and "gme" in c]
    assert cols and all(t2[c].item() == pytest.approx(direct[c]) for c in cols)
    assert any(t1[c].item() != pytest.approx(t2[c].item()) for c in cols)


def test_fresh_decoder_sweep_on_two_workers_equals_the_runs_one_by_one():
    """Seeds and entries trained on the worker pool are the networks :func:`fresh_decoder_runs` trains in this
    process with each seed; extra β entries are VAEs with that β (and differ from the main VAE)."""
    from gpelib.recipes import beta_label, fresh_decoder_runs, fresh_decoder_sweep

    g = torch.Generator().manual_seed(0)
    x, xv = torch.rand(60, 1, 8, 8, generator=g) * 2 - 1, torch.rand(20, 1, 8, 8, generator=g) * 2 - 1
    cfg = TrainConfig(iterations=6, batch_size=10, lr=1e-3, seed=0, eval_every=3, progress=False)
    kw = dict(latent_dim=3, eps_values=[1e-9], vae_config=cfg, encoder_config=cfg, decoder_config=cfg)
    sweep = fresh_decoder_sweep(x, xv, seeds=[0, 1, 2], extra_betas=[1.0], extra_seeds=[0, 1], n_workers=2, **kw)
    assert list(sweep) == [0, 1, 2] and list(sweep[1]) == ["VAE", "GPE ε=1e-09", beta_label(1.0)]
    assert list(sweep[2]) == ["VAE", "GPE ε=1e-09"]  # Table 1's own runs on every seed, the extras on extra_seeds
    with pytest.raises(ValueError, match="extra_seeds"):
        fresh_decoder_sweep(x, xv, seeds=[0, 1], extra_seeds=[5], **kw)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a worker: same reduction order
    try:
        for s in (0, 1):
            one = fresh_decoder_runs(x, xv, **{k: dataclasses.replace(v, seed=s) if isinstance(v, TrainConfig) else v
                                              for k, v in kw.items()})
            for label, run in one.items():
                for part in ("encoder", "decoder"):
                    mine, theirs = getattr(run, part).state_dict(), getattr(sweep[s][label], part).state_dict()
                    for name, p in mine.items():
                        torch.testing.assert_close(theirs[name], p, rtol=1e-6, atol=1e-7)
    finally:
        torch.set_num_threads(before)
    a, b = sweep[0]["VAE"].encoder.state_dict(), sweep[0][beta_label(1.0)].encoder.state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a)  # β changes the trained VAE


def test_threshold_curves_medians_bands_censoring_and_crossover():
    """Two methods over three seeds, counted on a threshold grid: GPE reaches 0.5 sooner, the VAE reaches the low
    levels sooner (a crossover), and one GPE seed never reaches 0.05 (censored: the median needs 2 of 3)."""
    n = 10
    vae = {s: _run("VAE", np.linspace(1.0, 0.02 + 0.001 * s, n), [1.0] * n) for s in range(3)}
    gpe = {s: _run("GPE", [1.0, 0.4, 0.3, 0.2, 0.15, 0.1, 0.09, 0.08, 0.07, 0.04 if s else 0.06], [1.0] * n)
           for s in range(3)}
    by_seed = {s: {"VAE": vae[s], "GPE": gpe[s]} for s in range(3)}
    grid = tables.threshold_grid([r for rs in by_seed.values() for r in rs.values()], top=0.5, n=5, window=1)
    assert grid[0] == 0.5 and grid[-1] == pytest.approx(0.02) and np.all(np.diff(grid) < 0)
    counts = tables.over_seeds(threshold_table, by_seed, [0.5, 0.05], window=1)
    assert list(counts.columns[:2]) == ["seed", "method"] and len(counts) == 12
    cur = tables.threshold_curves(counts).set_index(["method", "threshold"])
    # VAE: loss 1 − 0.98·k/9 (+ seed jitter) ≤ 0.5 first at k = 5 (iteration 6) for every seed
    assert cur.loc[("VAE", 0.5), "median"] == 6 and cur.loc[("GPE", 0.5), "median"] == 2
    assert cur.loc[("GPE", 0.05), "reached"] == 2 and cur.loc[("GPE", 0.05), "median"] == 10
    assert cur.loc[("GPE", 0.05), "low"] == cur.loc[("GPE", 0.05), "high"] == 10
    assert cur.loc[("VAE", 0.05), "median"] == 10  # reached at the last iteration (0.02 + jitter)
    assert tables.crossover(tables.threshold_curves(counts), "VAE", "GPE") is None  # 0.05: a tie (10 vs 10)
    faster_vae = {s: {"VAE": _run("VAE", [1.0, 0.6, 0.5, 0.04] + [0.03] * 6, [1.0] * n), "GPE": gpe[s]}
                  for s in range(3)}
    cur2 = tables.threshold_curves(tables.over_seeds(threshold_table, faster_vae, [0.5, 0.05], window=1))
    assert tables.crossover(cur2, "VAE", "GPE") == 0.05
    med = tables.seed_medians(counts).set_index(["method", "threshold"])
    assert med.loc[("GPE", 0.05), "iterations"] == 10 and med.loc[("GPE", 0.5), "iterations"] == 2
    assert (med.seeds == 3).all() and list(tables.seed_medians(counts).columns[:3]) == ["method", "threshold",
                                                                                       "iterations"]
    three_never = tables.threshold_curves(tables.over_seeds(threshold_table, by_seed, [0.01], window=1))
    assert pd.isna(tables.seed_medians(tables.over_seeds(threshold_table, by_seed, [0.01], window=1))
                   .set_index("method").loc["GPE", "iterations"])
    assert three_never.set_index("method").loc["GPE", "reached"] == 0
    assert math.isnan(three_never.set_index("method").loc["GPE", "median"])
    fig = plots.threshold_curves(
        cur2, paper=pd.DataFrame({"method": ["VAE", "GPE eps=0.03"], "threshold": [0.1, 0.1], "iterations": [80, 47]}))
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].xaxis_inverted()


def test_shared_run_folders_resume_finished_runs_and_separate_settings(tmp_path):
    """A finished run with the same settings is loaded from its folder (same weights, same history, no training);
    notebook 03's GPE call and notebook 04's Table-1 entry with equal settings name the same folder; another
    setting (here the seed, the ε) gets another folder."""
    from gpelib.recipes import run_folder, table1_run

    g = torch.Generator().manual_seed(0)
    x, xv = torch.rand(60, 1, 8, 8, generator=g) * 2 - 1, torch.rand(20, 1, 8, 8, generator=g) * 2 - 1
    dec = TrainConfig(iterations=8, batch_size=10, lr=1e-3, seed=0, eval_every=4, progress=False)
    enc = dataclasses.replace(dec, iterations=12, target=0.05)
    a = train_method("gpe", x, latent_dim=3, config=dec, encoder_config=enc, val_data=xv, checkpoint_root=tmp_path)
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 1 and folders[0].startswith("gpe-s0-")
    # (and each checkpoint's lock file, .<name>.lock: gpelib.checkpoint)
    assert {p.name for p in (tmp_path / folders[0]).iterdir() if not p.name.startswith(".")} == {"encoder", "decoder"}
    assert run_folder(tmp_path, "gpe", x, xv, latent_dim=3, config=dec, encoder_config=enc, beta=None,
                      mds_weight=None, arch=None, width=32, hidden=256).name == folders[0]
    b = table1_run("gpe", x, xv, latent_dim=3, vae_config=dec, encoder_config=dataclasses.replace(enc, target=None),
                   decoder_config=dec, eps=0.05, checkpoint_root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == folders  # the same run, loaded
    for part in ("encoder", "decoder"):
        sa, sb = getattr(a, part).state_dict(), getattr(b, part).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.steps, b.steps)
    assert b.seconds == a.seconds and b.encoder_iterations == a.encoder_iterations
    train_method("gpe", x, latent_dim=3, config=dataclasses.replace(dec, seed=1),
                 encoder_config=dataclasses.replace(enc, seed=1), val_data=xv, checkpoint_root=tmp_path)
    table1_run("vae", x, xv, latent_dim=3, vae_config=dec, encoder_config=enc, decoder_config=dec,
               checkpoint_root=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and [n[:7] for n in names] == ["gpe-s0-", "gpe-s1-", "vae-s0-"]
    vae_dir = tmp_path / next(n for n in names if n.startswith("vae"))
    assert {p.name.split("-")[0] for p in vae_dir.iterdir() if not p.name.startswith(".")} == {"joint", "fresh"}


def test_run_until_is_the_shorter_run_of_the_same_settings():
    from gpelib.recipes import train_method as tm

    x, xv = images(64), images(32, seed=1)
    long = tm("vae", x, latent_dim=3, config=cfg(iterations=30, eval_every=10), val_data=xv)
    short = tm("vae", x, latent_dim=3, config=cfg(iterations=20, eval_every=10), val_data=xv)
    cut = long.until(20)
    assert cut.iterations == 20 and cut.final_val == short.final_val  # the same updates, bit for bit
    pd.testing.assert_series_equal(cut.history["val_loss"], short.history["val_loss"])
    assert cut.steps["iteration"].max() == 20 and cut.seconds == cut.history["seconds"].iloc[-1]
    assert cut.decoder is None and cut.info["until"] == 20  # the full run's models are not the cut run's
    with pytest.raises(ValueError, match="evaluation point"):
        long.until(15)


def test_step_time_rounds_interleaves_every_method_and_normalises_per_round():
    from gpelib.recipes import step_time_rounds

    t = step_time_rounds(images(64), latent_dim=3, config=cfg(), methods=["vae", "ae", "gpe"], rounds=3,
                         iterations=8, skip=2)
    assert sorted(t["round"].unique()) == [0, 1, 2]
    per_round = t.groupby("round")["method"].apply(sorted)
    assert all(m == ["AE", "GPE decoder", "GPE encoder", "VAE"] for m in per_round)
    assert (t[t.method == "VAE"]["ratio"] == 1.0).all() and (t["s_per_iter"] > 0).all()
    vae = t[t.method == "VAE"].set_index("round")["s_per_iter"]
    ae = t[t.method == "AE"].set_index("round")
    assert np.allclose(ae["ratio"], ae["s_per_iter"] / vae)  # each round against its own VAE
    with pytest.raises(ValueError, match="reference"):
        step_time_rounds(images(64), latent_dim=3, config=cfg(), methods=["ae"], rounds=1, iterations=8, skip=2)


def test_fresh_decoder_as_released_reads_standardised_latents_and_thresholds_its_mse():
    x, xv = images(64), images(32, seed=1)
    gpe = train_method("gpe", x, latent_dim=3, config=cfg(iterations=12), val_data=xv)
    plain = fresh_decoder(gpe, x, config=cfg(iterations=12), val_data=xv)
    rel = fresh_decoder(gpe, x, config=cfg(iterations=12), val_data=xv, standardize=True, objective="released")
    z = rel.encoder.eval()(x).detach()
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-5)  # centred, one scale: E‖z‖² = d
    assert float(z.square().sum(1).mean()) == pytest.approx(3.0, rel=1e-4)
    assert rel.info["standardized"] and rel.info["objective"] == "released" and rel.info["eps"] == plain.info["eps"]
    assert {"mse", "cycle", "l1"} <= set(rel.steps.columns) and (rel.steps["loss"] > rel.steps["mse"]).all()
    level = float(rel.steps["loss"].min()) - 1e-6  # the total loss never gets there, its MSE part does
    t = tables.threshold_table({"released": rel}, [level], window=1)
    assert not pd.isna(t["iterations"].iloc[0])
    with pytest.raises(ValueError, match="objective"):
        fresh_decoder(gpe, x, config=cfg(iterations=2), objective="l2")


def _decay_run(rate: float, n: int = 400) -> Run:
    """A run whose training MSE is exp(−rate·it): it reaches level t at iteration ceil(−log t / rate)."""
    it = np.arange(1, n + 1)
    steps = pd.DataFrame({"iteration": it, "seconds": it * 0.01, "loss": np.exp(-rate * it)})
    hist = pd.DataFrame({"method": "m", "phase": "decoder", "iteration": [n], "seconds": [n * 0.01],
                         "train_loss": [steps.loss.iloc[-1]], "val_loss": [steps.loss.iloc[-1]]})
    return Run(hist, method="m", steps=steps, iterations=n)


def test_protocol_map_ratios_effects_and_conclusion():
    seeds = [0, 1, 2]
    # as printed: VAE 4× slower than GPE; variant A: the VAE becomes 2× *faster*; variant B: a 1.5× change
    variants = {
        "as printed": {s: {"VAE": _decay_run(0.01), "GPE": _decay_run(0.04)} for s in seeds},
        "A": {s: {"VAE": _decay_run(0.08), "GPE": _decay_run(0.04)} for s in seeds},
        "B": {s: {"VAE": _decay_run(0.015), "GPE": _decay_run(0.04)} for s in seeds},
        "C": {s: {"VAE": _decay_run(0.001), "GPE": None} for s in seeds},  # never / diverged: censored
    }
    t = tables.protocol_map_table(variants, [0.1], budget=400, window=1, factors={"A": "a factor"})
    r = t.set_index("variant")
    # −log(0.1) = 2.303: GPE at it 58, VAE at 231 → ratio 231/58 = 3.98; A: 29/58
    assert r.loc["as printed", "ratio"] == pytest.approx(231 / 58)
    assert r.loc["A", "ratio"] == pytest.approx(29 / 58) and r.loc["A", "factor"] == "a factor"
    assert math.isnan(r.loc["C", "ratio"])  # both sides censored at the budget
    e = tables.protocol_effects(t).set_index("variant")
    assert e.loc["A", "flips"] and e.loc["A", "side"] == "VAE faster" and e.loc["as printed", "side"] == "GPE faster"
    assert not e.loc["B", "moves"] and e.loc["B", "change"] == pytest.approx((154 / 58) / (231 / 58))
    text = tables.protocol_conclusion(tables.protocol_effects(t))
    assert "flips with A (VAE faster" in text and "within 2× with B" in text and "leaves C open" in text


def test_run_with_clock_rescales_every_time_by_the_iteration_cost():
    r = _decay_run(0.01, n=100)
    r.encoder_iterations, r.encoder_seconds = 50, 123.0
    c = r.with_clock(0.002, encoder_s_per_iter=0.001)
    assert c.seconds == pytest.approx(0.2) and c.encoder_seconds == pytest.approx(0.05)
    assert c.total_seconds == pytest.approx(0.25)
    assert np.allclose(c.steps["seconds"], c.steps["iteration"] * 0.002)
    assert np.allclose(c.wallclock()["seconds"], 0.05 + c.history["iteration"] * 0.002)  # shifted by the encoder
    assert np.allclose(r.steps["seconds"], r.steps["iteration"] * 0.01) and c.info["clock"]["s_per_iter"] == 0.002
    assert r.with_clock(0.002).encoder_seconds == 123.0  # no encoder cost given: its seconds stay
    with pytest.raises(ValueError, match="positive"):
        r.with_clock(0.0)


def test_table1_encoders_are_the_encoders_the_sweep_then_loads(tmp_path):
    """Notebook 02 trains only the encoders (table1_encoders); notebook 04's sweep with the same settings then finds
    them in the same run folders: its GPE encoder and VAE are the very same weights, the encoder phase is not
    rerun (the same recorded seconds and history), and only the decoders are added."""
    from gpelib.recipes import fresh_decoder_sweep, table1_encoders

    g = torch.Generator().manual_seed(0)
    x, xv = torch.rand(60, 1, 8, 8, generator=g) * 2 - 1, torch.rand(20, 1, 8, 8, generator=g) * 2 - 1
    dec = TrainConfig(iterations=8, batch_size=10, lr=1e-3, seed=0, eval_every=4, progress=False)
    kw = dict(latent_dim=3, vae_config=dataclasses.replace(dec, iterations=10),
              encoder_config=dataclasses.replace(dec, iterations=12), decoder_config=dec, beta=0.1,
              checkpoint_root=tmp_path, n_workers=1)
    enc = table1_encoders(x, xv, seeds=[0, 1], eps=0.05, **kw)
    assert set(enc) == {0, 1} and all(set(r) == {"GPE", "VAE"} for r in enc.values())
    assert enc[0]["GPE"].decoder is None and enc[0]["VAE"].decoder is not None
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(list(tmp_path.rglob("encoder/weights.safetensors"))) == 2
    assert not list(tmp_path.rglob("decoder/weights.safetensors"))
    sweep = fresh_decoder_sweep(x, xv, seeds=[0, 1], eps_values=[0.05], **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == folders  # no new run folder
    assert len(list(tmp_path.rglob("decoder/weights.safetensors"))) == 2
    for s in (0, 1):
        for ours, theirs in ((enc[s]["GPE"], sweep[s]["GPE ε=0.05"]), (enc[s]["VAE"], sweep[s]["VAE"])):
            a, b = ours.encoder.state_dict(), theirs.encoder.state_dict()
            assert all(torch.equal(a[k], b[k]) for k in a)
        gpe = sweep[s]["GPE ε=0.05"]
        assert gpe.encoder_iterations == enc[s]["GPE"].iterations and gpe.encoder_seconds == enc[s]["GPE"].seconds
        pd.testing.assert_frame_equal(gpe.encoder_history, enc[s]["GPE"].history)
        assert sweep[s]["VAE"].info["stopped"] == enc[s]["VAE"].info["stopped"]
    assert not torch.equal(next(enc[0]["GPE"].encoder.parameters()), next(enc[1]["GPE"].encoder.parameters()))


def test_family_only_entries_stay_out_of_table1_and_join_the_family_under_their_own_names():
    runs = {k: k for k in ("VAE", "GPE ε=0.02", "GPE ε=0.03", "VAE β=0", "VAE β=1",
                           recipes.family_label("GPE ε=0.05"), recipes.family_label("AE+MDS"))}
    assert list(recipes.table1_entries(runs)) == ["VAE", "GPE ε=0.02", "GPE ε=0.03", recipes.AE_CONTROL]
    family = recipes.encoder_family(runs)
    assert list(family) == ["VAE", "GPE ε=0.02", "GPE ε=0.03", recipes.AE_CONTROL, "VAE β=1", "GPE ε=0.05", "AE+MDS"]
    assert family["AE+MDS"] == recipes.family_label("AE+MDS")


def test_a_family_sweep_trains_the_extra_members_and_names_them(tmp_path):
    """``fresh_decoder_sweep``'s family members on a tiny budget: an AE+MDS with a fresh decoder (its encoder frozen)
    and a GPE encoder at a third ε, both under their family labels."""
    x = torch.randn(48, 6)
    cfg = TrainConfig(iterations=4, batch_size=16, eval_every=2, progress=False, device="cpu")
    out = recipes.fresh_decoder_sweep(x[:40], x[40:], seeds=[0], latent_dim=2, eps_values=[0.5], vae_config=cfg,
                                      encoder_config=cfg, decoder_config=cfg, family_eps=[0.9],
                                      family_methods=["ae+mds"], n_workers=1, arch="mlp", hidden=8)
    runs = out[0]
    assert set(runs) == {"VAE", "GPE ε=0.5", "GPE ε=0.9 (family)", "AE+MDS (family)"}
    assert runs["AE+MDS (family)"].method == "AE+MDS" and runs["AE+MDS (family)"].iterations == 4
    with pytest.raises(ValueError, match="kind must be 'gpe' or a jointly trained method"):
        recipes.table1_run("flow", x, x, latent_dim=2, vae_config=cfg, encoder_config=cfg, decoder_config=cfg)
