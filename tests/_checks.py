"""Checks shared by the penalty and loss tests."""

import numpy as np
import pytest


def assert_derivative_matches_finite_differences(f, d):
    h = 1e-6
    numeric = (f(d + h) - f(d - h)) / (2 * h)
    np.testing.assert_allclose(
        f.derivative(d).numpy(), numeric.numpy(), rtol=1e-6, atol=1e-8
    )


def assert_second_derivative_matches_finite_differences(f, d):
    """Also skips the test when ``f`` has no closed-form second derivative
    (transform then differentiates ``f'`` by autograd)."""
    second = f.second_derivative(d)
    if second is None:
        pytest.skip(f"{type(f).__name__} has no closed-form second derivative")
    h = 1e-5
    numeric = (f.derivative(d + h) - f.derivative(d - h)) / (2 * h)
    np.testing.assert_allclose(second.numpy(), numeric.numpy(), rtol=1e-5, atol=1e-7)
