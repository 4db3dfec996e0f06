"""The neighbour search against brute force, path by path."""

import functools
import pickle

import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.spatial.distance import cdist

from skmde import neighbors
from skmde.neighbors import (
    NeighborIndex,
    _blocks,
    _clustered,
    _exact,
    _precomputed,
    _pynndescent,
    check_new_rows,
    index_for_new_rows,
    nearest_neighbors,
    supports_new_rows,
)

from ._checks import on_one_and_two_threads


def brute(X, k, metric="euclidean", Q=None):
    """Exact neighbours in float64 (ties by index), the items excluded from
    their own lists when ``Q`` is None."""
    X = X.toarray() if scipy.sparse.issparse(X) else np.asarray(X, np.float64)
    itself = Q is None
    Q = X if itself else (Q.toarray() if scipy.sparse.issparse(Q) else Q)
    D = cdist(np.asarray(Q, np.float64), X, metric=metric)
    if itself:
        np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(X.shape[0]), D.shape), D), axis=1)
    order = order[:, :k]
    return order, np.take_along_axis(D, order, 1)


def assert_same_neighbors(found, expected, rtol=1e-5, atol=1e-6):
    indices, distances = found
    exact_indices, exact_distances = expected
    assert indices.shape == exact_indices.shape and indices.dtype == np.int64
    np.testing.assert_array_equal(indices, exact_indices)
    np.testing.assert_allclose(distances, exact_distances, rtol=rtol, atol=atol)
    assert (np.diff(distances, axis=1) >= 0).all()


class FakeNNDescent:
    """Stands in for pynndescent.NNDescent: records its arguments and answers
    with exact neighbours (each item first in its own list)."""

    calls = []

    def __init__(self, data, **options):
        FakeNNDescent.calls.append(options)
        k = options["n_neighbors"]
        D = cdist(data, data)
        order = np.argsort(D, axis=1, kind="stable")[:, :k]
        self.neighbor_graph = order, np.take_along_axis(D, order, 1)


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).normal(size=(150, 6))


# -- the fit's neighbours --------------------------------------------------------
@pytest.mark.parametrize(
    ("metric", "transform"),
    [
        ("euclidean", lambda X: X),
        ("euclidean", lambda X: X + 1e7),  # a common offset
        ("euclidean", lambda X: X * 1e-30),  # tiny: float32 squares vanish
        ("euclidean", lambda X: X * 3e35),  # huge: float32 squares overflow
        ("cosine", lambda X: X + 0.5),
        ("cosine", lambda X: X * 1e30),
        ("cityblock", lambda X: X),
        ("chebyshev", lambda X: X),
        ("correlation", lambda X: X),
    ],
)
def test_items_own_neighbors_are_exact(data, metric, transform):
    X = transform(data)
    found = nearest_neighbors(X, 7, metric)
    expected = brute(X, 7, metric)
    scale = float(np.max(expected[1]))
    assert_same_neighbors(found[:2], expected, atol=1e-6 * scale)
    assert isinstance(found[2], NeighborIndex)
    # the default metric is euclidean and the default method exact here
    if metric == "euclidean":
        np.testing.assert_array_equal(nearest_neighbors(X, 7)[0], found[0])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_sparse_data(data, metric):
    X = data.copy()
    X[np.abs(X) < 0.2] = 0.0
    sparse = scipy.sparse.csr_matrix(X * 1e12)
    # float32 products: distances to within ~1e-3 of the rows' norms
    atol = 1e-3 * (float(np.abs(X).max()) * 1e12 if metric == "euclidean" else 1.0)
    found = nearest_neighbors(sparse, 5, metric)
    exact = brute(X * 1e12, 5, metric)
    np.testing.assert_allclose(found[1], exact[1], atol=atol)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found[0], exact[0])])
    assert recall > 0.97
    assert found[2].sparse
    index = index_for_new_rows(sparse, metric, found[2])
    assert index is found[2]
    rows = X[:4] * 1e12 + 1e11
    new = index.query(scipy.sparse.csr_matrix(rows), 3)
    np.testing.assert_allclose(new[1], brute(X * 1e12, 3, metric, Q=rows)[1], atol=atol)


def test_many_features_are_searched_in_a_reduced_space():
    rng = np.random.default_rng(1)
    # 200 features of 12 latent dimensions, slightly noisy
    X = rng.normal(size=(500, 12)) @ rng.normal(size=(12, 200))
    X += 0.01 * rng.normal(size=X.shape)
    found = nearest_neighbors(X, 10)
    index = found[2]
    assert index.basis is not None and index.basis.shape == (200, 100)
    assert index.reduced.shape == (500, 100)
    exact = brute(X, 10)
    # candidates from the reduced space, re-ranked exactly: (nearly) all found
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found[0], exact[0])])
    assert recall > 0.99
    rows = X[:20] + 0.1 * rng.normal(size=(20, 200))
    new = index_for_new_rows(X, "euclidean", index).query(rows, 10)
    exact_new = brute(X, 10, Q=rows)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(new[0], exact_new[0])])
    assert recall > 0.99
    same = new[0] == exact_new[0]
    np.testing.assert_allclose(new[1][same], exact_new[1][same], rtol=5e-4)


