"""skmde.preprocess: PyMDE's building blocks, checked against hand-derived
graphs and brute force."""

import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.spatial.distance import cdist

import skmde
from skmde import preprocess
from skmde.preprocess import Graph, graph


def path_graph(lengths):
    """0 - 1 - 2 - ... with the given edge lengths."""
    n = len(lengths) + 1
    return Graph.from_edges([[i, i + 1] for i in range(n - 1)], lengths)


def pairs_of(g):
    return {tuple(e): d for e, d in zip(g.edges.tolist(), g.distances.tolist())}


class TestGraph:
    def test_members(self):
        g = Graph.from_edges(torch.tensor([[2, 0], [0, 1]]), torch.tensor([4.0, 1.5]))
        assert g.n_items == 3 and g.n_edges == 2 and g.n_all_edges == 3
        assert g.edges.dtype == torch.int64 and g.distances.dtype == torch.float32
        assert g.edges.tolist() == [[0, 1], [0, 2]]
        assert g.distances.tolist() == [1.5, 4.0]
        assert torch.equal(g.weights, g.distances)
        assert g.A is g.adjacency_matrix
        assert scipy.sparse.isspmatrix_csr(g.A) or scipy.sparse.issparse(g.A)
        assert (g.A != g.A.T).nnz == 0  # symmetric, both directions stored
        assert g.neighbors(0).tolist() == [1, 2]
        assert g.neighbor_distances(0).tolist() == [1.5, 4.0]
        assert g.neighbors(2).tolist() == [0]
        assert g[2, 0] == 4.0 and g[1, 2] == 0.0
        assert g[0].toarray().tolist() == [[0.0, 1.5, 4.0]]

    def test_edges_are_copies(self):
        g = path_graph([1.0, 2.0])
        g.edges[0, 0] = 1
        g.distances[0] = 9.0
        assert g.edges.tolist()[0] == [0, 1] and g.distances.tolist()[0] == 1.0

    def test_immutable(self):
        g = path_graph([1.0])
        with pytest.raises(TypeError, match="immutable"):
            g[0, 1] = 3.0

    def test_from_edges_sums_repeats_and_defaults_to_one(self):
        g = Graph.from_edges([[0, 1], [1, 0], [1, 2]], n_items=5)
        assert g.n_items == 5
        assert pairs_of(g) == {(0, 1): 2.0, (1, 2): 1.0}

    def test_constructor_inputs_agree(self):
        D = np.array([[0, 1.0, np.inf], [1.0, 0, 2.0], [np.inf, 2.0, 0]])
        for adjacency in (D, torch.tensor(D), scipy.sparse.coo_matrix(D)):
            g = Graph(adjacency)
            assert pairs_of(g) == {(0, 1): 1.0, (1, 2): 2.0}  # inf: no edge

    def test_constructor_does_not_modify_its_input(self):
        A = scipy.sparse.csr_matrix(
            np.array([[0, np.inf], [np.inf, 0]]) + np.eye(2) * 0
        )
        A = scipy.sparse.csr_matrix(np.array([[0, 3.0], [np.inf, 0]]))
        Graph(A)
        assert np.isinf(A.toarray()[1, 0])

    @pytest.mark.parametrize(
        ("A", "error", "match"),
        [
            (np.eye(3), ValueError, r"self-edges.*items \[0, 1, 2\]"),
            (np.zeros((3, 3)), ValueError, "at least one edge"),
            (np.array([[0, -1.0], [-1.0, 0]]), ValueError, "nonnegative"),
            (np.array([[0, np.nan], [0, 0]]), ValueError, "finite"),
            (np.array([[0, -np.inf], [0, 0]]), ValueError, "finite"),
            (np.zeros((2, 3)), ValueError, "square"),
            (np.zeros(3), ValueError, "square"),
            (np.array([["a", "b"], ["c", "d"]]), TypeError, "numbers"),
        ],
    )
    def test_bad_adjacency(self, A, error, match):
        with pytest.raises(error, match=match):
            Graph(A)

    def test_bad_from_edges(self):
        with pytest.raises(TypeError, match="not both"):
            Graph.from_edges([[0, 1]], [1.0], distances=[1.0])
        with pytest.raises(ValueError, match=r"weights must hold one value per edge"):
            Graph.from_edges([[0, 1]], [1.0, 2.0])

    @pytest.mark.parametrize("node", [-1, 3, 1.5])
    def test_bad_node(self, node):
        g = path_graph([1.0, 1.0])
        with pytest.raises((ValueError, TypeError), match="node"):
            g.neighbors(node)


