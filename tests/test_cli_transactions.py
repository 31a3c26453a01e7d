"""Issue 30 items 8 and 12: a training command is all or nothing for its stage, and Ctrl-C/SIGTERM keep a checkpoint
to resume from exactly."""

from __future__ import annotations

import errno
import os
import signal

import pytest

from gpelib.cli import main

FAST = ["--iterations", "30", "--batch-size", "32"]


def _snapshot(run, stage="encoder"):
    """The stage's files and the run's settings, byte for byte."""
    files = {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted((run / stage).rglob("*")) if p.is_file()}
    for extra in (f"{stage}_history.csv", "config.yaml"):
        if (run / extra).exists():
            files[extra] = (run / extra).read_bytes()
    return files


def _disk_full_at(monkeypatch, call: int):
    """Every checkpoint write from the ``call``-th on fails as on a full disk."""
    import gpelib.training_loop as tl

    real, calls = tl.save_checkpoint, []

    def save(*a, **k):
        calls.append(1)
        if len(calls) >= call:
            raise OSError(errno.ENOSPC, "No space left on device", str(a[0]))
        return real(*a, **k)

    monkeypatch.setattr(tl, "save_checkpoint", save)


def _leftovers(run, stage="encoder"):
    """Copies and temporary folders a command may leave (the checkpoint's ``.<stage>.lock`` file is meant to stay)."""
    return [p.name for pat in (f".{stage}.before-*", f".{stage}.tmp-*", f".{stage}.old-*", f"{stage}.replaced-*")
            for p in run.glob(pat)]


@pytest.fixture
def trained(tmp_path):
    run = tmp_path / "run"
    assert main(["train-encoder", "--data", "digits", "--run", str(run), "--latent-dim", "3", *FAST]) == 0
    return run