@pytest.mark.slow  # pynndescent compiles for ~30 s in a fresh process
def test_approximate_method_uses_pynndescent(data):
    found = nearest_neighbors(data, 5, method="approximate", random_state=0)
    assert found[2] is None
    exact = brute(data, 5)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found[0], exact[0])])
    assert recall > 0.95
    assert found[0].dtype == np.int64 and found[1].dtype == np.float32
    assert not (found[0] == np.arange(len(data))[:, None]).any()
    again = nearest_neighbors(data, 5, method="approximate", random_state=0)
    np.testing.assert_array_equal(found[0], again[0])


def test_pynndescent_is_asked_for_k_plus_one_neighbours(data, monkeypatch):
    import pynndescent

    monkeypatch.setattr(pynndescent, "NNDescent", FakeNNDescent)
    FakeNNDescent.calls = []
    rng = np.random.default_rng(0)
    indices, distances, index = nearest_neighbors(
        data, 5, method="approximate", random_state=rng, n_jobs=2
    )
    assert index is None
    assert_same_neighbors((indices, distances), brute(data, 5))
    (options,) = FakeNNDescent.calls
    expected_seed = int(np.random.default_rng(0).integers(2**31 - 1))
    assert options == {
        "n_neighbors": 6,
        "metric": "euclidean",
        "random_state": expected_seed,
        "n_jobs": 2,
        "low_memory": True,
        "compressed": True,
    }
    nearest_neighbors(data, 3, "hellinger", method="auto")
    assert FakeNNDescent.calls[-1]["random_state"] is None
    assert FakeNNDescent.calls[-1]["metric"] == "hellinger"


@pytest.mark.parametrize(
    ("n_jobs", "threads"),
    [(None, None), (-1, 8), (-2, 7), (1, 1), (2, 2), (10**6, 8), (-(10**6), 1)],
)
def test_pynndescent_threads(data, monkeypatch, n_jobs, threads):
    # None: pynndescent's default, numba's thread count (all cores unless
    # set otherwise: the same count whatever the machine's load, so the
    # graph is the same run to run); others joblib-style, at most numba's
    import numba
    import pynndescent

    monkeypatch.setattr(pynndescent, "NNDescent", FakeNNDescent)
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 8)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    FakeNNDescent.calls = []
    nearest_neighbors(data, 3, method="approximate", n_jobs=n_jobs)
    assert FakeNNDescent.calls[-1]["n_jobs"] == threads


@pytest.mark.slow
def test_metrics_only_pynndescent_computes_for_real():
    X = np.abs(np.random.default_rng(2).normal(size=(60, 4))) + 0.1
    indices, distances, index = nearest_neighbors(X, 4, "hellinger", random_state=0)
    assert index is None and indices.shape == (60, 4)


def test_new_rows_need_an_exact_search():
    X = np.abs(np.random.default_rng(2).normal(size=(60, 4))) + 0.1
    assert not supports_new_rows(X, "hellinger")
    with pytest.raises(
        ValueError,
        match=r"metric='hellinger' \(pynndescent's only\) on dense data has no exact "
        r"search for new rows \(transform\)",
    ):
        check_new_rows(X, "hellinger")
    sparse = scipy.sparse.csr_matrix(X)
    assert not supports_new_rows(sparse, "cityblock")
    assert supports_new_rows(sparse, "cosine") and supports_new_rows(X, "l1")
    with pytest.raises(ValueError, match=r"^metric='cityblock' on sparse data"):
        check_new_rows(sparse, "cityblock")
    check_new_rows(X, "cityblock")  # no error
    assert supports_new_rows(None, "precomputed")


def test_drop_self_keeps_the_others_in_order():
    indices = np.array([[0, 3, 1], [2, 1, 0], [1, 0, 3]])
    distances = np.array([[0.0, 1.0, 2.0], [0.5, 0.0, 3.0], [0.0, 0.1, 0.2]])
    kept, d = _pynndescent._drop_self(indices, distances, 2)
    # row 2 lacks itself (2): its farthest entry goes instead
    np.testing.assert_array_equal(kept, [[3, 1], [2, 0], [1, 0]])
    np.testing.assert_array_equal(d, np.float32([[1.0, 2.0], [0.5, 3.0], [0.0, 0.1]]))
    assert kept.dtype == np.int64 and d.dtype == np.float32


def test_auto_goes_to_pynndescent_only_above_the_threshold(data, monkeypatch):
    import pynndescent

    monkeypatch.setattr(pynndescent, "NNDescent", FakeNNDescent)
    asked = []

    def failing_query(self, queries, k, exact_fallback=True, device=None):
        asked.append(exact_fallback)
        raise neighbors.ClusteredSearchFailed

    monkeypatch.setattr(NeighborIndex, "query", failing_query)
    monkeypatch.setattr(neighbors, "APPROXIMATE_THRESHOLD", len(data) - 1)
    found = nearest_neighbors(data, 5, random_state=0)
    assert asked == [False] and found[2] is None  # pynndescent's answer
    # at or below the threshold, or with method="exact", the clustered search
    # falls back to the exact one
    nearest_neighbors(data, 5, method="exact", random_state=0)
    monkeypatch.setattr(neighbors, "APPROXIMATE_THRESHOLD", len(data))
    nearest_neighbors(data, 5, random_state=0)
    assert asked == [False, True, True]


