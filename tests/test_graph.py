import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.spatial.distance import cdist

from skmde import Graph, _inputs, _pairs, graphs, neighbors
from skmde.neighbors import _blocks, _clustered, _exact
from skmde.preprocess.graph import shortest_path_pairs


def knn(*args, **kwargs):
    """The neighbour lists of the fit's search (without its index)."""
    return neighbors.nearest_neighbors(*args, **kwargs)[:2]


def brute_force(X, k, metric="euclidean"):
    D = cdist(X, X, metric=metric)
    np.fill_diagonal(D, np.inf)
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(D, idx, 1)


class TestNearestNeighbors:
    def test_hand_made_line(self):
        X = np.array([[0.0], [1.0], [1.5], [1.75]])
        idx, dist = knn(X, 2)
        assert idx.tolist() == [[1, 2], [2, 3], [3, 1], [2, 1]]
        np.testing.assert_allclose(
            dist, [[1, 1.5], [0.5, 0.75], [0.25, 0.5], [0.25, 0.75]]
        )
        edges, weights, lengths = graphs.symmetrize(idx, dist, 4)
        assert edges.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]
        assert weights.tolist() == [1, 1, 2, 2, 2]
        np.testing.assert_allclose(lengths, [1, 1.5, 0.5, 0.75, 0.25])

    @pytest.mark.parametrize(
        "metric", ["euclidean", "cosine", "cityblock", "chebyshev"]
    )
    def test_exact_matches_brute_force(self, rng, metric):
        X = rng.normal(size=(300, 6))
        idx, dist = knn(X, 5, metric, method="exact")
        ref_idx, ref_dist = brute_force(X, 5, metric)
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-4, atol=1e-5)
        assert (idx == ref_idx).mean() > 0.99  # ties may swap

    def test_high_dimensional_path_matches(self, rng):
        # above REDUCE_ABOVE_DIM features: PCA candidates re-ranked exactly
        X = rng.normal(size=(600, 20)) @ rng.normal(size=(20, 200))
        X += 0.01 * rng.normal(size=X.shape)
        idx, dist = knn(X, 10)
        ref_idx, ref_dist = brute_force(X, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, ref_idx)])
        assert recall > 0.99
        np.testing.assert_allclose(dist[:, 0], ref_dist[:, 0], rtol=1e-3)

    def test_sparse_input_matches_dense(self, rng):
        X = rng.normal(size=(200, 30)) * (rng.random((200, 30)) < 0.3)
        for metric in ("euclidean", "cosine"):
            d_idx, d_dist = knn(X, 6, metric)
            s_idx, s_dist = knn(scipy.sparse.csr_matrix(X), 6, metric)
            np.testing.assert_allclose(s_dist, d_dist, rtol=1e-4, atol=1e-5)
            assert (s_idx == d_idx).mean() > 0.99

    def test_precomputed_dense_and_sparse_equal_direct(self, rng):
        X = rng.normal(size=(120, 4))
        direct_idx, direct_dist = knn(X, 7)
        D = cdist(X, X)
        idx, dist = knn(D, 7, "precomputed")
        np.testing.assert_array_equal(idx, direct_idx)
        np.testing.assert_allclose(dist, direct_dist, rtol=1e-5)
        # a sparse kNN graph holding (more than) the 7 nearest per row
        rows = np.repeat(np.arange(120), 10)
        nbr, nd = brute_force(X, 10)
        S = scipy.sparse.csr_matrix((nd.ravel(), (rows, nbr.ravel())), shape=(120, 120))
        s_idx, s_dist = knn(S, 7, "precomputed")
        np.testing.assert_array_equal(s_idx, direct_idx)
        np.testing.assert_allclose(s_dist, direct_dist, rtol=1e-5)

    def test_duplicates_give_zero_distances_not_nan(self):
        X = np.vstack([np.ones((5, 3)), np.zeros((5, 3))])
        for metric in ("euclidean", "cosine"):
            idx, dist = knn(X, 3, metric)
            assert np.isfinite(dist).all()
            assert (idx != np.arange(10)[:, None]).all()  # never itself
        _, dist = knn(X, 3)
        np.testing.assert_allclose(dist, 0.0, atol=1e-3)

    @pytest.mark.slow  # pynndescent compiles for ~30 s in a fresh process
    def test_approximate_recall(self, rng):
        pytest.importorskip("pynndescent")
        X = rng.normal(size=(2000, 10)).astype(np.float32)
        idx, _ = knn(X, 10, method="approximate", random_state=0)
        ref, _ = knn(X, 10, method="exact")
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, ref)])
        assert recall >= 0.9
        assert (idx != np.arange(2000)[:, None]).all()

    def test_unknown_metric(self):
        with pytest.raises(ValueError, match="unknown metric 'nope'"):
            knn(np.zeros((5, 2)), 2, "nope")
        with pytest.raises(TypeError, match="metric must be a string"):
            neighbors.check_metric(3)

    def test_aliases(self):
        assert neighbors.check_metric("L2") == "euclidean"
        assert neighbors.check_metric("manhattan") == "cityblock"


