"""Checks shared by the tests of distortion functions and problems, and a
runner on one and two torch threads, and the BLAS thread counts."""

import numpy as np
import pytest
import torch


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


def assert_objective_gradient_matches_finite_differences(mde, X, entries, **tol):
    """The gradient ``mde._objective`` returns at ``X``, entry by entry
    (``entries``: (row, column) pairs), against central differences of its
    value; ``tol`` goes to ``pytest.approx``."""
    _, G = mde._objective(X)
    h = 1e-6
    for i, j in entries:
        E = X.new_zeros(X.shape)
        E[i, j] = h
        numeric = (
            float(mde._objective(X + E)[0]) - float(mde._objective(X - E)[0])
        ) / (2 * h)
        assert float(G[i, j]) == pytest.approx(numeric, **tol)


def on_one_and_two_threads(compute):
    """``(compute() on one torch thread, compute() on two)``, torch's
    thread count restored (what ``n_jobs`` changes)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = compute()
        torch.set_num_threads(2)
        two = compute()
    finally:
        torch.set_num_threads(before)
    return one, two


def blas_threads():
    """The thread counts of NumPy's BLAS libraries (threadpoolctl's view);
    skips the test where threadpoolctl sees none."""
    from threadpoolctl import threadpool_info

    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    if not counts:
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")
    return counts
