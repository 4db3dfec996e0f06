import math

import pytest
import torch

from skmde import Anchored, Centered, Constraint, Standardized


class Sphere(Constraint):
    """Every embedding vector on the unit sphere (a user-defined constraint)."""

    name = "sphere"

    def initialization(
        self, n_items, embedding_dim, device=None, generator=None, dtype=None
    ):
        X = torch.randn(n_items, embedding_dim, generator=generator, dtype=dtype)
        return self.project_onto_constraint(X.to(device))

    def project_onto_constraint(self, X, inplace=False):
        return X / X.norm(dim=1, keepdim=True)

    def project_onto_tangent_space(self, X, G, inplace=False):
        return G - (G * X).sum(dim=1, keepdim=True) * X


def anchored():
    return Anchored(
        torch.tensor([0, 3, 5]), torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, -1.0]])
    )


CONSTRAINTS = [Centered, Standardized, anchored, Sphere]


def feasible(constraint, X):
    n = X.shape[0]
    if isinstance(constraint, Centered):
        return torch.allclose(
            X.mean(0), torch.zeros(X.shape[1], dtype=X.dtype), atol=1e-10
        )
    if isinstance(constraint, Standardized):
        return torch.allclose(
            X.T @ X / n, torch.eye(X.shape[1], dtype=X.dtype), atol=1e-10
        ) and torch.allclose(
            X.mean(0), torch.zeros(X.shape[1], dtype=X.dtype), atol=1e-10
        )
    if isinstance(constraint, Anchored):
        return torch.equal(X[constraint.anchors], constraint.values.to(X.dtype))
    return torch.allclose(X.norm(dim=1), torch.ones(n, dtype=X.dtype))


def in_tangent_space(constraint, X, Z):
    n = X.shape[0]
    if isinstance(constraint, Centered):
        return torch.allclose(
            Z.sum(0), torch.zeros(X.shape[1], dtype=X.dtype), atol=1e-10
        )
    if isinstance(constraint, Standardized):
        sym = X.T @ Z + Z.T @ X
        return torch.allclose(sym, torch.zeros_like(sym), atol=1e-9) and torch.allclose(
            Z.sum(0), torch.zeros(X.shape[1], dtype=X.dtype), atol=1e-9
        )
    if isinstance(constraint, Anchored):
        return bool((Z[constraint.anchors] == 0).all())
    return torch.allclose((Z * X).sum(1), torch.zeros(n, dtype=X.dtype), atol=1e-12)


