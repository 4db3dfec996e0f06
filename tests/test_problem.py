import math

import numpy as np
import pytest
import scipy.linalg
import torch

import skmde
from skmde import MDE, Anchored, Centered, Standardized, losses, penalties

from ._checks import assert_objective_gradient_matches_finite_differences
from .test_constraints import Sphere

EDGES = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3]])
WEIGHTS = torch.tensor([1.0, 2.0, 5.0, 6.0])


def tutorial_problem(constraint=None):
    return MDE(
        5,
        2,
        EDGES,
        penalties.Quadratic(WEIGHTS),
        Standardized() if constraint is None else constraint,
    )


def random_graph(n, k, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 3))
    d = ((points[:, None] - points[None]) ** 2).sum(-1)
    nbrs = np.argsort(d, axis=1)[:, 1 : k + 1]
    pairs = {(min(i, j), max(i, j)) for i in range(n) for j in nbrs[i]}
    edges = np.array(sorted(pairs))
    return edges, rng.uniform(0.5, 2.0, size=len(edges))


class TestTutorial:
    def test_five_items_standardized(self):
        mde = tutorial_problem()
        X = mde.embed()
        assert isinstance(X, torch.Tensor) and X.shape == (5, 2)
        assert mde.X is X
        torch.testing.assert_close(
            X.T @ X / mde.n_items, torch.eye(2), atol=1e-4, rtol=0
        )
        torch.testing.assert_close(X.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
        value = mde.average_distortion()
        assert isinstance(value, torch.Tensor) and value.dim() == 0  # as PyMDE
        assert mde.average_distortion() == pytest.approx(
            float(mde.distortions().mean())
        )

    def test_attributes_keep_the_arguments(self):
        mde = tutorial_problem()
        assert (mde.n_items, mde.embedding_dim, mde.n_edges) == (5, 2, 4)
        assert torch.equal(mde.edges, EDGES)
        assert isinstance(mde.distortion_function, penalties.Quadratic)
        assert isinstance(mde.constraint, Standardized)
        assert mde.X is None and mde.solve_stats is None
        assert repr(mde) == (
            "MDE(n_items=5, embedding_dim=2, n_edges=4, distortion_function="
            "Quadratic(n_edges=4), constraint=Standardized(), device='cpu', "
            "dtype=torch.float32)"
        )

    def test_reaches_the_global_minimum(self):
        # Quadratic + Standardized: the Laplacian eigenmap is optimal
        mde = tutorial_problem()
        mde.embed(eps=1e-7, random_state=1)
        L = np.zeros((5, 5))
        for (i, j), w in zip(EDGES.tolist(), WEIGHTS.tolist()):
            L[[i, j], [j, i]] -= w
            L[i, i] += w
            L[j, j] += w
        optimum = 5 * scipy.linalg.eigvalsh(L)[1:3].sum() / 4
        assert mde.average_distortion() == pytest.approx(optimum, rel=1e-5)

    def test_inputs_as_lists_and_numpy(self):
        a = MDE(
            5, 2, EDGES.tolist(), penalties.Quadratic(WEIGHTS.tolist()), Standardized()
        )
        b = MDE(
            5,
            2,
            EDGES.numpy(),
            penalties.Quadratic(WEIGHTS.numpy().astype(float)),
            Standardized(),
        )
        assert a.edges.dtype == b.edges.dtype == torch.int64
        assert a.dtype == torch.float32 and b.dtype == torch.float64
        a.embed(random_state=0)
        assert b.embed(random_state=0).dtype == torch.float64
        assert a.average_distortion() == pytest.approx(
            float(b.average_distortion()), rel=1e-4
        )

    def test_custom_callables(self):
        weights = WEIGHTS.clone()
        deviations = torch.tensor([1.0, 2.0, 5.0, 6.0])

        def quadratic(distances):
            return weights * distances.pow(2)

        def deviation_loss(distances):
            return (distances - deviations).pow(2)

        builtin = tutorial_problem()
        custom = MDE(5, 2, EDGES, quadratic, Standardized())
        X0 = Standardized().initialization(
            5, 2, generator=torch.Generator().manual_seed(3)
        )
        torch.testing.assert_close(
            custom.embed(X0, eps=1e-7), builtin.embed(X0, eps=1e-7), atol=2e-3, rtol=0
        )
        loss = MDE(5, 2, EDGES, deviation_loss)
        loss.embed(random_state=0)
        assert isinstance(loss.constraint, Centered)
        ref = MDE(5, 2, EDGES, losses.Quadratic(deviations))
        ref.embed(random_state=0)
        assert loss.average_distortion() == pytest.approx(
            float(ref.average_distortion()), abs=1e-4
        )

    def test_anchored_example(self):
        anchors = torch.tensor([0.0, 1.0, 3.0])
        values = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, -1.0]])
        mde = MDE(5, 2, EDGES, penalties.Quadratic(WEIGHTS), Anchored(anchors, values))
        X = mde.embed()
        assert torch.equal(X[[0, 1, 3]], values)
        X = mde.embed(eps=1e-8)
        assert torch.equal(X[[0, 1, 3]], values)
        # free items sit at the weighted means of their neighbours (the optimum)
        torch.testing.assert_close(X[2], (5 * X[1] + 6 * X[3]) / 11, atol=1e-4, rtol=0)
        torch.testing.assert_close(X[4], X[0], atol=1e-4, rtol=0)

    def test_binary_tree_with_leaves_on_a_circle(self):
        depth = 7
        n = 2 ** (depth + 1) - 1
        edges = torch.tensor([[(i - 1) // 2, i] for i in range(1, n)])
        leaves = torch.arange(2**depth - 1, n)
        angles = torch.linspace(0, 2 * math.pi, leaves.numel() + 1)[:-1]
        circle = 20 * torch.stack([angles.cos(), angles.sin()], dim=1)
        mde = MDE(
            n,
            2,
            edges,
            penalties.Quadratic(torch.ones(n - 1)),
            Anchored(leaves, circle),
        )
        X = mde.embed(snapshot_every=5)
        stats = mde.solve_stats
        assert stats.converged, stats.message
        assert torch.equal(X[leaves], circle)
        assert X[: leaves[0]].norm(dim=1).max() < 20  # inner nodes inside
        assert len(stats.snapshots) >= 2
        torch.testing.assert_close(stats.snapshots[-1], X)


class TestSolver:
    @pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
    def test_laplacian_eigenmap(self, dtype):
        edges, w = random_graph(150, 8)
        mde = MDE(
            150,
            2,
            edges,
            penalties.Quadratic(torch.tensor(w, dtype=dtype)),
            Standardized(),
        )
        X = mde.embed(eps=1e-8, max_iter=1000, random_state=0).double().numpy()
        L = np.zeros((150, 150))
        np.add.at(L, (edges[:, 0], edges[:, 1]), -w)
        np.add.at(L, (edges[:, 1], edges[:, 0]), -w)
        L[np.diag_indices(150)] = -L.sum(1)
        _, V = scipy.linalg.eigh(L, subset_by_index=[1, 2])
        U = V * math.sqrt(150)
        err = np.linalg.norm(skmde.align(X, U) - U) / np.linalg.norm(U)
        assert err < (1e-5 if dtype == torch.float64 else 1e-2)

    def test_solve_stats(self):
        mde = tutorial_problem()
        mde.embed(max_iter=7, eps=1e-12, random_state=0)
        s = mde.solve_stats
        assert s.iterations <= 7 and s.evaluations >= s.iterations
        for name in (
            "average_distortions",
            "residual_norms",
            "step_sizes",
            "relative_steps",
            "iteration_times",
        ):
            assert len(getattr(s, name)) == s.iterations + 1
        assert s.average_distortions[-1] <= s.average_distortions[0]
        assert s.solve_time > 0 and s.snapshots == []

    def test_eps_is_scale_free(self):
        # the same problem at two sizes and two units stops alike
        counts = []
        for n, scale in [(100, 1.0), (800, 1.0), (800, 100.0)]:
            edges, w = random_graph(n, 6, seed=1)
            deviations = torch.tensor(w * scale, dtype=torch.float64)
            mde = MDE(n, 2, edges, losses.Quadratic(deviations))
            mde.embed(eps=1e-4, max_iter=2000, random_state=0)
            assert mde.solve_stats.converged
            counts.append(mde.solve_stats.iterations)
        assert max(counts) < 3 * min(counts)

    def test_max_iter_zero_returns_the_start(self):
        mde = tutorial_problem()
        X0 = Standardized().initialization(5, 2)
        torch.testing.assert_close(mde.embed(X0, max_iter=0), X0)

    def test_seeded_random_init_is_reproducible(self):
        a = tutorial_problem().embed(random_state=4, max_iter=3)
        b = tutorial_problem().embed(random_state=4, max_iter=3)
        assert torch.equal(a, b)

    def test_verbose_prints_progress(self, capsys):
        tutorial_problem().embed(verbose=True, print_every=1, max_iter=3)
        err = capsys.readouterr().err
        assert "iteration     1" in err and "average distortion" in err

    def test_silent_by_default(self, capsys):
        tutorial_problem().embed()
        assert capsys.readouterr() == ("", "")

    def test_callback_can_stop(self):
        seen = []
        mde = tutorial_problem()
        mde.embed(callback=lambda it, X, stats: seen.append(it) or it == 2, eps=1e-12)
        assert seen == [0, 1, 2]
        assert mde.solve_stats.message == "stopped by callback"

    def test_custom_constraint(self):
        edges, w = random_graph(60, 5)
        mde = MDE(60, 3, edges, penalties.Quadratic(w), Sphere())
        X = mde.embed(random_state=0)
        torch.testing.assert_close(X.norm(dim=1), torch.ones(60, dtype=X.dtype))
        start = Sphere().initialization(
            60, 3, generator=torch.Generator().manual_seed(0), dtype=X.dtype
        )
        assert mde.average_distortion() < mde.average_distortion(start)

    def test_push_and_pull_centered(self):
        edges, _ = random_graph(80, 5)
        rng = np.random.default_rng(0)
        neg = rng.integers(0, 80, size=(300, 2))
        neg = neg[neg[:, 0] != neg[:, 1]]
        all_edges = np.vstack([edges, neg])
        w = np.concatenate([np.ones(len(edges)), -np.ones(len(neg))]).astype(np.float32)
        mde = MDE(80, 2, all_edges, skmde.PushAndPull(w))
        X = mde.embed(random_state=0)
        assert torch.isfinite(X).all()
        torch.testing.assert_close(X.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
        assert (
            mde.solve_stats.average_distortions[-1]
            < mde.solve_stats.average_distortions[0]
        )


@pytest.mark.parametrize("m", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gathered_rows(m, dtype):
    from skmde._problem import _gather_rows

    X = torch.randn(50, m, dtype=dtype)
    index = torch.randint(0, 50, (200,))
    for kind in (torch.int32, torch.int64):
        assert torch.equal(_gather_rows(X, index.to(kind)), X[index])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_distances_of_2d_embeddings_by_numpy_and_by_torch(dtype):
    # outside autograd a 2-d embedding's distances come from NumPy's complex
    # modulus; under autograd from torch: the same to a few units in the last place
    generator = torch.Generator().manual_seed(0)
    edges = torch.randint(0, 300, (2000, 2), generator=generator)
    edges = edges[edges[:, 0] != edges[:, 1]]
    weights = torch.ones(len(edges), dtype=dtype)
    mde = skmde.MDE(300, 2, edges, penalties.Quadratic(weights), dtype=dtype)
    X = torch.randn(300, 2, dtype=dtype, generator=generator)
    X[:5] *= 1e-20  # tiny and huge distances too
    X[5:10] *= 1e15
    plain = mde.distances(X)
    with torch.enable_grad():
        tracked = mde.distances(X.clone().requires_grad_(True)).detach()
    expected = torch.linalg.vector_norm(X[edges[:, 0]] - X[edges[:, 1]], dim=1)
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(plain, expected, rtol=4 * eps, atol=0)
    torch.testing.assert_close(tracked, expected, rtol=4 * eps, atol=0)


class TestDiagnostics:
    def test_distances_and_distortions(self):
        mde = tutorial_problem()
        X = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
        torch.testing.assert_close(mde.distances(X), torch.tensor([5.0, 1.0, 4.0, 3.0]))
        torch.testing.assert_close(
            mde.distortions(X), WEIGHTS * torch.tensor([25.0, 1.0, 16.0, 9.0])
        )
        assert mde.average_distortion(X) == pytest.approx((25 + 2 + 80 + 54) / 4)

    def test_high_distortion_pairs_sorted(self):
        mde = tutorial_problem()
        X = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
        pairs, distortions = mde.high_distortion_pairs(X)
        assert distortions.tolist() == [80.0, 54.0, 25.0, 2.0]
        assert pairs.tolist() == [[1, 2], [2, 3], [0, 1], [0, 4]]

    def test_need_an_embedding(self):
        with pytest.raises(ValueError, match="call embed"):
            tutorial_problem().distortions()

    def test_X_shape_checked(self):
        with pytest.raises(ValueError, match=r"X must have shape \(5, 2\)"):
            tutorial_problem().distances(torch.zeros(4, 2))


class TestFaults:
    def test_nan_mid_solve_says_where(self):
        calls = []

        def flaky(distances):
            calls.append(1)
            out = 1.0 * distances.pow(2)
            if len(calls) > 3:  # goes bad after a few evaluations
                out = torch.where(distances > 1.0, torch.nan, out)
            return out

        mde = MDE(5, 2, EDGES, flaky, Standardized())
        with pytest.raises(
            FloatingPointError,
            match=r"is NaN for \d+ of 4 edges \(first: edge \d+, items "
            r"\(\d, \d\), at distance .*iteration \d+; mde.X",
        ):
            mde.embed(random_state=0)
        assert mde.X is not None and torch.isfinite(mde.X).all()
        assert mde.constraint.is_feasible(mde.X)

    def test_nan_at_the_start(self):
        mde = MDE(5, 2, EDGES, lambda d: d * torch.nan, Standardized())
        with pytest.raises(FloatingPointError, match="at the initial embedding"):
            mde.embed()
        assert mde.X is None

    def test_unbounded_below_is_an_error(self):
        # log(d) is -inf when two items of an edge coincide
        mde = MDE(4, 2, [[0, 1], [1, 2], [2, 3]], lambda d: torch.log(d))
        X0 = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
        with pytest.raises(FloatingPointError, match="-inf"):
            mde.embed(X0)

    def test_non_differentiable_callable(self):
        mde = MDE(
            5, 2, EDGES, lambda d: torch.tensor(d.detach().numpy() ** 2), Standardized()
        )
        with pytest.raises(TypeError, match="differentiable torch operations"):
            mde.embed()

    def test_callable_with_wrong_output_shape(self):
        mde = MDE(5, 2, EDGES, lambda d: d.sum(), Standardized())
        with pytest.raises(ValueError, match=r"shape \(4,\)"):
            mde.embed()

    def test_coincident_repulsive_items_at_start(self):
        mde = MDE(3, 2, [[0, 1], [1, 2]], penalties.Log(torch.tensor([-1.0, -1.0])))
        with pytest.raises(ValueError, match="not finite at the initial embedding"):
            mde.embed(torch.zeros(3, 2))


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"edges": [[0, 5]]}, ValueError, r"edges must index items in \[0, 4\]"),
            ({"edges": [[-1, 2]]}, ValueError, "edges must index items"),
            ({"edges": [[1, 1], [0, 2]]}, ValueError, "self-loop"),
            ({"edges": [0, 1, 2]}, ValueError, r"shape \(n_edges, 2\)"),
            ({"edges": [[0, 1, 2]]}, ValueError, r"shape \(n_edges, 2\)"),
            ({"edges": [[0.5, 1.0]]}, TypeError, "edges must hold integers"),
            ({"edges": [[True, False]]}, TypeError, "edges must hold integers"),
            ({"edges": np.zeros((0, 2), dtype=int)}, ValueError, "must not be empty"),
            ({"edges": "0,1"}, TypeError, "edges must be numeric"),
            ({"n_items": 1}, ValueError, "n_items must be >= 2"),
            ({"n_items": 5.0}, TypeError, "n_items must be an integer"),
            ({"embedding_dim": 0}, ValueError, "embedding_dim must be >= 1"),
            (
                {"distortion_function": penalties.Quadratic([1.0, 2.0])},
                ValueError,
                "holds 2 weights, but there are 4 edges",
            ),
            ({"distortion_function": 3}, TypeError, "distortion_function must be"),
            ({"constraint": 3}, TypeError, "constraint must be None, 'centered'"),
            ({"constraint": "sphere"}, ValueError, "unknown constraint 'sphere'"),
            (
                {
                    "n_items": 2,
                    "edges": [[0, 1]],
                    "distortion_function": penalties.Quadratic([1.0]),
                    "constraint": Standardized(),
                },
                ValueError,
                "n_items > embedding_dim",
            ),
            (
                {"constraint": Anchored([0, 9], [[0.0, 0.0], [1, 1]])},
                ValueError,
                "anchors must be < n_items=5",
            ),
            (
                {"constraint": Anchored([0], [[0.0, 0.0, 0.0]])},
                ValueError,
                "embedding_dim=2 columns",
            ),
            ({"device": "tpu:7"}, ValueError, "device must be"),
            ({"device": 3}, TypeError, "device must be"),
            ({"dtype": torch.int32}, ValueError, "dtype must be"),
        ],
    )
    def test_constructor(self, kwargs, error, match):
        args = {
            "n_items": 5,
            "embedding_dim": 2,
            "edges": EDGES,
            "distortion_function": penalties.Quadratic(WEIGHTS),
        }
        args.update(kwargs)
        with pytest.raises(error, match=match):
            MDE(**args)

    def test_constraint_by_name(self):
        mde = tutorial_problem(constraint="standardized")
        assert isinstance(mde.constraint, Standardized)

    def test_nan_in_weights(self):
        with pytest.raises(ValueError, match="weights must be finite; it contains NaN"):
            penalties.Quadratic(torch.tensor([1.0, float("nan"), 1.0, 1.0]))

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"X": torch.zeros(4, 2)}, ValueError, r"X must have shape \(5, 2\)"),
            ({"X": torch.ones(5, 2)}, ValueError, "does not satisfy the constraint"),
            ({"X": torch.full((5, 2), float("nan"))}, ValueError, "X must be finite"),
            ({"eps": 0}, ValueError, "eps must be > 0"),
            ({"max_iter": -1}, ValueError, "max_iter must be >= 0"),
            ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
            ({"memory_size": 0}, ValueError, "memory_size must be >= 1"),
            ({"snapshot_every": 0}, ValueError, "snapshot_every must be >= 1"),
            ({"print_every": 0}, ValueError, "print_every must be >= 1"),
            ({"random_state": -3}, ValueError, "random_state must be >= 0"),
        ],
    )
    def test_embed(self, kwargs, error, match):
        with pytest.raises(error, match=match):
            tutorial_problem().embed(**kwargs)