def test_a_failure_on_a_new_run_leaves_no_stage_and_no_settings(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    _disk_full_at(monkeypatch, 2)  # the first checkpoint is written, the second fails
    assert main(["train-encoder", "--data", "digits", "--run", str(run), "--latent-dim", "3", *FAST]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err and err.count("gpe: error:") == 1
    assert "not trained, as before this command" in err
    assert not (run / "encoder").exists() and not (run / "config.yaml").exists()
    assert not _leftovers(run) and not (run / "encoder_history.csv").exists()


def test_a_failed_resume_puts_the_previous_checkpoint_back(trained, monkeypatch, capsys):
    """Before: the partial checkpoint of the failed command stayed, with settings it did not match."""
    import gpelib.training_loop as tl

    before = _snapshot(trained)
    real = tl.RunState.record_step

    def record(self, out, seconds):
        if self.it == 40:  # the loss turns NaN in the middle of the longer run, after a checkpoint at 36
            out = {**out, "loss": out["loss"] * float("nan")}
        return real(self, out, seconds)

    monkeypatch.setattr(tl.RunState, "record_step", record)
    capsys.readouterr()
    assert main(["train-encoder", "--run", str(trained), "--iterations", "60"]) == 2
    err = capsys.readouterr().err
    assert "became nan at iteration 41" in err and "is the one before this command" in err
    assert _snapshot(trained) == before
    assert not _leftovers(trained)


def test_fresh_then_failure_restores_the_stage_it_set_aside(trained, monkeypatch, capsys):
    before = _snapshot(trained)
    _disk_full_at(monkeypatch, 1)
    capsys.readouterr()
    assert main(["train-encoder", "--run", str(trained), "--seed", "3", "--fresh", *FAST]) == 2
    assert "(--fresh undone)" in capsys.readouterr().err
    assert _snapshot(trained) == before
    assert not _leftovers(trained)


def test_a_successful_command_leaves_no_copy_behind_and_a_killed_ones_copy_is_cleared(trained):
    (trained / ".encoder.before-99999").mkdir()  # what a SIGKILLed command leaves
    assert main(["train-encoder", "--run", str(trained), "--iterations", "36"]) == 0
    assert not _leftovers(trained)


@pytest.fixture
def python_signal_defaults():
    """SIGINT and SIGTERM as an interactive ``gpe`` gets them (Python's KeyboardInterrupt handler, SIG_DFL), whatever
    this test process inherited: a background job of a non-interactive shell, ``nohup`` or some CI runners start it
    with SIGINT ignored, and then ``gpe`` rightly leaves the signal alone. The inherited handlers come back after."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for s, handler in before.items():
        signal.signal(s, handler)


def _interrupt_at(monkeypatch, iteration: int, sig: signal.Signals):
    """Make the training loop send ``sig`` to this process right after iteration ``iteration``."""
    import gpelib.training_loop as tl

    real = tl.RunState.record_step

    def record(self, out, seconds):
        loss = real(self, out, seconds)
        if self.it == iteration:
            os.kill(os.getpid(), sig)
        return loss

    monkeypatch.setattr(tl.RunState, "record_step", record)
    return real


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_checkpoints_and_the_same_command_resumes_exactly(tmp_path, monkeypatch, capsys, sig,
                                                                      python_signal_defaults):
    """Before: Ctrl-C printed a KeyboardInterrupt traceback and lost up to a tenth of the run (checkpoints every
    iterations/10 only); SIGTERM lost it silently."""
    import gpelib.training_loop as tl

    args = ["train-encoder", "--data", "digits", "--latent-dim", "3", *FAST]
    assert main([*args, "--run", str(tmp_path / "whole")]) == 0
    real = _interrupt_at(monkeypatch, 17, sig)
    run = tmp_path / "cut"
    capsys.readouterr()
    assert main([*args, "--run", str(run)]) == 130
    err = capsys.readouterr().err
    assert err.startswith("gpe: stopped:") and "interrupted at iteration 17" in err and "resumes" in err
    assert "Traceback" not in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are given back
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    from gpelib.checkpoint import load_checkpoint

    assert load_checkpoint(run / "encoder").config["iteration"] == 17
    monkeypatch.setattr(tl.RunState, "record_step", real)
    assert main([*args, "--run", str(run)]) == 0
    a, b = load_checkpoint(run / "encoder"), load_checkpoint(tmp_path / "whole" / "encoder")
    assert a.config["iteration"] == b.config["iteration"] == 30
    for k, v in b.weights["encoder"].items():
        assert bool((a.weights["encoder"][k] == v).all()), k


def test_an_ignored_sigint_stays_ignored(tmp_path, monkeypatch, capsys, python_signal_defaults):
    """Started with SIGINT ignored (``nohup``, a background job), ``gpe`` installs no handler of its own: the signal
    does nothing, the run finishes, and the ignore is still in place afterwards."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _interrupt_at(monkeypatch, 17, signal.SIGINT)
    assert main(["train-encoder", "--data", "digits", "--latent-dim", "3", *FAST, "--run", str(tmp_path / "r")]) == 0
    assert "30 iterations" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_checkpoint_at_least_every_checkpoint_minutes(tmp_path, monkeypatch):
    """A long run with a large ``iterations`` no longer waits a tenth of it between checkpoints."""
    import time
    import types

    import gpelib.training_loop as tl
    from gpelib.train import TrainConfig

    clock = iter(range(0, 10_000, 7))  # each reading of the loop's wall clock: 7 s later
    monkeypatch.setattr(tl, "time", types.SimpleNamespace(monotonic=lambda: float(next(clock)),
                                                          perf_counter=time.perf_counter))
    saved = []
    real = tl.RunState.save
    monkeypatch.setattr(tl.RunState, "save", lambda self: (saved.append(self.it), real(self))[1])
    import torch
    from torch import nn

    net = nn.Linear(3, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x = torch.randn(64, 3)

    def step(batch):
        opt.zero_grad()
        loss = net(batch).pow(2).mean()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    cfg = TrainConfig(iterations=40, batch_size=8, eval_every=40, checkpoint_dir=str(tmp_path / "ck"),
                      checkpoint_minutes=0.5, progress=False, device="cpu")
    tl.fit(name="t", modules={"net": net}, optimizers={"opt": opt}, step=step,
           evaluate=lambda: {"val_loss": 0.0}, data=x, config=cfg)
    # 30 s between checkpoints at 7 s a clock reading: every 5th iteration, then the last
    assert saved[:3] == [5, 10, 15] and saved[-1] == 40