@pytest.mark.parametrize("make", CONSTRAINTS)
def test_initialization_is_feasible(make):
    c = make()
    X = c.initialization(
        20, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    assert X.shape == (20, 2)
    assert feasible(c, X)
    assert c.is_feasible(X)


@pytest.mark.parametrize("make", CONSTRAINTS)
def test_projection_is_feasible_and_idempotent(make):
    c = make()
    Y = torch.randn(20, 2, dtype=torch.float64) * 3 + 1
    P = c.project_onto_constraint(Y)
    assert feasible(c, P)
    torch.testing.assert_close(c.project_onto_constraint(P), P)
    assert not torch.equal(P, Y)  # not in place by default


@pytest.mark.parametrize("make", CONSTRAINTS)
def test_tangent_projection(make):
    c = make()
    X = c.initialization(20, 2, dtype=torch.float64)
    G = torch.randn(20, 2, dtype=torch.float64)
    Z = c.project_onto_tangent_space(X, G)
    assert in_tangent_space(c, X, Z)
    torch.testing.assert_close(c.project_onto_tangent_space(X, Z), Z)
    # an orthogonal projection: the residual is orthogonal to the tangent vector
    assert abs(float(((G - Z) * Z).sum())) < 1e-9


def test_standardized_natural_length():
    n, m = 50, 3
    X = Standardized().initialization(n, m, dtype=torch.float64)
    d = torch.pdist(X)
    rms = math.sqrt(float((d**2).mean()))
    assert math.isclose(rms, Standardized().natural_length(n, m), rel_tol=1e-9)


def test_standardized_projection_is_the_polar_factor():
    Y = torch.randn(30, 2, dtype=torch.float64)
    Yc = Y - Y.mean(0)
    U, _, Vh = torch.linalg.svd(Yc, full_matrices=False)
    torch.testing.assert_close(
        Standardized().project_onto_constraint(Y), math.sqrt(30) * U @ Vh
    )


def test_standardized_float32():
    X = Standardized().project_onto_constraint(torch.randn(1000, 2) * 1e3)
    torch.testing.assert_close(X.T @ X / 1000, torch.eye(2), atol=1e-5, rtol=0)


def test_standardized_needs_more_items_than_dimensions():
    with pytest.raises(ValueError, match="n_items > embedding_dim"):
        Standardized().check(3, 3)


class TestAnchoredValidation:
    def test_float_anchors_from_the_tutorial(self):
        c = Anchored(torch.tensor([0.0, 1.0, 3.0]), torch.zeros(3, 2))
        assert c.anchors.dtype == torch.int64

    @pytest.mark.parametrize(
        ("anchors", "values", "error", "match"),
        [
            ([0, 0], [[0.0], [1.0]], ValueError, "duplicates"),
            ([-1], [[0.0]], ValueError, "nonnegative"),
            ([0.5], [[0.0]], TypeError, "anchors must hold integers"),
            ([0, 1], [[0.0]], ValueError, "one row per anchor"),
            ([0], [0.0], ValueError, "values must be a 2-D"),
            ([], np_empty := [], ValueError, "non-empty"),
            ([0], [[float("nan")]], ValueError, "values must be finite"),
        ],
    )
    def test_bad_input(self, anchors, values, error, match):
        with pytest.raises(error, match=match):
            Anchored(anchors, values)

    def test_check_against_problem(self):
        c = Anchored([0, 7], [[0.0, 0.0], [1.0, 1.0]])
        with pytest.raises(ValueError, match="anchors must be < n_items=5"):
            c.check(5, 2)
        with pytest.raises(ValueError, match="embedding_dim=3 columns"):
            c.check(10, 3)


class PyMDESphere(Constraint):
    """Written to PyMDE's documented interface, word for word."""

    def name(self):
        return "sphere"

    def initialization(self, n_items, embedding_dim, device=None):
        X = torch.randn(n_items, embedding_dim)
        return X / X.norm(dim=1, keepdim=True)

    def project_onto_constraint(self, Z, inplace=True):
        return Z / Z.norm(dim=1, keepdim=True)

    def project_onto_tangent_space(self, X, Z, inplace=True):
        return Z - (Z * X).sum(dim=1, keepdim=True) * X


def test_pymde_interface_constraint_from_a_random_start():
    # skmde passed generator= and dtype= to initialization: TypeError
    from skmde import MDE, penalties

    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0]])
    before = torch.random.get_rng_state()
    runs = [
        MDE(5, 3, edges, penalties.Quadratic(torch.ones(5)), PyMDESphere()).embed(
            random_state=seed, max_iter=20
        )
        for seed in (1, 1, 2)
    ]
    assert torch.equal(torch.random.get_rng_state(), before)  # global RNG intact
    torch.testing.assert_close(runs[0].norm(dim=1), torch.ones(5))
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])
    f64 = MDE(5, 3, edges, penalties.Quadratic(torch.ones(5, dtype=torch.float64)))
    f64.constraint = PyMDESphere()
    assert f64.embed(random_state=0, max_iter=5).dtype == torch.float64


@pytest.mark.parametrize("make", [Centered, Standardized, anchored])
def test_initialization_follows_the_generator(make):
    c = make()

    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return c.initialization(20, 2, generator=generator, dtype=torch.float64)

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))
    assert draw(0).dtype == torch.float64
    assert c.initialization(20, 2).dtype == torch.float32