# -- new rows --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("metric", "scale"),
    [
        ("euclidean", 1.0),
        ("euclidean", 1e-40),
        ("euclidean", 1e30),
        ("cosine", 1.0),
        ("cityblock", 1.0),
        ("braycurtis", 1.0),
    ],
)
def test_new_rows_and_their_distances(data, metric, scale):
    rng = np.random.default_rng(3)
    X = data * scale
    if metric == "braycurtis":
        X = np.abs(X)
    rows = X[:12] + 0.3 * scale * rng.normal(size=(12, X.shape[1]))
    if metric == "braycurtis":
        rows = np.abs(rows)
    index = index_for_new_rows(X, metric)
    found = index.query(rows, 6)
    expected = brute(X, 6, metric, Q=rows)
    assert_same_neighbors(found, expected, atol=1e-6 * float(expected[1].max()))
    partners = rng.integers(0, len(X), size=(12, 5))
    np.testing.assert_allclose(
        index.distances_to(rows, partners),
        np.take_along_axis(cdist(rows, X, metric), partners, 1),
        rtol=1e-5,
        atol=1e-7 * float(expected[1].max()),
    )
    # a row equal to an item is at distance exactly 0 from it
    same = index.query(X[5:6], 1)
    assert same[0][0, 0] == 5 and same[1][0, 0] == 0.0


def test_far_rows_are_ranked_in_float64(data):
    index = index_for_new_rows(data, "euclidean")
    direction = np.random.default_rng(4).normal(size=(3, data.shape[1]))
    rows = np.vstack([data[:2] + 0.01, 1e6 * direction, [[1e20] + [0.0] * 5]])
    found = index.query(rows, 4)
    expected = brute(data, 4, Q=rows)
    np.testing.assert_array_equal(found[0][:5], expected[0][:5])
    np.testing.assert_allclose(found[1][:2], expected[1][:2], atol=1e-4)
    np.testing.assert_allclose(found[1][2:], expected[1][2:], rtol=1e-6)
    assert found[1].dtype == np.float32 and np.isfinite(found[1]).all()
    # the extreme row: the items of largest first coordinate are nearest
    assert set(found[0][5]) == set(np.argsort(-data[:, 0])[:4])
    # only far rows: no ordinary row to search
    only_far = index.query(1e6 * direction, 4)
    np.testing.assert_array_equal(only_far[0], expected[0][2:5])


def test_dense_index_takes_sparse_rows(data):
    index = index_for_new_rows(data, "euclidean")
    rows = scipy.sparse.csr_matrix(data[:3] + 0.5)
    np.testing.assert_array_equal(
        index.query(rows, 3)[0], brute(data, 3, Q=data[:3] + 0.5)[0]
    )
    partners = np.array([[0, 1], [2, 3], [4, 5]])
    np.testing.assert_allclose(
        index.distances_to(rows, partners),
        np.take_along_axis(cdist(data[:3] + 0.5, data), partners, 1),
        rtol=1e-5,
    )


def test_more_neighbors_than_items(data):
    index = index_for_new_rows(data[:5], "euclidean")
    found = index.query(data[10:12], 20)
    assert found[0].shape == (2, 5)
    itself = NeighborIndex(data[:5], "euclidean").query(None, 20)
    assert itself[0].shape == (5, 4)


# -- clustered search ------------------------------------------------------------
@pytest.fixture
def blobs():
    rng = np.random.default_rng(5)
    centers = rng.normal(size=(20, 8)) * 6
    return (centers[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, 8))).astype(
        np.float32
    )


def test_clustered_search_of_the_items(blobs, monkeypatch):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_exact, "CLUSTERED_ABOVE", 1000)
    found = nearest_neighbors(blobs, 8)
    exact = brute(blobs, 8)
    recall = np.mean([len(set(a) & set(b)) / 8 for a, b in zip(found[0], exact[0])])
    assert recall >= 0.95
    agree = found[0] == exact[0]
    np.testing.assert_allclose(found[1][agree], exact[1][agree], rtol=1e-4)
    assert not (found[0] == np.arange(len(blobs))[:, None]).any()


def test_clustered_search_falls_back_when_the_target_is_unreachable(blobs, monkeypatch):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_clustered, "TARGET_RECALL", 1.01)  # never met
    monkeypatch.setattr(_clustered, "TARGET_CLOSENESS", 1.01)
    Z = torch.from_numpy(blobs)
    with pytest.raises(_clustered.ClusteredSearchFailed):
        _clustered.clustered_topk(Z, 5, exact_fallback=False)
    indices, d2 = _clustered.clustered_topk(Z, 5)
    exact = brute(blobs, 5)
    np.testing.assert_array_equal(np.sort(indices.numpy(), 1), np.sort(exact[0], 1))
    assert _clustered.QueryPartition.build(Z) is None


def test_query_partition_for_new_rows(blobs, monkeypatch):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 1000)
    index = index_for_new_rows(blobs, "euclidean")
    partition = index.partition
    assert partition is not None and partition.probed >= 4
    rows = blobs[:200] + 0.2
    found = index.query(rows, 8)
    exact = brute(blobs, 8, Q=rows)
    recall = np.mean([len(set(a) & set(b)) / 8 for a, b in zip(found[0], exact[0])])
    assert recall >= 0.95
    # per row: the same answer alone as in a batch
    np.testing.assert_array_equal(index.query(rows[7:8], 8)[0], found[0][7:8])
    # rows whose probed clusters hold fewer than k items are searched exactly
    Z = torch.from_numpy(index.data)
    few = _clustered.QueryPartition(
        partition.centers, partition.order, partition.starts, 1
    )
    indices, _ = few.topk(Z[:5], Z, 200)
    assert (indices >= 0).all() and indices.shape == (5, 200)


