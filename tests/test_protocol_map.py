"""The protocol map's new factors (issue 29, item 2): the pixel convention of the decoders, the pair retrained on
[0, 1] pixels or with other nets, fresh decoders of another architecture — and the map's existing run folders kept."""

import dataclasses

import pytest
import torch
from test_recipes import _decay_run  # a run whose MSE is exp(−rate·it): known iterations to each level
from torch import nn

from gpelib import protocol_map, tables
from gpelib.checkpoint import weights_hash
from gpelib.methods import fresh_decoder, train_method
from gpelib.models import ConvDecoder, build_model, make_decoder, pixel_range
from gpelib.recipes import fresh_decoder_sweep
from gpelib.runs import run_folder
from gpelib.train import TrainConfig


def images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.tanh(torch.randn(n, 1, 8, 8, generator=g))


def cfg(**kw):
    return TrainConfig(**(dict(iterations=6, batch_size=12, lr=1e-3, eval_every=3, progress=False, device="cpu") | kw))


# ---------------------------------------------------------------- the pixel convention of a decoder


def test_pixel_range_reads_the_convention_and_refuses_what_no_decoder_can_reach():
    x = images(20)
    assert pixel_range(x) == "[-1, 1]"
    assert pixel_range(protocol_map.unit_pixels(x)) == "[0, 1]"
    assert pixel_range(torch.randn(10, 5) * 9) == "[-1, 1]"  # vectors: unbounded decoders, no convention
    with pytest.raises(ValueError, match=r"scaled to \[-1, 1\].*range over \[0, 2\]"):
        pixel_range(torch.linspace(0, 2, 64).reshape(1, 1, 8, 8))


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_a_unit_pixel_decoder_ends_in_a_sigmoid_and_rebuilds_from_its_config(arch):
    torch.manual_seed(0)
    d01 = make_decoder((1, 8, 8), 3, arch=arch, hidden=16, pixels="[0, 1]")
    torch.manual_seed(0)
    d11 = make_decoder((1, 8, 8), 3, arch=arch, hidden=16)
    assert isinstance(list(d01.modules())[-1], nn.Sigmoid) and isinstance(list(d11.modules())[-1], nn.Tanh)
    assert d01.config["pixels"] == "[0, 1]" and "pixels" not in d11.config  # older configs read the same
    with torch.no_grad():
        y = d01(torch.randn(7, 3) * 5)
        assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
        # same weights: one convention's outputs are the other's through the last activation only
        d01.load_state_dict(d11.state_dict())
        z = torch.randn(7, 3, dtype=torch.float64)
        d01, d11 = d01.double(), d11.double()
        torch.testing.assert_close(d01(z), torch.sigmoid(torch.atanh(d11(z))))
    again = build_model(d01.config)
    assert isinstance(list(again.modules())[-1], nn.Sigmoid)
    with pytest.raises(ValueError, match="pixels must be one of"):
        make_decoder((1, 8, 8), 3, pixels="[0, 255]")


def test_the_methods_give_their_decoders_the_datas_convention():
    x, xv = protocol_map.unit_pixels(images(36, 0)), protocol_map.unit_pixels(images(12, 1))
    vae = train_method("vae", x, latent_dim=3, config=cfg(), val_data=xv, hidden=16)
    assert vae.decoder.config.get("pixels") == "[0, 1]"
    fresh = fresh_decoder(vae, x, config=cfg(), val_data=xv, hidden=16)
    assert fresh.decoder.config.get("pixels") == "[0, 1]"
    assert "pixels" not in fresh_decoder(vae, images(36), config=cfg(), hidden=16).decoder.config
    assert isinstance(ConvDecoder(3, 1, 8).net[-1], nn.Tanh)


# ---------------------------------------------------------------- the map's variants


def test_factors_name_every_variant_and_refuse_an_unknown_one():
    names = ["as printed", protocol_map.PIXELS_01, protocol_map.decoder_arch_variant("conv"),
             protocol_map.retrained_arch_variant("mlp")]
    f = protocol_map.factors(names)
    assert list(f) == names and f["as printed"] == "—"
    assert f["conv decoders"].startswith("decoder architecture (conv")
    assert f["retrained as mlp nets"].startswith("architecture (mlp encoders and decoders")
    with pytest.raises(KeyError, match="unknown protocol-map variant"):
        protocol_map.factors(["β = 7"])


