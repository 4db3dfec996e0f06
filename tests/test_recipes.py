import functools
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
import scipy.spatial.distance
import scipy.stats
import torch
from sklearn.datasets import load_digits

import skmde
from skmde import Anchored, Graph, Standardized, losses, penalties
from skmde.recipes import distance_problem, neighbor_problem


def _failing_eigenmap(*args, **kwargs):
    raise skmde.initialization.SpectralInitError("the eigensolver did not converge")


@pytest.fixture(scope="module")
def digits():
    """600 digits (a connected 5-NN graph), jittered to break distance ties."""
    X = load_digits().data[:600]
    return (X + 1e-3 * np.random.default_rng(0).normal(size=X.shape)).astype(np.float32)


class TestPreserveNeighbors:
    def test_pymde_problem_on_request(self, digits):
        mde, info = neighbor_problem(
            digits,
            n_neighbors=15,
            local_scaling=False,
            edge_weights="binary",
            repulsive_fraction=1,
            repulsive_weight=1,
            random_state=0,
        )
        weights = mde.distortion_function.weights
        assert set(weights[: info.n_attractive].tolist()) <= {1.0, 2.0}
        assert (weights[info.n_attractive :] == -1).all()
        assert info.n_repulsive == info.n_attractive
        idx, _, _ = skmde.neighbors.nearest_neighbors(digits, 15)
        assert (info.neighbor_graph.indices == idx).all()

    def test_defaults(self, digits):
        mde, info = neighbor_problem(digits, random_state=0)
        assert isinstance(mde, skmde.MDE)
        assert mde.n_items == 600 and mde.embedding_dim == 2
        assert isinstance(mde.constraint, skmde.Centered)
        assert info.n_neighbors == 10  # max(min(12, 0.005 * 599), 10)
        # 4 repulsive pairs per neighbour pair at weight 1 (solved in one
        # phase), spread over MIN_REPULSIVE_PAIRS pairs (600 items: fewer
        # than 50,000 pairs)
        assert info.n_repulsive == 50_000
        weights = mde.distortion_function.weights
        repulsive = weights[info.n_attractive :]
        assert (repulsive == repulsive[0]).all()
        total = float(repulsive.sum(dtype=torch.float64))
        assert total == pytest.approx(-1.0 * 4 * info.n_attractive, rel=1e-6)
        assert float(weights[: info.n_attractive].mean()) == pytest.approx(1.0)
        f = mde.distortion_function
        assert isinstance(f, skmde.PushAndPull)
        assert isinstance(f.attractive_penalty, penalties.Log1p)
        assert f.attractive_penalty.exponent == 1.6
        assert isinstance(f.repulsive_penalty, penalties.Log)
        assert mde.X_init is not None and mde.constraint.is_feasible(mde.X_init)
        X = mde.embed()
        assert torch.isfinite(X).all()
        assert mde.average_distortion() < mde.average_distortion(mde.X_init)

    def test_small_data_spreads_the_default_repulsion(self, digits):
        n = 60
        mde, info = neighbor_problem(digits[:n], random_state=0)
        # every non-neighbour pair repels, the total weight unchanged
        assert info.n_attractive + info.n_repulsive == n * (n - 1) // 2
        keys = {tuple(e) for e in mde.edges.tolist()}
        assert len(keys) == mde.n_edges
        repulsive = mde.distortion_function.weights[info.n_attractive :]
        total = float(repulsive.sum(dtype=torch.float64))
        assert total == pytest.approx(-1.0 * 4 * info.n_attractive, rel=1e-6)
        # a user's repulsive_fraction or weight is taken as given: with the
        # fraction, exactly that many pairs; the weight alone is spread
        mde, info = neighbor_problem(digits, repulsive_fraction=4, random_state=0)
        assert info.n_repulsive == 4 * info.n_attractive
        assert (mde.distortion_function.weights[info.n_attractive :] == -0.5).all()
        mde, info = neighbor_problem(digits, repulsive_weight=0.25, random_state=0)
        repulsive = mde.distortion_function.weights[info.n_attractive :]
        assert info.n_repulsive == 50_000
        total = float(repulsive.sum(dtype=torch.float64))
        assert total == pytest.approx(-0.25 * 4 * info.n_attractive, rel=1e-6)

    @staticmethod
    def _penalties(problem):
        mde, info = problem
        f = mde.distortion_function
        exponent = f.attractive_penalty.exponent
        return exponent, float(f.weights[info.n_attractive :].sum()) / info.n_attractive

    def test_one_phase_defaults(self, digits):
        # the default problem solved in one phase under Centered repels twice
        # as hard (total 4 x 1 per neighbour pair) and pulls with d^1.6
        default = self._penalties(neighbor_problem(digits, random_state=0))
        assert default == (1.6, pytest.approx(-4.0, rel=1e-5))
        # what the user gives is taken as given
        weight = neighbor_problem(digits, repulsive_weight=0.5, random_state=0)
        assert self._penalties(weight) == (1.6, pytest.approx(-2.0, rel=1e-5))
        pull = functools.partial(penalties.Log1p, exponent=1.5)
        given = neighbor_problem(digits, attractive_penalty=pull, random_state=0)
        assert self._penalties(given) == (1.5, pytest.approx(-4.0, rel=1e-5))
        fraction = neighbor_problem(digits, repulsive_fraction=4, random_state=0)
        assert self._penalties(fraction) == (1.5, pytest.approx(-2.0, rel=1e-5))
        # two phases, or Standardized: the penalties as built before
        refined = neighbor_problem(digits, refine=True, random_state=0)
        assert self._penalties(refined) == (1.5, pytest.approx(-2.0, rel=1e-5))
        standard = neighbor_problem(digits, constraint="standardized", random_state=0)
        assert self._penalties(standard) == (1.5, pytest.approx(-0.5, rel=1e-5))
        # new rows are embedded with the fit's penalties
        mde, info = neighbor_problem(digits, random_state=0)
        assert info.transform.repulsive_weight == pytest.approx(4.0)
        assert info.transform.attractive(torch.ones(1)).exponent == 1.6

    def test_refined_problems_spread_their_sample(self, digits):
        mde, info = neighbor_problem(digits, refine=True, random_state=0)
        assert info.refined is not None
        # 4 pairs per neighbour pair at weight 0.5, spread over at least
        # MIN_REPULSIVE_PAIRS (600 items: 6 per neighbour pair are fewer)
        assert info.n_repulsive == 50_000
        repulsive = mde.distortion_function.weights[info.n_attractive :]
        assert (repulsive == repulsive[0]).all()
        total = float(repulsive.sum(dtype=torch.float64))
        assert total == pytest.approx(-0.5 * 4 * info.n_attractive, rel=1e-6)

    def test_only_refined_problems_spread_over_more_than_their_sample(
        self, digits, monkeypatch
    ):
        from skmde import _pairs

        monkeypatch.setattr(_pairs, "MIN_REPULSIVE_PAIRS", 1_000)
        for refine, per_pair in ((True, 6), (False, 4)):
            mde, info = neighbor_problem(digits, refine=refine, random_state=0)
            assert info.n_repulsive == int(per_pair * info.n_attractive)
            repulsive = mde.distortion_function.weights[info.n_attractive :]
            total = float(repulsive.sum(dtype=torch.float64))
            weight = 0.5 if refine else 1.0  # ONE_PHASE_REPULSIVE_WEIGHT
            assert total == pytest.approx(-weight * 4 * info.n_attractive, rel=1e-6)

    def test_a_given_repulsive_fraction_is_sampled_as_given(self, digits):
        mde, info = neighbor_problem(
            digits, refine=True, repulsive_fraction=4, random_state=0
        )
        assert info.n_repulsive == 4 * info.n_attractive
        assert (mde.distortion_function.weights[info.n_attractive :] == -0.5).all()

    def test_spreading_rule(self, monkeypatch):
        from skmde import _pairs

        monkeypatch.setattr(_pairs, "MIN_REPULSIVE_PAIRS", 1_000)
        monkeypatch.setattr(_pairs, "MAX_SPREAD_PAIRS", 3_000)
        edges = np.array([[0, 1], [1, 2]])

        def spread(n, count, exclude=edges, refined=False):
            return _pairs.spread_repulsion(n, count, exclude, 0.5, refined=refined)

        for refined in (False, True):
            assert spread(100, 0, refined=refined) == (0, 0.5)
            assert spread(100, 250, refined=refined) == (1_000, 0.125)  # the floor
            assert spread(100, 4_000, refined=refined) == (4_000, 0.5)  # left alone
        # a one-phase problem's larger sample is left alone ...
        assert spread(100, 1_000) == (1_000, 0.5)
        assert spread(100, 2_500) == (2_500, 0.5)
        # ... a refined one's spread over REPULSIVE_SPREAD (1.5) times as many
        # pairs, up to MAX_SPREAD_PAIRS
        assert spread(100, 1_000, refined=True) == (1_500, pytest.approx(0.5 / 1.5))
        assert spread(100, 2_500, refined=True) == (3_000, pytest.approx(0.5 * 2.5 / 3))
        assert spread(100, 3_000, refined=True) == (3_000, 0.5)
        # all 45 - 2 available pairs of 10 items, not more (a repeated pair
        # excluded once): asked for fewer or more, the total weight is kept
        repeated = np.array([[0, 1], [1, 2], [0, 1]])
        for count in (20, 50):
            assert spread(10, count, repeated) == (43, pytest.approx(0.5 * count / 43))
        assert spread(2, 5, edges[:1]) == (5, 0.5)  # none available

    def test_neighbours_end_up_close(self, digits):
        mde = skmde.preserve_neighbors(digits, n_neighbors=10, random_state=0)
        X = mde.embed().numpy()
        d = np.linalg.norm(X[:, None] - X[None], axis=2)
        attractive = mde.edges[: int((mde.distortion_function.weights > 0).sum())]
        near = d[attractive[:, 0], attractive[:, 1]].mean()
        assert near < 0.5 * d[np.triu_indices(600, 1)].mean()

    def test_standardized_without_repulsion_is_the_laplacian_eigenmap(self, digits):
        mde = skmde.preserve_neighbors(
            digits,
            attractive_penalty=penalties.Quadratic,
            repulsive_penalty=None,
            n_neighbors=10,
            random_state=0,
        )
        assert isinstance(mde.constraint, Standardized)
        assert mde.n_edges == len(mde.distortion_function)  # no repulsive edges
        X = mde.embed(eps=1e-7, max_iter=2000).double().numpy()
        n = mde.n_items
        edges = mde.edges.numpy()
        w = mde.distortion_function.weights.double().numpy()
        L = np.zeros((n, n))
        np.add.at(L, (edges[:, 0], edges[:, 1]), -w)
        np.add.at(L, (edges[:, 1], edges[:, 0]), -w)
        L[np.diag_indices(n)] = -L.sum(1)
        _, V = scipy.linalg.eigh(L, subset_by_index=[1, 2])
        U = V * np.sqrt(n)
        err = np.linalg.norm(skmde.align(X, U) - U) / np.linalg.norm(U)
        assert err < 0.02

    def test_random_state_reproducible(self, digits):
        a = skmde.preserve_neighbors(digits, random_state=7)
        b = skmde.preserve_neighbors(digits, random_state=7)
        c = skmde.preserve_neighbors(digits, random_state=8)
        assert torch.equal(a.edges, b.edges)
        assert torch.equal(a.distortion_function.weights, b.distortion_function.weights)
        assert torch.equal(a.X_init, b.X_init)
        assert torch.equal(a.embed(max_iter=50), b.embed(max_iter=50))
        assert not torch.equal(a.edges, c.edges)

    @pytest.mark.parametrize(
        "kind", ["torch", "pandas", "sparse", "precomputed", "list"]
    )
    def test_input_types(self, digits, kind):
        if kind == "torch":
            data, kw = torch.from_numpy(digits), {}
        elif kind == "pandas":
            pd = pytest.importorskip("pandas")
            data, kw = pd.DataFrame(digits), {}
        elif kind == "sparse":
            data, kw = scipy.sparse.csr_matrix(digits), {}
        elif kind == "precomputed":
            data = np.linalg.norm(digits[:, None] - digits[None], axis=2)
            kw = {"metric": "precomputed"}
        else:
            data, kw = digits.tolist(), {}
        ref, ref_info = neighbor_problem(digits, random_state=0)
        mde, info = neighbor_problem(data, random_state=0, **kw)
        if kind in ("sparse", "precomputed"):
            # distances rounded differently: the same neighbour pairs, nearly
            a, b = (
                set(map(tuple, m.edges[: i.n_attractive].tolist()))
                for m, i in ((mde, info), (ref, ref_info))
            )
            assert len(a & b) / len(b) > 0.99
        else:
            assert torch.equal(mde.edges, ref.edges)

    def test_graph_input(self):
        n = 30
        ring = np.column_stack([np.arange(n), (np.arange(n) + 1) % n])
        mde = skmde.preserve_neighbors(
            Graph.from_edges(ring),
            random_state=0,
            attractive_penalty="quadratic",
            repulsive_penalty=None,
        )
        assert mde.n_edges == n
        X = mde.embed()
        # a ring embeds as a circle: all radii about equal
        r = X.norm(dim=1)
        assert float(r.std() / r.mean()) < 0.05

    def test_cosine_metric_and_init_choices(self, digits):
        for init in (
            "pca",
            "random",
            "quadratic",
            np.random.default_rng(0).normal(size=(600, 2)),
        ):
            mde = skmde.preserve_neighbors(
                digits, metric="cosine", init=init, random_state=0
            )
            assert torch.isfinite(mde.embed(max_iter=20)).all()

    def test_disconnected_graph(self):
        rng = np.random.default_rng(0)
        X = np.vstack([rng.normal(size=(30, 3)), 100 + rng.normal(size=(30, 3))])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # handled without a fallback warning
            mde = skmde.preserve_neighbors(X, n_neighbors=5, random_state=0)
        Z = mde.embed()
        assert torch.isfinite(Z).all()
        gap = (Z[:30].mean(0) - Z[30:].mean(0)).norm()
        assert gap > 2 * max(Z[:30].std(0).max(), Z[30:].std(0).max())

    def test_eigensolver_failure_falls_back_with_a_warning(self, digits, monkeypatch):
        monkeypatch.setattr(skmde.initialization, "SPECTRAL_MAX_RESTARTS", 1)
        monkeypatch.setattr(skmde.initialization, "_eigenmap", _failing_eigenmap)
        with pytest.warns(UserWarning, match="did not converge.*pca"):
            mde = skmde.preserve_neighbors(digits, random_state=0)
        assert torch.isfinite(mde.X_init).all()

    def test_duplicate_rows(self):
        X = np.repeat(np.random.default_rng(0).normal(size=(20, 4)), 10, axis=0)
        mde = skmde.preserve_neighbors(X, n_neighbors=5, random_state=0)
        X_emb = mde.embed()
        assert torch.isfinite(X_emb).all()

    def test_updating_an_embedding_with_anchors(self, digits):
        train, new = digits[:500], digits[500:]
        base = skmde.preserve_neighbors(train, random_state=0).embed()
        mde, info = neighbor_problem(
            np.vstack([train, new]),
            constraint=Anchored(torch.arange(500), base),
            random_state=0,
        )
        edges = mde.edges
        assert not ((edges[:, 0] < 500) & (edges[:, 1] < 500)).any()
        torch.testing.assert_close(mde.X_init[:500], base)
        X = mde.embed()
        assert torch.equal(X[:500], base)
        # the new points land among training points of their own class
        labels = load_digits().target[:600]
        from sklearn.neighbors import KNeighborsClassifier

        knn = KNeighborsClassifier(10).fit(base.numpy(), labels[:500])
        assert knn.score(X[500:].numpy(), labels[500:]) > 0.7  # chance: 0.1

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"data": np.array([[np.nan, 1.0], [1.0, 2.0]])}, ValueError, "NaN"),
            ({"data": np.array([[np.inf, 1.0], [1.0, 2.0]])}, ValueError, "infinity"),
            ({"data": np.ones((1, 3))}, ValueError, "at least 2 rows"),
            ({"data": np.ones(5)}, ValueError, "2-D"),
            ({"data": np.array([["a", "b"], ["c", "d"]])}, TypeError, "numeric"),
            ({"n_neighbors": 0}, ValueError, "n_neighbors must be >= 1"),
            ({"n_neighbors": 2.5}, TypeError, "n_neighbors must be an integer"),
            ({"metric": "precomputed", "data": np.ones((3, 4))}, ValueError, "square"),
            ({"metric": "precomputed", "data": -np.ones((3, 3))}, ValueError, ">= 0"),
            ({"metric": "wat"}, ValueError, "unknown metric 'wat'"),
            ({"init": "wat"}, ValueError, "unknown init 'wat'"),
            ({"init": np.zeros((3, 2))}, ValueError, r"init must have shape \(10, 2\)"),
            ({"embedding_dim": 0}, ValueError, "embedding_dim must be >= 1"),
            ({"constraint": "wat"}, ValueError, "unknown constraint 'wat'"),
            ({"constraint": 3}, TypeError, "constraint must be"),
            ({"attractive_penalty": "wat"}, ValueError, "unknown attractive_penalty"),
            ({"repulsive_fraction": -1}, ValueError, "repulsive_fraction must be >= 0"),
            (
                {"edge_weights": "heavy"},
                ValueError,
                "edge_weights must be one of 'fuzzy'",
            ),
            ({"local_scaling": "yes"}, TypeError, "local_scaling must be True"),
            ({"repulsive_weight": 0}, ValueError, "repulsive_weight must be > 0"),
            ({"max_distance": 0}, ValueError, "max_distance must be > 0"),
            ({"random_state": "x"}, TypeError, "random_state must be an integer"),
            ({"n_jobs": 0}, ValueError, "n_jobs must be None, a positive number"),
            ({"n_jobs": 1.5}, TypeError, "n_jobs must be an integer"),
        ],
    )
    def test_bad_input(self, kwargs, error, match):
        args = {"data": np.random.default_rng(0).normal(size=(10, 3))}
        args.update(kwargs)
        with pytest.raises(error, match=match):
            skmde.preserve_neighbors(**args)

    def test_too_many_neighbours_are_clipped(self):
        X = np.random.default_rng(0).normal(size=(10, 3))
        with pytest.warns(UserWarning, match="using n_neighbors=9"):
            mde, info = neighbor_problem(X, n_neighbors=50, random_state=0)
        assert info.n_neighbors == 9


