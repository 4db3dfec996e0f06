import functools
import math
import warnings

import numpy as np
import pytest
import torch

from skmde import PushAndPull, penalties

from ._checks import (
    assert_derivative_matches_finite_differences,
    assert_second_derivative_matches_finite_differences,
)

D = torch.tensor([0.0, 0.05, 0.4, 0.5, 0.9, 1.0, 2.3, 7.0], dtype=torch.float64)
POS = D[1:]  # repulsive penalties are infinite at 0


def expected(name, d, w, **kw):
    """Hand formulas from the reference, in numpy."""
    d = d.numpy()
    p = {
        "Linear": lambda: d,
        "Quadratic": lambda: d**2,
        "Cubic": lambda: d**3,
        "Power": lambda: d ** kw["exponent"],
        "Huber": lambda: np.where(d < 0.5, d**2 / 2, 0.5 * (d - 0.25)),
        "Logistic": lambda: np.log1p(np.exp(3.0 * d)),
        "Log1p": lambda: np.log1p(d**1.5),
        "Log": lambda: np.log(1 - np.exp(-d)),
        "LogRatio": lambda: np.log(d**2 / (1 + d**2)),
        "InvPower": lambda: 1 / d,
    }[name]()
    if name == "InvPower":
        return np.abs(w) * p
    return w * p


CASES = [
    ("Linear", {}, D),
    ("Quadratic", {}, D),
    ("Cubic", {}, D),
    ("Power", {"exponent": 2.5}, D),
    ("Huber", {}, D),
    ("Logistic", {}, D),
    ("Log1p", {}, D),
    ("Log", {}, POS),
    ("LogRatio", {}, POS),
    ("InvPower", {}, POS),
]


@pytest.mark.parametrize(("name", "kw", "d"), CASES)
def test_values_match_hand_formulas(name, kw, d):
    w = torch.linspace(-2.0, 3.0, d.numel(), dtype=torch.float64)
    f = getattr(penalties, name)(w, **kw)
    np.testing.assert_allclose(
        f(d).numpy(), expected(name, d, w.numpy(), **kw), rtol=1e-9, atol=1e-12
    )


def _smooth_case(name, kw, d):
    """The penalty on the distances of ``d`` away from 0 and Huber's kink."""
    d = d[d > 0.01]
    d = d[(d - 0.5).abs() > 1e-3]
    w = torch.linspace(0.5, 2.0, d.numel(), dtype=torch.float64)
    return getattr(penalties, name)(w, **kw), d


@pytest.mark.parametrize(("name", "kw", "d"), CASES)
def test_derivative_matches_finite_differences(name, kw, d):
    assert_derivative_matches_finite_differences(*_smooth_case(name, kw, d))


@pytest.mark.parametrize(("name", "kw", "d"), CASES)
def test_second_derivative_matches_finite_differences(name, kw, d):
    assert_second_derivative_matches_finite_differences(*_smooth_case(name, kw, d))


@pytest.mark.parametrize(
    ("name", "kw", "d"),
    [*CASES, ("Log1p", {"exponent": 2.0}, D), ("Log", {"exponent": 1.5}, POS)],
)
@pytest.mark.parametrize("uniform", [False, True])
def test_derivatives_together_match_each_alone(name, kw, d, uniform):
    d = d[d > 0]
    w = torch.full_like(d, 0.7) if uniform else torch.linspace(0.5, 2.0, d.numel())
    f = getattr(penalties, name)(w.double(), **kw)
    terms = f.derivatives(d)
    second = f.second_derivative(d)
    if second is None:
        assert terms is None
        return
    for got, expected in zip(terms, (f(d), f.derivative(d), second)):
        np.testing.assert_allclose(
            got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-300
        )


@pytest.mark.parametrize(("name", "kw", "d"), CASES)
def test_ratio_is_derivative_over_distance(name, kw, d):
    w = torch.linspace(0.5, 2.0, d.numel(), dtype=torch.float64)
    f = getattr(penalties, name)(w, **kw)
    value, ratio = f._value_and_ratio(d)
    np.testing.assert_allclose(value.numpy(), f(d).numpy())
    positive = d > 0
    np.testing.assert_allclose(
        ratio[positive].numpy(),
        (f.derivative(d)[positive] / d[positive]).numpy(),
        rtol=1e-10,
    )
    assert torch.isfinite(ratio).all()


