"""Checkpoint helpers shared by the trainers, the notebooks' run folders and the classifier cache."""

import hashlib
import json
from pathlib import Path
from types import MappingProxyType

import torch

from gpelib.checkpoint import content_hash
from gpelib.reporting import checkpoint_folder

SETTINGS = {"lr": 1e-3, "betas": [0.9, 0.999], "arch": "mlp", "where": Path("/data/x"), "seed": 3}


def _old_digest(obj, length, **kw):
    """The formula each caller used before :func:`content_hash` (folder names must not change)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, **kw).encode()).hexdigest()[:length]


def test_content_hash_keeps_every_callers_digest():
    # reporting.checkpoint_folder (10 digits) and gan.experiments.sweep_jobs (12): default=str
    assert content_hash(SETTINGS) == _old_digest(SETTINGS, 10, default=str)
    assert content_hash(SETTINGS, 12) == _old_digest(SETTINGS, 12, default=str)
    # metrics.ClassifierFeatures.load_or_train (16): plain JSON values, no default
    spec = {"tag": "digits", "shape": [1797, 1, 8, 8], "epochs": 8, "seed": 0, "lr": 0.001}
    assert content_hash(spec, 16) == _old_digest(spec, 16)
    # a fixed value, so that a change of the canonical form cannot pass unnoticed
    assert content_hash({"b": 1, "a": [1, 2.5, "x"]}) == "44f5a7e5d9"


def test_content_hash_is_canonical():
    shuffled = dict(reversed(list(SETTINGS.items())))
    assert content_hash(shuffled) == content_hash(SETTINGS)
    assert content_hash(MappingProxyType(SETTINGS)) == content_hash(SETTINGS)  # any Mapping
    assert content_hash(SETTINGS | {"seed": 4}) != content_hash(SETTINGS)
    assert len(content_hash(SETTINGS, 16)) == 16 and content_hash([1, 2]) != content_hash([2, 1])


def test_checkpoint_folder_name_uses_the_content_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = checkpoint_folder("smoke", "01_x", "gpe", SETTINGS)
    assert path.name == f"gpe-{_old_digest(SETTINGS, 10, default=str)}" and path.parent.is_dir()


def test_weights_hash_follows_the_weights_only():
    from torch import nn

    from gpelib.checkpoint import weights_hash

    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    torch.manual_seed(0)
    b = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert weights_hash(a) == weights_hash(b) == weights_hash(a.state_dict())
    b.eval()  # the mode is not part of the weights
    assert weights_hash(a) == weights_hash(b)
    with torch.no_grad():
        b[1].running_mean += 1e-3  # buffers are
    assert weights_hash(a) != weights_hash(b)


def test_checkpoint_files_share_one_mode(tmp_path):
    import stat

    from torch import nn

    from gpelib.checkpoint import save_checkpoint

    p = save_checkpoint(tmp_path / "ck", modules={"m": nn.Linear(2, 2)}, config={}, state={"x": 1})
    modes = {f: stat.S_IMODE((p / f).stat().st_mode) for f in ("weights.safetensors", "state.pt", "config.json")}
    assert len(set(modes.values())) == 1, modes  # not 0600 weights beside 0644 state (issue 13, item 10)
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o777 & ~mask  # the folder as mkdir makes it, not mkdtemp's 0700


def test_a_checkpoint_left_aside_by_an_interrupted_swap_is_recovered(tmp_path):
    import os

    from torch import nn

    from gpelib.checkpoint import checkpoint_exists, load_checkpoint, save_checkpoint

    p = save_checkpoint(tmp_path / "ck", modules={"m": nn.Linear(2, 2)}, config={"iteration": 7})
    os.replace(p, tmp_path / ".ck.old-12345")  # killed after the first rename of the swap, before the second
    assert checkpoint_exists(p) and not (tmp_path / ".ck.old-12345").exists()
    assert load_checkpoint(p).config["iteration"] == 7


_WRITER = """
import sys, torch
from torch import nn
from gpelib.checkpoint import save_checkpoint
m = nn.Linear(64, 64)
for i in range(int(sys.argv[2])):
    with torch.no_grad():
        m.weight.fill_(float(i))
    save_checkpoint(sys.argv[1], modules={"m": m}, config={"iteration": i})
"""


def test_readers_beside_a_writing_training_neither_crash_it_nor_read_a_torn_checkpoint(tmp_path):
    """Issue 30 item 9: ``gpe info/evaluate/sample`` read a checkpoint while the training swaps new ones in. Before the
    swap and the repair of a crashed swap were locked, a reader could take the writer's ``.ck.old-PID`` for a crashed
    swap and move it back (the writer then died: 'Directory not empty'), or read config and weights of two different
    checkpoints."""
    import subprocess
    import sys

    from gpelib.checkpoint import checkpoint_exists, load_checkpoint

    ck = tmp_path / "ck"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(ck), "400"], stderr=subprocess.PIPE, text=True)
    reads = 0
    while writer.poll() is None:
        if checkpoint_exists(ck):
            c = load_checkpoint(ck)
            assert float(c.weights["m"]["weight"][0, 0]) == c.config["iteration"], "config and weights of two saves"
            reads += 1
    err = writer.stderr.read()
    assert writer.returncode == 0, err
    assert reads > 10
    assert load_checkpoint(ck).config["iteration"] == 399
    assert not list(tmp_path.glob(".ck.old-*")) and not list(tmp_path.glob(".ck.tmp-*"))