class TestPreserveDistances:
    def test_plane_in_ten_dimensions(self):
        rng = np.random.default_rng(0)
        plane = rng.normal(size=(300, 2)) * [5.0, 2.0]
        basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
        data = plane @ basis.T
        mde = skmde.preserve_distances(data, random_state=0)
        assert mde.n_edges == 300 * 299 // 2
        X = mde.embed().numpy()
        pairs = mde.edges.numpy()
        original = np.linalg.norm(data[pairs[:, 0]] - data[pairs[:, 1]], axis=1)
        embedded = np.linalg.norm(X[pairs[:, 0]] - X[pairs[:, 1]], axis=1)
        assert scipy.stats.spearmanr(original, embedded)[0] >= 0.99
        np.testing.assert_allclose(embedded, original, rtol=0.05, atol=0.05)

    def test_sampled_pairs_when_all_do_not_fit(self, digits):
        mde = skmde.preserve_distances(digits, max_distances=5000, random_state=0)
        assert mde.n_edges == 5000
        keys = mde.edges[:, 0] * 600 + mde.edges[:, 1]
        assert len(torch.unique(keys)) == 5000

    def test_deviations_are_distances_and_init_is_to_scale(self, digits):
        mde = skmde.preserve_distances(digits, loss=losses.Quadratic, random_state=0)
        pairs = mde.edges.numpy()
        expected = np.linalg.norm(digits[pairs[:, 0]] - digits[pairs[:, 1]], axis=1)
        np.testing.assert_allclose(
            mde.distortion_function.deviations.numpy(), expected, rtol=1e-5
        )
        init_d = mde.distances(mde.X_init).numpy()
        ratio = np.sqrt((init_d**2).mean() / (expected**2).mean())
        assert 0.7 < ratio < 1.1

    def test_standardized_rescales_to_the_natural_length(self, digits):
        mde = skmde.preserve_distances(
            digits, constraint="standardized", random_state=0
        )
        deviations = mde.distortion_function.deviations
        natural = Standardized().natural_length(600, 2)
        assert float(deviations.square().mean().sqrt()) == pytest.approx(
            natural, rel=1e-4
        )

    def test_graph_input_uses_shortest_paths(self):
        n = 20
        path = np.column_stack([np.arange(n - 1), np.arange(1, n)])
        mde = skmde.preserve_distances(
            Graph.from_edges(path), embedding_dim=1, random_state=0
        )
        X = mde.embed().numpy().ravel()
        # a path graph embeds on a line with unit spacing
        np.testing.assert_allclose(np.abs(np.diff(np.sort(X))), 1.0, atol=0.05)

    def test_precomputed(self, digits):
        D = np.linalg.norm(digits[:, None] - digits[None], axis=2)
        a = skmde.preserve_distances(D, metric="precomputed", random_state=0)
        b = skmde.preserve_distances(digits, random_state=0)
        torch.testing.assert_close(
            a.distortion_function.deviations,
            b.distortion_function.deviations,
            rtol=1e-4,
            atol=1e-3,
        )

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"loss": "wat"}, ValueError, "unknown loss 'wat'"),
            ({"init": "wat"}, ValueError, "unknown init 'wat'"),
            ({"max_distances": 0}, ValueError, "max_distances must be >= 1"),
            ({"data": np.ones((1, 2))}, ValueError, "at least 2 rows"),
            ({"n_jobs": 0}, ValueError, "n_jobs must be None, a positive number"),
            ({"n_jobs": "all"}, TypeError, "n_jobs must be an integer"),
        ],
    )
    def test_bad_input(self, kwargs, error, match):
        args = {"data": np.random.default_rng(0).normal(size=(10, 3))}
        args.update(kwargs)
        with pytest.raises(error, match=match):
            skmde.preserve_distances(**args)


