"""The plateau rule (gpelib.plateau, SPEC §2 "Plateau", issue 28 item 1): the four states on curves whose answer is
known, the noise floor, both directions; the stop rule in the training loop (train_gan), in the seed-batched engine
(runs leave the batch at their own plateau and equal single runs stopped by the same rule) and on resume; the tables
and the verdict helper built on it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from gpelib import verdicts as V
from gpelib.data import gaussian_mixture
from gpelib.gan import train_gan
from gpelib.gan.batched_train import train_gan_batched
from gpelib.gan.diagnostics import energy_distance
from gpelib.gan.mixture_scores import HeldOutEnergy, floor_table, history_floors, mixture_stop
from gpelib.gan.tables import plateau_states, run_states, state_counts, states_by_run
from gpelib.plateau import PlateauStop, Watch, combined_state, plateau_iteration, plateau_state
from gpelib.train import TrainConfig

IT = np.arange(0, 10_001, 250)


def test_flat_curve_is_at_plateau_and_a_falling_one_is_improving():
    assert plateau_state(IT, np.full(len(IT), 0.5)).state == "plateau"
    falling = 1.0 / (1 + IT / 500)  # still falls by ~20 % over the last fifth
    p = plateau_state(IT, falling)
    assert p.state == "improving" and p.change > p.tolerance > 0
    assert plateau_state(IT, falling, better="higher").state == "worsening"  # the same curve, read the other way
    assert plateau_state(IT, -falling, better="higher").state == "improving"


def test_exponential_settling_reaches_plateau_and_the_first_plateau_is_found():
    v = 1 + np.exp(-IT / 800)
    assert plateau_state(IT, v).state == "plateau"
    rows = [{"iteration": i, "m": x} for i, x in zip(IT, v)]
    first = plateau_iteration(rows, [Watch("m")])
    assert first is not None and 500 < first < 10_000
    # judged on the history up to then: just before it, the rule did not hold yet
    assert plateau_state(IT[IT < first], v[IT < first]).state == "improving"
    assert plateau_iteration(rows, [Watch("m")], min_iteration=6000) == 6000


def test_oscillation_with_equal_ends_is_oscillating_and_noise_within_the_floor_is_a_plateau():
    zigzag = 1 + 0.5 * np.sin(IT / 300.0)
    zigzag[-1] = zigzag[np.searchsorted(IT, 0.8 * IT[-1], side="right") - 1]  # same value at both ends of the window
    assert plateau_state(IT, zigzag, window=1).state == "oscillating"
    rng = np.random.default_rng(0)
    noisy = 0.03 + rng.normal(0, 0.012, len(IT))  # an energy distance at its floor (sd 0.012 at n = 500)
    assert plateau_state(IT, noisy, floor=0.012).state == "plateau"
    assert plateau_state(IT, noisy, floor=0.0, relative=0.01, window=1).state != "plateau"  # without the floor


def test_a_run_flat_from_its_start_is_not_stopped_until_it_has_learned():
    flat = [{"iteration": i, "m": 5.0} for i in IT]
    stop = PlateauStop(watches=(Watch("m"),), min_iteration=1000, progress="m")
    assert not stop(flat) and PlateauStop(watches=(Watch("m"),), min_iteration=1000)(flat)
    learned = [{"iteration": i, "m": 1 + 4 * math.exp(-i / 500)} for i in IT]
    assert stop(learned)
    with pytest.raises(ValueError, match="progress must name a watched column"):
        PlateauStop(watches=(Watch("m"),), progress="val_loss")


def test_bad_input_says_what_it_wants():
    with pytest.raises(ValueError, match="at least 3"):
        plateau_state([0, 1], [1.0, 1.0])
    with pytest.raises(ValueError, match="too few evaluations"):
        plateau_state([0, 1, 2, 100], [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="better"):
        Watch("m", better="up")
    with pytest.raises(ValueError, match="noise floor"):
        Watch("m", floor=-1.0)
    assert combined_state(["plateau", "improving", "worsening"]) == "worsening"
    assert combined_state(["plateau", "plateau"]) == "plateau"
    with pytest.raises(ValueError, match="unknown"):
        combined_state(["settled"])


def test_plateau_verdict_helper_vetoes_on_own_runs_only():
    holds = V.Decision(V.HOLDS, 1.0, 0.5, 2.0, "")
    others = {"GMEGAN s0": "plateau", "GMEGAN s1": "plateau", "VEEGAN s0": "oscillating"}
    d = V.at_plateau_or_inconclusive(holds, others, own=["GMEGAN s0", "GMEGAN s1"])
    assert d.outcome == V.HOLDS and "VEEGAN s0 oscillating" in d.note and "no veto" in d.note
    d = V.at_plateau_or_inconclusive(holds, {**others, "GMEGAN s1": "improving"}, own=["GMEGAN s0", "GMEGAN s1"])
    assert d.outcome == V.INCONCLUSIVE and "GMEGAN s1 improving" in d.note
    d = V.at_plateau_or_inconclusive(V.Decision(V.INCONCLUSIVE, 0.0, -1.0, 1.0, ""), others, own=["GMEGAN s0"])
    assert d.outcome == V.INCONCLUSIVE and "straddles" in d.note
    assert V.at_plateau_or_inconclusive(holds, {}, own=["GMEGAN s0"]).outcome == V.INCONCLUSIVE  # never judged


def test_tables_give_each_run_its_state_and_count_them():
    rows = []
    for seed, curve in enumerate([np.full(len(IT), 2.0), 1.0 / (1 + IT / 500)]):
        rows += [{"dataset": "d", "variant": "A", "method": "a", "seed": seed, "iteration": i, "m": x,
                  "e": math.nan} for i, x in zip(IT, curve)]
    history = pd.DataFrame(rows)
    st = plateau_states(history, {"d": {"m": 0.0}}, metrics={"m": "lower", "e": "lower"})
    assert list(st.state) == ["plateau", "improving"] and set(st.metric) == {"m"}  # all-NaN "e" gives no row
    assert states_by_run(st, ["A"], "m") == {"A s0": "plateau", "A s1": "improving"}
    table = pd.DataFrame({"dataset": "d", "variant": "A", "method": "a", "seed": [0, 1], "iterations": [4000, 10_000],
                          "stopped_at_plateau": [1.0, 0.0]})
    runs = run_states(table, st, {"a": ["m"]})
    assert list(runs.state) == ["plateau", "improving"]
    assert runs.plateau_iteration.iloc[0] == 4000 and math.isnan(runs.plateau_iteration.iloc[1])
    c = state_counts(runs).iloc[0]
    assert (c.runs, c.plateau, c.improving, c.iterations_max, c.plateau_median) == (2, 1, 1, 10_000, 4000)


def test_held_out_energy_of_a_training_history_is_the_plain_energy_distance():
    mix = gaussian_mixture(300, n_modes=9, dim=100, seed=0)
    a, b = mix.sample(200, seed=1).x, mix.sample(250, seed=2).x + 0.1
    fast = HeldOutEnergy(a)
    assert fast(b) == pytest.approx(energy_distance(b, a), abs=1e-5)
    assert fast(b) == pytest.approx(energy_distance(b, a), rel=1e-3) and fast(b) > 0.01  # the shift is seen
    assert fast(mix.sample(200, seed=3).x) == pytest.approx(0.0, abs=0.05)


# ---------------------------------------------------------------------------------- the stop rule in the loops


class StopAt:
    """A stop rule that settles a run at the first evaluation at or after ``size / 10`` iterations, ``size`` being
    the run's data set size as its evaluation reports it: runs on data sets of different sizes stop apart."""

    def __call__(self, rows):
        return rows[-1]["iteration"] >= rows[-1]["size"] / 10

    def describe(self):
        return {"stop": "size/10"}


