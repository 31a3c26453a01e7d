#!/usr/bin/env python
"""The paper profile end to end before anyone has a GPU or the data sets: every notebook, through the same runner,
on fake data sets written in each real on-disk layout, at a tiny budget.

    python reproduce/dry_run.py                          # CPU, budgets × 1e-3 (capped), in a temporary folder
    python reproduce/dry_run.py --device cuda --keep runs/paper-dry   # on a GPU machine; keep what it wrote
    python reproduce/dry_run.py --only 04 08             # some notebooks (a number or a name fragment)

Steps: (1) :func:`gpelib.fake_data.write_fake_datasets` writes MNIST (IDX), CIFAR10 (pickle batches), CelebA,
CelebA-HQ and Tiny ImageNet (JPEG folders) under ``WORK/data``; (2) ``reproduce/run_all.py --profile paper --dry-run
SCALE`` runs every notebook (:func:`gpelib.profiles.dry_run` shrinks budgets, sample counts, batches and seeds and
keeps data sets, sizes and architectures; the GAN notebooks train every method to its plateau under a common cap,
so they need no step-time calibration). Nothing is written outside ``WORK``: not ``figures/``, not ``runs/``. Exit
status: non-zero when a step fails; the executed notebooks (and tracebacks) are in
``WORK/run/executed``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "reproduce"))


def _snapshot() -> dict[str, tuple[int, int]]:
    """Every file under the repository's ``figures/`` and ``runs/``: size and mtime (a dry run must not touch them)."""
    out = {}
    for top in (ROOT / "figures", ROOT / "runs"):
        for p in top.rglob("*") if top.is_dir() else ():
            if p.is_file():
                st = p.stat()
                out[str(p.relative_to(ROOT))] = (st.st_size, st.st_mtime_ns)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1e-3, help="budget scale (gpelib.profiles.DryRun)")
    ap.add_argument("--device", default="cpu", help="torch device of the notebooks")
    ap.add_argument("--only", nargs="*", help="notebook numbers or name fragments (default: all)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="work in this folder and keep it (default: a temporary folder, removed at the end)")
    ap.add_argument("--log-output", action="store_true", help="stream the notebooks' output to this terminal")
    args = ap.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="gpe-dry-run-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {"GPE_DATA_ROOT": str(work / "data"), "GPE_RUNS_DIR": str(work / "runs"),
           "GPE_STEP_SECONDS": str(work / "step_seconds.csv"), "GPE_DRY_RUN": repr(args.scale),
           # 64 samples against 128-d classifier features, by design here: not worth a warning per score
           "PYTHONWARNINGS": "ignore:FD-classifier with"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the runner's kernels read them
    t0 = time.perf_counter()
    before = _snapshot()
    try:
        from gpelib import fake_data

        print(f"dry run of the paper profile in {work}", flush=True)
        folders = fake_data.write_fake_datasets(work / "data")
        print("fake data sets: " + ", ".join(f"{k} ({v.relative_to(work)})" for k, v in folders.items()), flush=True)

        import run_all

        only = args.only
        ra = ["--profile", "paper", "--dry-run", repr(args.scale), "--run-dir", str(work / "run"), "--force",
              "--device", args.device]
        rc = run_all.main(ra + (["--only", *only] if only else []) + (["--log-output"] if args.log_output else []))
        for err in sorted((work / "run" / "executed").glob("*.error.txt")):  # the temporary folder goes: say why
            print(f"\n--- {err.name}\n{err.read_text()}", file=sys.stderr)
        after = _snapshot()
        inside = str(work.resolve().relative_to(ROOT)) + "/" if work.resolve().is_relative_to(ROOT) else None
        touched = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                         and not (inside and k.startswith(inside)))
        if touched:  # a notebook or the library wrote outside the dry run's folder
            print(f"dry run wrote into the repository: {touched[:10]}{' …' if len(touched) > 10 else ''}",
                  file=sys.stderr)
            rc = rc or 1
        print(f"dry run {'passed' if rc == 0 else 'FAILED'} in {time.perf_counter() - t0:.0f} s", flush=True)
        return rc
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