@pytest.mark.parametrize("make", ["pushpull", "loss", "callable"])
def test_chunked_objective_matches_whole(monkeypatch, make):
    import skmde._problem as problem_module

    edges, w = random_graph(120, 6)
    rng = np.random.default_rng(1)
    negative = np.sort(rng.integers(0, 120, size=(300, 2)), axis=1)
    negative = negative[negative[:, 0] != negative[:, 1]]
    all_edges = np.vstack([edges, negative])
    signs = np.concatenate([w, -0.5 * np.ones(len(negative))])
    functions = {
        "pushpull": lambda: skmde.PushAndPull(torch.tensor(signs, dtype=torch.float64)),
        "loss": lambda: losses.Huber(torch.tensor(np.abs(signs) + 1.0)),
        "callable": lambda: lambda d: d.square().sum() * 0 + d.square(),
    }
    X = torch.randn(120, 2, dtype=torch.float64)
    X -= X.mean(0)
    whole = MDE(120, 2, all_edges, functions[make](), dtype=torch.float64)
    value, grad = whole._objective(X)
    monkeypatch.setattr(problem_module, "CHUNK_EDGES", 37)
    chunked = MDE(120, 2, all_edges, functions[make](), dtype=torch.float64)
    chunk_value, chunk_grad = chunked._objective(X)
    if make != "callable":
        assert len(chunked._chunks()) > 1
    torch.testing.assert_close(chunk_value, value, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(chunk_grad, grad, rtol=1e-10, atol=1e-12)


def test_gradient_matches_finite_differences():
    edges, w = random_graph(40, 4)
    signs = np.concatenate([w, -np.ones(30)])
    rng = np.random.default_rng(2)
    negative = np.sort(rng.integers(0, 40, size=(40, 2)), axis=1)
    negative = negative[negative[:, 0] != negative[:, 1]][:30]
    mde = MDE(
        40,
        3,
        np.vstack([edges, negative]),
        skmde.PushAndPull(torch.tensor(signs[: len(edges) + len(negative)])),
        dtype=torch.float64,
    )
    X = torch.randn(40, 3, dtype=torch.float64)
    assert_objective_gradient_matches_finite_differences(
        mde, X, [(0, 0), (5, 2), (17, 1), (39, 0)], rel=1e-5, abs=1e-9
    )


def test_differences_to_and_pymde_solve_stats():
    edges = torch.tensor([[0, 1], [1, 2], [2, 0], [0, 3]])
    mde = skmde.MDE(
        4, 2, edges, skmde.penalties.Quadratic(torch.ones(4)), "standardized"
    )
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0], [-1.0, 0.5], [4.0, -2.0]])
    diff = mde.differences(X)
    torch.testing.assert_close(diff, X[edges[:, 0]] - X[edges[:, 1]])
    torch.testing.assert_close(mde.distances(X), diff.norm(dim=1))
    with pytest.raises(ValueError, match="call embed"):
        mde.differences()
    mde.X_init = mde.constraint.project_onto_constraint(X.clone())
    assert mde.to("cpu") is mde and mde.X_init.device.type == "cpu"
    Z = mde.embed(snapshot_every=2, max_iter=6, eps=1e-12)
    torch.testing.assert_close(mde.differences(), Z[edges[:, 0]] - Z[edges[:, 1]])
    stats = mde.solve_stats
    assert stats.snapshot_every == 2
    np.testing.assert_allclose(stats.times, np.cumsum(stats.iteration_times))
    assert len(stats.times) == len(stats.average_distortions)
    assert np.isnan(stats.step_size_percents[0])
    np.testing.assert_allclose(
        stats.step_size_percents[1:], 100 * np.array(stats.relative_steps[1:])
    )