class TestShortestPaths:
    def test_weighted_path(self):
        g = graph.shortest_paths(path_graph([1.0, 2.0, 4.0]))
        assert pairs_of(g) == {
            (0, 1): 1,
            (0, 2): 3,
            (0, 3): 7,
            (1, 2): 2,
            (1, 3): 6,
            (2, 3): 4,
        }

    def test_against_floyd_warshall(self, rng):
        A = scipy.sparse.random(40, 40, density=0.1, random_state=1) * 5
        A = (A + A.T).tolil()
        A.setdiag(0)
        A = A.tocsr()
        full = scipy.sparse.csgraph.floyd_warshall(A.toarray(), directed=False)
        g = graph.shortest_paths(A)  # a sparse matrix is accepted
        for (i, j), d in pairs_of(g).items():
            assert d == pytest.approx(full[i, j], rel=1e-6)
        assert g.n_edges == int(np.isfinite(full[np.triu_indices(40, 1)]).sum())

    def test_max_length_and_disconnected(self):
        g = Graph.from_edges([[0, 1], [1, 2], [3, 4]])
        filled = graph.shortest_paths(g, max_length=1.5)
        assert set(pairs_of(filled)) == {(0, 1), (1, 2), (3, 4)}
        assert set(pairs_of(graph.shortest_paths(g))) == {
            (0, 1),
            (0, 2),
            (1, 2),
            (3, 4),
        }  # no path between the components: no edge

    def test_retain_fraction(self):
        g = path_graph(np.ones(99))
        filled = graph.shortest_paths(g, retain_fraction=0.1)
        assert 0.5 * 495 <= filled.n_edges <= 495
        for (i, j), d in pairs_of(filled).items():
            assert d == abs(i - j)

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"retain_fraction": 0.0}, ValueError, "retain_fraction"),
            ({"retain_fraction": 1.5}, ValueError, "retain_fraction"),
            ({"max_length": -1.0}, ValueError, "max_length"),
            ({"n_workers": 0}, ValueError, "n_workers"),
        ],
    )
    def test_bad_arguments(self, kwargs, error, match):
        with pytest.raises(error, match=match):
            graph.shortest_paths(path_graph([1.0]), **kwargs)

    def test_not_a_graph(self):
        with pytest.raises(TypeError, match="Graph or a scipy sparse"):
            graph.shortest_paths(np.eye(3))