class TestSparsePrecomputedDistances:
    """Unstored entries of a sparse distance matrix are unknown, never 0."""

    def setup_method(self):
        rng = np.random.default_rng(0)
        self.X = rng.normal(size=(12, 3))
        D = scipy.spatial.distance.cdist(self.X, self.X)
        self.D = D
        kept = np.where(np.median(D) >= D, D, 0.0)  # about half of the pairs
        self.S = scipy.sparse.csr_matrix(kept)

    def test_fit_preserves_shortest_paths_through_stored_distances(self):
        mde, _ = distance_problem(self.S, metric="precomputed", random_state=0)
        edges = mde.edges.numpy()
        deviations = mde.distortion_function.deviations.numpy()
        paths = scipy.sparse.csgraph.shortest_path(self.S, directed=False)
        np.testing.assert_allclose(deviations, paths[edges[:, 0], edges[:, 1]])
        assert (deviations > 0).all()  # 36 of 66 were read as 0 before
        stored = self.S.toarray()[edges[:, 0], edges[:, 1]] > 0
        np.testing.assert_allclose(
            deviations[stored], self.D[edges[stored, 0], edges[stored, 1]]
        )

    def test_transform_uses_the_stored_distances_of_each_row(self):
        model = skmde.MDEDistances(metric="precomputed", random_state=0)
        model.fit(self.S)
        # training rows (their own distance, 0, is not stored) land near
        # their fitted positions
        known = np.flatnonzero(np.diff(self.S.indptr) > 0)  # item 4: none
        rows = model.transform(self.S[known])
        assert np.isfinite(rows).all()
        gap = np.linalg.norm(rows - model.embedding_[known], axis=1)
        assert np.median(gap) < 0.2 * np.median(self.D)
        # a new point with distances to 4 training items only: placed to match
        # those 4 (its position does not depend on the unstored entries)
        point = self.X[0] + 0.05
        d = scipy.spatial.distance.cdist([point], self.X)[0]
        near = np.argsort(d)[:4]
        sparse_row = scipy.sparse.csr_matrix(
            (d[near], (np.zeros(4, dtype=int), near)), shape=(1, 12)
        )
        z = model.transform(sparse_row)[0]
        fitted = np.linalg.norm(model.embedding_[near] - z, axis=1)
        assert np.abs(fitted - d[near]).max() < 0.5 * np.median(self.D)
        empty = scipy.sparse.csr_matrix((1, 12))
        with pytest.raises(ValueError, match="stores no distance"):
            model.transform(empty)


