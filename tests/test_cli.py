"""The `gpe` command line: a chain on the digits, config files, one-line errors."""

import subprocess
import sys

import pytest
import yaml

from gpelib.cli import main

FAST = ["--iterations", "30", "--batch-size", "32"]


def test_chain_encoder_decoder_flow_sample_evaluate(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train-encoder", "--data", "digits", "--run", str(run), "--latent-dim", "4", *FAST, "--lr", "1e-3"]
    assert main(args) == 0
    assert (run / "encoder" / "weights.safetensors").is_file() and (run / "encoder_history.csv").is_file()
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["latent_dim"] == 4 and cfg["encoder"]["iterations"] == 30
    assert main(["train-decoder", "--run", str(run), *FAST]) == 0
    assert main(["train-flow", "--run", str(run), *FAST]) == 0
    assert main(["sample", "--run", str(run), "-n", "9", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file() and (tmp_path / "s.safetensors").is_file()
    assert main(["sample", "--run", str(run), "-n", "4", "--out", str(tmp_path / "s.jpg")]) == 0
    assert (tmp_path / "s.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG where a JPEG was asked for
    capsys.readouterr()
    for bad, needle in ((["-n", "-3"], "-n must be between 1 and 10,000"), (["-n", "200000"], "in batches"),
                        (["--out", str(tmp_path / "s.xyz")], "format")):
        assert main(["sample", "--run", str(run), *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("gpe: error:") and needle in err and "Traceback" not in err
    assert main(["evaluate", "--run", str(run)]) == 0
    out = capsys.readouterr().out
    for needle in ("GME cost", "spread", "reconstruction MSE", "FD-classifier", "encoder written by: commit",
                   "flow written by:", "torch "):
        assert needle in out, out
    # another evaluation seed draws other generated images but scores the same held-out images (issue 30, item 10)
    assert main(["evaluate", "--run", str(run), "--seed", "7"]) == 0
    out7 = capsys.readouterr().out
    line = next(k for k in out.splitlines() if k.startswith("reconstruction MSE"))
    assert line in out7.splitlines() and "GME cost" in out7


def test_config_file_and_flag_override(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"latent_dim": 3, "encoder": {"iterations": 7, "lr": 0.002}}))
    run = tmp_path / "r"
    args = ["train-encoder", "--run", str(run), "--config", str(cfg), "--iterations", "5", "--batch-size", "16"]
    assert main(args) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["latent_dim"] == 3 and saved["encoder"]["iterations"] == 5 and saved["encoder"]["lr"] == 0.002


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["train-encoder", "--data", "mnist", "--root", "/nonexistent", "--run", "{run}"], "MNIST/raw"),
        (["train-decoder", "--run", "{run}"], "gpe train-encoder"),
        (["train-encoder", "--data", "imagenet", "--run", "{run}"], "digits"),
        (["train-encoder", "--config", "/no/such.yaml", "--run", "{run}"], "does not exist"),
    ],
)
def test_errors_are_one_message_not_a_traceback(tmp_path, capsys, argv, needle):
    argv = [a.replace("{run}", str(tmp_path / "r")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpe: error:") and needle in err and "Traceback" not in err


def test_unknown_config_key(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("latent: 3\n")
    assert main(["train-encoder", "--run", str(tmp_path / "r"), "--config", str(cfg)]) == 2
    assert "unknown setting 'latent'" in capsys.readouterr().err


def test_help_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "gpelib.cli", "--help"], capture_output=True, text=True, check=True)
    assert "train-encoder" in out.stdout and "evaluate" in out.stdout


def test_speed_flags_reach_the_trainer_and_the_run_config(tmp_path):
    from gpelib.checkpoint import load_checkpoint

    run = tmp_path / "r"
    assert main(["train-encoder", "--run", str(run), "--latent-dim", "3", "--arch", "conv", "--iterations", "4",
                 "--batch-size", "16", "--channels-last", "--precision", "bf16"]) == 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["channels_last"] is True and saved["precision"] == "bf16" and saved["compile"] is False
    tc = load_checkpoint(run / "encoder").config["train_config"]
    assert tc["channels_last"] is True and tc["precision"] == "bf16"


def test_a_refused_command_leaves_the_run_settings_as_they_were(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train-encoder", "--data", "digits", "--run", str(run), "--latent-dim", "4", *FAST]) == 0
    before = (run / "config.yaml").read_text()
    try:  # another latent size on the same run: refused (or failing) on resume
        code = main(["train-encoder", "--run", str(run), "--latent-dim", "3", *FAST])
    except Exception:  # noqa: BLE001 — whichever way it fails, the settings must survive
        code = 1
    assert code != 0
    assert (run / "config.yaml").read_text() == before
    assert main(["train-decoder", "--run", str(run), *FAST]) == 0  # the run is not left broken


@pytest.mark.parametrize("yaml_text,needle", [
    ("encoder:\n  iterashuns: 5\n", "unknown setting 'encoder.iterashuns'"),  # a typo in a nested key
    ("latent_dim: ten\n", "latent_dim must be a whole number > 0; got 'ten'"),
    ("latent_dim: 5.7\n", "latent_dim must be a whole number > 0; got 5.7"),  # no silent int(5.7)
    ("encoder:\n  batch_size: '16'\n", "encoder.batch_size must be a whole number ≥ 2; got '16'"),
    ("encoder:\n  lr: -1\n", "encoder.lr must be a number in (0, 1]; got -1"),
    ("arch: resnet\n", "arch must be mlp, conv or null"),
])
def test_bad_settings_in_a_file_are_one_line_naming_key_and_file(tmp_path, capsys, yaml_text, needle):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text)
    run = tmp_path / "r"
    assert main(["train-encoder", "--run", str(run), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpe: error:") and needle in err and str(cfg) in err and "Traceback" not in err
    assert not (run / "config.yaml").exists()  # nothing saved for a refused command


@pytest.mark.parametrize("flags,needle", [
    (["--latent-dim", "-2"], "latent_dim must be a whole number > 0; got -2"),
    (["--latent-dim", "0"], "latent_dim must be a whole number > 0; got 0"),
    (["--width", "0"], "width must be a whole number > 0"),
    (["--lr", "-1"], "encoder.lr must be a number in (0, 1]"),
    (["--iterations", "0"], "encoder.iterations must be a whole number > 0"),
])
def test_bad_flags_are_one_line(tmp_path, capsys, flags, needle):
    run = tmp_path / "r"
    assert main(["train-encoder", "--run", str(run), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpe: error: the command line:") and needle in err
    assert not (run / "config.yaml").exists()


def test_a_second_command_on_a_locked_run_folder_stops_at_once(tmp_path, capsys):
    import os

    from gpelib.cli import _locked

    run = tmp_path / "r"
    with _locked(run):  # another command is training into this folder
        assert main(["train-encoder", "--run", str(run), *FAST]) == 2
        err = capsys.readouterr().err
        assert err.startswith("gpe: error:") and f"in use by process {os.getpid()}" in err
        assert not (run / "config.yaml").exists()
    assert main(["train-encoder", "--run", str(run), *FAST]) == 0  # released: the next command runs


@pytest.fixture
def trained_run(tmp_path):
    run = tmp_path / "run"
    assert main(["train-encoder", "--data", "digits", "--run", str(run), "--latent-dim", "3", *FAST]) == 0
    assert main(["train-decoder", "--run", str(run), *FAST]) == 0
    assert main(["train-flow", "--run", str(run), *FAST]) == 0
    return run


def test_stale_and_broken_checkpoints_are_one_line_naming_the_file(trained_run, tmp_path, capsys):
    run = trained_run
    capsys.readouterr()
    # another seed on the same run is refused with the remedy; --fresh keeps the old encoder aside and retrains
    assert main(["train-encoder", "--run", str(run), "--seed", "1", "--iterations", "40"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpe: error:") and "other settings (seed: 0 → 1)" in err and "add --fresh" in err
    assert main(["train-encoder", "--run", str(run), "--seed", "1", "--iterations", "40", "--fresh"]) == 0
    kept = list(run.glob("encoder.replaced-*"))
    assert len(kept) == 1 and (kept[0] / "weights.safetensors").is_file()
    assert (kept[0] / "encoder_history.csv").is_file()
    capsys.readouterr()  # now the decoder and the flow were trained on the replaced encoder: both are stale
    assert main(["info", str(run)]) == 0
    info = capsys.readouterr().out
    assert "encoder: 40 iterations" in info and info.count("STALE") == 2 and "kept aside by --fresh: encoder." in info
    for cmd in (["sample", "--run", str(run), "-n", "4", "--out", str(tmp_path / "s.png")],
                ["evaluate", "--run", str(run)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.startswith("gpe: error:") and "trained on an earlier encoder" in err and "gpe train-" in err
    assert not (tmp_path / "s.png").exists()
    weights = run / "decoder" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])  # truncated
    assert main(["train-decoder", "--run", str(run), *FAST]) == 2
    err = capsys.readouterr().err
    assert "weights.safetensors cannot be read" in err and "delete" in err and "Traceback" not in err
    (run / "encoder" / "config.json").write_text("{not json")
    assert main(["evaluate", "--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert "encoder/config.json is not valid JSON" in err


def test_train_gan_variants_resume_fresh_and_one_line_errors(tmp_path, capsys):
    run = tmp_path / "gan"
    base = ["train-gan", "--data", "mixture-4x6", "--run", str(run), "--iterations", "6", "--eval-every", "3"]
    assert main([*base, "--method", "gmegan", "--variant", "as_released"]) == 0
    assert "as_released" in capsys.readouterr().out
    assert (run / "gan" / "weights.safetensors").is_file() and (run / "gan_history.csv").is_file()
    assert main([*base[:-4], "--iterations", "9", "--eval-every", "3", "--method", "gmegan", "--variant",
                 "as_released"]) == 0  # resumes from 6
    assert "9 iterations" in capsys.readouterr().out
    for args, needle in (
        (["--method", "gmegan"], "--fresh"),  # as printed against the stored as-released run
        (["--method", "gan", "--variant", "as_released"], "--variant belongs to GMEGAN"),
        (["--method", "gmegan", "--set", "lambda1"], "NAME=VALUE"),
        (["--method", "gmegan", "--set", "lambda9=0", "--fresh"], "unknown hyper-parameters"),
        (["--method", "nonsense"], "unknown method"),
        (["--method", "gmegan", "--data", "mixture9"], "mixture-<modes>x<dim>"),
        (["--method", "gmegan", "--iterations", "0"], "--iterations must be"),
    ):
        assert main([*base, *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("gpe: error:") and needle in err and "Traceback" not in err, (args, err)
    assert main([*base, "--method", "gmegan", "--fresh"]) == 0
    assert len(list(tmp_path.glob("gan/gan.replaced-*"))) >= 1


@pytest.mark.parametrize("flags, needle", [
    (["--lr", "inf"], "encoder.lr must be a number in (0, 1]"),
    (["--lr", "1e30"], "encoder.lr must be a number in (0, 1]"),
    (["--data-scale", "inf"], "data_scale must be a finite number > 0"),
    (["--device", "banana"], "unknown device type"),
    (["--device", "cuda:7"], "device must be a torch device this machine has"),
])
def test_bad_settings_end_in_one_line_before_any_training(tmp_path, capsys, flags, needle):
    """Issue 30, item 11: infinite or absurd numbers and devices this machine lacks are refused at validation."""
    run = tmp_path / "r"
    assert main(["train-encoder", "--data", "digits", "--run", str(run), *FAST, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpe: error:") and needle in err and "Traceback" not in err and err.count("\n") == 1
    assert not (run / "encoder").exists()


def test_an_infinite_learning_rate_in_a_config_file_is_refused(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("encoder:\n  lr: .inf\n")
    assert main(["train-encoder", "--data", "digits", "--run", str(tmp_path / "r"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"config file {cfg}: encoder.lr must be a number in (0, 1]; got inf" in err


def _edit_json(path, change):
    import json

    c = json.loads(path.read_text())
    change(c)
    path.write_text(json.dumps(c))


@pytest.mark.parametrize("case", ["run_is_a_file", "gan_run_is_a_file", "set_abc", "size", "edited_width",
                                  "edited_kind", "corrupt_flow_json", "stale_remedy"])
def test_issue30_item11_faults_end_in_one_line_with_the_fix(trained_run, tmp_path, capsys, case):
    """Each of these printed a traceback, a bare ``JSONDecodeError`` without the file, or a remedy that was refused."""
    run = trained_run
    (tmp_path / "afile").write_text("")
    argv, needles = {
        "run_is_a_file": (["train-encoder", "--run", str(tmp_path / "afile"), *FAST], ["is a file"]),
        "gan_run_is_a_file": (["train-gan", "--run", str(tmp_path / "afile")], ["is a file"]),
        "set_abc": (["train-gan", "--run", str(tmp_path / "g"), "--iterations", "4", "--set", "lambda1=abc"],
                    ["lambda1='abc'", "must be float | None"]),
        "size": (["train-decoder", "--run", str(run), "--size", "12", *FAST],
                 ["shape (1, 12, 12)", "trained on (1, 8, 8)"]),
        "edited_width": (["train-decoder", "--run", str(run), *FAST],
                         ["encoder/config.json does not describe the weights", "size mismatch", "--fresh"]),
        "edited_kind": (["evaluate", "--run", str(run)], ["encoder/config.json does not describe the weights"]),
        "corrupt_flow_json": (["sample", "--run", str(run), "-n", "4", "--out", str(tmp_path / "s.png")],
                              ["flow/config.json is not valid JSON", "gpe train-flow", "--fresh"]),
        "stale_remedy": (["evaluate", "--run", str(run)], ["trained on an earlier encoder", "--fresh"]),
    }[case]
    enc = run / "encoder" / "config.json"
    if case == "edited_width":
        _edit_json(enc, lambda c: c["modules"]["encoder"].update(width=7))
    elif case == "edited_kind":
        _edit_json(enc, lambda c: c["modules"].update(encoder={"kind": "nope"}))
    elif case == "corrupt_flow_json":
        (run / "flow" / "config.json").write_text("{bad")
    elif case == "stale_remedy":
        assert main(["train-encoder", "--run", str(run), "--seed", "2", "--fresh", *FAST]) == 0
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpe: error:") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    if case == "stale_remedy":  # and the remedy it prints is accepted
        assert main(["train-decoder", "--run", str(run), "--fresh", *FAST]) == 0
