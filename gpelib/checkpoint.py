"""Self-describing, atomically written checkpoints that load without executing code.

A checkpoint is a folder::

    run/ckpt/
      config.json          # model configs, training config, iteration, anything JSON — written last
      weights.safetensors  # every module's parameters and buffers, keys "<module>.<param>"
      state.pt             # optimiser states + RNG states + history; loaded with torch.load(weights_only=True)

The folder is written to a temporary sibling and swapped in with ``os.replace``, so a crash mid-write leaves the
previous checkpoint intact. The swap holds an exclusive ``flock`` on ``.<name>.lock`` beside the folder and every
reader a shared one (:func:`_guarded`), so a reader (``gpe info``/``evaluate``/``sample`` beside a running training)
never sees the moment between the swap's two renames, and never mistakes it for a crashed swap to repair.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save, save_file
from torch import nn

from . import provenance as _provenance

__all__ = ["Checkpoint", "CheckpointError", "save_checkpoint", "load_checkpoint", "save_model", "load_model",
           "checkpoint_exists",
           "content_hash", "weights_hash"]


def content_hash(obj: Mapping[str, Any] | Any, length: int = 10) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``obj`` as canonical JSON (``sort_keys=True``; a value that
    JSON cannot hold, such as a ``Path``, is written as its ``str``): equal settings give equal names, whatever
    the order of their keys.

    Used for the folder names of cached and checkpointed runs, so the digest of given settings must never change.
    """
    if isinstance(obj, Mapping) and not isinstance(obj, dict):
        obj = dict(obj)
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:length]


def weights_hash(obj: nn.Module | Mapping[str, torch.Tensor], length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of a module's state dict (or of a mapping name → tensor) as
    safetensors bytes: parameters and buffers, their names, dtypes and shapes; not the device (tensors are copied to
    the CPU first). Equal weights give equal hashes, so a checkpoint can record which encoder its decoder was trained
    on (``encoder_hash``) and a resumption on another encoder is refused."""
    sd = obj.state_dict() if isinstance(obj, nn.Module) else dict(obj)
    # clone: safetensors refuses tensors that share memory (tied weights, views of one data set)
    tensors = {str(k): v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}
    return hashlib.sha256(save(tensors)).hexdigest()[:length]


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: the JSON config, the tensors per module and the extra state."""

    config: dict[str, Any]
    weights: dict[str, dict[str, torch.Tensor]]
    state: dict[str, Any]


class CheckpointError(ValueError):
    """A checkpoint's file is unreadable (truncated, corrupt or foreign); the message names the file and the fix."""


def _atomic_dir(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))


@contextlib.contextmanager
def _guarded(path: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold ``flock`` on ``<parent>/.<name>.lock``: exclusive to swap or repair the checkpoint ``path``, shared to read
    it. Swaps are two renames long, so a reader waits at most that. Where the lock file cannot be made (a read-only
    folder, which nobody can be writing to, or a folder that does not exist yet) nothing is locked."""
    try:
        fh = open(path.parent / f".{path.name}.lock", "a+")
    except OSError:
        yield
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _swap_in(tmp: Path, path: Path) -> None:
    with _guarded(path, exclusive=True):
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:  # the new one could not move in: the previous one goes back
                os.replace(old, path)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(
    path: str | Path,
    *,
    modules: dict[str, nn.Module],
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> Path:
    """Write ``modules`` (safetensors), ``config`` (JSON) and ``state`` (tensors/containers) atomically to ``path``.

    ``config`` should carry each module's constructor config (``module.config``) so the checkpoint rebuilds its
    own models; it is stored together with ``{"modules": {name: module.config}}`` and ``{"provenance": ...}``, the
    commit and package versions that wrote it (:func:`gpelib.provenance.stamp`; a ``provenance`` in ``config`` wins).
    """
    path = Path(path)
    tmp = _atomic_dir(path)
    try:
        tensors: dict[str, torch.Tensor] = {}
        for name, module in modules.items():
            if "." in name:
                raise ValueError(f"module names must not contain '.'; got {name!r}")
            for k, v in module.state_dict().items():
                tensors[f"{name}.{k}"] = v.detach().cpu().contiguous()
        save_file(tensors, str(tmp / "weights.safetensors"))
        torch.save(state or {}, tmp / "state.pt")
        full = dict(config)
        full["modules"] = {name: getattr(m, "config", None) for name, m in modules.items()}
        full.setdefault("provenance", _provenance.stamp())
        (tmp / "config.json").write_text(json.dumps(full, indent=2, default=_json_default))
        mode = _file_mode()
        for f in ("weights.safetensors", "state.pt", "config.json"):  # safetensors alone would write 0600
            os.chmod(tmp / f, mode)
        os.chmod(tmp, _file_mode(0o777))  # the folder as mkdir makes it (mkdtemp's is 0700, unreadable to others)
        _swap_in(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _file_mode(base: int = 0o666) -> int:
    """The mode a plain new file (``base`` 0o666; a folder: 0o777) gets under this process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, (torch.Tensor,)):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(f"cannot store {type(o).__name__} in a checkpoint's JSON config")


