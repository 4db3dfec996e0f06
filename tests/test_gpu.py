"""CUDA paths (run where a GPU is available; skipped elsewhere)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import skmde

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@cuda
@pytest.mark.parametrize("constraint", [skmde.Centered(), skmde.Standardized()])
def test_core_problem_on_cuda_matches_cpu(constraint):
    X = load_digits().data[:500]
    results = {}
    for device in ("cpu", "cuda"):
        mde = skmde.preserve_neighbors(
            X, constraint=constraint, random_state=0, device=device
        )
        assert mde.X_init.device.type == device
        Z = mde.embed(max_iter=100)
        assert Z.device.type == device and torch.isfinite(Z).all()
        assert mde.constraint.is_feasible(Z)
        results[device] = float(mde.average_distortion())
    assert results["cuda"] == pytest.approx(results["cpu"], rel=0.05)


@cuda
def test_anchored_on_cuda():
    edges = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3]], device="cuda")
    values = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, -1.0]])
    mde = skmde.MDE(
        5,
        2,
        edges,
        skmde.penalties.Quadratic(torch.tensor([1.0, 2, 5, 6])),
        skmde.Anchored([0, 1, 3], values),
    )
    X = mde.embed()
    assert X.device.type == "cuda"
    assert torch.equal(X[[0, 1, 3]].cpu(), values)


@cuda
def test_estimator_fitted_on_cuda_loads_and_transforms_on_cpu():
    X, _ = load_digits(return_X_y=True)
    model = skmde.MDENeighbors(device="cuda", random_state=0).fit(X[:1000])
    assert isinstance(model.embedding_, np.ndarray)
    clone = pickle.loads(pickle.dumps(model))
    out = clone.transform(X[1000:1100])
    assert out.shape == (100, 2) and np.isfinite(out).all()
    np.testing.assert_array_equal(clone.transform(X[:5]), model.embedding_[:5])
