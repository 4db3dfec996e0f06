import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse

from skmde import graphs, neighbors
from skmde import initialization as _init

from ._checks import blas_threads, on_one_and_two_threads


def ring_graph(n=300, seed=0):
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.uniform(0, 2 * np.pi, n))
    X = np.column_stack([np.cos(theta), np.sin(theta), 0.05 * rng.normal(size=n)])
    idx, dist, _ = neighbors.nearest_neighbors(X, 8)
    edges, weights, _ = graphs.symmetrize(idx, dist, n)
    return edges, weights


def test_spectral_matches_dense_eigensolver():
    n = 300
    edges, weights = ring_graph(n)
    Y = _init.spectral(n, 2, edges, weights)
    W = scipy.sparse.coo_matrix((weights, (edges[:, 0], edges[:, 1])), (n, n))
    W = (W + W.T).toarray()
    D = np.diag(W.sum(1))
    # generalized problem L u = lambda D u: the eigenmap after the constant
    _, U = scipy.linalg.eigh(D - W, D, subset_by_index=[1, 2])
    ref = _init.standardize(_init._fix_signs(U))
    # standardization is rotation-free (polar factor), so columns match up to sign
    for col in range(2):
        corr = abs(np.corrcoef(Y[:, col], ref[:, col])[0, 1])
        assert corr > 0.999


def test_spectral_products_on_a_device(monkeypatch):
    """With a GPU, ARPACK's products with the graph run there; routed through
    that path on the CPU, the eigenmap is the CPU's up to rounding, on a
    connected graph and on each component of a disconnected one."""
    n = 600
    edges, weights = ring_graph(n)
    parts = np.concatenate([edges, edges + n])  # two rings, apart
    plain = [
        _init.spectral(n, 2, edges, weights),
        _init.spectral(
            2 * n,
            2,
            parts,
            np.concatenate([weights, weights]),
            data=np.arange(2 * n)[:, None] // n,
        ),
    ]
    monkeypatch.setattr(_init, "on_accelerator", lambda device: device is not None)
    N = scipy.sparse.random(50, 50, density=0.2, random_state=0, format="csr")
    t = np.linspace(1.0, 2.0, 50)
    v = np.random.default_rng(0).normal(size=(50, 1))
    np.testing.assert_allclose(
        _init._deflated_product(N, t, "cpu")(v), N @ v.ravel() - t * (t @ v.ravel())
    )
    routed = [
        _init.spectral(n, 2, edges, weights, device="cpu"),
        _init.spectral(
            2 * n,
            2,
            parts,
            np.concatenate([weights, weights]),
            data=np.arange(2 * n)[:, None] // n,
            device="cpu",
        ),
    ]
    for a, b in zip(plain, routed):
        np.testing.assert_allclose(b, a, atol=1e-4)


def test_spectral_is_standardized_and_deterministic():
    edges, weights = ring_graph(500)
    a = _init.spectral(500, 2, edges, weights)
    b = _init.spectral(500, 2, edges, weights)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.T @ a / 500, np.eye(2), atol=1e-8)
    np.testing.assert_allclose(a.mean(0), 0, atol=1e-10)


SCRIPT = """
import numpy as np, sys
sys.path.insert(0, {root!r})
from skmde import graphs, neighbors
from skmde import initialization as _init
rng = np.random.default_rng(0)
X = rng.normal(size=(400, 5))
idx, dist, _ = neighbors.nearest_neighbors(X, 10)
edges, w, _ = graphs.symmetrize(idx, dist, 400)
print(_init.spectral(400, 2, edges, w).tobytes().hex())
"""


@pytest.mark.slow
def test_spectral_deterministic_across_processes():
    import pathlib

    root = str(pathlib.Path(__file__).resolve().parents[1])
    outputs = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT.format(root=root)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    }
    assert len(outputs) == 1


