"""gpelib.provenance: what every run record and checkpoint says about the code and machine that made it."""

import json
import subprocess

import torch
from torch import nn

from gpelib import provenance
from gpelib.checkpoint import load_checkpoint, save_checkpoint


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_collect_names_commit_versions_and_hardware():
    p = provenance.collect(device="cpu")
    json.dumps(p)  # a run record holds it as JSON
    assert set(p) == {"git", "python", "platform", "packages", "cpu", "gpu"}
    assert set(p["packages"]) >= {"torch", "numpy", "scipy", "pandas", "POT", "torchdiffeq", "gpelib"}
    assert p["packages"]["torch"] == torch.__version__.split("+")[0] or p["packages"]["torch"] == torch.__version__
    assert p["cpu"]["logical_cores"] >= 1 and p["cpu"]["torch_threads"] == torch.get_num_threads()
    assert p["gpu"] is None  # device="cpu" records no GPU, whatever the machine has
    assert set(p["git"]) == {"commit", "dirty"}


def test_git_info_commit_and_dirty(tmp_path):
    assert provenance.git_info(tmp_path) == {"commit": None, "dirty": None}  # not a checkout
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    (tmp_path / "f.txt").write_text("a")
    clean = provenance.git_info(tmp_path)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False  # untracked files do not count
    _git(tmp_path, "add", "f.txt")
    assert provenance.git_info(tmp_path) == {"commit": clean["commit"], "dirty": True}


def test_package_versions_missing_is_none():
    assert provenance.package_versions(["surely-not-installed-xyz"]) == {"surely-not-installed-xyz": None}


def test_stamp_is_cached_and_every_checkpoint_carries_it(tmp_path):
    assert provenance.stamp() is provenance.stamp()
    save_checkpoint(tmp_path / "ck", modules={"m": nn.Linear(2, 2)}, config={"kind": "x"})
    cfg = load_checkpoint(tmp_path / "ck").config
    assert cfg["provenance"] == json.loads(json.dumps(provenance.stamp()))
    assert cfg["provenance"]["packages"]["torch"] and "commit" in cfg["provenance"]
    line = provenance.summary(cfg["provenance"])
    assert line.startswith("commit ") and "torch " in line


def test_summary_of_a_record():
    rec = {"git": {"commit": "a" * 40, "dirty": True}, "python": "3.11.7", "packages": {"torch": "2.14.1", "x": None}}
    assert provenance.summary(rec) == "commit aaaaaaaaaaaa (dirty), Python 3.11.7, torch 2.14.1"
    assert provenance.summary({}) == "commit unknown"


def test_gpu_info_names_the_card_driver_and_cuda(monkeypatch):
    """No GPU here: torch.cuda is faked, the record's shape is checked."""
    from types import SimpleNamespace

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert provenance.gpu_info(None) is None and provenance.gpu_info("cpu") is None
    props = SimpleNamespace(name="NVIDIA H200", major=9, minor=0, total_memory=141 * 2**30)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: props)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91000)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(provenance, "_driver_version", lambda: "580.65")
    g = provenance.gpu_info("cuda:0")
    assert g == {"name": "NVIDIA H200", "count": 1, "driver": "580.65", "cuda": "13.0", "cudnn": 91000,
                 "capability": "9.0", "memory_gib": 141.0}
    assert provenance.gpu_info(None) == g and provenance.gpu_info("cpu") is None


def test_runner_outputs_do_not_make_the_tree_dirty(tmp_path):
    """figures/ and README.md are what the runner itself writes: a rerun after a run records the commit as clean; a
    change anywhere else (code, notebooks) still makes it dirty."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "figures").mkdir()
    for name in ("figures/01_x.csv", "README.md", "code.py"):
        (tmp_path / name).write_text("a")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
    (tmp_path / "figures" / "01_x.csv").write_text("b")
    (tmp_path / "README.md").write_text("b")
    assert provenance.git_info(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("b")
    assert provenance.git_info(tmp_path)["dirty"] is True