@pytest.mark.parametrize("offset", [1e4, 1e8, -3e9])
@pytest.mark.parametrize("n", [300, 2000])  # exact, and PCA-reduced + refined
def test_search_is_shift_invariant(rng, offset, n):
    # a common offset must not swallow the differences between rows when the
    # data is rounded to float32 (1e8 + x: 1% of the true neighbours before)
    d = 200 if n == 2000 else 5
    X = rng.normal(size=(n, d))
    ref, _ = knn(X, 8, method="exact")
    idx, dist = knn(X + offset, 8, method="exact")
    assert _recall(idx, ref) >= 0.99
    new = rng.normal(size=(20, d))
    index = neighbors.index_for_new_rows(X, "euclidean")
    shifted = neighbors.index_for_new_rows(X + offset, "euclidean")
    a, da = index.query(new, 8)
    b, db = shifted.query(new + offset, 8)
    assert _recall(b, a) >= 0.99
    np.testing.assert_allclose(db, da, rtol=1e-3)


class TestSymmetrize:
    def test_max_distance_and_padding(self):
        idx = np.array([[1, 0], [0, 2], [1, 0]])
        dist = np.array([[1.0, np.inf], [1.0, 5.0], [5.0, 9.0]])
        edges, weights, lengths = graphs.symmetrize(idx, dist, 3, max_distance=6.0)
        assert edges.tolist() == [[0, 1], [1, 2]]
        assert weights.tolist() == [2, 2]


class TestSampleNonEdges:
    def test_properties(self):
        rng = np.random.default_rng(0)
        knn = np.array([[0, 1], [1, 2], [2, 3], [0, 5]])
        pairs = _pairs.sample_non_edges(50, 400, knn, rng)
        assert pairs.shape == (400, 2)
        assert (pairs[:, 0] < pairs[:, 1]).all()  # no self pairs, canonical
        keys = pairs[:, 0] * 50 + pairs[:, 1]
        assert len(np.unique(keys)) == 400  # no duplicates
        assert not np.isin(keys, knn[:, 0] * 50 + knn[:, 1]).any()

    def test_reproducible_and_seed_dependent(self):
        knn = np.array([[0, 1]])
        a = _pairs.sample_non_edges(100, 50, knn, np.random.default_rng(3))
        b = _pairs.sample_non_edges(100, 50, knn, np.random.default_rng(3))
        c = _pairs.sample_non_edges(100, 50, knn, np.random.default_rng(4))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_clipped_to_available_and_exhaustive(self):
        knn = np.array([[0, 1], [2, 3]])
        pairs = _pairs.sample_non_edges(5, 1000, knn, np.random.default_rng(0))
        assert len(pairs) == 10 - 2
        assert {tuple(p) for p in pairs} == {
            (i, j) for i in range(5) for j in range(i + 1, 5)
        } - {(0, 1), (2, 3)}

    def test_uniform(self):
        # every available pair is about equally likely
        rng = np.random.default_rng(0)
        counts = np.zeros((8, 8))
        for _ in range(400):
            for i, j in _pairs.sample_non_edges(8, 5, np.array([[0, 1]]), rng):
                counts[i, j] += 1
        observed = counts[np.triu_indices(8, 1)]
        observed = np.delete(observed, 0)  # (0, 1) is excluded
        assert observed.min() > 0.6 * observed.mean()