def test_kmeans_partition_covers_every_row(blobs):
    Z = torch.from_numpy(blobs[:1000])
    centers, labels, order, starts = _clustered.partition(Z)
    assert centers.shape[0] == 1000 // _clustered.CLUSTER_SIZE
    assert starts[0] == 0 and starts[-1] == 1000
    assert torch.equal(torch.sort(order).values, torch.arange(1000))
    for c in range(centers.shape[0]):
        assert (labels[order[starts[c] : starts[c + 1]]] == c).all()
    nearest = _clustered._nearest_center(Z, centers)
    brute_labels = torch.cdist(Z, centers).argmin(dim=1)
    assert (nearest == brute_labels).float().mean() > 0.999


def test_good_enough_uses_recall_or_closeness():
    exact = (torch.tensor([[1, 2], [3, 4]]), torch.tensor([[1.0, 4.0], [1.0, 4.0]]))
    same = _clustered._good_enough(exact[0], exact[1], exact)
    half = torch.tensor([[1, 9], [3, 8]])
    assert same
    assert not _clustered._good_enough(half, torch.tensor([[1.0, 9.0]] * 2), exact)
    # other neighbours just as near: good enough by closeness
    assert _clustered._good_enough(half, torch.tensor([[1.0, 4.0]] * 2), exact)


# -- the blocks ------------------------------------------------------------------
def test_sort_rows_orders_by_distance_then_index():
    indices = np.array([[5, 2, 9, 1], [3, 4, 0, 7]])
    distances = np.array([[0.5, 0.5, 0.1, 0.0], [2.0, -0.0, 0.0, 1.0]], np.float32)
    i, d = _blocks.sort_rows(indices, distances)
    np.testing.assert_array_equal(i, [[1, 9, 2, 5], [0, 4, 7, 3]])
    np.testing.assert_array_equal(d[0], np.float32([0.0, 0.1, 0.5, 0.5]))
    # float64 (or negative) distances take the general path, same order
    i64, _ = _blocks.sort_rows(indices, distances.astype(np.float64))
    np.testing.assert_array_equal(i64, i)
    i_neg, _ = _blocks.sort_rows(indices, distances - 1.0)
    np.testing.assert_array_equal(i_neg, i)


@pytest.mark.parametrize("scale", [1.0, 2.0**-3, 2.0**100, 2.0**-140])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaled_float32_divides_exactly(scale, dtype):
    x = (np.random.default_rng(6).normal(size=(4, 3)) * scale).astype(dtype)
    got = _blocks.scaled_float32(x, scale)
    assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(
        got, (x.astype(np.float64) / scale).astype(np.float32)
    )


def test_centered_float32_blockwise(monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", 64)  # several blocks
    x = np.random.default_rng(7).normal(size=(10, 3)) + 1e8
    center = x.mean(axis=0)
    got = _blocks.centered_float32(x, center, 2.0)
    np.testing.assert_allclose(got, ((x - center) / 2.0).astype(np.float32), rtol=1e-6)
    assert _blocks.rows_per_block(3, 8) == 2


def test_smallest_and_blocked_smallest(monkeypatch):
    scores = torch.tensor([[3.0, 1.0, 2.0, 0.5], [0.0, 5.0, -1.0, 4.0]])
    for threads in (1, 2):
        monkeypatch.setattr(torch, "get_num_threads", lambda t=threads: t)
        best, idx = _blocks.smallest(scores, 2)
        assert sorted(idx[0].tolist()) == [1, 3] and sorted(idx[1].tolist()) == [0, 2]
        np.testing.assert_array_equal(
            np.sort(best.numpy(), 1), [[0.5, 1.0], [-1.0, 0.0]]
        )
    best, idx = _blocks.smallest(scores, 4)  # all of them
    assert torch.equal(idx[1], torch.arange(4))
    matrix = np.random.default_rng(8).normal(size=(7, 9))
    indices, values = _blocks.blocked_smallest(
        7, 3, 2, lambda a, b: matrix[a:b].copy(), True, np.float64
    )
    reference = matrix.copy()
    np.fill_diagonal(reference, np.inf)
    np.testing.assert_array_equal(
        np.sort(indices, 1), np.sort(np.argsort(reference, 1)[:, :3], 1)
    )
    np.testing.assert_array_equal(np.sort(values, 1), np.sort(reference, 1)[:, :3])


def test_zero_if_identical_on_dense_and_sparse():
    R = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0000001]])
    Q = np.array([[1.0, 2.0]])
    indices = np.array([[0, 2, 1]])
    d2 = np.array([[1e-9, 1e-9, 8.0]])
    norms = _blocks.squared_norms(R)
    out = _blocks.zero_if_identical(Q, R, norms, indices, d2)
    np.testing.assert_array_equal(out, [[0.0, 1e-9, 8.0]])
    assert d2[0, 0] == 1e-9  # the input is left as it was
    sparse = _blocks.zero_if_identical(
        scipy.sparse.csr_matrix(Q), scipy.sparse.csr_matrix(R), norms, indices, d2
    )
    np.testing.assert_array_equal(sparse, out)
    far = np.array([[5.0, 5.0, 8.0]])
    assert _blocks.zero_if_identical(Q, R, norms, indices, far) is far