class TestNamedDistortions:
    def test_names_needing_arguments_are_refused_with_the_way_out(self):
        # "missing 1 required positional argument: 'exponent'" before
        X = np.random.default_rng(0).normal(size=(40, 3))
        with pytest.raises(ValueError, match=r"partial\(skmde.penalties.Power"):
            skmde.preserve_neighbors(X, attractive_penalty="power")
        with pytest.raises(ValueError, match=r"partial\(skmde.losses.Power"):
            skmde.preserve_distances(X, loss="power")
        with pytest.raises(ValueError, match="Did you mean 'huber'"):
            penalties.get("hubr")
        assert penalties.get("Huber") is penalties.Huber
        assert losses.get("SOFTFRACTIONAL") is losses.SoftFractional

    def test_estimators_take_names_in_any_case(self):
        X = np.random.default_rng(0).normal(size=(40, 3))
        a = skmde.MDENeighbors(attractive_penalty="Huber", random_state=0, max_iter=5)
        b = skmde.MDENeighbors(attractive_penalty="huber", random_state=0, max_iter=5)
        np.testing.assert_array_equal(a.fit(X).embedding_, b.fit(X).embedding_)
        skmde.MDEDistances(loss="Huber", max_iter=5).fit(X)

    def test_anchored_without_repulsion(self):
        # numpy's "zero-size array" error with repulsive_fraction=0
        X = np.random.default_rng(0).normal(size=(50, 3))
        anchors = skmde.Anchored(torch.arange(5), torch.zeros(5, 2))
        mde = skmde.preserve_neighbors(X, constraint=anchors, repulsive_fraction=0)
        assert (mde.distortion_function.weights > 0).all()


def test_preserve_distances_uses_n_jobs(monkeypatch):
    # n_jobs was accepted and ignored
    seen = []
    original = skmde.recipes._distances.pair_distances

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(skmde.recipes._distances, "pair_distances", recording)
    before = torch.get_num_threads()
    X = np.random.default_rng(0).normal(size=(50, 3))
    skmde.preserve_distances(X, n_jobs=1)
    assert seen == [1] and torch.get_num_threads() == before