class TestTiles:
    def test_cache_tile(self):
        # the tile is what TILE_BYTES holds of rows of row_bytes; None when
        # one tile holds every item
        assert _pairs.cache_tile(10**6, 16) == _pairs.TILE_BYTES // 16
        assert _pairs.cache_tile(10**6, 32) == _pairs.TILE_BYTES // 32
        assert _pairs.cache_tile(_pairs.TILE_BYTES // 16, 16) is None
        assert _pairs.cache_tile(_pairs.TILE_BYTES // 16 + 1, 16) is not None

    def test_order(self):
        rng = np.random.default_rng(0)
        pairs = rng.integers(0, 100, size=(500, 2))
        order = _pairs.tile_order(pairs, 100, 8)
        assert sorted(order.tolist()) == list(range(500))
        i, j = pairs[order, 0], pairs[order, 1]
        expected = sorted(zip(i // 8, j, i))
        assert list(zip(i // 8, j, i)) == expected
        distinct = {tuple(p) for p in pairs.tolist()}
        keys = _pairs.tile_keys(*zip(*distinct), 100, 8)
        assert len(set(keys.tolist())) == len(distinct)

    @pytest.mark.parametrize("tile", [1, 7, 64])
    def test_sample_in_tiles(self, tile):
        # the same pairs as the sorted sample, in tile_order
        knn = np.array([[0, 1], [3, 40], [5, 6]])
        plain = _pairs.sample_non_edges(90, 700, knn, np.random.default_rng(2))
        tiled = _pairs.sample_non_edges(90, 700, knn, np.random.default_rng(2), tile)
        np.testing.assert_array_equal(tiled, plain[_pairs.tile_order(plain, 90, tile)])
        assert (tiled[:, 0] < tiled[:, 1]).all()

    def test_contains_by_chunks(self, monkeypatch):
        rng = np.random.default_rng(1)
        haystack = np.unique(rng.integers(0, 1000, 300))
        keys = rng.integers(0, 1000, 1000)
        monkeypatch.setattr(_pairs, "CONTAINS_CHUNK", 64)
        found = _pairs._contains(haystack, keys)
        np.testing.assert_array_equal(found, np.isin(keys, haystack))

    def test_distance_problem_in_tiles(self, monkeypatch):
        from skmde import recipes

        X = np.random.default_rng(0).normal(size=(120, 3))
        plain = recipes.preserve_distances(X, max_distances=2000, random_state=0)
        monkeypatch.setattr(_pairs, "TILE_BYTES", 16 * 16)  # tiles of 16 items
        tiled = recipes.preserve_distances(X, max_distances=2000, random_state=0)
        keys = _pairs.tile_keys(*tiled.edges.numpy().T, 120, 16)
        assert (np.diff(keys) > 0).all()

        def pairs(mde):
            d = mde.distortion_function.deviations.tolist()
            return sorted(zip(map(tuple, mde.edges.tolist()), d))

        assert pairs(plain) == pairs(tiled)

    def test_problem_in_tiles(self, monkeypatch):
        # the neighbour problem has the same edges, weights and objective with
        # its edges in tiles
        from skmde import recipes

        X = np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32)
        plain = recipes.preserve_neighbors(X, random_state=0)
        monkeypatch.setattr(_pairs, "TILE_BYTES", 16 * 32)  # tiles of 32 items
        tiled = recipes.preserve_neighbors(X, random_state=0)
        a, b = plain.n_edges, tiled.n_edges
        assert a == b
        assert not torch.equal(plain.edges, tiled.edges)

        def weighted(mde):
            w = mde.distortion_function.weights.tolist()
            return sorted(zip(map(tuple, mde.edges.tolist()), w))

        assert weighted(plain) == weighted(tiled)
        # each block (attraction, then repulsion) in the tiles' order
        keys = _pairs.tile_keys(*tiled.edges.numpy().T, 300, 32)
        pull = (tiled.distortion_function.weights > 0).numpy()
        assert pull[: pull.sum()].all()
        assert (np.diff(keys[pull]) > 0).all() and (np.diff(keys[~pull]) > 0).all()
        Z = plain.X_init
        torch.testing.assert_close(
            plain.average_distortion(Z), tiled.average_distortion(Z)
        )


class TestGraphInput:
    def test_from_edges_and_adjacency(self):
        graph = Graph.from_edges(np.array([[0, 1], [2, 1]]), distances=[1.0, 3.0])
        assert graph.edges.tolist() == [[0, 1], [1, 2]]
        assert graph.distances.tolist() == [1.0, 3.0]
        assert graph.adjacency_matrix[2, 1] == 3.0 == graph.A[1, 2]
        assert repr(graph) == "Graph(n_items=3, n_edges=2)"

    def test_asymmetric_adjacency_uses_either_entry(self):
        A = np.array([[0, 2.0, 0], [0, 0, 0], [1.0, 0, 0]])
        graph = Graph(A)
        assert graph.edges.tolist() == [[0, 1], [0, 2]]

    @pytest.mark.parametrize(
        ("A", "match"),
        [
            (np.zeros((2, 3)), "square"),
            (np.array([[0, -1.0], [-1.0, 0]]), "nonnegative"),
            (np.array([[0, np.nan], [np.nan, 0]]), "finite"),
            (np.zeros((1, 1)), "at least 2"),
        ],
    )
    def test_bad_adjacency(self, A, match):
        with pytest.raises(ValueError, match=match):
            Graph(A)

    def test_shortest_paths_all_and_sampled(self):
        # a path graph 0-1-2-3 with unit lengths
        graph = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 3]]))
        edges, lengths = shortest_path_pairs(graph, 100, np.random.default_rng(0))
        found = {tuple(e): d for e, d in zip(edges.tolist(), lengths)}
        assert found == {
            (0, 1): 1,
            (0, 2): 2,
            (0, 3): 3,
            (1, 2): 1,
            (1, 3): 2,
            (2, 3): 1,
        }
        edges, lengths = shortest_path_pairs(graph, 3, np.random.default_rng(0))
        assert 0 < len(edges) <= 6
        for (i, j), d in zip(edges, lengths):
            assert d == abs(i - j)


def test_pair_distances_chunked(rng):
    X = rng.normal(size=(50, 3))
    pairs = _pairs.all_pairs(50)
    np.testing.assert_allclose(
        _pairs.pair_distances(X, pairs),
        np.linalg.norm(X[pairs[:, 0]] - X[pairs[:, 1]], axis=1),
    )
    np.testing.assert_allclose(
        _pairs.pair_distances(X, pairs, "cosine"),
        [cdist(X[[i]], X[[j]], "cosine")[0, 0] for i, j in pairs],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        _pairs.pair_distances(scipy.sparse.csr_matrix(X), pairs),
        np.linalg.norm(X[pairs[:, 0]] - X[pairs[:, 1]], axis=1),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sort_rows_orders_by_distance_then_index(rng, dtype):
    # few distinct values: many ties; -0.0, 0.0 and inf included
    distances = rng.choice([0.0, -0.0, 0.5, 1.5, np.inf], size=(40, 12)).astype(dtype)
    indices = rng.permutation(40 * 12).reshape(40, 12) % 17
    got_indices, got_distances = _blocks.sort_rows(indices, distances)
    for row in range(40):
        expected = sorted(zip(distances[row].tolist(), indices[row].tolist()))
        assert list(zip(got_distances[row].tolist(), got_indices[row].tolist())) == [
            (float(d), i) for d, i in expected
        ]


@pytest.mark.parametrize(
    ("dtype", "exponent"),
    [(np.float32, e) for e in (-140, -100, -10, 0, 5, 60, 120)]
    + [(np.float16, e) for e in (-20, 0, 12)]
    + [(np.float64, e) for e in (-300, 0, 300)]
    + [(np.int64, 40)],
)
def test_scaling_into_float32_is_exact(rng, dtype, exponent):
    # float32 data divided in float32 must equal dividing in float64 and
    # rounding, bit for bit (subnormal results included)
    if dtype == np.int64:
        X = rng.integers(-(2**exponent), 2**exponent, size=(200, 5))
    else:
        X = (rng.normal(size=(200, 5)) * 2.0**exponent).astype(dtype)
    X = X[:, ::2]  # not contiguous
    scale = 2.0 ** round(np.log2(float(np.abs(X).max())))
    expected = (np.asarray(X, dtype=np.float64) / scale).astype(np.float32)
    got = _blocks.scaled_float32(X, scale)
    assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))