def test_unit_rows_keeps_zero_rows():
    X = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_array_equal(_blocks.unit_rows(X), [[0.6, 0.8], [0.0, 0.0]])


# -- given distances ---------------------------------------------------------------
def test_dense_and_sparse_precomputed(data):
    D = cdist(data, data)
    found = nearest_neighbors(D, 4, "precomputed")
    assert_same_neighbors(found[:2], brute(data, 4))
    assert found[2] is None
    # sparse: only stored entries count, rows lacking some are padded
    S = scipy.sparse.csr_matrix(np.where(np.sort(D, 1)[:, [5]] > D, D, 0.0))
    indices, distances = _precomputed.sparse_distance_topk(S, 8)
    stored = S.getnnz(axis=1)  # the zero diagonal is not stored
    for i in range(3):
        known = min(stored[i], 8)
        assert np.isfinite(distances[i, :known]).all()
        assert np.isinf(distances[i, known:]).all()
        assert (indices[i, known:] == i).all()
    index = index_for_new_rows(None, "precomputed")
    rows = cdist(data[:3] + 0.1, data)
    assert_same_neighbors(index.query(rows, 3), brute(data, 3, Q=data[:3] + 0.1))
    got, _ = index.query(scipy.sparse.csr_matrix(rows), 3)
    np.testing.assert_array_equal(got, brute(data, 3, Q=data[:3] + 0.1)[0])
    partners = np.array([[0, 1], [2, 3], [4, 5]])
    np.testing.assert_array_equal(
        index.distances_to(rows, partners), np.take_along_axis(rows, partners, 1)
    )
    np.testing.assert_array_equal(
        index.distances_to(scipy.sparse.csr_matrix(rows), partners),
        np.take_along_axis(rows, partners, 1),
    )


# -- more paths, found by mutation testing -------------------------------------------
def test_scaled_float32_edge_scales():
    x = np.random.default_rng(9).normal(size=(5, 3))
    np.testing.assert_array_equal(
        _blocks.scaled_float32(x.astype(np.float32), 2.0), (x / 2.0).astype(np.float32)
    )
    huge = x * 1e300  # float64 data far beyond float32: divided in float64
    np.testing.assert_array_equal(
        _blocks.scaled_float32(huge, 2.0**997), (huge / 2.0**997).astype(np.float32)
    )
    big32 = (x * 2.0**124).astype(np.float32)  # a scale float32 cannot hold
    np.testing.assert_array_equal(
        _blocks.scaled_float32(big32, 2.0**128),
        (big32.astype(np.float64) / 2.0**128).astype(np.float32),
    )


def test_squared_norms_in_float64():
    A = np.array([[1e4, 1.0], [3.0, 4.0]], dtype=np.float32)
    norms = _blocks.squared_norms(A)
    assert norms.dtype == np.float64
    np.testing.assert_array_equal(norms, [1e8 + 1.0, 25.0])
    sparse = _blocks.squared_norms(scipy.sparse.csr_matrix(A))
    assert sparse.dtype == np.float64 and np.array_equal(sparse, norms)


def test_zero_if_identical_at_large_norms():
    R = np.array([[1000.0, 1000.0], [0.0, 0.0]])
    d2 = np.array([[1e-3, 2e6]])  # rounding of |q|^2 + |r|^2 - 2 q.r
    out = _blocks.zero_if_identical(
        R[:1], R, _blocks.squared_norms(R), np.array([[0, 1]]), d2
    )
    np.testing.assert_array_equal(out, [[0.0, 2e6]])


@pytest.mark.parametrize("k", [1, 3, 7])
def test_smallest_on_wide_and_narrow_rows(k, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    rng = np.random.default_rng(10)
    for width in (50, 400):
        scores = torch.from_numpy(rng.permutation(width * 6).reshape(6, width) * 1.0)
        best, idx = _blocks.smallest(scores, k)
        expected = np.sort(scores.numpy(), axis=1)[:, :k]
        np.testing.assert_array_equal(np.sort(best.numpy(), 1), expected)
        np.testing.assert_array_equal(
            np.take_along_axis(scores.numpy(), idx.numpy(), 1), best.numpy()
        )
    matrix = rng.permutation(40 * 200).reshape(40, 200) * 1.0
    indices, values = _blocks.blocked_smallest(
        40, k, 7, lambda a, b: matrix[a:b].copy(), False, np.float32
    )
    assert values.dtype == np.float32
    np.testing.assert_array_equal(np.sort(values, 1), np.sort(matrix, 1)[:, :k])


def test_sparse_data_at_huge_scale():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(60, 5))
    X[np.abs(X) < 0.3] = 0.0
    sparse = scipy.sparse.csr_matrix(X * 1e25)  # squares overflow float32
    found = nearest_neighbors(sparse, 4)
    exact = brute(X * 1e25, 4)
    np.testing.assert_allclose(found[1], exact[1], rtol=1e-3, atol=1e-3 * 1e25)
    assert np.isfinite(found[1]).all()