def _size(method):
    return {"size": float(method._pool.shape[0])}


def _cfg(**kw):
    return TrainConfig(iterations=60, batch_size=16, eval_every=5, progress=False, **kw)


def test_batched_runs_leave_the_batch_at_their_own_plateau_as_single_runs_do(tmp_path, one_thread):
    x = gaussian_mixture(400, n_modes=9, dim=100, seed=0).x
    datas = [x[:200], x[:400]]  # stop at iteration 20 and 40
    kw = dict(latent_dim=2, arch_options={"hidden": 32}, n_val=100, eval_fn=_size, stop=StopAt())
    batch = train_gan_batched("gmegan", datas, seeds=[0, 1], config=_cfg(), val_data=x[:100],
                              checkpoint_dirs=[tmp_path / "b0", tmp_path / "b1"], **kw)
    assert [r.iterations for r in batch] == [20, 40] and [r.stopped for r in batch] == ["plateau", "plateau"]
    for k, d in enumerate(datas):
        one = train_gan("gmegan", d, config=_cfg(seed=k), val_data=x[:100], **kw)
        assert one.iterations == batch[k].iterations and one.stopped == "plateau"
        for part, m in one.method.modules().items():
            for key, v in m.state_dict().items():
                torch.testing.assert_close(v, batch[k].method.modules()[part].state_dict()[key], atol=1e-6, rtol=0)
    again = train_gan_batched("gmegan", datas, seeds=[0, 1], config=_cfg(), val_data=x[:100],
                              checkpoint_dirs=[tmp_path / "b0", tmp_path / "b1"], **kw)  # resumes: both done
    assert [r.iterations for r in again] == [20, 40] and len(again[1].steps) == len(batch[1].steps)


def test_train_gan_stops_at_plateau_and_a_resumed_run_stops_at_once(tmp_path, one_thread):
    mix = gaussian_mixture(300, n_modes=9, dim=100, seed=0)
    floors = history_floors(mix, 100, draws=3, n_tuples=200)
    stop = mixture_stop({k: 1e-6 for k in floors}, method="gan", min_iteration=30)
    cfg = _cfg(checkpoint_dir=str(tmp_path / "run"))

    calls = []

    def track(m):  # made-up scores, constant (at their plateau) but for the energy's first value (it has learned)
        calls.append(m)
        return {"modes_covered": 1.0, "transport_agreement": 0.5, "val_loss": 5.0 if len(calls) == 1 else 1.0}

    res = train_gan("gan", mix.x, latent_dim=2, config=cfg, arch_options={"hidden": 32}, eval_fn=track, stop=stop)
    assert res.stopped == "plateau" and res.iterations == 30
    again = train_gan("gan", mix.x, latent_dim=2, config=cfg, arch_options={"hidden": 32}, eval_fn=track, stop=stop)
    assert again.stopped == "plateau" and again.iterations == 30
    other = PlateauStop(watches=(Watch("val_loss"),), min_iteration=50)
    with pytest.raises(ValueError, match="another model|stop"):  # a run stored under another rule is not resumed
        train_gan("gan", mix.x, latent_dim=2, config=cfg, arch_options={"hidden": 32}, eval_fn=track, stop=other)
    assert floors["val_loss"] > 0 and 0 <= floors["transport_agreement"] < 0.5


def test_floor_table_names_the_sample_size_of_each_floor():
    t = floor_table({"d": {"val_loss": 0.01, "modes_covered": 0.0}}, n_track=500, n_energy=1000)
    assert t.to_dict("records") == [{"dataset": "d", "metric": "val_loss", "n": 1000, "floor": 0.01},
                                    {"dataset": "d", "metric": "modes_covered", "n": 500, "floor": 0.0}]
