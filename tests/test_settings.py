"""Typed training stages (:class:`gpelib.settings.Stage`): checked when made, read from the notebook presets in one
place (:data:`gpelib.settings.STAGE_KEYS`), and giving exactly the ``TrainConfig`` that the notebooks built by hand
before (so the shared run folders keep their names)."""

from __future__ import annotations

import math

import pytest

from gpelib import cli, profiles, recipes
from gpelib.settings import STAGE_KEYS, Stage, stages
from gpelib.train import TrainConfig

GOOD = dict(iterations=100, batch_size=10, lr=1e-3, betas=(0.5, 0.999), eval_every=10)


@pytest.mark.parametrize("field, value", [
    ("iterations", 0), ("iterations", 2.5), ("iterations", True), ("batch_size", 1), ("lr", 0.0), ("lr", 2.0),
    ("lr", math.nan), ("lr", math.inf), ("lr", "1e-3"), ("betas", (0.5,)), ("betas", (1.0, 0.5)),
    ("betas", (0.5, math.nan)), ("eval_every", 0), ("target", -0.1), ("target", math.inf)])
def test_a_stage_refuses_a_bad_value_naming_the_field_and_what_it_expected(field, value):
    with pytest.raises(ValueError, match=rf"{field}=.*expected"):
        Stage(**(GOOD | {field: value}))


def test_a_stage_is_frozen_and_its_config_carries_every_field_and_the_extras():
    st = Stage(**GOOD, target=0.02)
    with pytest.raises(AttributeError):
        st.lr = 1.0  # type: ignore[misc]
    cfg = st.config(seed=3, device="cpu", checkpoint_dir="x", target=0.01)
    assert cfg == TrainConfig(iterations=100, batch_size=10, lr=1e-3, betas=(0.5, 0.999), eval_every=10,
                              target=0.01, seed=3, device="cpu", checkpoint_dir="x")
    assert Stage(**(GOOD | {"betas": [0.9, 0.99]})).betas == (0.9, 0.99)  # a YAML list becomes the tuple


def test_the_quick_mnist_runs_give_the_configs_notebooks_04_to_06_were_built_with():
    """Numbers from :data:`gpelib.profiles.MNIST_5K_RUNS`' documentation: VAE 4,000 joint iterations, GPE encoders
    capped at 6,000 (held-out GME every 100), fresh decoders 3,000 (every 200); batch 100, lr 1e-3, betas
    (0.5, 0.999)."""
    c = recipes.stage_configs(profiles.preset("04", "quick"), seed=2, device="cpu")
    common = dict(batch_size=100, lr=1e-3, betas=(0.5, 0.999), seed=2, device="cpu")
    assert c == dict(vae_config=TrainConfig(iterations=4000, eval_every=200, **common),
                     encoder_config=TrainConfig(iterations=6000, eval_every=100, **common),
                     decoder_config=TrainConfig(iterations=3000, eval_every=200, **common))


@pytest.mark.parametrize("profile", profiles.PROFILES)
def test_the_quickstart_stages_score_twenty_times_and_the_flow_uses_torchcfm_betas(profile):
    S = profiles.preset("00", profile)
    st = stages(S, "encoder", "decoder", "flow")
    for name, key in (("encoder", "encoder_cap"), ("decoder", "decoder_iterations"), ("flow", "flow_iterations")):
        assert st[name].iterations == S[key] and st[name].eval_every == max(S[key] // 20, 1)
    assert st["flow"].betas == (0.9, 0.999) and st["encoder"].betas == st["decoder"].betas == (0.5, 0.999)
    assert (st["flow"].batch_size, st["flow"].lr) == (S["flow_batch"], S["flow_lr"])


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("nb, names", [("00", ("encoder", "decoder", "flow")), ("01", ("mixture",)),
                                       ("03", ("encoder", "decoder")), *[(nb, ("joint", "encoder", "decoder"))
                                                                         for nb in ("04", "05", "06")]])
def test_every_gpe_preset_has_valid_stages_also_in_a_dry_run(nb, names, profile):
    S = profiles.preset(nb, profile)
    for preset in (S, profiles.dry_run(S)):
        st = stages(preset, *names)
        assert set(st) == set(names)
        for name, stage in st.items():
            assert stage.iterations == preset[STAGE_KEYS[name]["iterations"]]


def test_a_preset_without_a_stage_or_an_unknown_stage_names_what_is_missing():
    S = profiles.preset("01", "quick")
    with pytest.raises(KeyError, match="encoder_cap"):
        stages(S, "encoder")
    with pytest.raises(KeyError, match="no training stage 'critic'"):
        stages(S, "critic")
    with pytest.raises(ValueError, match="batch_size=1"):
        stages(S | {"batch": 1}, "mixture")


def test_the_gpe_command_checks_a_stage_with_the_same_rules(tmp_path):
    (tmp_path / "c.yaml").write_text("decoder:\n  betas: [0.5, 1.5]\n")
    with pytest.raises(cli.CLIError, match=r"decoder.betas must be two numbers in \[0, 1\); got \[0.5, 1.5\]"):
        cli._read_yaml(tmp_path / "c.yaml")
    cfg = cli._train_config(cli.DEFAULTS, "encoder", tmp_path)
    assert cfg.eval_every == cli.DEFAULTS["encoder"]["iterations"] // 20
    assert cfg.checkpoint_dir == str(tmp_path / "encoder")