@pytest.mark.parametrize("chunk_edges", [16, 1 << 18])
def test_average_distortion_is_summed_chunk_by_chunk(monkeypatch, chunk_edges):
    # evaluated as the solver does (no temporaries over all edges), it equals
    # the mean of the per-edge distortions, before and after a solve
    import skmde._problem as problem_module

    monkeypatch.setattr(problem_module, "CHUNK_EDGES", chunk_edges)
    rng = np.random.default_rng(0)
    edges = np.unique(np.sort(rng.integers(0, 50, size=(300, 2)), axis=1), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    w = torch.from_numpy(np.where(np.arange(len(edges)) < 80, 1.0, -0.5)).float()
    mde = skmde.MDE(50, 2, edges, skmde.PushAndPull(w))
    X = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    X -= X.mean(dim=0)
    expected = float(mde.distortions(X).double().mean())
    assert float(mde.average_distortion(X)) == pytest.approx(expected, rel=1e-6)
    Z = mde.embed(X=X, max_iter=5)
    assert float(mde.average_distortion()) == pytest.approx(
        float(mde.distortions(Z).double().mean()), rel=1e-6
    )
    # differentiable when X requires grad, as before
    Y = X.clone().requires_grad_(True)
    mde.average_distortion(Y).backward()
    assert Y.grad is not None and torch.isfinite(Y.grad).all()


def test_problem_keeps_its_pairs_compactly(monkeypatch):
    """The pairs live once, as int32 index columns (``edges`` is rebuilt as
    int64 on access), and every chunk's incidence matrix takes its values
    from one shared tensor of ones; the gradient is still S^T (x_i - x_j)."""
    import skmde._problem as problem_module

    monkeypatch.setattr(problem_module, "CHUNK_EDGES", 64)
    edges, w = random_graph(50, 6)
    mde = skmde.MDE(50, 2, edges, penalties.Quadratic(torch.tensor(w)))
    assert "edges" not in vars(mde) and mde._tail.dtype == torch.int32
    assert mde.edges.dtype == torch.int64
    np.testing.assert_array_equal(mde.edges.numpy(), edges)
    chunks = mde._chunks()
    assert len(chunks) > 2
    storage = {chunk[3].values().untyped_storage().data_ptr() for chunk in chunks}
    assert storage == {mde._ones.untyped_storage().data_ptr()}
    X = torch.randn(50, 2, dtype=torch.float64)
    X.requires_grad_(True)
    d = torch.linalg.vector_norm(X[edges[:, 0]] - X[edges[:, 1]], dim=1)
    (torch.tensor(w) * d.square()).mean().backward()
    _, G = mde._objective(X.detach())
    np.testing.assert_allclose(G.numpy(), X.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_solve_stats_is_one_class_at_every_path():
    # defined in skmde.optim (PyMDE's path); pickles written when it lived in
    # skmde._problem still load
    import pickle

    import skmde._problem
    import skmde.optim

    assert skmde.SolveStats is skmde.optim.SolveStats is skmde._problem.SolveStats
    stats = skmde.SolveStats(iterations=3, message="done")
    old = pickle.dumps(stats, protocol=0).replace(b"skmde.optim", b"skmde._problem")
    assert b"skmde._problem" in old
    assert pickle.loads(old) == stats
