import os

import pytest
import torch

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: many tiny operations (GAN steps, small LAPACK calls), where thread start-up
    dominates on a shared machine and one thread per process is how the notebooks' workers run."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def assert_committed_verdict(tmp_path):
    """``check(rows, "NN")``: the claim rows, written as ``reporting.save_verdict`` writes them under the quick
    profile, equal the committed ``figures/NN_verdict.csv`` in every column (ids and kinds included)."""
    from pathlib import Path

    import pandas as pd

    from gpelib import reporting

    figures = Path(__file__).resolve().parent.parent / "figures"

    def check(rows, nb: str) -> None:
        reporting.save_verdict(rows, tmp_path, nb, profile="quick")
        ours = pd.read_csv(tmp_path / f"{nb}_verdict.csv", dtype=str, keep_default_na=False)
        committed = pd.read_csv(figures / f"{nb}_verdict.csv", dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(ours, committed)

    return check
