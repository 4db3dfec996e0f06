import numpy as np
import pytest
import torch

from skmde import losses

from ._checks import (
    assert_derivative_matches_finite_differences,
    assert_second_derivative_matches_finite_differences,
)

DELTA = torch.tensor([0.5, 1.0, 1.0, 2.0, 3.0, 0.7], dtype=torch.float64)
D = torch.tensor([0.1, 0.4, 1.8, 2.2, 4.5, 3.0], dtype=torch.float64)


def expected(name, d, delta, **kw):
    d, delta = d.numpy(), delta.numpy()
    r = d - delta
    return {
        "Absolute": lambda: np.abs(r),
        "Quadratic": lambda: r**2,
        "WeightedQuadratic": lambda: r**2 / delta**2,
        "Cubic": lambda: np.abs(r) ** 3,
        "Power": lambda: np.abs(r) ** kw["exponent"],
        "Huber": lambda: np.where(np.abs(r) < 1.0, r**2, 2 * np.abs(r) - 1.0),
        "Logistic": lambda: np.log1p(np.exp(np.abs(r))) - np.log(2),
        "Fractional": lambda: np.maximum(delta / d, d / delta) - 1,
        "SoftFractional": lambda: (
            (np.logaddexp(10 * delta / d, 10 * d / delta) - np.log(2)) / 10 - 1
        ),
    }[name]()


NAMES = [
    ("Absolute", {}),
    ("Quadratic", {}),
    ("WeightedQuadratic", {}),
    ("Cubic", {}),
    ("Power", {"exponent": 1.7}),
    ("Huber", {}),
    ("Logistic", {}),
    ("Fractional", {}),
    ("SoftFractional", {}),
]