def test_anchored_initialization_takes_the_anchors_dtype():
    c = Anchored([0, 1], torch.zeros(2, 2, dtype=torch.float64))
    assert c.initialization(5, 2).dtype == torch.float64
    assert c.initialization(5, 2, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("make", [Centered, Standardized, anchored])
def test_in_place_projections_write_into_their_argument(make):
    c = make()
    X = torch.randn(20, 2, dtype=torch.float64) * 2 + 3
    expected = c.project_onto_constraint(X)
    out = c.project_onto_constraint(X, inplace=True)
    assert out is X
    torch.testing.assert_close(X, expected)
    G = torch.randn(20, 2, dtype=torch.float64) + 1
    expected = c.project_onto_tangent_space(X, G)
    untouched = G.clone()
    assert torch.equal(c.project_onto_tangent_space(X, G, inplace=False), expected)
    assert torch.equal(G, untouched)  # not in place by default
    out = c.project_onto_tangent_space(X, G, inplace=True)
    assert out is G
    torch.testing.assert_close(G, expected)


def test_is_feasible_is_relative_to_the_size_of_x():
    c = Centered()
    assert c.is_feasible(torch.zeros(4, 2))  # the origin is centred
    shifted = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    assert not c.is_feasible(shifted)
    assert not c.is_feasible(1e-8 * shifted)  # tiny, but not centred
    assert not c.is_feasible(1e8 * shifted)
    nearly = torch.tensor([[-1.0, 0.0], [1.0 + 1e-6, 0.0]], dtype=torch.float64)
    assert c.is_feasible(nearly) and not c.is_feasible(nearly, rtol=1e-8)
    big = 1e6 * nearly
    assert c.is_feasible(big) and not c.is_feasible(big, rtol=1e-8)


@pytest.mark.parametrize(
    "Y",
    [
        torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),  # rank 1
        torch.tensor([[1.0, 0.0], [2.0, 1e-7], [3.0, 0.0], [4.0, 0.0]]),  # nearly
        torch.zeros(4, 2),  # all in one point
    ],
)
def test_standardized_projection_of_degenerate_embeddings(Y):
    # the eigenproblem cannot invert a (nearly) singular covariance: the SVD's
    # polar factor still gives a feasible point, in the input's dtype
    P = Standardized().project_onto_constraint(Y.double())
    assert P.dtype == torch.float64 and torch.isfinite(P).all()
    Yc = Y.double() - Y.double().mean(0)
    U, _, Vh = torch.linalg.svd(Yc, full_matrices=False)
    torch.testing.assert_close(P, 2.0 * U @ Vh)
    assert Standardized().project_onto_constraint(Y).dtype == torch.float32


def test_get_names_and_instances():
    from skmde import constraints

    assert type(constraints.get("centered")) is Centered
    assert type(constraints.get("Standardized")) is Standardized
    sphere = Sphere()
    assert constraints.get(sphere) is sphere
    assert constraints.get(None) is None
    assert constraints.get(None, default=sphere) is sphere
    with pytest.raises(
        ValueError,
        match=r"unknown constraint 'sphere'; expected 'centered', 'standardized' "
        r"or a Constraint instance\.",
    ):
        constraints.get("sphere")
    with pytest.raises(TypeError, match="got int"):
        constraints.get(3)


def test_messages_name_the_problem():
    with pytest.raises(
        ValueError, match=r"^Standardized needs n_items > embedding_dim"
    ):
        Standardized().check(2, 2)
    Standardized().check(3, 2)
    with pytest.raises(ValueError, match=r"^anchors must be nonnegative item indices"):
        Anchored([-2], [[0.0]])
    with pytest.raises(ValueError, match=r"^anchors must not contain duplicates\.$"):
        Anchored([1, 1], [[0.0], [0.0]])
    with pytest.raises(ValueError, match=r"one row per anchor \(2\); got 3 rows"):
        Anchored([0, 1], [[0.0, 1.0]] * 3)
    c = Anchored([0, 4], [[0.0], [1.0]])
    c.check(5, 1)  # the largest anchor is the last item
    with pytest.raises(ValueError, match="anchors must be < n_items=4; got 4"):
        c.check(4, 1)
    assert repr(c) == "Anchored(n_anchors=2)"
    assert c.to() is c and c.to(dtype=torch.float64).values.dtype == torch.float64