@pytest.mark.parametrize(
    "name", ["Linear", "Quadratic", "Cubic", "Huber", "Log1p", "Logistic"]
)
def test_attractive_penalties_are_finite_at_zero(name):
    f = getattr(penalties, name)(torch.ones(2))
    zero = torch.zeros(2)
    value, ratio = f._value_and_ratio(zero)
    assert torch.isfinite(value).all() and torch.isfinite(ratio).all()
    assert torch.isfinite(f.derivative(zero)).all()


def test_seed_example():
    f = penalties.Quadratic(torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(
        f(torch.tensor([2.0, 1.0, 4.0])), torch.tensor([4.0, 2.0, 48.0])
    )


def test_weights_from_numpy_and_lists():
    f = penalties.Quadratic([1, 2, 3])
    assert f.dtype == torch.float32
    g = penalties.Quadratic(np.array([1.0, 2.0, 3.0]))
    assert g.dtype == torch.float64
    assert len(g) == 3 and g.n_edges == 3


def test_repr_shows_hyperparameters():
    assert repr(penalties.Log1p([1.0], exponent=2)) == "Log1p(n_edges=1, exponent=2.0)"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([1.0, float("nan")],), {}, ValueError, "weights must be finite"),
        (([],), {}, ValueError, "weights must not be empty"),
        (([[1.0, 2.0]],), {}, ValueError, "weights must be a 1-D"),
        ((["a", "b"],), {}, TypeError, "weights must be numeric"),
        (([1.0],), {"exponent": -1.0}, ValueError, "exponent must be > 0"),
        (([1.0],), {"exponent": "x"}, TypeError, "exponent must be a real"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        penalties.Log1p(*args, **kwargs)


def test_power_needs_exponent():
    with pytest.raises(TypeError):
        penalties.Power([1.0])


def test_huber_threshold_validated():
    with pytest.raises(ValueError, match="threshold must be >= 0"):
        penalties.Huber([1.0], threshold=-1)


def test_distances_shape_checked():
    f = penalties.Quadratic([1.0, 2.0])
    with pytest.raises(ValueError, match=r"distances must have shape \(2,\)"):
        f(torch.ones(3))


class TestPushAndPull:
    def test_seed_example_mixed_signs(self):
        w = torch.tensor([1.0, 1.0, -1.0, 1.0, -1.0])
        f = PushAndPull(
            w, attractive_penalty=penalties.Log1p, repulsive_penalty=penalties.Log
        )
        d = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
        attract = penalties.Log1p(w[[0, 1, 3]])(d[[0, 1, 3]])
        repel = penalties.Log(w[[2, 4]])(d[[2, 4]])
        out = f(d)
        torch.testing.assert_close(out[[0, 1, 3]], attract)
        torch.testing.assert_close(out[[2, 4]], repel)
        assert (out[[2, 4]] > 0).all()  # repulsive distortions are positive

    @pytest.mark.parametrize(
        "weights",
        [
            [-1.0, -1.0, 1.0, 1.0, 2.0, 3.0],  # repulsive block first
            [1.0, 2.0, -1.0, -3.0, -1.0, 1.0],  # not contiguous
            [2.0, 1.0, 1.0, -1.0, -2.0, -1.0],  # attractive block first
        ],
    )
    def test_each_edge_gets_its_own_penalty(self, weights):
        w = torch.tensor(weights, dtype=torch.float64)
        d = torch.linspace(0.5, 3.0, len(weights), dtype=torch.float64)
        f = PushAndPull(w, penalties.Log1p, penalties.Log)
        expected = torch.where(
            w > 0, w * torch.log1p(d**1.5), w * torch.log(-torch.expm1(-d))
        )
        torch.testing.assert_close(f(d), expected)
        torch.testing.assert_close(f.value_and_derivative(d)[0], expected)

        def by_hand(x):
            return torch.where(
                w > 0, w * torch.log1p(x**1.5), w * torch.log(-torch.expm1(-x))
            )

        jacobian = torch.autograd.functional.jacobian(by_hand, d)
        torch.testing.assert_close(f.derivative(d), jacobian.diagonal())
        total, ratio = f._sum_and_ratio(d)
        torch.testing.assert_close(total, expected.sum())
        torch.testing.assert_close(ratio, f.derivative(d) / d)

    @pytest.mark.parametrize("layout", ["contiguous", "interleaved"])
    def test_derivative_and_ratio(self, layout):
        w = torch.tensor([2.0, 1.0, -1.0, -0.5, 0.0], dtype=torch.float64)
        if layout == "interleaved":
            w = w[[2, 0, 4, 3, 1]]
        f = PushAndPull(w, "quadratic", "logratio")
        d = torch.tensor([0.3, 1.0, 1.5, 2.0, 0.7], dtype=torch.float64)
        h = 1e-6
        numeric = (f(d + h) - f(d - h)) / (2 * h)
        torch.testing.assert_close(f.derivative(d), numeric, rtol=1e-6, atol=1e-9)
        _, ratio = f._value_and_ratio(d)
        torch.testing.assert_close(ratio, f.derivative(d) / d)
        assert f(d)[w == 0].item() == 0.0

    def test_names_classes_and_factories(self):
        w = torch.tensor([1.0, -1.0])
        d = torch.tensor([1.0, 1.0])
        by_name = PushAndPull(w, "log1p", "log")(d)
        by_class = PushAndPull(w, penalties.Log1p, penalties.Log)(d)
        torch.testing.assert_close(by_name, by_class)
        custom = PushAndPull(w, functools.partial(penalties.Log1p, exponent=2.0))
        assert custom.attractive_penalty.exponent == 2.0
        assert isinstance(custom.repulsive_penalty, penalties.Log)
        assert math.isclose(float(custom(d)[0]), math.log(2.0), rel_tol=1e-6)

    def test_bad_penalties(self):
        with pytest.raises(ValueError, match="unknown attractive_penalty 'nope'"):
            PushAndPull([1.0], "nope")
        with pytest.raises(TypeError, match="already holds its values"):
            PushAndPull([1.0], penalties.Log1p([1.0]))
        with pytest.raises(TypeError, match="repulsive_penalty must be"):
            PushAndPull([1.0], "log1p", 3)

    def test_to_moves_parts(self):
        f = PushAndPull(torch.tensor([1.0, -1.0]))
        g = f.to(dtype=torch.float64)
        assert g is not f and g.dtype == torch.float64
        assert g.attractive_penalty.dtype == torch.float64
        assert f.dtype == torch.float32
        assert f.to(dtype=torch.float32) is f


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("numpy_function", "torch_function", "x"),
    [
        (np.log, torch.log, [0.0, 1e-30, 1e-8, 0.3, 2.0, 5e4, np.inf]),
        (np.expm1, torch.expm1, [-np.inf, -50.0, -2.0, -0.3, -1e-8, -1e-30, 0.0]),
    ],
)
@pytest.mark.parametrize("numpy_faster", [True, False])
def test_numpy_kernels_match_torch(
    numpy_function, torch_function, x, dtype, numpy_faster, monkeypatch
):
    # the solver's hot path computes these by NumPy on the CPU where NumPy's
    # loop is the faster: same values (to a few units in the last place),
    # silently at the edges, and torch itself under autograd
    calls = []
    monkeypatch.setattr(
        penalties, "_numpy_is_faster", lambda *key: calls.append(key) or numpy_faster
    )

    def spy(values):
        calls.append("numpy")
        return numpy_function(values)

    spy.__name__ = numpy_function.__name__
    x = torch.tensor(x, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = penalties._apply(spy, torch_function, x)
    assert got.dtype == dtype
    np.testing.assert_allclose(
        got.numpy(), torch_function(x).numpy(), rtol=4 * torch.finfo(dtype).eps
    )
    name, dtype_name = numpy_function.__name__, str(dtype).split(".")[1]
    assert (
        calls == [(name, dtype_name), "numpy"] if numpy_faster else [(name, dtype_name)]
    )
    x = x.clone().requires_grad_(True)
    assert penalties._apply(numpy_function, torch_function, x).requires_grad


@pytest.mark.parametrize("name", ["expm1", "log"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_numpy_is_faster_follows_numpys_loop(name, dtype):
    # NumPy computes only where it runs its AVX-512 loop for the dtype (its
    # other loops are slower than torch's); a dtype it has no loop for, never
    expected = False
    introspect = getattr(getattr(np, "lib", None), "introspect", None)
    if introspect is not None and dtype != "bfloat16":
        info = introspect.opt_func_info(func_name=f"^{name}$", signature=dtype)
        (loop,) = info[name].values()
        expected = "512" in loop["current"] or "X86_V4" in loop["current"]
    assert penalties._numpy_is_faster(name, dtype) is expected


class TestExtensionProtocol:
    """A user's penalty implements public methods and works everywhere."""

    class Softplus(penalties.Penalty):
        def value_and_derivative(self, d):
            return self.weights * torch.nn.functional.softplus(d), (
                self.weights * torch.sigmoid(d)
            )

    def test_public_protocol_solves_and_transforms(self, rng):
        from skmde import MDEEmbedder

        X = rng.normal(size=(60, 3))
        chain = np.column_stack([np.arange(59), np.arange(1, 60)])
        model = MDEEmbedder(
            relationships=lambda X: (chain, np.ones(59)),
            distortion=self.Softplus,
            constraint="standardized",
            n_neighbors=4,
            random_state=0,
        ).fit(X)
        assert np.isfinite(model.transform(X[:5] + 0.01)).all()
        f = self.Softplus(torch.ones(3))
        assert f.subset(torch.tensor([0, 2])).n_edges == 2
        assert_derivative_matches_finite_differences(
            self.Softplus(torch.ones(len(POS), dtype=torch.float64)), POS
        )

    def test_old_private_names_still_work_with_a_warning(self):
        with pytest.warns(DeprecationWarning, match="name it value_and_derivative"):

            class Old(penalties.Penalty):
                def _value_and_derivative(self, d):
                    return self.weights * d.square(), 2.0 * self.weights * d

        f = Old(torch.tensor([1.0, 2.0]))
        torch.testing.assert_close(
            f(torch.tensor([3.0, 1.0])), torch.tensor([9.0, 2.0])
        )
        torch.testing.assert_close(
            f.value_and_derivative(torch.tensor([3.0, 1.0]))[1],
            torch.tensor([6.0, 4.0]),
        )


def reference(name, d, w, **kw):
    """The penalty's formula in float64 numpy, for any hyperparameters."""
    e = kw.get("exponent")
    t = kw.get("threshold")
    p = {
        "Power": lambda: d**e,
        "Huber": lambda: np.where(d < t, d**2 / 2, t * (d - t / 2)),
        "Logistic": lambda: np.log1p(np.exp(kw["alpha"] * (d - t))),
        "Log1p": lambda: np.log1p(d**e),
        "Log": lambda: np.log(-np.expm1(-(d**e))),
        "LogRatio": lambda: np.log(d**e / (1 + d**e)),
        "InvPower": lambda: d ** (-e),
    }[name]()
    return (np.abs(w) if name == "InvPower" else w) * p


HYPERPARAMETERS = [
    ("Power", {"exponent": e}) for e in (0.5, 1.0, 1.5, 2.0, 3.0, 0.7)
] + [
    ("Huber", {"threshold": 0.3}),
    ("Huber", {"threshold": 2.0}),
    ("Logistic", {"threshold": 1.0, "alpha": 2.0}),
    ("Logistic", {"threshold": -0.5, "alpha": 0.5}),
    *[("Log1p", {"exponent": e}) for e in (0.5, 1.0, 1.25, 1.5, 2.0, 3.0)],
    *[("Log", {"exponent": e}) for e in (0.5, 1.0, 1.5, 2.0)],
    ("LogRatio", {"exponent": 1.0}),
    ("LogRatio", {"exponent": 3.0}),
    ("InvPower", {"exponent": 2.0}),
    ("InvPower", {"exponent": 0.5}),
]
SMOOTH = np.array([0.05, 0.4, 0.9, 1.3, 2.3, 4.0])


@pytest.mark.parametrize(("name", "kw"), HYPERPARAMETERS)
@pytest.mark.parametrize("uniform", [False, True])
def test_every_path_matches_the_formula_for_any_hyperparameters(name, kw, uniform):
    # value, derivative, second derivative, the ratio f'/d (with and without
    # an output tensor), in float64 and float32 (NumPy kernels), and under
    # autograd (torch kernels), all against the formula
    w = np.full(SMOOTH.size, -0.7) if uniform else np.linspace(-2.0, 1.5, SMOOTH.size)
    keep = np.abs(SMOOTH - kw.get("threshold", -9.0)) > 1e-3
    d, w = SMOOTH[keep], w[keep]
    h = 1e-6
    value = reference(name, d, w, **kw)
    first = (reference(name, d + h, w, **kw) - reference(name, d - h, w, **kw)) / (
        2 * h
    )
    second = (
        reference(name, d + 1e-4, w, **kw)
        - 2 * value
        + reference(name, d - 1e-4, w, **kw)
    ) / 1e-8
    f = getattr(penalties, name)(torch.tensor(w), **kw)
    dt = torch.tensor(d)
    np.testing.assert_allclose(f(dt).numpy(), value, rtol=1e-10)
    got_value, got_first = f.value_and_derivative(dt)
    np.testing.assert_allclose(got_value.numpy(), value, rtol=1e-10)
    np.testing.assert_allclose(got_first.numpy(), first, rtol=1e-6, atol=1e-9)
    if f.second_derivative(dt) is not None:
        np.testing.assert_allclose(
            f.second_derivative(dt).numpy(), second, rtol=1e-4, atol=1e-6
        )
        terms = f.derivatives(dt)
        for got, want in zip(terms, (value, first, second)):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-6)
    value64, ratio = f._value_and_ratio(dt)
    np.testing.assert_allclose(value64.numpy(), value, rtol=1e-10)
    np.testing.assert_allclose(ratio.numpy(), first / d, rtol=1e-6, atol=1e-9)
    out = torch.full_like(dt, 123.0)
    _, into = f._value_and_ratio(dt, out=out)
    assert into is out
    np.testing.assert_array_equal(out.numpy(), ratio.numpy())
    # float32: the NumPy kernels
    f32 = f.to(dtype=torch.float32)
    v32, r32 = f32._value_and_ratio(dt.float())
    np.testing.assert_allclose(v32.numpy(), value, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(r32.numpy(), first / d, rtol=2e-4, atol=1e-5)
    # autograd: the torch kernels, and a gradient equal to the derivative
    x = dt.clone().requires_grad_(True)
    v_grad, r_grad = f._value_and_ratio(x)
    np.testing.assert_allclose(v_grad.detach().numpy(), value, rtol=1e-10)
    np.testing.assert_allclose(r_grad.detach().numpy(), first / d, rtol=1e-6, atol=1e-9)
    (gradient,) = torch.autograd.grad(f(x).sum(), x)
    np.testing.assert_allclose(gradient.numpy(), first, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "kw", "sign"),
    [
        ("Log1p", {"exponent": 1.5}, 1.0),  # f'/d -> inf at 0
        ("Log1p", {"exponent": 1.25}, 1.0),
        ("Log1p", {"exponent": 2.0}, 1.0),  # 0/0 at 0
        ("Log1p", {"exponent": 0.5}, 1.0),
        ("Log", {"exponent": 1.0}, -1.0),  # -inf at 0 with a negative weight
        ("Log", {"exponent": 1.0}, 1.0),  # +inf
        ("Log", {"exponent": 2.0}, -1.0),
    ],
)
def test_ratio_at_zero_distance_is_zero(name, kw, sign):
    # coincident items: the ratio f'(d)/d has no finite value; the solver
    # needs 0 (no direction), whether it arose as inf, -inf or NaN
    f = getattr(penalties, name)(torch.tensor([sign, 2 * sign]), **kw)
    d = torch.tensor([0.0, 0.0])
    for out in (None, torch.full_like(d, 7.0)):
        _, ratio = f._value_and_ratio(d, out=out)
        np.testing.assert_array_equal(ratio.numpy(), [0.0, 0.0])


@pytest.mark.parametrize(
    "name", ["Power", "Log1p", "Log", "LogRatio", "InvPower", "Logistic"]
)
def test_shape_parameters_must_be_positive(name):
    key = "alpha" if name == "Logistic" else "exponent"
    other = {"exponent": 1.0} if name == "Power" and key != "exponent" else {}
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"{key} must be > 0.0; got {bad}"):
            getattr(penalties, name)([1.0], **other, **{key: bad})
    with pytest.raises(TypeError, match=f"{key} must be a real number"):
        getattr(penalties, name)([1.0], **other, **{key: "2"})
    small = getattr(penalties, name)([1.0], **other, **{key: 0.25})
    assert getattr(small, key) == 0.25


def test_logistic_threshold_any_real_huber_threshold_non_negative():
    assert penalties.Logistic([1.0], threshold=-2.0).threshold == -2.0
    with pytest.raises(TypeError, match="threshold must be a real number"):
        penalties.Logistic([1.0], threshold="0")
    assert penalties.Huber([1.0], threshold=0.0).threshold == 0.0
    with pytest.raises(TypeError, match="threshold must be a real number"):
        penalties.Huber([1.0], threshold=None)


class TestPushAndPullParts:
    LAYOUTS = {
        "attractive first": [2.0, 1.0, 0.5, -1.0, -0.5, -2.0],
        "repulsive first": [-1.0, -0.5, 1.0, 0.7, 0.2, 3.0],
        "interleaved": [1.0, -1.0, 0.5, -0.5, 2.0, -2.0],
        "with zeros": [1.0, 0.0, -1.0, 0.0, 0.5, -0.5],
        # a zero weight inside the attractive block (an underflowed fuzzy
        # weight) keeps it one slice: the solver chunks sliceable functions
        "zero among the attractive": [1.0, 0.0, 0.5, -1.0, -0.5, -2.0],
        "zero between the blocks": [1.0, 0.5, 0.0, -1.0, -0.5, -2.0],
        "attractive only": [1.0, 0.5, 0.25, 2.0, 1.0, 3.0],
        "repulsive only": [-1.0, -0.5, -0.25, -2.0, -1.0, -3.0],
    }

    @staticmethod
    def by_hand(w, d):
        w, d = w.numpy(), d.numpy()
        with np.errstate(all="ignore"):
            attract = w * np.log1p(d**1.5)
            repel = w * np.log(-np.expm1(-d))
        return np.where(w > 0, attract, np.where(w < 0, repel, 0.0))

    @pytest.mark.parametrize("layout", LAYOUTS)
    def test_slices_evaluate_their_edges(self, layout):
        w = torch.tensor(self.LAYOUTS[layout], dtype=torch.float64)
        d = torch.linspace(0.2, 3.0, w.numel(), dtype=torch.float64)
        f = PushAndPull(w)
        if not f._sliceable():
            pytest.skip("interleaved signs are gathered, not sliced")
        for start, stop in [(0, 6), (0, 2), (1, 4), (2, 3), (3, 6), (5, 6)]:
            part = f._slice(start, stop)
            assert part.n_edges == stop - start
            np.testing.assert_allclose(
                part(d[start:stop]).numpy(), self.by_hand(w, d)[start:stop]
            )
            total, ratio = part._sum_and_ratio(d[start:stop])
            np.testing.assert_allclose(
                float(total), self.by_hand(w, d)[start:stop].sum()
            )
            np.testing.assert_allclose(
                ratio.numpy(), (f.derivative(d) / d)[start:stop].numpy()
            )

    @pytest.mark.parametrize("layout", LAYOUTS)
    def test_layouts_and_zero_weights(self, layout):
        w = torch.tensor(self.LAYOUTS[layout], dtype=torch.float64)
        d = torch.tensor([0.3, 0.0, 1.0, 2.0, 0.6, 4.0], dtype=torch.float64)
        f = PushAndPull(w)
        positive = d > 0
        value = f(d)
        np.testing.assert_allclose(
            value[positive].numpy(), self.by_hand(w, d)[positive.numpy()]
        )
        # edges of weight zero: no distortion, even where d = 0
        assert (value[w == 0] == 0).all()
        assert f._sliceable() == (layout not in ("interleaved", "with zeros"))
        kinds = (("attractive", w > 0), ("repulsive", w < 0))
        expected_kinds = {kind for kind, mask in kinds if mask.any()}
        assert set(f._parts) == expected_kinds

    def test_to_keeps_values_and_moves_every_part(self):
        w = torch.tensor([1.0, -1.0, 0.5, -0.5])  # interleaved: index tensors
        f = PushAndPull(w)
        g = f.to(device="cpu", dtype=torch.float64)
        assert g.dtype == torch.float64
        for index, part in g._parts.values():
            assert part.dtype == torch.float64
            assert isinstance(index, torch.Tensor)
        d = torch.tensor([0.5, 1.0, 1.5, 2.0])
        np.testing.assert_allclose(g(d.double()).numpy(), f(d).numpy(), rtol=1e-6)
        assert f.to(device="cpu") is f
        assert "attractive=Log1p" in repr(f) and "repulsive=Log" in repr(f)
        with pytest.raises(TypeError, match="cannot be restricted"):
            f.subset(torch.tensor([0]))