def test_spectral_lays_out_disconnected_graphs():
    # two clusters far apart in the data, each a ring of 30 items
    rng = np.random.default_rng(0)
    theta = np.linspace(0, 2 * np.pi, 30, endpoint=False)
    ring = np.column_stack([np.cos(theta), np.sin(theta)])
    data = np.vstack([ring, ring + [50.0, 0.0]])
    ring_edges = np.column_stack([np.arange(30), (np.arange(30) + 1) % 30])
    edges = np.vstack([ring_edges, ring_edges + 30])
    Y = _init.spectral(60, 2, edges, np.ones(60), data=data)
    np.testing.assert_allclose(Y.T @ Y / 60, np.eye(2), atol=1e-8)
    a, b = Y[:30], Y[30:]
    # components are separated along the line joining them, and neither
    # collapses to a point
    axis = (b.mean(0) - a.mean(0)) / np.linalg.norm(b.mean(0) - a.mean(0))
    gap = np.linalg.norm(a.mean(0) - b.mean(0))
    assert gap > 3 * max((a @ axis).std(), (b @ axis).std())
    assert a.std(0).min() > 1e-3 and b.std(0).min() > 1e-3
    # without data the components still get distinct places
    Y = _init.spectral(60, 2, edges, np.ones(60), random_state=rng.integers(9))
    assert np.linalg.norm(Y[:30].mean(0) - Y[30:].mean(0)) > 0.5


def test_pca_scores(rng):
    X = rng.normal(size=(200, 5)) * [10, 3, 1, 0.1, 0.1]
    scores = _init.pca(X, 2)
    Xc = X - X.mean(0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    np.testing.assert_allclose(np.abs(scores), np.abs(Xc @ vt[:2].T), rtol=1e-8)
    sparse = _init.pca(scipy.sparse.csr_matrix(X), 2)
    np.testing.assert_allclose(np.abs(sparse), np.abs(scores), rtol=1e-6)


def test_pca_pads_low_rank_data():
    X = np.column_stack([np.arange(10.0), np.zeros(10)])
    scores = _init.pca(X, 3)
    assert scores.shape == (10, 3)
    assert np.isfinite(scores).all()


def test_pca_scores_are_the_same_on_any_thread_count():
    # the default start of distance embeddings: torch's eigensolver rounded
    # its axes differently on one and two threads (so with n_jobs)
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(2000, 20)) @ rng.normal(size=(20, 400))
    X = latent + 0.5 * rng.normal(size=(2000, 400))
    one, two = on_one_and_two_threads(lambda: _init.pca(X, 2))
    np.testing.assert_array_equal(one, two)
    # the leading principal components (up to sign), as SciPy's SVD finds them
    _, _, vt = scipy.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    expected = (X - X.mean(axis=0)) @ vt[:2].T
    np.testing.assert_allclose(np.abs(one), np.abs(expected), rtol=1e-8, atol=1e-8)


def test_spectral_components_are_the_same_on_any_thread_count(monkeypatch):
    # rings of 300 (ARPACK), 40 and 3 items (seeded draws) in a shuffled
    # order: the large components' eigenmaps run in parallel, the draws in order
    import torch

    sizes = [300, 3, 300, 40, 300, 3]
    edges, start = [], 0
    for size in sizes:
        ring = np.arange(start, start + size)
        edges.append(np.column_stack([ring, np.roll(ring, -1)]))
        start += size
    permutation = np.random.default_rng(1).permutation(start)
    edges = permutation[np.vstack(edges)]
    weights = np.random.default_rng(2).uniform(0.5, 1.5, len(edges))
    called = []
    real = _init._eigenmap
    monkeypatch.setattr(
        _init,
        "_eigenmap",
        lambda W, *a, **k: called.append(W.shape[0]) or real(W, *a, **k),
    )
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            results.append(_init.spectral(start, 2, edges, weights, random_state=4))
    finally:
        torch.set_num_threads(before)
    assert sorted(called) == sorted([40, 300, 300, 300] * 3)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    np.testing.assert_allclose(results[0].T @ results[0] / start, np.eye(2), atol=1e-8)


def test_spectral_runs_its_eigensolver_on_one_blas_thread(monkeypatch):
    # ARPACK's products of a few dozen vectors are faster on one thread, and
    # the start then does not depend on the machine's core count
    import threading

    edges, weights = ring_graph()
    outside, seen = blas_threads(), []
    real = _init._eigenmap
    monkeypatch.setattr(
        _init, "_eigenmap", lambda *a: seen.append(blas_threads()) or real(*a)
    )
    _init.spectral(300, 2, edges, weights)
    assert seen and all(counts == [1] * len(counts) for counts in seen)
    assert blas_threads() == outside  # restored
    # from another thread nothing process-wide changes (as torch's count)
    seen.clear()
    worker = threading.Thread(target=_init.spectral, args=(300, 2, edges, weights))
    worker.start()
    worker.join()
    assert seen == [outside]