def test_far_rows_of_offset_data(monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", 256)  # far rows scored in blocks
    monkeypatch.setattr(_exact, "rows_per_block", _blocks.rows_per_block)
    rng = np.random.default_rng(12)
    data = rng.normal(size=(120, 4)) + 100.0
    index = index_for_new_rows(data, "euclidean")
    spread = np.abs(data - data.mean(0)).max()
    directions = rng.normal(size=(12, 4))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    rows = data.mean(0) + spread * directions * np.linspace(70, 400, 12)[:, None]
    found = index.query(rows, 5)
    expected = brute(data, 5, Q=rows)
    assert found[0].dtype == np.int64 and found[1].dtype == np.float32
    np.testing.assert_array_equal(found[0], expected[0])
    np.testing.assert_allclose(found[1], expected[1], rtol=1e-6)


def test_extreme_rows_stay_finite_and_quiet():
    import warnings

    data = np.random.default_rng(13).normal(size=(50, 3)) * 1e-10
    index = index_for_new_rows(data, "euclidean")
    rows = np.array([[1e308, 0.0, 0.0], [np.inf, 0.0, 0.0], [-np.inf, np.nan, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        indices, distances = index.query(rows, 3)
    assert indices.dtype == np.int64 and ((indices >= 0) & (indices < 50)).all()
    assert not np.isnan(distances).any()
    assert set(indices[0]) == set(np.argsort(-data[:, 0])[:3])


def test_clustered_failure_falls_back_to_exact_by_default(blobs, monkeypatch):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_clustered, "TARGET_RECALL", 1.01)
    monkeypatch.setattr(_clustered, "TARGET_CLOSENESS", 1.01)
    monkeypatch.setattr(_exact, "CLUSTERED_ABOVE", 1000)
    index = NeighborIndex(blobs, "euclidean")
    indices, _ = index.query(None, 5)
    np.testing.assert_array_equal(np.sort(indices, 1), np.sort(brute(blobs, 5)[0], 1))
    with pytest.raises(_clustered.ClusteredSearchFailed):
        index.query(None, 5, exact_fallback=False)


def test_partition_in_the_reduced_space(monkeypatch):
    rng = np.random.default_rng(14)
    X = rng.normal(size=(1200, 12)) @ rng.normal(size=(12, 150))
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 1200)
    assert index_for_new_rows(X, "euclidean").partition is None  # not above
    monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 1199)
    index = index_for_new_rows(X, "euclidean")
    assert index.basis is not None and index.partition is not None
    assert index.partition.centers.shape[1] == 100  # built in the reduced space
    rows = X[:30] + 0.01 * rng.normal(size=(30, 150))
    found = index.query(rows, 5)
    exact = brute(X, 5, Q=rows)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found[0], exact[0])])
    assert recall >= 0.95
    sparse = NeighborIndex(scipy.sparse.csr_matrix(X[:, :20]), "euclidean")
    assert sparse.prepare_for_new_rows().partition is None  # sparse: no partition


def test_clustered_search_ignores_the_global_random_state(blobs, monkeypatch):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    Z = torch.from_numpy(blobs)
    torch.manual_seed(0)
    a = _clustered.clustered_topk(Z, 6)
    torch.manual_seed(1)
    b = _clustered.clustered_topk(Z, 6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    torch.manual_seed(2)
    p = _clustered.QueryPartition.build(Z)
    torch.manual_seed(3)
    q = _clustered.QueryPartition.build(Z)
    assert p.probed == q.probed and np.array_equal(p.centers, q.centers)
    assert np.array_equal(p.order, q.order) and np.array_equal(p.starts, q.starts)


@pytest.mark.parametrize("search", ["blocks", "clusters"])
def test_governed_searches_give_distances_whatever_the_products_rounding(
    blobs, monkeypatch, search
):
    # searches too small for the compiled loop run on the thread count a
    # governor picks by timing, and MKL's products of a few rows round
    # differently on one and two threads: every other product here is
    # scaled by 1 + 2^-20 (the same ranking), and the distances must not
    # show it
    products = torch.addmm
    calls = []

    def rounded_otherwise(*args, **kwargs):
        calls.append(None)
        scores = products(*args, **kwargs)
        return scores * (1.0 + 2.0**-20) if len(calls) % 2 else scores

    Z = torch.from_numpy(blobs)
    if search == "clusters":
        monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
        clusters = _clustered.partition(Z)

        def run():
            return _clustered.clustered_topk(Z, 6, clusters=clusters)
    else:

        def run():
            return _blocks.block_topk(Z, Z, 6, exclude_self=True)

    plain = run()
    monkeypatch.setattr(torch, "addmm", rounded_otherwise)
    perturbed = run()
    assert calls  # the products were perturbed
    torch.testing.assert_close(perturbed[0], plain[0], rtol=0, atol=0)
    torch.testing.assert_close(perturbed[1], plain[1], rtol=0, atol=0)


def test_the_reduced_space_does_not_depend_on_torchs_thread_count():
    # wide data's candidates are searched in its first principal components,
    # whose axes torch's eigensolver rounded differently on one and two
    # threads (so with n_jobs)
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(1000, 20)) @ rng.normal(size=(20, 400))
    X = (latent + 0.5 * rng.normal(size=(1000, 400))).astype(np.float32)

    def reduced():
        index = NeighborIndex(X, "euclidean")
        index._reduce()
        return index.basis, index.reduced

    one, two = on_one_and_two_threads(reduced)
    assert one[0].shape == (400, _exact.REDUCED_DIM)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_without_nearest_and_good_enough_bounds():
    indices = torch.tensor([[4, 7, 9], [1, 2, 3]])
    d2 = torch.tensor([[2.0, 0.0, 1.0], [0.5, 0.1, 0.9]])
    kept, kept_d2 = _clustered._without_nearest(indices, d2)
    assert kept.tolist() == [[9, 4], [1, 3]]
    np.testing.assert_array_equal(kept_d2.numpy(), np.float32([[1.0, 2.0], [0.5, 0.9]]))
    exact = (torch.arange(20).view(1, 20), torch.ones(1, 20))
    nineteen = torch.cat([torch.arange(19), torch.tensor([99])]).view(1, 20)
    # exactly 95% of the true neighbours: good enough
    assert _clustered._good_enough(nineteen, torch.full((1, 20), 4.0), exact)
    eighteen = torch.cat([torch.arange(18), torch.tensor([98, 99])]).view(1, 20)
    assert not _clustered._good_enough(eighteen, torch.full((1, 20), 4.0), exact)
    # neighbours 0.5% farther on average: still good enough by closeness
    assert _clustered._good_enough(eighteen, torch.full((1, 20), 1.0 / 0.995**2), exact)


