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


def test_memory_rejects_a_pair_whose_y_squared_underflows():
    # found by the property tests: an embedding collapsing towards 0 gave
    # s . y > 0 with y . y = 0 (float64 underflow), and H's scaling
    # s . y / y . y divided by zero
    from skmde._lbfgs import _Memory

    memory = _Memory(3, torch.zeros(2, dtype=torch.float64))
    s = torch.tensor([1e160, 1e160], dtype=torch.float64)
    y = torch.tensor([1e-170, 1e-170], dtype=torch.float64)
    assert float(torch.dot(s, y)) > 0 and float(torch.dot(y, y)) == 0
    memory.append(s, y)
    assert len(memory) == 0
    g = torch.ones(2, dtype=torch.float64)
    memory.append(
        torch.ones(2, dtype=torch.float64), 2 * torch.ones(2, dtype=torch.float64)
    )
    torch.testing.assert_close(memory.times(g), 0.5 * g)


def test_memory_reused_after_clear_ignores_stale_pairs():
    from skmde._lbfgs import _Memory

    gen = torch.Generator().manual_seed(1)
    A = spd(12, 20.0, torch.float64)
    memory = _Memory(4, torch.zeros(12, dtype=torch.float64))
    for _ in range(4):
        s = torch.randn(12, dtype=torch.float64, generator=gen)
        memory.append(s, A @ s)
    memory.clear()
    assert not memory and len(memory) == 0
    s = torch.randn(12, dtype=torch.float64, generator=gen)
    memory.append(s, A @ s)
    g = torch.randn(12, dtype=torch.float64, generator=gen)
    torch.testing.assert_close(memory.times(g), two_loop([(s, A @ s)], g))


def cubic(a, b, c):
    """f(t) = a t^3 + b t^2 + c t and its derivative."""
    return (lambda t: a * t**3 + b * t**2 + c * t), (
        lambda t: 3 * a * t**2 + 2 * b * t + c
    )


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (1.0, 0.0), (0.2, 0.9)])
def test_interpolation_finds_the_minimizer_of_a_cubic(lo, hi):
    from skmde._lbfgs import _interpolate

    f, df = cubic(1.0, -0.3, -0.5)  # local minimizer in (0, 1)
    exact = (0.6 + math.sqrt(0.36 + 6.0)) / 6.0
    t = _interpolate(lo, f(lo), df(lo), hi, f(hi), df(hi))
    assert math.isclose(t, exact, rel_tol=1e-12)


def test_interpolation_falls_back_to_bisection():
    from skmde._lbfgs import _interpolate

    # an infinite end: the midpoint
    assert _interpolate(0.0, 1.0, -1.0, 2.0, math.inf, math.nan) == 1.0
    assert _interpolate(0.0, 1.0, -1.0, 2.0, 3.0, math.inf) == 1.0
    # no real critical point (d1 = 0, d1^2 - d_lo d_hi = -1 < 0): the midpoint
    assert _interpolate(0.0, 1.0, -1.0, 1.0, 1.0 / 3.0, -1.0) == 0.5
    # a minimizer too close to an end (within 10% of the bracket)
    f, df = cubic(0.0, 1.0, -0.04)  # quadratic, minimum at 0.02
    assert _interpolate(0.0, f(0.0), df(0.0), 1.0, f(1.0), df(1.0)) == 0.5
    f, df = cubic(0.0, 1.0, -0.3)  # minimum at 0.15: kept (margin 0.1)
    t = _interpolate(0.0, f(0.0), df(0.0), 1.0, f(1.0), df(1.0))
    assert math.isclose(t, 0.15, rel_tol=1e-12)
    f, df = cubic(0.0, 1.0, -1.8)  # minimum at 0.9: at the margin, kept
    t = _interpolate(0.0, f(0.0), df(0.0), 1.0, f(1.0), df(1.0))
    assert math.isclose(t, 0.9, rel_tol=1e-12)
    f, df = cubic(0.0, 1.0, -1.9)  # 0.95: beyond it
    assert _interpolate(0.0, f(0.0), df(0.0), 1.0, f(1.0), df(1.0)) == 0.5
    # shifted brackets keep the same rule
    assert _interpolate(10.0, f(0.0), df(0.0), 11.0, f(1.0), df(1.0)) == 10.5


def test_first_step_moves_by_one_percent_of_the_size():
    from skmde._lbfgs import _first_step

    assert _first_step(4.0, 10.0) == pytest.approx(0.025)
    assert _first_step(0.5, 0.0) == 2.0  # no size (all at one point): 1 / |g|


def parabola(center, curvature=1.0):
    def objective(x):
        r = x - center
        return 0.5 * curvature * (r * r).sum(), curvature * r

    return objective


