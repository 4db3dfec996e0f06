import itertools
import math

import pytest
import torch

from skmde._lbfgs import LBFGS


def identity(Y):
    return Y


def no_projection(X, G):
    return G


def quadratic(A, b):
    def objective(x):
        return 0.5 * (x * (A @ x)).sum() - (b * x).sum(), A @ x - b

    return objective


def rosenbrock(x):
    a, b = x[0, 0], x[1, 0]
    value = (1 - a) ** 2 + 100 * (b - a**2) ** 2
    grad = torch.stack([-2 * (1 - a) - 400 * a * (b - a**2), 200 * (b - a**2)])
    return value, grad.reshape(2, 1)


def spd(n, cond, dtype):
    q, _ = torch.linalg.qr(
        torch.randn(
            n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
    )
    eigenvalues = torch.logspace(0, math.log10(cond), n, dtype=torch.float64)
    return ((q * eigenvalues) @ q.T).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_ill_conditioned_quadratic(dtype):
    A = spd(30, 1e3, dtype)
    b = torch.ones(30, 1, dtype=dtype)
    solver = LBFGS(quadratic(A, b), identity, no_projection)
    x, _iterations, converged, _ = solver.minimize(
        torch.zeros(30, 1, dtype=dtype), tol=1e-9, max_iter=500
    )
    exact = torch.linalg.solve(A.double(), b.double())
    err = float((x.x.double() - exact).norm() / exact.norm())
    assert converged
    # float32 gets to the gradient's rounding level, well below sqrt(eps)
    assert err < (1e-7 if dtype == torch.float64 else 2e-3)


def test_rosenbrock():
    solver = LBFGS(rosenbrock, identity, no_projection)
    x0 = torch.tensor([[-1.2], [1.0]], dtype=torch.float64)
    final, iterations, converged, message = solver.minimize(x0, tol=1e-12, max_iter=500)
    torch.testing.assert_close(final.x, torch.ones(2, 1, dtype=torch.float64))
    assert iterations < 100 and converged, message


def test_infinite_values_shrink_the_step():
    # f = -log(1 - x^2) on (-1, 1), +inf outside: the search must stay inside
    def barrier(x):
        inside = x.abs() < 1
        value = torch.where(inside, -torch.log1p(-x.square().clamp(max=1)), math.inf)
        return value.sum(), 2 * x / (1 - x.square())

    solver = LBFGS(barrier, identity, no_projection)
    final, *_ = solver.minimize(
        torch.full((3, 1), 0.9, dtype=torch.float64), tol=1e-10, max_iter=100
    )
    assert math.isfinite(final.value)
    assert float(final.x.abs().max()) < 1e-6


def test_stops_on_the_relative_step_rule():
    A = spd(10, 10.0, torch.float64)
    b = torch.ones(10, 1, dtype=torch.float64)
    solver = LBFGS(quadratic(A, b), identity, no_projection)
    loose = solver.minimize(
        torch.zeros(10, 1, dtype=torch.float64), tol=1e-2, max_iter=500
    )
    tight = solver.minimize(
        torch.zeros(10, 1, dtype=torch.float64), tol=1e-10, max_iter=500
    )
    assert loose[2] and tight[2]
    assert loose[3] == tight[3] == "quasi-Newton step below tol"
    assert loose[1] < tight[1]


def test_max_iter_and_callback_info():
    seen = []
    solver = LBFGS(rosenbrock, identity, no_projection)
    x0 = torch.tensor([[-1.2], [1.0]], dtype=torch.float64)
    _, iterations, converged, message = solver.minimize(
        x0,
        tol=1e-12,
        max_iter=5,
        callback=lambda k, it, info: seen.append((k, it.value, info["step_size"])),
    )
    assert iterations == 5 and not converged and message == "reached max_iter"
    assert [k for k, *_ in seen] == list(range(6))
    assert all(b[1] <= a[1] for a, b in itertools.pairwise(seen))  # monotone
    assert solver.evaluations >= 6


def test_projected_problem_on_the_sphere():
    # minimize <c, x> on the unit sphere: the answer is -c/|c|
    c = torch.tensor([[3.0], [-4.0], [0.0]], dtype=torch.float64)

    def objective(x):
        return (c * x).sum(), c.clone()

    solver = LBFGS(
        objective, lambda y: y / y.norm(), lambda x, g: g - (g * x).sum() * x
    )
    x0 = torch.tensor([[1.0], [1.0], [1.0]], dtype=torch.float64) / math.sqrt(3)
    final, _, converged, _ = solver.minimize(x0, tol=1e-10, max_iter=200)
    assert converged
    torch.testing.assert_close(final.x, -c / c.norm())


def test_non_finite_start_is_rejected():
    solver = LBFGS(lambda x: (torch.tensor(math.inf), x), identity, no_projection)
    with pytest.raises(ValueError, match="not finite at the initial embedding"):
        solver.minimize(torch.zeros(2, 1), tol=1e-5, max_iter=3)


def two_loop(pairs, g):
    """The textbook two-loop recursion (reference for the compact form)."""
    q = g.clone()
    alphas = []
    for s, y in reversed(pairs):
        rho = 1.0 / float(s @ y)
        alpha = rho * float(s @ q)
        q -= alpha * y
        alphas.append((alpha, rho))
    s, y = pairs[-1]
    q *= float(s @ y) / float(y @ y)
    for (s, y), (alpha, rho) in zip(pairs, reversed(alphas)):
        beta = rho * float(y @ q)
        q += (alpha - beta) * s
    return q


@pytest.mark.parametrize("n_pairs", [1, 3, 5, 12])
def test_compact_memory_matches_the_two_loop_recursion(n_pairs):
    from skmde._lbfgs import _Memory

    gen = torch.Generator().manual_seed(0)
    A = spd(20, 50.0, torch.float64)
    memory = _Memory(5, torch.zeros(20, dtype=torch.float64))
    pairs = []
    for _ in range(n_pairs):
        s = torch.randn(20, dtype=torch.float64, generator=gen)
        y = A @ s  # positive curvature
        memory.append(s, y)
        pairs = (pairs + [(s, y)])[-5:]
    g = torch.randn(20, dtype=torch.float64, generator=gen)
    torch.testing.assert_close(
        memory.times(g), two_loop(pairs, g), rtol=1e-9, atol=1e-12
    )


def test_memory_rejects_pairs_without_positive_curvature():
    from skmde._lbfgs import _Memory

    memory = _Memory(3, torch.zeros(4))
    memory.append(torch.ones(4), -torch.ones(4))
    assert len(memory) == 0