def test_check_n_neighbors():
    assert _inputs.check_n_neighbors(3, 10) == 3
    with pytest.warns(UserWarning, match="using n_neighbors=9"):
        assert _inputs.check_n_neighbors(10, 10) == 9
    with pytest.raises(ValueError, match="n_neighbors must be >= 1"):
        _inputs.check_n_neighbors(0, 10)


class TestNeighborIndex:
    @pytest.mark.parametrize("metric", ["euclidean", "cosine", "cityblock"])
    def test_queries_match_brute_force(self, rng, metric):
        train, new = rng.normal(size=(400, 8)), rng.normal(size=(50, 8))
        index = neighbors.NeighborIndex(train, metric)
        idx, dist = index.query(new, 5)
        D = cdist(new, train, metric)
        ref = np.argsort(D, axis=1)[:, :5]
        np.testing.assert_array_equal(idx, ref)
        np.testing.assert_allclose(
            dist, np.take_along_axis(D, ref, 1), rtol=1e-4, atol=1e-5
        )

    def test_high_dimensional_and_sparse_queries(self, rng):
        train = rng.normal(size=(600, 20)) @ rng.normal(size=(20, 300))
        new = rng.normal(size=(40, 20)) @ rng.normal(size=(20, 300))
        ref = np.argsort(cdist(new, train), axis=1)[:, :8]
        dense = neighbors.NeighborIndex(train, "euclidean")
        assert dense.basis is None  # computed by the first CPU search
        idx, _ = dense.query(new, 8)
        assert dense.basis is not None  # the PCA-accelerated path
        assert (idx == ref).mean() > 0.99
        sparse_idx, _ = neighbors.NeighborIndex(
            scipy.sparse.csr_matrix(train), "euclidean"
        ).query(scipy.sparse.csr_matrix(new), 8)
        assert (sparse_idx == ref).mean() > 0.99

    def test_pickles_as_numpy(self, rng):
        import pickle

        index = neighbors.NeighborIndex(rng.normal(size=(100, 4)), "euclidean")
        clone = pickle.loads(pickle.dumps(index))
        q = rng.normal(size=(3, 4))
        np.testing.assert_array_equal(index.query(q, 4)[0], clone.query(q, 4)[0])


