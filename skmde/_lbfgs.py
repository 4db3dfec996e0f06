"""Projected L-BFGS with a strong-Wolfe line search along a retraction.

The solver minimizes a smooth function over a constraint set given by two maps:
``retract(Y)`` brings a point back onto the set and ``tangent(X, G)`` projects a
gradient onto the tangent space at ``X``. It knows nothing about embeddings.

Each iteration builds the quasi-Newton direction ``p = -H g`` (two-loop
recursion, projected onto the tangent space), then searches along the curve
``t -> retract(X + t p)`` for a step satisfying the strong Wolfe conditions.
A failed search resets the memory and retries along ``-g``; a second failure
means no progress is possible at the working precision, and the solver stops.

Stopping rule. The quasi-Newton step ``p`` estimates the displacement to the
minimizer. The solver stops when ``||p||_F <= tol * ||X - mean(X)||_F``: the
embedding would move by less than a fraction ``tol`` of its own size. This
ratio does not depend on the number of items, on the units of the embedding or
on the scale of the objective, unlike an absolute gradient norm.
"""

import math
import time
from dataclasses import dataclass

import torch

C1 = 1e-4  # sufficient decrease
C2 = 0.9  # curvature
# Approximate Wolfe conditions (Hager & Zhang, 2005): near a minimizer, float32
# cannot resolve f(x + t p) - f(x), so a step is also accepted when the slope
# says it brackets the 1-D minimizer and f has not grown beyond its rounding.
APPROX_SLOPE = 0.8  # accept slopes in [C2 * d0, -APPROX_SLOPE * d0]
NOISE_ULPS = 64.0  # rise of f attributed to rounding, in units of eps * |f|
STALL_LIMIT = 10


@dataclass
class Iterate:
    """A point with its objective value, gradient and projected gradient."""

    x: torch.Tensor
    value: float
    grad: torch.Tensor
    tangent_grad: torch.Tensor