@pytest.mark.parametrize(
    ("metric", "sparse"),
    [
        ("euclidean", False),
        ("euclidean", True),
        ("cosine", False),
        ("cosine", True),
        ("cityblock", False),
    ],
)
def test_rows_rebuilds_the_data_and_extend_appends(metric, sparse):
    rng = np.random.default_rng(15)
    X = rng.normal(size=(50, 5)) * 3.0 + 100.0
    if sparse:
        X[np.abs(X - 100.0) < 2.0] = 0.0
    data = scipy.sparse.csr_matrix(X) if sparse else X
    index = NeighborIndex(data[:40], metric, for_new_rows=True)
    spread = np.abs(X).max()
    np.testing.assert_allclose(
        index.rows(np.arange(40)), X[:40], rtol=0, atol=1e-6 * spread
    )
    assert index.rows(np.array([[1, 2], [3, 4]])).shape == (2, 2, 5)
    prepared = index.data[:40].toarray() if sparse else index.data[:40].copy()
    grown = index.extend(data[40:])
    assert grown is index and index.n_items == 50
    # the rows already indexed keep their prepared values bit for bit
    np.testing.assert_array_equal(
        index.data[:40].toarray() if sparse else index.data[:40], prepared
    )
    np.testing.assert_allclose(index.rows(np.arange(50)), X, rtol=0, atol=1e-6 * spread)
    # the new rows are found, at distance 0 from themselves
    found, distances = index.query(data[40:], 3)
    np.testing.assert_array_equal(found[:, 0], np.arange(40, 50))
    np.testing.assert_array_equal(distances[:, 0], 0.0)
    assert_same_neighbors(
        index.query(X[:5] + 0.5, 4),
        brute(X, 4, metric, Q=X[:5] + 0.5),
        rtol=1e-4,
        atol=1e-4 * (spread if metric != "cosine" else 1.0),
    )


def test_extend_rebuilds_the_partition_and_refuses_rows_out_of_range(
    blobs, monkeypatch
):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 1000)
    index = index_for_new_rows(blobs[:2000], "euclidean")
    before = index.partition
    assert before is not None
    index.extend(blobs[2000:])
    assert index.partition is not before and index.partition is not None
    assert index.partition.order.size == 3000
    found, _ = index.query(blobs[2500:2510], 1)
    np.testing.assert_array_equal(found[:, 0], np.arange(2500, 2510))
    with pytest.raises(ValueError, match="beyond the range the index was prepared"):
        index_for_new_rows(blobs[:100].astype(np.float64), "euclidean").extend(
            np.full((1, blobs.shape[1]), 1e300)
        )


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_sparse_distances_to_given_items(metric):
    rng = np.random.default_rng(16)
    X = rng.normal(size=(40, 6))
    X[np.abs(X) < 0.4] = 0.0
    index = index_for_new_rows(scipy.sparse.csr_matrix(X), metric)
    rows = X[:3] + 0.25
    partners = rng.integers(0, 40, size=(3, 7))
    expected = np.take_along_axis(cdist(rows, X, metric), partners, 1)
    got = index.distances_to(scipy.sparse.csr_matrix(rows), partners)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_cdist_metrics_treat_undefined_distances_as_far():
    X = np.random.default_rng(17).normal(size=(30, 4))
    X[0] = 1.0  # a constant row: its correlation distances are undefined (NaN)
    with np.errstate(all="ignore"):
        indices, distances = nearest_neighbors(X, 3, "correlation")[:2]
    assert not (indices[1:] == 0).any()  # never anyone's neighbour
    assert np.isinf(distances[0]).all()


# -- the search on a device ----------------------------------------------------------
# On a machine without a GPU the device path runs on the CPU: ``on_accelerator``
# is patched to say yes, so that every step but the copy to a GPU is exercised.
@pytest.fixture
def device_path(monkeypatch):
    monkeypatch.setattr(_exact, "on_accelerator", lambda device: device is not None)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("d", [5, 200])  # the CPU reduces 200 features, a device not
def test_device_search_is_exact(device_path, metric, d):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, d)) + 3.0
    found = nearest_neighbors(X, 7, metric, device="cpu")
    assert_same_neighbors(found[:2], brute(X, 7, metric), rtol=1e-4, atol=1e-5)
    index = found[2]
    assert index.basis is None  # the reduced copy is never computed there
    new = rng.standard_normal((40, d)) + 3.0
    new[0] = X[11]  # a new row equal to an item: distance exactly 0
    rows = index.query(new, 6, device="cpu")
    assert_same_neighbors(rows, brute(X, 6, metric, Q=new), rtol=1e-4, atol=1e-5)
    assert rows[0][0, 0] == 11 and rows[1][0, 0] == 0.0