def _blobs(rng, n, dim=10, centers=12):
    means = rng.normal(scale=6.0, size=(centers, dim))
    return means[rng.integers(centers, size=n)] + rng.normal(size=(n, dim))


def _recall(found, exact):
    return np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)])


class TestClusteredSearch:
    """The k-means searches that large problems use, made small by lowering
    their thresholds."""

    @pytest.fixture
    def small_clusters(self, monkeypatch):
        monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
        monkeypatch.setattr(_exact, "CLUSTERED_ABOVE", 500)
        monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 500)

    def test_training_graph_recall(self, rng, small_clusters):
        X = _blobs(rng, 3000).astype(np.float32)
        idx, dist = neighbors.NeighborIndex(X, "euclidean").query(None, 10)
        ref, ref_dist = brute_force(X, 10)
        assert _recall(idx, ref) >= 0.9
        assert not (idx == np.arange(len(X))[:, None]).any()  # never itself
        np.testing.assert_allclose(dist[:, 0], ref_dist[:, 0], rtol=1e-3, atol=1e-4)

    def test_quality_check_searches_the_sampled_rows_as_the_full_search(self, rng):
        # the check of a clustered search queries only its sample of rows; each
        # must get the neighbours the full search gives it (never itself)
        Z = torch.from_numpy(_blobs(rng, 2000).astype(np.float32))
        centers, labels, order, starts = _clustered.partition(Z)
        rows = torch.randperm(2000, generator=torch.Generator().manual_seed(0))[:50]
        full_idx, full_d2 = _clustered._probe(Z, 8, centers, labels, order, starts, 4)
        idx, d2 = _clustered._probe(Z, 8, centers, labels, order, starts, 4, rows=rows)
        np.testing.assert_array_equal(
            np.sort(idx.numpy(), axis=1), np.sort(full_idx[rows].numpy(), axis=1)
        )
        np.testing.assert_allclose(
            np.sort(d2.numpy(), axis=1),
            np.sort(full_d2[rows].numpy(), axis=1),
            rtol=1e-5,
            atol=1e-3,
        )
        assert not (idx == rows.unsqueeze(1)).any()

    def test_new_rows_use_a_partition_with_good_recall(self, rng, small_clusters):
        X = _blobs(rng, 3000)
        train, new = X[:2500], X[2500:]
        assert neighbors.NeighborIndex(train, "euclidean").partition is None
        index = neighbors.NeighborIndex(train, "euclidean", for_new_rows=True)
        assert index.partition is not None
        idx, dist = index.query(new, 10)
        D = cdist(new, train)
        ref = np.argsort(D, axis=1)[:, :10]
        assert _recall(idx, ref) >= 0.9
        # the distances returned are exact for the neighbours found
        np.testing.assert_allclose(
            dist, np.take_along_axis(D, idx, 1), rtol=1e-4, atol=1e-4
        )

    def test_new_rows_do_not_depend_on_their_batch(self, rng, small_clusters):
        X = _blobs(rng, 3000)
        index = neighbors.NeighborIndex(X[:2500], "euclidean", for_new_rows=True)
        new = X[2500:]
        whole = index.query(new, 10)
        parts = [index.query(new[a:b], 10) for a, b in [(0, 7), (7, 300), (300, 500)]]
        np.testing.assert_array_equal(whole[0], np.vstack([p[0] for p in parts]))
        np.testing.assert_array_equal(whole[1], np.vstack([p[1] for p in parts]))

    def test_more_neighbours_than_probed_clusters_hold(self, rng, small_clusters):
        X = _blobs(rng, 3000)
        index = neighbors.NeighborIndex(X[:2500], "euclidean", for_new_rows=True)
        part = index.partition
        sizes = np.sort(np.diff(part.starts))[::-1]
        k = int(sizes[: part.probed].sum()) + 1  # more than probed clusters hold
        idx, _ = index.query(X[2500:2520], k)
        ref = np.argsort(cdist(X[2500:2520], X[:2500]), axis=1)[:, :k]
        assert _recall(idx, ref) == 1.0

    def test_partition_pickles(self, rng, small_clusters):
        import pickle

        X = _blobs(rng, 3000)
        index = neighbors.NeighborIndex(X[:2500], "euclidean", for_new_rows=True)
        clone = pickle.loads(pickle.dumps(index))
        assert clone.partition.probed == index.partition.probed
        np.testing.assert_array_equal(
            index.query(X[2500:], 5)[0], clone.query(X[2500:], 5)[0]
        )


@pytest.mark.parametrize(
    ("edges", "kwargs", "error", "match"),
    [
        ([[0, -1]], {"n_items": 3}, ValueError, r"edges must index items in \[0, 2\]"),
        ([[0, 5]], {"n_items": 3}, ValueError, r"got values from 0 to 5"),
        (np.zeros((0, 2), dtype=int), {}, ValueError, "edges must not be empty"),
        ([[1, 1]], {}, ValueError, "self-loop"),
        ([[0.5, 1]], {}, TypeError, "edges must hold integers"),
        ([[0, 1, 2]], {}, ValueError, r"shape \(n_edges, 2\)"),
        ([[0, 1]], {"distances": [1.0, 2.0]}, ValueError, "one value per edge"),
        ([[0, 1]], {"distances": [np.nan]}, ValueError, "distances must be finite"),
        ([[0, 1]], {"n_items": 1}, ValueError, "n_items must be >= 2"),
    ],
)
def test_graph_from_edges_bad_input(edges, kwargs, error, match):
    # negative, out-of-range or no edges gave raw numpy/scipy messages
    with pytest.raises(error, match=match):
        Graph.from_edges(edges, **kwargs)