class KeywordsSphere(Sphere):
    def initialization(self, n_items, embedding_dim, **options):
        self.options = options
        return super().initialization(n_items, embedding_dim, **options)


@pytest.mark.parametrize("make", [PyMDESphere, KeywordsSphere, Sphere])
def test_initialize_adapts_to_the_signature(make):
    from skmde.constraints import initialize

    c = make()

    def start(seed):
        generator = torch.Generator().manual_seed(seed)
        return initialize(c, 6, 3, "cpu", generator, torch.float64)

    X = start(0)
    assert X.shape == (6, 3) and X.dtype == torch.float64
    torch.testing.assert_close(X.norm(dim=1), torch.ones(6, dtype=torch.float64))
    assert torch.equal(start(0), start(0)) and not torch.equal(start(0), start(1))
    if make is KeywordsSphere:
        assert set(c.options) == {"device", "generator", "dtype"}


def test_standardized_projection_of_an_ill_conditioned_embedding():
    # condition number ~1e12: the eigenproblem would lose 1e-4 of accuracy;
    # the SVD keeps the polar factor exact
    Y = torch.randn(
        50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    Y[:, 2] = Y[:, 0] + 1e-6 * Y[:, 2]
    Y = Y * 1e6
    Yc = Y - Y.mean(0)
    U, _, Vh = torch.linalg.svd(Yc, full_matrices=False)
    torch.testing.assert_close(
        Standardized().project_onto_constraint(Y),
        math.sqrt(50) * U @ Vh,
        rtol=0,
        atol=1e-10,
    )


class RecordingSphere(Sphere):
    calls = []

    def initialization(
        self, n_items, embedding_dim, device=None, generator=None, dtype=None
    ):
        RecordingSphere.calls.append((generator, dtype))
        return super().initialization(n_items, embedding_dim, device, generator, dtype)


def test_initialize_passes_generator_and_dtype_to_constraints_that_take_them():
    from skmde.constraints import initialize

    RecordingSphere.calls = []
    generator = torch.Generator().manual_seed(0)
    X = initialize(RecordingSphere(), 4, 2, "cpu", generator, torch.float64)
    assert RecordingSphere.calls == [(generator, torch.float64)]
    assert X.dtype == torch.float64


def test_pymde_style_starts_take_many_distinct_seeds():
    from skmde.constraints import initialize

    starts = {
        tuple(
            initialize(
                PyMDESphere(), 3, 2, "cpu", torch.Generator().manual_seed(s), None
            )
            .flatten()
            .tolist()
        )
        for s in range(40)
    }
    assert len(starts) == 40


def test_get_refuses_other_types_with_the_accepted_ones():
    from skmde import constraints

    with pytest.raises(
        TypeError,
        match=r"^constraint must be None, 'centered', 'standardized' or a Constraint; "
        r"got int\.$",
    ):
        constraints.get(3)


def test_the_base_class_names_what_to_implement():
    c = Constraint()
    assert repr(c) == "Constraint()"
    assert c.natural_length(10, 2) is None and c.to() is c
    c.check(5, 2)  # accepts every size
    for call in (
        lambda: c.initialization(3, 2),
        lambda: c.project_onto_constraint(torch.zeros(3, 2)),
        lambda: c.project_onto_tangent_space(torch.zeros(3, 2), torch.zeros(3, 2)),
    ):
        with pytest.raises(NotImplementedError):
            call()