class TestKNearestNeighbors:
    def test_hand_made_line(self):
        X = np.array([[0.0], [1.0], [1.5], [1.75]])
        g = preprocess.k_nearest_neighbors(X, k=2)
        # 0: {1, 2}; 1: {2, 3}; 2: {3, 1}; 3: {2, 1}
        assert pairs_of(g) == {(0, 1): 1, (0, 2): 1, (1, 2): 2, (1, 3): 2, (2, 3): 2}

    @pytest.mark.parametrize("kind", ["numpy", "tensor", "sparse"])
    def test_matches_brute_force(self, rng, kind):
        X = rng.normal(size=(200, 5))
        data = {
            "numpy": X,
            "tensor": torch.tensor(X),
            "sparse": scipy.sparse.csr_matrix(X),
        }[kind]
        g = preprocess.k_nearest_neighbors(data, k=7)
        D = cdist(X, X)
        np.fill_diagonal(D, np.inf)
        nbrs = np.argsort(D, axis=1)[:, :7]
        relation = {(i, int(j)) for i in range(200) for j in nbrs[i]}
        expected = {}
        for i, j in relation:
            key = (min(i, j), max(i, j))
            expected[key] = 2.0 if (j, i) in relation else 1.0
        assert pairs_of(g) == expected

    def test_max_distance(self):
        X = np.array([[0.0], [1.0], [10.0], [10.5]])
        g = preprocess.k_nearest_neighbors(X, k=1, max_distance=2.0)
        assert pairs_of(g) == {(0, 1): 2.0, (2, 3): 2.0}

    def test_graph_by_path_length(self):
        g = preprocess.k_nearest_neighbors(path_graph([1.0, 2.0, 3.0, 4.0]), k=1)
        # nearest by path: 0->1, 1->0, 2->1, 3->2, 4->3
        assert pairs_of(g) == {(0, 1): 2.0, (1, 2): 1.0, (2, 3): 1.0, (3, 4): 1.0}
        g2 = preprocess.k_nearest_neighbors(path_graph([1.0, 2.0, 3.0, 4.0]), k=2)
        assert (0, 2) in pairs_of(g2) and (0, 3) not in pairs_of(g2)

    def test_graph_max_distance_and_unreachable(self):
        g = Graph.from_edges([[0, 1], [2, 3]], [1.0, 5.0])
        assert pairs_of(preprocess.k_nearest_neighbors(g, k=2)) == {
            (0, 1): 2.0,
            (2, 3): 2.0,
        }
        with pytest.raises(ValueError, match="within max_distance"):
            preprocess.k_nearest_neighbors(
                Graph.from_edges([[0, 1]], [5.0]), k=1, max_distance=1.0
            )

    @pytest.mark.parametrize(
        ("k", "match"),
        [(0, "k must be >= 1"), (-3, "k must"), (4, "less than the number of items")],
    )
    def test_bad_k(self, k, match):
        with pytest.raises(ValueError, match=match):
            preprocess.k_nearest_neighbors(np.arange(8.0).reshape(4, 2), k=k)

    def test_bad_data(self):
        with pytest.raises(ValueError, match="NaN"):
            preprocess.k_nearest_neighbors(np.array([[0.0], [np.nan], [1.0]]), k=1)
        with pytest.raises(ValueError, match="graph_distances"):
            preprocess.graph.k_nearest_neighbors(
                path_graph([1.0]), 1, graph_distances=False
            )


class TestDistances:
    def test_all_pairs(self, rng):
        X = rng.normal(size=(30, 4))
        g = preprocess.distances(torch.tensor(X))
        assert g.n_edges == 435
        D = cdist(X, X)
        for (i, j), d in pairs_of(g).items():
            assert d == pytest.approx(D[i, j], rel=1e-5)

    def test_retain_fraction(self, rng):
        X = rng.normal(size=(100, 3))
        g = preprocess.distances(X, retain_fraction=0.25)
        assert g.n_edges == int(0.25 * 4950)
        D = cdist(X, X)
        for (i, j), d in pairs_of(g).items():
            assert d == pytest.approx(D[i, j], rel=1e-5)

    def test_graph_input_gives_shortest_paths(self):
        g = preprocess.distances(path_graph([2.0, 3.0]))
        assert pairs_of(g) == {(0, 1): 2.0, (0, 2): 5.0, (1, 2): 3.0}

    def test_identical_rows_have_no_edge(self):
        g = preprocess.distances(np.array([[0.0], [0.0], [1.0]]))
        assert pairs_of(g) == {(0, 2): 1.0, (1, 2): 1.0}

    @pytest.mark.parametrize("fraction", [0, -0.5, 1.01, "half"])
    def test_bad_retain_fraction(self, fraction):
        with pytest.raises((ValueError, TypeError), match="retain_fraction"):
            preprocess.distances(np.eye(4), retain_fraction=fraction)


