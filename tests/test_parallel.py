"""gpelib.parallel's worker pool: a killed parent leaves no orphan workers behind (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its new parent to reap it counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_when_the_process_that_started_them_is_killed(tmp_path):
    """A notebook kernel killed in the middle of a sweep (SIGKILL: no clean-up runs) must not leave its spawned
    workers training on the cores."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from gpelib.parallel import map_jobs

        def job(i):
            open(os.path.join({str(tmp_path)!r}, f"pid-{{i}}"), "w").write(str(os.getpid()))
            time.sleep(120)

        if __name__ == "__main__":
            map_jobs(job, [{{"i": 0}}, {{"i": 1}}], n_workers=2, threads_per_worker=1, progress=False)
    """))
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        files = [tmp_path / "pid-0", tmp_path / "pid-1"]
        deadline = time.monotonic() + 90
        while not all(f.exists() and f.read_text() for f in files):
            assert time.monotonic() < deadline, "the workers did not start"
            assert parent.poll() is None, "the parent ended early"
            time.sleep(0.2)
        pids = [int(f.read_text()) for f in files]
        assert all(_alive(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [p for p in pids if _alive(p)]
        for p in left:  # do not leave them behind either way
            os.kill(p, signal.SIGKILL)
        assert not left, f"workers {left} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