def _complete(p: Path) -> bool:
    return all((p / f).is_file() for f in ("config.json", "weights.safetensors", "state.pt"))


def _recover(path: Path) -> None:
    """A kill between :func:`_swap_in`'s two renames leaves the last good checkpoint at ``.NAME.old-PID`` and nothing
    at ``NAME``: move the newest complete one back, so the next run resumes instead of restarting from 0."""
    if path.exists() or not path.parent.is_dir() or not any(path.parent.glob(f".{path.name}.old-*")):
        return
    with _guarded(path, exclusive=True):  # a swap in progress holds it: what we see after it is a crashed one
        if path.exists():
            return
        olds = sorted((p for p in path.parent.glob(f".{path.name}.old-*") if p.is_dir() and _complete(p)),
                      key=lambda p: p.stat().st_mtime)
        if olds:
            os.replace(olds[-1], path)
            for p in olds[:-1]:
                shutil.rmtree(p, ignore_errors=True)


def checkpoint_exists(path: str | Path) -> bool:
    """True when ``path`` holds a complete checkpoint (all three files); a checkpoint left aside by an interrupted
    swap is moved back first (:func:`_recover`)."""
    p = Path(path)
    _recover(p)
    with _guarded(p, exclusive=False):
        return _complete(p)


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`. Never unpickles arbitrary objects."""
    p = Path(path)
    _recover(p)
    with _guarded(p, exclusive=False):  # the three files of one checkpoint, not of two around a swap
        return _read(p, map_location)


def _read(p: Path, map_location: str | torch.device) -> Checkpoint:
    if not _complete(p):
        raise FileNotFoundError(
            f"no complete checkpoint at {p}: expected {p}/config.json, {p}/weights.safetensors and {p}/state.pt"
        )
    fix = f"delete {p} to train that stage again, or restore it from a copy"
    try:
        config = json.loads((p / "config.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{p / 'config.json'} is not valid JSON ({e}); {fix}") from None
    try:
        flat = load_file(str(p / "weights.safetensors"), device=str(map_location))
    except Exception as e:  # noqa: BLE001 — safetensors raises its own error types for truncated or foreign files
        raise CheckpointError(f"{p / 'weights.safetensors'} cannot be read ({type(e).__name__}: {e}); {fix}") from None
    weights: dict[str, dict[str, torch.Tensor]] = {}
    for key, v in flat.items():
        mod, _, param = key.partition(".")
        weights.setdefault(mod, {})[param] = v
    try:
        state = torch.load(p / "state.pt", map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 — a truncated or foreign file
        raise CheckpointError(f"{p / 'state.pt'} cannot be read ({type(e).__name__}: {e}); {fix}") from None
    return Checkpoint(config=config, weights=weights, state=state)


def save_model(path: str | Path, model: nn.Module, *, extra: dict[str, Any] | None = None) -> Path:
    """Save one model (its ``config`` and weights) as a checkpoint folder."""
    return save_checkpoint(path, modules={"model": model}, config=dict(extra or {}))


def load_model(path: str | Path, *, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model saved by :func:`save_model` (or the ``model`` entry of any checkpoint) from its config."""
    from .models import build_model

    ck = load_checkpoint(path, map_location=map_location)
    cfg = ck.config.get("modules", {}).get("model")
    if cfg is None:
        raise ValueError(f"checkpoint {path} holds no model config under modules.model")
    model = build_model(cfg)
    model.load_state_dict(ck.weights["model"])
    return model
