"""The ``gpe`` command's settings and run folders: defaults (from :mod:`gpelib.settings`) < ``--config FILE.yaml``
< flags, every key checked for its name, type and range (:data:`SCHEMA`, one :class:`CLIError` line naming the key
and the file), the merged settings kept in ``RUN/config.yaml``, and the run folder's lock (one training command at
a time; a failing command leaves ``config.yaml`` as it was). :mod:`gpelib.cli` holds the commands.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

import yaml

from .settings import STAGE_RULES, finite_number, whole_number

__all__ = ["STAGES", "DEFAULTS", "SCHEMA", "CLIError"]

STAGES = ("encoder", "decoder", "flow")


def _stage_defaults(stage: str, **extra: Any) -> dict[str, Any]:
    """A stage's optimiser settings from :data:`gpelib.settings.TRAINING` (the laptop profile ``quick``)."""
    from .settings import stage_settings

    t = stage_settings("quick", stage)
    return {"iterations": 5000, "batch_size": t["batch_size"], "lr": t["lr"], "betas": list(t["betas"]), **extra}


DEFAULTS: dict[str, Any] = {
    "data": "digits",
    "root": None,
    "size": None,
    "n_val": 300,
    "latent_dim": 10,
    "arch": None,
    "width": 32,
    "data_scale": 1.0,
    "seed": 0,
    "device": None,
    "precision": "fp32",
    "channels_last": False,
    "compile": False,
    "encoder": _stage_defaults("encoder", target=None, chunk_size=None),
    "decoder": _stage_defaults("decoder"),
    "flow": _stage_defaults("flow", hidden=256, n_layers=4),
}


class CLIError(Exception):
    """A user-facing error: printed as one message, exit status 2."""


# one validation layer for YAML files and flags: key -> (kind, rule); kinds: int, float, str, bool, any
_POS_INT = ("int", lambda v: v > 0, "a whole number > 0")
_POS_FLOAT = ("float", lambda v: v > 0, "a finite number > 0")
_OPT_POS_INT = ("int?", lambda v: v > 0, "a whole number > 0 or null")
# a stage's optimiser settings are checked by gpelib.settings.Stage's own rules (type and range in one test)
_STAGE_SCHEMA = {**{k: ("any", test, expected) for k, (test, expected) in STAGE_RULES.items() if k != "eval_every"},
                 "chunk_size": _OPT_POS_INT, "hidden": _POS_INT, "n_layers": _POS_INT}
SCHEMA: dict[str, Any] = {
    "data": ("str", lambda v: bool(v), "a dataset name or a folder"), "root": ("str?", lambda v: True, "a folder"),
    "size": _OPT_POS_INT, "n_val": _POS_INT, "latent_dim": _POS_INT,
    "arch": ("str?", lambda v: v in ("mlp", "conv"), "mlp, conv or null"), "width": _POS_INT,
    "data_scale": _POS_FLOAT, "seed": ("int", lambda v: v >= 0, "a whole number ≥ 0"),
    "device": ("str?", lambda v: _device_problem(v) is None,
               "a torch device this machine has (cpu, cuda, cuda:1, mps)"),
    "precision": ("str", lambda v: v in ("fp32", "bf16"), "fp32 or bf16"),
    "channels_last": ("bool", lambda v: True, "true or false"), "compile": ("bool", lambda v: True, "true or false"),
    **{stage: {k: _STAGE_SCHEMA[k] for k in DEFAULTS[stage]} for stage in STAGES},
}


def _device_problem(name: str) -> str | None:
    """Why ``name`` is not a torch device this machine can train on, or ``None``."""
    import torch

    try:
        dev = torch.device(name)
    except RuntimeError:
        return "unknown device type"
    if dev.type == "cuda" and not torch.cuda.is_available():
        return "no CUDA device here"
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        return f"this machine has {torch.cuda.device_count()} CUDA device(s)"
    if dev.type == "mps" and not torch.backends.mps.is_available():
        return "no MPS device here"
    return None