class TestEdges:
    def test_sample_edges(self):
        e = preprocess.sample_edges(30, 200, seed=3)
        assert e.shape == (200, 2) and e.dtype == torch.int64
        assert (e[:, 0] < e[:, 1]).all() and e.max() < 30
        assert len({tuple(p) for p in e.tolist()}) == 200
        assert torch.equal(e, preprocess.sample_edges(30, 200, seed=3))
        assert not torch.equal(e, preprocess.sample_edges(30, 200, seed=4))

    def test_sample_edges_exclude_either_orientation(self):
        exclude = torch.tensor([[1, 0], [2, 3], [0, 3]])
        e = preprocess.sample_edges(4, 3, exclude=exclude, seed=0)
        assert sorted(map(tuple, e.tolist())) == [(0, 2), (1, 2), (1, 3)]

    def test_sample_edges_is_uniform(self):
        counts = np.zeros((6, 6))
        for s in range(300):
            for i, j in preprocess.sample_edges(6, 3, seed=s).tolist():
                counts[i, j] += 1
        observed = counts[np.triu_indices(6, 1)]
        assert observed.sum() == 900
        assert observed.min() > 0.6 * 60 and observed.max() < 1.4 * 60

    def test_seeded_globally(self):
        skmde.seed(7)
        a = preprocess.sample_edges(50, 20)
        skmde.seed(7)
        assert torch.equal(a, preprocess.sample_edges(50, 20))

    def test_dissimilar_edges(self):
        similar = preprocess.k_nearest_neighbors(
            np.random.default_rng(0).normal(size=(60, 2)), k=4
        ).edges
        far = preprocess.dissimilar_edges(60, similar, seed=0)
        assert far.shape == similar.shape
        assert not {tuple(p) for p in far.tolist()} & {
            tuple(p) for p in similar.tolist()
        }
        assert preprocess.dissimilar_edges(60, similar, num_edges=5, seed=0).shape == (
            5,
            2,
        )
        # only one pair is left among 3 items
        assert preprocess.dissimilar_edges(3, [[0, 1], [1, 2]]).tolist() == [[0, 2]]

    def test_deduplicate_edges(self):
        edges = torch.tensor(
            [[3, 1], [1, 3], [0, 2], [2, 0], [0, 2]], dtype=torch.int32
        )
        unique = preprocess.deduplicate_edges(edges)
        assert unique.tolist() == [[0, 2], [1, 3]] and unique.dtype == torch.int32
        assert preprocess.deduplicate_edges(np.array([[1, 0]])).dtype == torch.int64

    @pytest.mark.parametrize(
        ("call", "error", "match"),
        [
            (lambda: preprocess.sample_edges(4, 7), ValueError, "at most the 6 pairs"),
            (
                lambda: preprocess.sample_edges(4, 6, exclude=[[0, 1]]),
                ValueError,
                "at most the 5 pairs",
            ),
            (lambda: preprocess.sample_edges(4, -1), ValueError, "num_edges"),
            (lambda: preprocess.sample_edges(1, 0), ValueError, "n must be >= 2"),
            (
                lambda: preprocess.sample_edges(4, 1, exclude=[[0, 4]]),
                ValueError,
                r"exclude must index items in \[0, 3\]",
            ),
            (
                lambda: preprocess.sample_edges(4, 1, exclude=[[0, 1, 2]]),
                ValueError,
                "exclude must have shape",
            ),
            (
                lambda: preprocess.dissimilar_edges(4, [[0, 0]]),
                ValueError,
                "similar_edges must pair distinct items",
            ),
            (
                lambda: preprocess.dissimilar_edges(4, [[-1, 2]]),
                ValueError,
                "similar_edges must hold item indices >= 0",
            ),
            (lambda: preprocess.deduplicate_edges([[0.5, 1]]), TypeError, "edges"),
        ],
    )
    def test_bad_input(self, call, error, match):
        with pytest.raises(error, match=match):
            call()


