"""The two-phase solve of MDENeighbors (gather, then refine) and the
replaceable distortion function it relies on."""

import functools

import numpy as np
import pytest
import scipy.sparse
import torch
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness

import skmde
from skmde import _problem, _refine, penalties
from skmde.datasets import load_mnist


@pytest.fixture(scope="module")
def digits():
    return load_digits().data.astype(np.float32)


def _problem_pair(rng, n=60, p=400):
    edges = np.unique(np.sort(rng.integers(0, n, size=(p, 2)), axis=1), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    w = torch.from_numpy(np.where(rng.random(len(edges)) < 0.3, 1.0, -0.5)).float()
    pull = functools.partial(penalties.Log1p, exponent=1.5)
    first = penalties.PushAndPull(w, pull, penalties.Log)
    second = penalties.PushAndPull(
        w * 2, functools.partial(penalties.Log1p, exponent=1.25), penalties.Log
    )
    return edges, first, second


class TestReplaceDistortionFunction:
    @pytest.mark.parametrize("chunk_edges", [1 << 18, 16])
    def test_solving_after_a_swap_is_solving_the_new_problem(
        self, rng, monkeypatch, chunk_edges
    ):
        # the solver's per-edge structures are built at the first solve; with
        # small chunks the edges span several of them
        monkeypatch.setattr(_problem, "CHUNK_EDGES", chunk_edges)
        edges, first, second = _problem_pair(rng)
        mde = skmde.MDE(60, 2, edges, first)
        X = mde.embed(max_iter=20, random_state=0)
        built = [S for *_, S in mde._chunks()]
        mde.distortion_function = second
        swapped = mde.embed(X=X, max_iter=30)
        # the incidence matrices were kept, not rebuilt
        assert all(a is b for a, b in zip(built, [S for *_, S in mde._chunks()]))
        fresh = skmde.MDE(60, 2, edges, second).embed(X=X, max_iter=30)
        torch.testing.assert_close(swapped, fresh)
        assert mde.distortion_function is not first
        assert float(mde.average_distortion(swapped)) == pytest.approx(
            float(second(mde.distances(swapped)).mean()), rel=1e-6
        )

    def test_a_plain_callable_replaces_a_penalty(self, rng):
        edges, first, _ = _problem_pair(rng)
        mde = skmde.MDE(60, 2, edges, first)
        X = mde.embed(max_iter=5, random_state=0)
        mde.distortion_function = lambda d: d**2
        assert float(mde.average_distortion(X)) == pytest.approx(
            float((mde.distances(X) ** 2).mean()), rel=1e-6
        )
        mde.embed(X=X, max_iter=5)  # rebuilt unchunked, solvable

    def test_bad_replacements_are_refused(self, rng):
        edges, first, _ = _problem_pair(rng)
        mde = skmde.MDE(60, 2, edges, first)
        with pytest.raises(TypeError, match="distortion_function must be callable"):
            mde.distortion_function = "log1p"
        with pytest.raises(ValueError, match="edges; they must match one to one"):
            mde.distortion_function = penalties.Log1p(torch.ones(3))
        assert mde.distortion_function is first


class TestRefinedPenalties:
    def test_log1p_pull_sharpened_and_repulsion_tripled(self):
        w = torch.tensor([1.0, 0.5, -0.5, -0.5])
        f = penalties.PushAndPull(w, penalties.Log1p, penalties.Log)
        factory, values = _refine.refined_penalties(
            f, penalties.Log1p, penalties.Log, w
        )
        torch.testing.assert_close(values, torch.tensor([1.0, 0.5, -1.5, -1.5]))
        g = factory(values)
        assert g.attractive_penalty.exponent == pytest.approx(1.25)
        assert isinstance(g.repulsive_penalty, penalties.Log)
        d = torch.tensor([0.5, 2.0, 1.0, 3.0])
        expected = torch.cat(
            [
                w[:2] * torch.log1p(d[:2] ** 1.25),
                -1.5 * torch.log(-torch.expm1(-d[2:])),
            ]
        )
        torch.testing.assert_close(g(d), expected)

    def test_a_custom_exponent_is_lowered_by_a_sixth(self):
        w = torch.tensor([1.0, -0.5])
        pull = functools.partial(penalties.Log1p, exponent=2.0)
        f = penalties.PushAndPull(w, pull, penalties.Log)
        factory, _ = _refine.refined_penalties(f, pull, penalties.Log, w)
        assert factory(w).attractive_penalty.exponent == pytest.approx(5 / 3)

    def test_other_pulls_and_no_repulsion_are_left_alone(self):
        w = torch.tensor([1.0, -0.5])
        quadratic = penalties.PushAndPull(w, penalties.Quadratic, penalties.Log)
        assert (
            _refine.refined_penalties(quadratic, penalties.Quadratic, penalties.Log, w)
            is None
        )
        pulls_only = penalties.PushAndPull(torch.ones(2), penalties.Log1p)
        assert pulls_only.repulsive_penalty is None
        assert (
            _refine.refined_penalties(pulls_only, penalties.Log1p, penalties.Log, w)
            is None
        )

    @pytest.mark.parametrize(
        ("refine", "n", "expected"),
        [
            ("auto", 1499, False),
            ("auto", 1500, True),
            (True, 10, True),
            (False, 10**6, False),
        ],
    )
    def test_wanted(self, refine, n, expected):
        assert _refine.wanted(refine, n) is expected


class TestSolve:
    def test_halves_and_callback_counts_across_phases(self, rng):
        edges, first, second = _problem_pair(rng)
        mde = skmde.MDE(60, 2, edges, first)
        mde.X_init = mde.constraint.initialization(
            60, 2, generator=torch.Generator().manual_seed(0)
        )
        seen = []
        Z, done = _refine.solve(
            mde,
            second,
            eps=1e-12,
            max_iter=41,
            memory_size=10,
            callback=lambda i, X, stats: seen.append(i),
        )
        assert done == 41 and seen == list(range(42))
        assert mde.distortion_function is not first  # the refined one stays
        # the same as solving 20 iterations of one, then 21 of the other
        again = skmde.MDE(60, 2, edges, first)
        X = again.embed(X=mde.X_init, eps=1e-12, max_iter=20)
        again.distortion_function = second
        torch.testing.assert_close(Z, again.embed(X=X, eps=1e-12, max_iter=21))

    def test_without_refinement_it_is_embed(self, rng):
        edges, first, _ = _problem_pair(rng)
        mde = skmde.MDE(60, 2, edges, first)
        mde.X_init = mde.constraint.initialization(
            60, 2, generator=torch.Generator().manual_seed(0)
        )
        Z, done = _refine.solve(mde, None, eps=1e-5, max_iter=30, memory_size=10)
        assert done == mde.solve_stats.iterations <= 30
        assert mde.distortion_function is first


class TestEstimator:
    def test_auto_refines_from_1500_samples(self, digits):
        big = skmde.MDENeighbors(random_state=0, max_iter=20).fit(digits)
        pull = big.problem().distortion_function.attractive_penalty
        assert pull.exponent == pytest.approx(1.25)
        assert big.n_iter_ == 20
        small = skmde.MDENeighbors(random_state=0, max_iter=20).fit(digits[:500])
        # solved in one phase: the one-phase pull (recipes ONE_PHASE_EXPONENT)
        assert small.problem().distortion_function.attractive_penalty.exponent == 1.6
        forced = skmde.MDENeighbors(random_state=0, max_iter=20, refine=True)
        forced.fit(digits[:500])
        pull = forced.problem().distortion_function.attractive_penalty
        assert pull.exponent == pytest.approx(1.25)
        off = skmde.MDENeighbors(random_state=0, max_iter=20, refine=False).fit(digits)
        assert off.problem().distortion_function.attractive_penalty.exponent == 1.6

    def test_the_fitted_problem_is_the_refined_one(self, digits):
        model = skmde.MDENeighbors(random_state=0, max_iter=30).fit(digits)
        f = model.problem().distortion_function
        w = f.weights
        # the default's total repulsive weight (0.5 for each of 4 pairs per
        # neighbour pair, spread over more pairs), tripled
        repulsive = w[w < 0]
        assert (repulsive == repulsive[0]).all()
        total = float(repulsive.sum(dtype=torch.float64))
        assert total == pytest.approx(-0.5 * 4 * 3 * int((w > 0).sum()), rel=1e-6)
        assert model.average_distortion_ == pytest.approx(
            float(model.problem().average_distortion(model.embedding_)), rel=1e-4
        )
        # new samples are placed with the refined penalties
        spec = model._transform_spec
        assert spec.attractive(torch.ones(1)).exponent == pytest.approx(1.25)
        assert spec.repulsive_weight == pytest.approx(0.5 * 4 * 3)
        np.testing.assert_allclose(
            model.transform(digits[:20]), model.embedding_[:20], atol=1e-5
        )

    def test_bad_refine_is_refused(self, digits):
        with pytest.raises(ValueError, match="'refine' parameter"):
            skmde.MDENeighbors(refine="yes").fit(digits[:100])

    def test_refine_raises_trustworthiness(self, mnist_dir):
        bunch = load_mnist(mnist_dir, subset="test", download=False)
        rows = np.random.default_rng(0).choice(10_000, 4000, replace=False)
        X = bunch.data[rows]
        trust = {}
        for refine in (False, True):
            Z = skmde.MDENeighbors(random_state=0, refine=refine).fit_transform(X)
            trust[refine] = trustworthiness(X, Z, n_neighbors=10)
        # measured: 0.959 -> 0.968 (median of three seeds)
        assert trust[True] > trust[False] + 0.004


def test_items_that_round_to_one_point_in_float32_are_separated():
    # duplicate rows (many all-zero ones) get spectral coordinates equal to
    # ~1e-12: equal in float32, where a repulsive pair between them would be
    # infinite
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 3))
    X[X < 0.6] = 0
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    model = skmde.MDENeighbors(metric="precomputed", random_state=0)
    Z = model.fit_transform(scipy.sparse.csr_array(D))
    assert np.isfinite(Z).all() and model.n_iter_ > 0


def test_the_user_guide_schedule_with_the_core(digits):
    # doc/user_guide/estimators.rst: the two phases by hand
    mde = skmde.preserve_neighbors(digits, random_state=0)
    Z = mde.embed(max_iter=100)
    w = mde.distortion_function.weights
    mde.distortion_function = penalties.PushAndPull(
        torch.where(w > 0, w, 3 * w),
        functools.partial(penalties.Log1p, exponent=1.25),
        penalties.Log,
    )
    Z = mde.embed(X=Z, max_iter=100)
    model = skmde.MDENeighbors(random_state=0).fit(digits)
    by_hand = trustworthiness(digits, Z.numpy(), n_neighbors=10)
    fitted = trustworthiness(digits, model.embedding_, n_neighbors=10)
    assert by_hand == pytest.approx(fitted, abs=0.003)
    assert float(mde.average_distortion(Z)) == pytest.approx(
        float(mde.distortion_function(mde.distances(Z)).mean()), rel=1e-6
    )