def _type_ok(kind: str, v: Any) -> bool:
    if kind == "any":  # the rule checks the type itself
        return True
    if kind.endswith("?"):
        if v is None:
            return True
        kind = kind[:-1]
    if kind == "int":
        return whole_number(v)
    if kind == "float":
        return finite_number(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    raise AssertionError(kind)


def _validate(cfg: dict[str, Any], where: str, schema: dict[str, Any] | None = None, prefix: str = "") -> None:
    """Every key of ``cfg`` is known (nested stage keys too) and every value has its type and range — no silent
    coercion (``5.7`` or ``"16"`` for a whole number is an error). ``where`` names the file (or "the command line")
    in the message, with the key and what was expected."""
    schema = SCHEMA if schema is None else schema
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if k not in schema:
            raise CLIError(f"{where}: unknown setting {key!r}; known here: {', '.join(sorted(schema))}")
        rule = schema[k]
        if isinstance(rule, dict):
            if not isinstance(v, dict):
                raise CLIError(f"{where}: {key!r} must be a mapping of {', '.join(sorted(rule))}; got {v!r}")
            _validate(v, where, rule, prefix=f"{key}.")
            continue
        kind, check, expected = rule
        if not _type_ok(kind, v) or (v is not None and not check(v)):
            why = f" ({_device_problem(v)})" if k == "device" and isinstance(v, str) else ""
            raise CLIError(f"{where}: {key} must be {expected}; got {v!r}{why}")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CLIError(f"config file {path} does not exist")
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise CLIError(f"config file {path} is not valid YAML: {e}") from e
    if not isinstance(cfg, dict):
        raise CLIError(f"config file {path} must hold a mapping of settings, got {type(cfg).__name__}")
    _validate(cfg, f"config file {path}")
    return cfg


def _settings(args: argparse.Namespace, stage: str | None) -> dict[str, Any]:
    """defaults < RUN/config.yaml < --config < flags."""
    run = Path(args.run)
    if run.exists() and not run.is_dir():
        raise CLIError(f"--run {run} is a file; a run is a folder (made if needed): name another path")
    cfg = dict(DEFAULTS)
    if (run / "config.yaml").is_file():
        cfg = _merge(cfg, _read_yaml(run / "config.yaml"))
    if getattr(args, "config", None):
        cfg = _merge(cfg, _read_yaml(Path(args.config)))
    for key in ("data", "root", "size", "latent_dim", "arch", "width", "data_scale", "seed", "device", "precision",
                "channels_last", "compile"):
        v = getattr(args, key, None)
        if v is not None:
            cfg[key] = v
    if stage is not None:
        for key in ("iterations", "batch_size", "lr", "target", "chunk_size"):
            v = getattr(args, key, None)
            if v is not None:
                cfg[stage] = {**cfg[stage], key: v}
    _validate(cfg, "the command line")
    return cfg


def _main_process() -> bool:
    from .distributed import is_main_process

    return is_main_process()


def _save_settings(run: Path, cfg: dict[str, Any]) -> None:
    if not _main_process():  # under torchrun only rank 0 writes
        return
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


@contextlib.contextmanager
def _locked(run: Path):
    """An exclusive lock on the run folder (``RUN/.lock``, ``flock``) for a command that trains into it: a second
    command on the same folder stops at once with the holder's pid. The kernel drops the lock when its process ends,
    however it ends, so a crashed run leaves no stale lock behind."""
    if not _main_process():  # under torchrun rank 0 holds it for the job
        yield
        return
    import fcntl
    import os

    run.mkdir(parents=True, exist_ok=True)
    path = run / ".lock"
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise CLIError(f"run folder {run} is in use by process {holder} ({path}); wait for it to finish or "
                           "train into another --run") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _set_aside(run: Path, stage: str) -> Path | None:
    """``--fresh``: move ``RUN/<stage>`` (and its history) to ``RUN/<stage>.replaced-<date-time>``: kept, not
    deleted."""
    import time

    old = run / stage
    if not old.exists():
        return None
    aside = run / f"{stage}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"
    old.rename(aside)
    hist = run / f"{stage}_history.csv"
    if hist.exists():
        hist.rename(aside / hist.name)
    print(f"--fresh: the previous {stage} is kept at {aside}")
    return aside


def _link_or_copy(src: str, dst: str) -> None:
    """A hard link where the file system has them (a checkpoint's files are replaced, never rewritten in place)."""
    import os
    import shutil

    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _restore(kept: Path, run: Path, stage: str) -> None:
    """Put ``kept`` (a stage folder set aside, its history inside it) back as ``RUN/<stage>``."""
    import shutil

    hist = kept / f"{stage}_history.csv"
    if hist.exists():
        hist.replace(run / hist.name)
    kept.replace(run / stage)
    shutil.rmtree(kept, ignore_errors=True)


@contextlib.contextmanager
def _stage_transaction(run: Path, stage: str, fresh: bool):
    """All or nothing for ``RUN/<stage>`` and ``RUN/<stage>_history.csv`` (issue 30 item 8): a command that fails with
    an error leaves them as they were before it — the previous checkpoint, or nothing — never a partial or broken
    stage; with ``--fresh`` the stage it set aside comes back. A kept copy (hard links) sits at
    ``RUN/.<stage>.before-<pid>`` while the command runs. An interrupted command (Ctrl-C, SIGTERM) keeps what it
    trained — its checkpoint was written at the interruption — so that the same command resumes it. Call under the
    run folder's lock; copies left by a killed command are removed first."""
    import os
    import shutil

    if not _main_process():
        yield
        return
    for stale in run.glob(f".{stage}.before-*"):
        shutil.rmtree(stale, ignore_errors=True)
    hist = run / f"{stage}_history.csv"
    kept = _set_aside(run, stage) if fresh else None
    if kept is None and (run / stage).is_dir():
        kept = run / f".{stage}.before-{os.getpid()}"
        shutil.copytree(run / stage, kept, copy_function=_link_or_copy)
        if hist.exists():
            shutil.copy2(hist, kept / hist.name)
    try:
        yield
    except KeyboardInterrupt:
        if kept is not None and not fresh:
            shutil.rmtree(kept, ignore_errors=True)
        raise
    except Exception as e:
        shutil.rmtree(run / stage, ignore_errors=True)
        hist.unlink(missing_ok=True)
        if kept is not None:
            _restore(kept, run, stage)
        if not isinstance(e, CLIError):  # a refusal wrote nothing; a failure says what the folder holds now
            what = "the one before this command" if kept is not None else "not trained, as before this command"
            e.add_note(f"{run / stage} is {what}" + (" (--fresh undone)" if fresh and kept is not None else ""))
        raise
    if kept is not None and not fresh:
        shutil.rmtree(kept, ignore_errors=True)


@contextlib.contextmanager
def _settings_for(run: Path, cfg: dict[str, Any], stage: str | None = None, fresh: bool = False):
    """Under the run folder's lock (:func:`_locked`), store ``cfg`` in ``RUN/config.yaml`` for the command's duration
    (a killed run resumes with it), and put the previous file back when the command fails with an error: a refused or
    crashing command leaves the run's settings as they were (issue 13), so later commands still match the
    checkpoints — and its stage as it was (:func:`_stage_transaction`)."""
    path = run / "config.yaml"
    from .train import ResumeMismatchError

    with _locked(run):
        before = path.read_text() if path.is_file() else None

        def put_back() -> None:
            if _main_process():
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_text(before)

        with _stage_transaction(run, stage, fresh) if stage is not None else contextlib.nullcontext():
            _save_settings(run, cfg)
            try:
                yield
            except ResumeMismatchError as e:
                put_back()
                raise CLIError(f"{str(e).split(' Delete the folder')[0]} To start the {stage or 'stage'} over, add "
                               f"--fresh (the old one is kept as {run}/{stage}.replaced-<date-time>).") from None
            except Exception:
                put_back()
                raise
