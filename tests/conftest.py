import os
import pathlib

import numpy as np
import pytest
import torch

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def mnist_dir():
    """The shared MNIST-10k directory; tests using it skip when it is absent."""
    path = SHARED_DATA.resolve() / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/mnist is not available")
    return path


@pytest.fixture(autouse=True)
def _torch_threads():
    """Every test leaves torch's thread count as it found it."""
    before = torch.get_num_threads()
    yield
    assert torch.get_num_threads() == before, "torch thread count was not restored"