class LBFGS:
    """Projected L-BFGS.

    Parameters
    ----------
    objective : callable
        ``objective(X) -> (value, G)``: a 0-d tensor and the Euclidean gradient.
    retract : callable
        ``retract(Y) -> X`` on the constraint set; may overwrite ``Y``.
    tangent : callable
        ``tangent(X, G) -> G_t``, the projection onto the tangent space at ``X``.
    memory_size : int
        Number of curvature pairs kept.
    """

    def __init__(self, objective, retract, tangent, memory_size=10):
        self.objective = objective
        self.retract = retract
        self.tangent = tangent
        self.memory_size = memory_size
        self.current = None  # the last accepted Iterate, readable after an error
        self.evaluations = 0

    def _evaluate(self, x):
        value, grad = self.objective(x)
        self.evaluations += 1
        value = float(value)
        tangent_grad = self.tangent(x, grad) if math.isfinite(value) else grad
        return Iterate(x, value, grad, tangent_grad)

    def minimize(self, x0, *, tol, max_iter, callback=None):
        """Run from the feasible point ``x0``.

        ``callback(iteration, iterate, info)`` is called after the start
        (iteration 0) and after every accepted step; ``info`` holds the step
        size, the relative step, the norm of the projected gradient and the
        elapsed time of the iteration.

        Returns ``(iterate, n_iterations, converged, message)``.
        """
        memory = _Memory(self.memory_size, x0)
        current = self.current = self._evaluate(x0)
        if not math.isfinite(current.value):
            raise ValueError(
                "the objective is not finite at the initial embedding "
                f"(value {current.value}); with repulsive penalties this means two "
                "items on a repulsive edge coincide."
            )
        if callback is not None:
            g_norm = float(torch.linalg.vector_norm(current.tangent_grad))
            info = {
                "step_size": 0.0,
                "relative_step": math.nan,
                "time": 0.0,
                "residual_norm": g_norm,
            }
            callback(0, current, info)
        converged, message = False, "reached max_iter"
        iteration = 0
        best_value, best_g_norm = current.value, math.inf
        stalled = 0  # iterations improving neither the value nor the gradient
        while iteration < max_iter:
            start = time.perf_counter()
            g = current.tangent_grad
            g_norm = float(torch.linalg.vector_norm(g))
            if g_norm == 0.0:
                converged, message = True, "projected gradient is zero"
                break
            scale = float(torch.linalg.vector_norm(current.x - current.x.mean(dim=0)))
            direction = self._direction(current, memory)
            if direction is None:
                memory.clear()
                direction = -g
            elif float(torch.linalg.vector_norm(direction)) <= tol * scale:
                converged, message = True, "quasi-Newton step below tol"
                break
            t0 = 1.0 if memory else _first_step(g_norm, scale)
            accepted = self._line_search(current, direction, t0)
            if accepted is None and memory:
                memory.clear()  # bad curvature information: restart from -g
                direction = -g
                accepted = self._line_search(
                    current, direction, _first_step(g_norm, scale)
                )
            if accepted is None:
                converged, message = True, "no decrease possible at this precision"
                break
            t, new = accepted
            new_g_norm = float(torch.linalg.vector_norm(new.tangent_grad))
            if new.value < best_value or new_g_norm < best_g_norm:
                best_value = min(best_value, new.value)
                best_g_norm = min(best_g_norm, new_g_norm)
                stalled = 0
            else:
                stalled += 1
            s = new.x - current.x
            memory.append(s, new.tangent_grad - g)
            relative_step = float(torch.linalg.vector_norm(s)) / max(scale, 1e-300)
            current = self.current = new
            iteration += 1
            if callback is not None:
                info = {
                    "step_size": t,
                    "relative_step": relative_step,
                    "residual_norm": new_g_norm,
                    "time": time.perf_counter() - start,
                }
                if callback(iteration, current, info):
                    message = "stopped by callback"
                    break
            if stalled >= STALL_LIMIT:
                converged, message = True, "stalled at the working precision"
                break
        return current, iteration, converged, message

    def _direction(self, current, memory):
        """``-H g`` (two-loop recursion), projected; None if there is no memory or it
        does not give a descent direction."""
        g = current.tangent_grad
        if not memory:
            return None
        product = memory.times(g)
        if product is None:
            return None
        direction = self.tangent(current.x, product.neg_())
        if not float(torch.vdot(direction.flatten(), g.flatten())) < 0.0:
            return None
        return direction

    def _line_search(self, current, direction, t):
        """Strong-Wolfe search on ``t -> retract(x + t p)``; ``(t, Iterate)`` or None.

        Non-finite trial values count as "too far" and shrink the step.
        """
        f0 = current.value
        d0 = float(torch.vdot(current.tangent_grad.flatten(), direction.flatten()))

        def phi(step):
            point = self._evaluate(self.retract(current.x + step * direction))
            slope = (
                float(torch.vdot(point.tangent_grad.flatten(), direction.flatten()))
                if math.isfinite(point.value)
                else math.nan
            )
            return point, slope

        def armijo(step, point):
            return point.value <= f0 + C1 * step * d0

        noise = abs(f0) * NOISE_ULPS * torch.finfo(current.x.dtype).eps

        def approximate_wolfe(point, slope):
            return point.value <= f0 + noise and C2 * d0 <= slope <= -APPROX_SLOPE * d0

        best = None  # the best point with sufficient decrease
        lo_t, lo_f, lo_d = 0.0, f0, d0
        hi = None  # (t, f, slope) bracketing from above, once known
        for _ in range(30):
            point, slope = phi(t)
            finite = math.isfinite(point.value)
            if finite and armijo(t, point):
                if abs(slope) <= -C2 * d0:
                    return t, point
                if best is None or point.value < best[1].value:
                    best = (t, point)
            if finite and approximate_wolfe(point, slope):
                return t, point
            if not finite or not armijo(t, point) or point.value >= lo_f:
                hi = (t, point.value, slope)
            else:
                # the minimizer lies between t and the old low end when the slope
                # points back towards it: the old low end becomes the high end
                toward = hi[0] - lo_t if hi is not None else 1.0
                if slope * toward >= 0.0:
                    hi = (lo_t, lo_f, lo_d)
                lo_t, lo_f, lo_d = t, point.value, slope
            if hi is None:
                t = min(4.0 * t, 1e10)  # still descending: extrapolate
                continue
            hi_t, hi_f, hi_d = hi
            width = abs(hi_t - lo_t)
            if width <= 1e-12 * max(abs(lo_t), abs(hi_t)):
                break
            t = _interpolate(lo_t, lo_f, lo_d, hi_t, hi_f, hi_d)
        return best


def _first_step(g_norm, scale):
    """First step along -g: move the embedding by about 1% of its size."""
    if scale > 0.0:
        return 0.01 * scale / g_norm
    return 1.0 / g_norm


