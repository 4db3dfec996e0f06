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


@cuda
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("d", [8, 300])
def test_neighbour_search_on_cuda_is_exact(metric, d):
    from scipy.spatial.distance import cdist

    from skmde.neighbors import nearest_neighbors

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, d)).astype(np.float32) + 1.0
    indices, distances, index = nearest_neighbors(X, 10, metric, device="cuda")
    D = cdist(X.astype(np.float64), X.astype(np.float64), metric)
    np.fill_diagonal(D, np.inf)
    exact = np.sort(D, axis=1)[:, :10]
    np.testing.assert_allclose(distances, exact, rtol=1e-4, atol=1e-5)
    assert (np.take_along_axis(D, indices, 1) <= exact[:, -1:] * (1 + 1e-5)).all()
    new = rng.standard_normal((50, d)).astype(np.float32) + 1.0
    new[0] = X[7]
    rows, row_distances = index.query(new, 5, device="cuda")
    assert rows[0, 0] == 7 and row_distances[0, 0] == 0.0
    expected = np.sort(cdist(new, X, metric), axis=1)[:, :5]
    np.testing.assert_allclose(row_distances, expected, rtol=1e-4, atol=1e-5)


@cuda
def test_transform_on_cuda_matches_the_cpu():
    X, _ = load_digits(return_X_y=True)
    model = skmde.MDENeighbors(random_state=0).fit(X[:1500])
    expected = model.transform(X[1500:])
    model.set_params(device="cuda")
    out = model.transform(X[1500:])
    # the same neighbours (up to ties the devices' rounding orders apart)
    scale = np.abs(model.embedding_).max()
    close = (np.abs(out - expected) <= 1e-6 * scale).all(axis=1)
    assert close.mean() >= 0.98
    np.testing.assert_array_equal(model.transform(X[:4]), model.embedding_[:4])


@cuda
def test_fit_on_cuda_searches_there():
    """The neighbour graph of a CUDA fit is the exact one the CPU finds on
    digits (its exact path), and partial_fit grows the model there."""
    X, _ = load_digits(return_X_y=True)
    graphs = {}
    for device in ("cpu", "cuda"):
        _, plan = skmde.recipes.neighbor_problem(X, random_state=0, device=device)
        graphs[device] = plan.neighbor_graph
    np.testing.assert_allclose(
        graphs["cuda"].distances, graphs["cpu"].distances, rtol=1e-5, atol=1e-5
    )
    model = skmde.MDENeighbors(device="cuda", random_state=0).fit(X[:1200])
    model.partial_fit(X[1200:])
    assert model.embedding_.shape == (1797, 2) and np.isfinite(model.embedding_).all()


@cuda
def test_spectral_products_on_cuda():
    from skmde import graphs, initialization, neighbors

    X, _ = load_digits(return_X_y=True)
    idx, dist, _ = neighbors.nearest_neighbors(X, 10)
    edges, weights, _ = graphs.symmetrize(idx, dist, len(X))
    cpu = initialization.spectral(len(X), 2, edges, weights, data=X)
    gpu = initialization.spectral(len(X), 2, edges, weights, data=X, device="cuda")
    np.testing.assert_allclose(gpu, cpu, atol=1e-3)