def test_device_search_blocks_and_batches_agree(device_path, monkeypatch):
    """Small blocks of scores give the items the same lists as one block, and
    a new row the same result alone as in a batch."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((500, 16)).astype(np.float32)
    whole = nearest_neighbors(X, 9, device="cpu")
    monkeypatch.setattr(
        _exact,
        "device_topk",
        functools.partial(neighbors._device.device_topk, block_bytes=4 * 500 * 7),
    )
    blocked = nearest_neighbors(X, 9, device="cpu")
    np.testing.assert_array_equal(whole[0], blocked[0])
    np.testing.assert_array_equal(whole[1], blocked[1])
    new = rng.standard_normal((30, 16)).astype(np.float32)
    batch = whole[2].query(new, 5, device="cpu")
    alone = whole[2].query(new[17:18], 5, device="cpu")
    np.testing.assert_array_equal(batch[0][17:18], alone[0])
    np.testing.assert_array_equal(batch[1][17:18], alone[1])


def test_device_search_only_where_it_applies(device_path, monkeypatch):
    """Sparse data, scipy's metrics, method="approximate" and more than
    DEVICE_MAX_ITEMS items are searched as without a device."""
    calls = []
    real = _exact.device_topk

    def counting(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(_exact, "device_topk", counting)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 6))
    nearest_neighbors(scipy.sparse.csr_matrix(X), 4, device="cpu")
    nearest_neighbors(X, 4, "manhattan", device="cpu")
    nearest_neighbors(X, 4)  # no device
    assert calls == []
    monkeypatch.setattr(_exact, "DEVICE_MAX_ITEMS", 299)
    found = nearest_neighbors(X, 4, device="cpu")
    assert calls == []
    assert_same_neighbors(found[:2], brute(X, 4))
    monkeypatch.setattr(_exact, "DEVICE_MAX_ITEMS", 300)
    nearest_neighbors(X, 4, device="cpu")
    assert calls == [4]


def test_device_out_of_memory_searches_on_the_cpu(device_path, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(_exact, "device_topk", out_of_memory)
    X = np.random.default_rng(3).standard_normal((200, 5))
    with pytest.warns(UserWarning, match="ran out of memory on cpu"):
        found = nearest_neighbors(X, 5, device="cpu")
    assert_same_neighbors(found[:2], brute(X, 5))


def test_index_pickles_without_its_device_copy(device_path):
    X = np.random.default_rng(4).standard_normal((100, 3))
    index = nearest_neighbors(X, 3, device="cpu")[2]
    assert index._device_copy is not None
    clone = pickle.loads(pickle.dumps(index))
    assert clone._device_copy is None
    new = np.random.default_rng(5).standard_normal((4, 3))
    np.testing.assert_array_equal(clone.query(new, 3)[0], index.query(new, 3)[0])
    # growing the index drops the copy, which would miss the new items
    index.extend(new)
    assert index._device_copy is None
    assert index.query(new, 1, device="cpu")[0][:, 0].tolist() == [100, 101, 102, 103]


@pytest.mark.parametrize(("cluster_size", "limit"), [(64, 16), (8, 93), (2, 128)])
def test_clustered_search_probes_at_most_a_quarter_of_the_clusters(
    blobs, monkeypatch, cluster_size, limit
):
    # 3,000 rows: 46, 375 and 1,500 clusters; the limit is a quarter of them,
    # at least PROBED_CLUSTERS (16) and at most MAX_PROBED_CLUSTERS (128)
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", cluster_size)
    limits = []
    monkeypatch.setattr(
        _clustered,
        "_fewest_probes",
        lambda Z, k, probed, most, search: limits.append(most),
    )
    indices, _ = _clustered.clustered_topk(torch.from_numpy(blobs), 5)
    assert limits == [limit]
    np.testing.assert_array_equal(
        np.sort(indices.numpy(), 1), np.sort(brute(blobs, 5)[0], 1)
    )


def test_the_partition_for_new_rows_reuses_the_search_clusters(blobs, monkeypatch):
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_exact, "CLUSTERED_ABOVE", 1000)
    monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 1000)
    real, calls = _clustered.partition, []

    def counted(Z):
        calls.append(Z.shape)
        return real(Z)

    monkeypatch.setattr(_exact, "partition", counted)
    monkeypatch.setattr(_clustered, "partition", counted)
    index = NeighborIndex(blobs, "euclidean")
    index.query(None, 8)
    assert len(calls) == 1 and index._clusters is not None
    assert pickle.loads(pickle.dumps(index))._clusters is None  # never pickled
    index.prepare_for_new_rows()
    assert len(calls) == 1 and index._clusters is None  # reused, then dropped
    fresh = _clustered.QueryPartition.build(torch.from_numpy(index.data))
    assert len(calls) == 2
    for name in ("centers", "order", "starts", "probed"):
        np.testing.assert_array_equal(
            getattr(index.partition, name), getattr(fresh, name)
        )
    # extend drops clusters of the old items
    other = NeighborIndex(blobs, "euclidean")
    other.query(None, 8)
    other.extend(blobs[:5])
    assert other._clusters is None