def _interpolate(lo_t, lo_f, lo_d, hi_t, hi_f, hi_d):
    """Minimizer of the cubic through both ends, kept well inside the bracket."""
    low, high = min(lo_t, hi_t), max(lo_t, hi_t)
    margin = 0.1 * (high - low)
    t = None
    if math.isfinite(hi_f) and math.isfinite(hi_d):
        d1 = lo_d + hi_d - 3.0 * (lo_f - hi_f) / (lo_t - hi_t)
        disc = d1 * d1 - lo_d * hi_d
        if disc >= 0.0:
            d2 = math.copysign(math.sqrt(disc), hi_t - lo_t)
            denom = hi_d - lo_d + 2.0 * d2
            if denom != 0.0:
                t = hi_t - (hi_t - lo_t) * (hi_d + d2 - d1) / denom
    if t is None or not math.isfinite(t) or not (low + margin <= t <= high - margin):
        t = 0.5 * (lo_t + hi_t)
    return t


class _Memory:
    """The L-BFGS curvature pairs, in one stacked buffer.

    ``H g`` is the two-loop recursion written on inner products: with
    ``a = S^T g`` and ``b = Y^T g`` from one matrix-vector product with the
    buffer, and the small Gram matrices ``s_i . y_j`` and ``y_i . y_j`` kept up
    to date as pairs arrive, the recursion runs on ``k`` scalars and gives the
    coefficients of ``H g`` in the basis ``(g, s_i, y_i)``; a second
    matrix-vector product assembles it. Each vector is read twice, instead of
    ``4 k`` times by the vector form of the recursion.

    The scalar part is plain Python on lists: a solve makes hundreds of these
    calls between evaluations that stream megabytes through the cache, and
    there a handful of small NumPy/LAPACK calls cost more (0.3 ms, measured)
    than the few hundred float operations themselves.
    """

    def __init__(self, size, like):
        # rows 0..size-1 hold the s vectors, rows size..2 size-1 the y vectors
        self.buffer = torch.zeros(
            (2 * size, like.numel()), dtype=like.dtype, device=like.device
        )
        self.SY = [[0.0] * size for _ in range(size)]  # s_a . y_b, by buffer slot
        self.YY = [[0.0] * size for _ in range(size)]
        self.order = []  # slots, oldest first
        self.size = size

    def __len__(self):
        return len(self.order)

    def clear(self):
        self.order = []

    def append(self, s, y):
        s, y = s.flatten(), y.flatten()
        sy, yy = float(torch.dot(s, y)), float(torch.dot(y, y))
        if not (sy > 1e-10 * yy and yy > 0.0):
            # no positive curvature, or a y whose square underflowed (the
            # scaling sy / yy would divide by 0): the pair would break H
            return
        slot = self.order.pop(0) if len(self.order) == self.size else len(self.order)
        k = self.size
        self.buffer[slot], self.buffer[k + slot] = s, y
        self.order.append(slot)
        # the new pair against all slots: two matrix-vector products
        with_s = torch.mv(self.buffer[k:], s).tolist()  # s_new . y_b
        with_y = torch.mv(self.buffer, y).tolist()  # s_a . y_new, y_b . y_new
        for b in range(k):
            self.SY[b][slot] = with_y[b]
            self.SY[slot][b] = with_s[b]
            self.YY[b][slot] = self.YY[slot][b] = with_y[k + b]

    def times(self, g):
        """``H g`` for the stored pairs (None if it is not finite)."""
        shape, g = g.shape, g.flatten()
        order, k, SY, YY = self.order, self.size, self.SY, self.YY
        ab = (self.buffer @ g).tolist()
        rho = [1.0 / SY[i][i] for i in order]
        # first loop, newest to oldest: alpha_i = rho_i s_i . q, q = g - sum alpha_j y_j
        alpha = [0.0] * len(order)
        for n in reversed(range(len(order))):
            i = order[n]
            dot = ab[i]
            for m in range(n + 1, len(order)):
                dot -= alpha[m] * SY[i][order[m]]
            alpha[n] = rho[n] * dot
        last = order[-1]
        gamma = SY[last][last] / YY[last][last]
        # second loop, oldest to newest, on r = gamma q + sum_(l < i) c_l s_l
        c = [0.0] * len(order)
        for n, i in enumerate(order):
            dot = ab[k + i]
            for m, j in enumerate(order):
                dot -= alpha[m] * YY[i][j]
            dot *= gamma
            for m in range(n):
                dot += c[m] * SY[order[m]][i]
            c[n] = alpha[n] - rho[n] * dot
        coefficients = [0.0] * (2 * k)
        for n, i in enumerate(order):
            coefficients[i] = c[n]
            coefficients[k + i] = -gamma * alpha[n]
        if not all(map(math.isfinite, coefficients)):
            return None
        weights = torch.tensor(coefficients, dtype=g.dtype, device=g.device)
        return (weights @ self.buffer).add_(g, alpha=gamma).view(shape)