def test_retrained_runs_train_the_pair_again_with_one_factor_changed(tmp_path):
    x, xv = images(36, 0), images(12, 1)
    c = cfg()
    out = protocol_map.retrained_runs(x, xv, seeds=[0, 1], pixels01=True, archs=["conv"], latent_dim=3, eps=0.5,
                                      vae_config=c, encoder_config=c, decoder_config=c, budget=4, device="cpu",
                                      arch="mlp", hidden=16, checkpoint_root=tmp_path)
    assert list(out) == [protocol_map.PIXELS_01, "retrained as conv nets"]
    for by_seed in out.values():
        assert sorted(by_seed) == [0, 1] and all(set(r) == {"VAE", "GPE"} for r in by_seed.values())
        for r in by_seed[0].values():
            assert r.iterations == 4  # the map's decoder budget
    unit = out[protocol_map.PIXELS_01][0]
    assert unit["VAE"].decoder.config["pixels"] == "[0, 1]" and unit["GPE"].decoder.config["pixels"] == "[0, 1]"
    assert unit["GPE"].method == "GPE ε=0.5"
    conv = out["retrained as conv nets"][1]
    assert conv["GPE"].decoder.config["arch"] == "conv" and "pixels" not in conv["GPE"].decoder.config
    # the [-1, 1] conv pair is what the sweep trains with the same settings (same folders, loaded not retrained)
    again = fresh_decoder_sweep(x, xv, seeds=[1], latent_dim=3, eps_values=[0.5], vae_config=c, encoder_config=c,
                                decoder_config=dataclasses.replace(c, iterations=4), n_workers=1, arch="conv",
                                hidden=16, checkpoint_root=tmp_path)[1]
    for role, key in (("VAE", "VAE"), ("GPE", "GPE ε=0.5")):
        a, b = conv[role].decoder.state_dict(), again[key].decoder.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_decoder_arch_variants_keep_the_old_variants_folders(tmp_path):
    """A new factor must not rename the folders of the map's existing decoders (their trained runs are reused)."""
    x, xv = images(36, 0), images(12, 1)
    c = cfg()
    runs = {0: {"VAE": train_method("vae", x, latent_dim=3, config=c, val_data=xv, hidden=16),
                "GPE": train_method("gpe", x, latent_dim=3, config=c, val_data=xv, hidden=16)}}
    specs = {"standardised latents": dict(standardize=True), "conv decoders": dict(arch="conv")}
    jobs, keys = protocol_map._decoder_jobs(runs, x, xv, {"VAE": "VAE", "GPE": "GPE"}, specs,
                                            dataclasses.replace(c, iterations=3), tmp_path,
                                            dict(arch="mlp", width=32, hidden=16))
    old = run_folder(tmp_path, "map-vae", x, xv, config=dataclasses.replace(c, iterations=3, seed=0),
                     encoder=weights_hash(runs[0]["VAE"].encoder), arch="mlp", width=32, hidden=16, standardize=True,
                     objective="mse")
    assert keys[0] == ("standardised latents", 0, "VAE") and jobs[0]["config"].checkpoint_dir == str(old)
    assert jobs[1]["arch"] == "conv" and jobs[1]["config"].checkpoint_dir != str(old)
    variants, _ = protocol_map.protocol_map_runs(
        runs, x, xv, vae="VAE", gpe="GPE", looser_gpe="GPE", per_sample_vae="VAE", decoder_config=c, budget=3,
        lrs=[3e-3], decoder_archs=["conv"], device="cpu", arch="mlp", hidden=16)
    assert list(variants)[-2:] == ["conv decoders", "largest stable lr each"]
    assert variants["conv decoders"][0]["GPE"].decoder.config["arch"] == "conv"
    t = tables.protocol_map_table(variants, [10.0], budget=3, window=1, factors=protocol_map.factors(list(variants)))
    assert t.set_index("variant").loc["conv decoders", "factor"].startswith("decoder architecture")


def test_the_unit_pixel_rows_read_each_threshold_in_their_own_units():
    """The re-read row counts at t × 4 on [−1, 1] runs; the retrained row at t ÷ 4 on [0, 1] runs: both at the
    reconstruction error the printed row means, so neither mixes the unit into its factor."""
    import math

    pair = {0: {"VAE": _decay_run(0.01), "GPE": _decay_run(0.04)}}
    variants = {"as printed": pair, "thresholds in [0, 1] pixels": pair, protocol_map.PIXELS_01: pair}
    t = tables.protocol_map_table(variants, [0.1], budget=400, window=1, factors=protocol_map.factors(variants),
                                  threshold_scale=protocol_map.THRESHOLD_SCALE).set_index("variant")
    count = lambda level, rate: math.ceil(-math.log(level) / rate)  # noqa: E731
    assert t.loc["as printed", "vae_iterations"] == f"{count(0.1, 0.01)}"
    assert t.loc["thresholds in [0, 1] pixels", "vae_iterations"] == f"{count(0.4, 0.01)}"
    assert t.loc[protocol_map.PIXELS_01, "vae_iterations"] == f"{count(0.025, 0.01)}"
    assert t.loc[protocol_map.PIXELS_01, "gpe_iterations"] == f"{count(0.025, 0.04)}"
    assert t.loc[protocol_map.PIXELS_01, "factor"].startswith("pixel convention")


def test_a_censored_ratio_moves_when_its_bound_already_does():
    """A variant whose VAE never reaches the level within the budget has only a lower bound on its ratio; when that
    bound is already more than 2× the paper's setting's ratio, the conclusion says the factor moves it (× ≥ k),
    and a bound that says nothing leaves it open."""
    printed = {0: {"VAE": _decay_run(0.01), "GPE": _decay_run(0.04)}}  # 231 / 58
    far = {0: {"VAE": _decay_run(0.001), "GPE": _decay_run(0.1)}}  # > 400 / 24: ≥ 16.7, ≥ 4.18× the printed ratio
    near = {0: {"VAE": _decay_run(0.001), "GPE": _decay_run(0.04)}}  # > 400 / 58: ≥ 6.9, only ≥ 1.73×
    t = tables.protocol_map_table({"as printed": printed, "far": far, "near": near}, [0.1], budget=400, window=1)
    e = tables.protocol_effects(t).set_index("variant")
    assert e.loc["far", "moves"] and e.loc["far", "change_text"] == "× ≥ 4.18" and e.loc["far", "change"] != e.loc[
        "far", "change"]
    assert not e.loc["near", "moves"] and e.loc["near", "change_text"] == ""
    assert e.loc["as printed", "change_text"] == "×1"
    text = tables.protocol_conclusion(tables.protocol_effects(t))
    assert "the ratio moves by more than 2× with far (× ≥ 4.18)" in text and "censoring leaves near open" in text