@pytest.mark.parametrize("t0", [1e-4, 0.3, 1.0, 1.7, 50.0])
def test_line_search_returns_a_strong_wolfe_step(t0):
    calls = []
    center = torch.tensor([[3.0], [-1.0]], dtype=torch.float64)
    objective = parabola(center, 2.0)

    def counted(x):
        calls.append(x.clone())
        return objective(x)

    solver = LBFGS(counted, identity, no_projection)
    start = solver._evaluate(torch.zeros(2, 1, dtype=torch.float64))
    direction = -start.grad
    d0 = float((start.grad * direction).sum())
    t, point = solver._line_search(start, direction, t0)
    assert point.value <= start.value + 1e-4 * t * d0  # sufficient decrease
    slope = float((point.grad * direction).sum())
    assert abs(slope) <= 0.9 * abs(d0)  # curvature
    torch.testing.assert_close(point.x, t * direction)
    assert solver.evaluations == len(calls)
    torch.testing.assert_close(point.grad, objective(point.x)[1])
    if t0 < 0.01:  # far too short: extrapolated by factors of 4
        assert t == pytest.approx(t0 * 4 ** round(math.log(t / t0, 4)))
        assert t > 0.05


def test_line_search_exact_on_a_parabola_from_a_bracket():
    # from t0 = 1 (twice the minimizer 0.5), the cubic through both ends of a
    # parabola lands on its minimizer at the first interpolation
    solver = LBFGS(
        parabola(torch.tensor([[1.0]], dtype=torch.float64)), identity, no_projection
    )
    start = solver._evaluate(torch.zeros(1, 1, dtype=torch.float64))
    t, point = solver._line_search(start, -start.grad, 2.0)
    assert t == pytest.approx(1.0) and point.value == pytest.approx(0.0, abs=1e-20)
    assert solver.evaluations == 3  # start, t = 2 (too far, slope > 0), t = 1


def test_line_search_gives_up_on_an_ascent_direction():
    solver = LBFGS(
        parabola(torch.tensor([[1.0]], dtype=torch.float64)), identity, no_projection
    )
    start = solver._evaluate(torch.zeros(1, 1, dtype=torch.float64))
    assert solver._line_search(start, start.grad.clone(), 1.0) is None


def test_gradient_kept_beside_its_projection():
    solver = LBFGS(
        parabola(torch.tensor([[1.0], [2.0]])), identity, lambda x, g: 0.5 * g
    )
    point = solver._evaluate(torch.zeros(2, 1))
    torch.testing.assert_close(point.grad, torch.tensor([[-1.0], [-2.0]]))
    torch.testing.assert_close(point.tangent_grad, torch.tensor([[-0.5], [-1.0]]))
    assert solver.evaluations == 1
    inf = LBFGS(
        lambda x: (torch.tensor(math.inf), torch.ones(2, 1)),
        identity,
        lambda x, g: 0.5 * g,
    )
    assert torch.equal(inf._evaluate(torch.zeros(2, 1)).tangent_grad, torch.ones(2, 1))


def test_stopping_messages():
    center = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    # at the minimizer: the projected gradient is exactly zero
    solver = LBFGS(parabola(center), identity, no_projection)
    final, iterations, converged, message = solver.minimize(
        center.clone(), tol=1e-8, max_iter=10
    )
    assert (iterations, converged, message) == (0, True, "projected gradient is zero")
    # a callback returning True stops after that iteration
    solver = LBFGS(parabola(center), identity, no_projection)
    _, iterations, converged, message = solver.minimize(
        torch.zeros(2, 1, dtype=torch.float64),
        tol=1e-12,
        max_iter=10,
        callback=lambda k, it, info: k == 1,
    )
    assert (iterations, converged, message) == (1, False, "stopped by callback")

    # a gradient pointing the wrong way: no step decreases the objective
    def lying(x):
        value, grad = parabola(center)(x)
        return value, -grad

    solver = LBFGS(lying, identity, no_projection)
    final, iterations, converged, message = solver.minimize(
        torch.zeros(2, 1, dtype=torch.float64), tol=1e-12, max_iter=10
    )
    assert message == "no decrease possible at this precision"
    assert converged and iterations == 0
    assert torch.equal(final.x, torch.zeros(2, 1, dtype=torch.float64))


def test_callback_info_describes_each_step():
    center = torch.tensor([[3.0], [4.0]], dtype=torch.float64)
    seen = []
    solver = LBFGS(parabola(center, 3.0), identity, no_projection)
    solver.minimize(
        torch.tensor([[0.0], [1.0]], dtype=torch.float64),
        tol=1e-12,
        max_iter=4,
        callback=lambda k, it, info: seen.append((k, it.x.clone(), dict(info))),
    )
    k0, x0, info0 = seen[0]
    assert info0["step_size"] == 0.0 and info0["time"] == 0.0
    assert math.isnan(info0["relative_step"])
    assert info0["residual_norm"] == pytest.approx(float(3.0 * (x0 - center).norm()))
    for (_, before, _), (_, after, info) in itertools.pairwise(seen):
        size = float((before - before.mean()).norm())
        assert info["relative_step"] == pytest.approx(
            float((after - before).norm()) / size
        )
        assert info["residual_norm"] == pytest.approx(
            float(3.0 * (after - center).norm())
        )
        assert 0.0 <= info["time"] < 10.0
        assert info["step_size"] > 0.0