class TestScale:
    def test_graph_and_tensor(self):
        g = preprocess.scale(path_graph([3.0, 4.0]), natural_length=2.0)
        assert float(g.distances.pow(2).mean().sqrt()) == pytest.approx(2.0)
        assert g.distances[1] / g.distances[0] == pytest.approx(4 / 3)
        d = preprocess.scale(torch.tensor([3.0, 4.0]), 1.0)
        assert d.tolist() == pytest.approx([3 / 12.5**0.5, 4 / 12.5**0.5])

    @pytest.mark.parametrize(
        ("data", "length", "match"),
        [
            (torch.tensor([1.0]), 0.0, "natural_length"),
            (torch.tensor([1.0]), -2.0, "natural_length"),
            (torch.zeros(3), 1.0, "all zero"),
            (torch.zeros(0), 1.0, "empty"),
        ],
    )
    def test_bad_input(self, data, length, match):
        with pytest.raises(ValueError, match=match):
            preprocess.scale(data, length)


class TestDraw:
    def test_path_graph_is_drawn_straight(self):
        import matplotlib.pyplot as plt

        plt.close("all")
        X = path_graph([1.0, 1.0, 1.0, 1.0]).draw(embedding_dim=2)
        D = torch.cdist(X, X)
        expected = torch.abs(torch.arange(5.0)[:, None] - torch.arange(5.0)[None])
        assert torch.allclose(D, expected, atol=2e-3)
        ax = plt.gcf().axes[0]
        assert len(ax.collections) >= 2  # the edges and the points
        plt.close("all")

    def test_standardized(self):
        import matplotlib.pyplot as plt

        g = Graph.from_edges([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])
        X = g.draw(embedding_dim=2, standardized=True)
        np.testing.assert_allclose((X.T @ X / 4).numpy(), np.eye(2), atol=1e-4)
        plt.close("all")

    @pytest.mark.parametrize(
        ("g", "kwargs", "match"),
        [
            (Graph.from_edges([[0, 1]], n_items=3), {}, r"isolated items.*\[2\]"),
            (path_graph([1.0]), {"embedding_dim": 4}, "embedding_dim must be 1, 2"),
            (
                path_graph([1.0]),
                {"embedding_dim": 2, "standardized": True},
                "more items",
            ),
            (path_graph([1.0]), {"standardized": "yes"}, "standardized"),
        ],
    )
    def test_bad_input(self, g, kwargs, match):
        with pytest.raises((ValueError, TypeError), match=match):
            g.draw(**kwargs)


def test_hand_built_neighbor_problem_separates_clusters(rng):
    """The preprocessing workflow: kNN graph, dissimilar edges, PushAndPull."""
    centers = rng.normal(scale=10, size=(3, 8))
    y = np.repeat(np.arange(3), 100)
    X = centers[y] + rng.normal(size=(300, 8))
    knn = preprocess.k_nearest_neighbors(X, k=10)
    far = preprocess.dissimilar_edges(300, knn.edges, seed=0)
    edges = torch.cat([knn.edges, far])
    weights = torch.cat([knn.weights, -torch.ones(len(far))])
    f = skmde.penalties.PushAndPull(
        weights,
        attractive_penalty=skmde.penalties.Log1p,
        repulsive_penalty=skmde.penalties.Log,
    )
    mde = skmde.MDE(300, 2, edges, f, skmde.Standardized())
    Z = mde.embed(random_state=0).numpy()
    D = cdist(Z, Z)
    np.fill_diagonal(D, np.inf)
    nearest = D.argmin(axis=1)
    assert (y[nearest] == y).mean() > 0.97


def test_pymde_mnist_returns_tensors(mnist_dir, monkeypatch):
    from skmde import datasets

    real = datasets.load_mnist
    monkeypatch.setattr(
        datasets,
        "load_mnist",
        lambda home, subset, download: real(mnist_dir, subset="test", download=False),
    )
    mnist = datasets.MNIST()
    assert isinstance(mnist.data, torch.Tensor) and mnist.data.dtype == torch.float32
    assert mnist.data.shape == (10000, 784)
    assert isinstance(mnist.attributes["digits"], torch.Tensor)
    assert mnist.attributes["digits"][:3].tolist() == [7, 2, 1]
    stacked = torch.vstack([mnist.data[:5], mnist.data[5:8]])  # the tutorial's call
    assert stacked.shape == (8, 784)