@pytest.mark.parametrize(("name", "kw"), NAMES)
def test_values_match_hand_formulas(name, kw):
    f = getattr(losses, name)(DELTA, **kw)
    np.testing.assert_allclose(
        f(D).numpy(), expected(name, D, DELTA, **kw), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize(("name", "kw"), NAMES)
def test_zero_at_the_deviation(name, kw):
    f = getattr(losses, name)(DELTA, **kw)
    np.testing.assert_allclose(f(DELTA).numpy(), 0.0, atol=1e-12)


@pytest.mark.parametrize(("name", "kw"), NAMES)
def test_derivative_matches_finite_differences(name, kw):
    assert_derivative_matches_finite_differences(getattr(losses, name)(DELTA, **kw), D)


@pytest.mark.parametrize(("name", "kw"), NAMES)
def test_second_derivative_matches_finite_differences(name, kw):
    f = getattr(losses, name)(DELTA, **kw)
    assert_second_derivative_matches_finite_differences(f, D)


def test_seed_example():
    f = losses.Quadratic(torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(
        f(torch.tensor([2.0, 5.0, 4.0])), torch.tensor([1.0, 9.0, 1.0])
    )


def test_weighted_quadratic_explicit_weights():
    f = losses.WeightedQuadratic([0.0, 1.0], weights=[2.0, 3.0])
    torch.testing.assert_close(f(torch.tensor([1.0, 3.0])), torch.tensor([2.0, 12.0]))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: losses.Absolute([1.0, -1.0]), ValueError, "deviations must be >= 0"),
        (lambda: losses.Absolute([1.0, float("inf")]), ValueError, "finite"),
        (lambda: losses.Fractional([0.0, 1.0]), ValueError, "must be > 0"),
        (
            lambda: losses.WeightedQuadratic([0.0, 1.0]),
            ValueError,
            "pass weights explicitly",
        ),
        (
            lambda: losses.WeightedQuadratic([1.0], weights=[1.0, 2.0]),
            ValueError,
            "one entry per deviation",
        ),
        (
            lambda: losses.SoftFractional([1.0], gamma=0),
            ValueError,
            "gamma must be > 0",
        ),
        (lambda: losses.Huber([1.0], threshold=0), ValueError, "threshold must be > 0"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_deviations_keyword_as_pymde():
    # losses rejected PyMDE's (and skmde's documented) deviations= keyword
    f = losses.Huber(deviations=torch.tensor([1.0, 2.0]), threshold=0.5)
    torch.testing.assert_close(f.deviations, torch.tensor([1.0, 2.0]))
    assert losses.Quadratic(deviations=[1.0]).n_edges == 1


@pytest.mark.parametrize(
    ("name", "kw", "formula"),
    [
        ("Power", {"exponent": 0.5}, lambda r, dl, d: np.abs(r) ** 0.5),
        ("Power", {"exponent": 3.0}, lambda r, dl, d: np.abs(r) ** 3),
        (
            "Huber",
            {"threshold": 2.0},
            lambda r, dl, d: np.where(np.abs(r) < 2, r**2, 2 * (2 * np.abs(r) - 2)),
        ),
        (
            "Huber",
            {"threshold": 0.25},
            lambda r, dl, d: np.where(
                np.abs(r) < 0.25, r**2, 0.25 * (2 * np.abs(r) - 0.25)
            ),
        ),
        (
            "SoftFractional",
            {"gamma": 2.0},
            lambda r, dl, d: (
                np.log((np.exp(2 * dl / d) + np.exp(2 * d / dl)) / 2) / 2 - 1
            ),
        ),
        (
            "SoftFractional",
            {"gamma": 0.5},
            lambda r, dl, d: (
                np.log((np.exp(0.5 * dl / d) + np.exp(0.5 * d / dl)) / 2) / 0.5 - 1
            ),
        ),
    ],
)
def test_hyperparameters_change_the_formula(name, kw, formula):
    deviations = np.array([0.5, 1.0, 2.0, 3.0, 1.5, 4.0])
    d = np.array([0.2, 1.7, 2.0, 0.4, 5.0, 3.9])  # both sides, and r = 0
    f = getattr(losses, name)(torch.tensor(deviations), **kw)
    expected = formula(d - deviations, deviations, d)
    np.testing.assert_allclose(
        f(torch.tensor(d)).numpy(), expected, rtol=1e-10, atol=1e-14
    )
    smooth = np.abs(d - deviations) > 1e-3
    h = 1e-6
    numeric = (
        formula(d + h - deviations, deviations, d + h)
        - formula(d - h - deviations, deviations, d - h)
    ) / (2 * h)
    np.testing.assert_allclose(
        f.derivative(torch.tensor(d)).numpy()[smooth], numeric[smooth], rtol=1e-6
    )


@pytest.mark.parametrize("name", ["Power", "Cubic", "Quadratic", "Huber"])
def test_derivative_is_zero_at_the_deviation(name):
    kw = {"exponent": 2.0} if name == "Power" else {}
    f = getattr(losses, name)(torch.tensor([1.0, 2.0]), **kw)
    np.testing.assert_array_equal(f.derivative(torch.tensor([1.0, 2.0])), [0, 0])


def test_fractional_switches_at_the_deviation():
    f = losses.Fractional(torch.tensor([2.0, 2.0, 2.0], dtype=torch.float64))
    d = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    np.testing.assert_allclose(f(d).numpy(), [1.0, 0.0, 1.0])
    # at d = delta the one-sided derivative from above: 1 / delta
    np.testing.assert_allclose(f.derivative(d).numpy(), [-2.0, 0.5, 0.5])


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: losses.Power([1.0], exponent=0.0), ValueError, "exponent must be > 0"),
        (lambda: losses.Power([1.0], exponent=-2), ValueError, "exponent must be > 0"),
        (lambda: losses.Power([1.0], exponent="a"), TypeError, "exponent must be a"),
        (lambda: losses.Huber([1.0], threshold=0.0), ValueError, "threshold must be >"),
        (lambda: losses.SoftFractional([1.0], gamma=0), ValueError, "gamma must be >"),
        (
            lambda: losses.WeightedQuadratic([1.0, 2.0], weights=[1.0, -1.0]),
            ValueError,
            r"^weights must be >= 0\.$",
        ),
        (
            lambda: losses.WeightedQuadratic([1.0, 2.0], weights=[[1.0, 1.0]]),
            ValueError,
            "weights must be a 1-D",
        ),
        (
            lambda: losses.WeightedQuadratic([1.0, 2.0], weights=["a", "b"]),
            TypeError,
            "weights must be numeric",
        ),
        (
            lambda: losses.WeightedQuadratic([0.0, 2.0]),
            ValueError,
            r"deviations must be > 0 when weights is None \(the default weights "
            r"are 1/deviations\*\*2\); pass weights explicitly\.",
        ),
        (
            lambda: losses.Fractional([1.0, 0.0, -1.0, 2.0]),
            ValueError,
            r"deviations must be > 0 for Fractional; got 2 zero or negative values\.",
        ),
        (
            lambda: losses.Quadratic([1.0, -1.0, -2.0, 0.0]),
            ValueError,
            r"deviations must be >= 0; got 2 negative values\.",
        ),
    ],
)
def test_bad_hyperparameters_and_values(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_weighted_quadratic_keeps_dtype_and_zero_weights():
    f = losses.WeightedQuadratic(
        torch.tensor([1.0, 2.0], dtype=torch.float64), weights=[0.0, 3.0]
    )
    assert f.weights.dtype == torch.float64
    assert f.weights.device == f.deviations.device
    np.testing.assert_allclose(f(torch.tensor([5.0, 3.0])).numpy(), [0.0, 3.0])
    assert losses.Power([1.0], exponent=0.25).exponent == 0.25
