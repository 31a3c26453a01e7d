"""One source of settings: profiles, notebook presets, the CLI's defaults and the library's defaults agree with each
other and with the papers' data file (gpelib/paper_values.csv)."""

from __future__ import annotations

import dataclasses

import pytest

from gpelib import cli, papers, profiles
from gpelib.flows import default_flow_config
from gpelib.gan.methods import GMEGANHyper
from gpelib.train import TrainConfig


def test_resolve_profile(monkeypatch):
    monkeypatch.delenv("GPE_PROFILE", raising=False)
    assert profiles.resolve_profile() == "quick"
    monkeypatch.setenv("GPE_PROFILE", "smoke")
    assert profiles.resolve_profile() == "smoke"
    assert profiles.resolve_profile("paper") == "paper"
    with pytest.raises(ValueError, match="smoke"):
        profiles.resolve_profile("fast")
    monkeypatch.setenv("GPE_PROFILE", "nonsense")
    with pytest.raises(ValueError, match="nonsense"):
        profiles.resolve_profile()


def test_pick_and_preset_name_what_is_missing():
    with pytest.raises(KeyError, match="paper"):
        profiles.pick("paper", {"smoke": 1, "quick": 2})
    with pytest.raises(KeyError, match="11"):
        profiles.preset("11", "quick")


@pytest.mark.parametrize("stage", ["encoder", "decoder", "flow"])
def test_cli_defaults_equal_the_quick_profile(stage):
    t = profiles.stage_settings("quick", stage)
    d = cli.DEFAULTS[stage]
    assert d["batch_size"] == t["batch_size"] and d["lr"] == t["lr"] and tuple(d["betas"]) == t["betas"]


def test_cli_train_config_carries_the_stage_betas(tmp_path):
    """The drift this guards against: ``gpe train-flow`` trained with betas (0.5, 0.999) while the library's flow
    default and notebook 06 used (0.9, 0.999)."""
    flow = cli._train_config(cli.DEFAULTS, "flow", tmp_path)
    assert flow.betas == profiles.stage_settings("quick", "flow")["betas"] == (0.9, 0.999)
    assert cli._train_config(cli.DEFAULTS, "encoder", tmp_path).betas == (0.5, 0.999)


def test_library_flow_default_equals_the_quick_profile_and_notebook_06():
    cfg = default_flow_config()
    t = profiles.stage_settings("quick", "flow")
    nb = profiles.preset("06", "quick")
    assert (cfg.batch_size, cfg.lr, cfg.betas) == (t["batch_size"], t["lr"], t["betas"])
    assert (nb["flow_batch"], nb["flow_lr"], tuple(nb["flow_betas"])) == (cfg.batch_size, cfg.lr, cfg.betas)


def test_trainconfig_defaults_are_the_paper_profiles_reference_settings():
    ref = profiles.stage_settings("paper", "encoder")
    cfg = TrainConfig()
    assert (cfg.batch_size, cfg.lr, cfg.betas) == (ref["batch_size"], ref["lr"], ref["betas"])
    assert ref["lr"] == papers.gpe_settings("SPEC reference")["lr"] == 1e-4


@pytest.mark.parametrize("profile", profiles.PROFILES)
@pytest.mark.parametrize("nb", ["01", "02", "03", "04", "05", "06"])
def test_notebook_presets_use_the_profile_optimiser(nb, profile):
    s = profiles.preset(nb, profile)
    t = profiles.stage_settings(profile, "encoder")
    assert s["lr"] == t["lr"] and s["batch"] == t["batch_size"]
    if "encoder_lr" in s:
        assert s["encoder_lr"] == t["lr"]


def test_paper_presets_read_the_papers_settings():
    mnist = papers.gpe_dataset("MNIST")
    assert (mnist.latent_dim, mnist.thresholds, mnist.eps, mnist.encoder_threshold) == (30, (0.1, 0.022),
                                                                                         (0.03, 0.004), 0.0035)
    nb04 = profiles.preset("04", "paper")["datasets"]
    assert nb04["mnist"]["latent"] == 30 and nb04["mnist"]["thresholds"] == [0.1, 0.022]
    assert nb04["cifar10"]["eps"] == [0.03, 0.0009] and nb04["celeba_hq"]["thresholds"] == [0.1, 0.0045]
    nb05 = profiles.preset("05", "paper")["datasets"]
    assert [d["eps"] for d in nb05.values()] == [0.0035, 0.0015, 0.0005, 0.0008]
    assert profiles.preset("02", "paper")["latent"] == profiles.preset("06", "paper")["latent"] == 30
    assert profiles.preset("03", "paper")["thresholds"] == [0.1, 0.015]


def test_gmegan_defaults_equal_table_1():
    syn, cifar = papers.gmegan_settings("synthetic"), papers.gmegan_settings("CIFAR10")
    from gpelib.gan import GMEGAN_VARIANTS

    assert GMEGANHyper().variant == "as_printed"  # the default is the paper's text
    for kind, table in (("vectors", syn), ("images", cifar)):
        hp = GMEGAN_VARIANTS["as_printed"][kind]
        assert (hp["lambda1"], hp["lambda2"], hp["lambda3"], hp["lr_g"], hp["lr_d"]) == (
            table["lambda1"], table["lambda2"], table["lambda3"], table["lr_g"], table["lr_d"])
    assert profiles.preset("07", "quick")["batch"] == syn["batch_size"] == 16
    assert profiles.preset("08", "paper")["batch"] == profiles.preset("09", "quick")["batch"] == cifar["batch_size"]
    assert dataclasses.fields(GMEGANHyper)  # a dataclass: its defaults are what train_gan uses


def test_paper_values_rows_are_well_formed():
    v = papers.paper_values()
    assert set(v.source) <= {"printed", "released", "SPEC reference"}
    assert not v.duplicated(["table", "dataset", "method", "quantity", "source"]).any()
    assert v.value.notna().all()
    with pytest.raises(KeyError, match="no"):
        papers.gpe_dataset("ImageNet")
