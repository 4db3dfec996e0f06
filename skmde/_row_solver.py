"""The per-row problems of ``transform`` and their batched Newton solver.

A new row is connected only to fitted items, anchored at their fitted
positions, so its problem is an ``m``-dimensional minimization over its own
edges. :class:`RowProblem` holds the edges of a batch of rows;
:func:`solve_rows` solves all of them together by damped Newton steps (one
``m x m`` Hessian per row), each row with its own line search and
convergence test, and every sum over one row's edges only, so that a row's
result does not depend on the other rows of its batch or on their order.
"""

import copy
from dataclasses import dataclass

import torch

from ._distortion import DistortionFunction
from .penalties import PushAndPull

NEWTON_TOL = 1e-8
NEWTON_MAX_ITER = 100


@dataclass
class _Part:
    """The edges of one distortion function, laid out for the row terms:
    ``coords`` one contiguous (B, w) tensor per embedding coordinate,
    ``values`` (B, w), ``mask`` (B, w) or None when every edge exists, and
    the function (or its factory, see :func:`_evaluate`)."""

    coords: tuple
    values: torch.Tensor
    mask: torch.Tensor | None
    function: object


@dataclass
class RowProblem:
    """Edges of a batch of new rows to anchored fitted items.

    ``anchors`` (B, K, m) positions, ``values`` (B, K) weights or deviations,
    ``mask`` (B, K) which edges exist, ``parts`` a list of ``(column slice,
    factory)``: the edges in those columns use ``factory(values)`` as their
    distortion function.
    """

    anchors: torch.Tensor
    values: torch.Tensor
    mask: torch.Tensor
    parts: list

    def __post_init__(self):
        # each part's edges as contiguous (B, w) arrays, one per coordinate
        # (elementwise work on them is several times faster than on (B, K, m)
        # slices), and its function built once for the whole batch when it is
        # one of skmde's simple functions (evaluated on subsets with ``_subset``)
        prepared = []
        for columns, factory in self.parts:
            values = self.values[:, columns].contiguous()
            mask = self.mask[:, columns].contiguous()
            coords = tuple(
                self.anchors[:, columns, i].contiguous()
                for i in range(self.anchors.shape[2])
            )
            function = factory(values.reshape(-1))
            simple = isinstance(function, DistortionFunction) and not isinstance(
                function, PushAndPull
            )
            prepared.append(
                _Part(
                    coords,
                    values,
                    None if bool(mask.all()) else mask,
                    function if simple else factory,
                )
            )
        self.parts = prepared

    def take(self, rows):
        """The problem of the rows ``rows`` only (increasing indices)."""
        sub = copy.copy(self)
        sub.anchors, sub.values, sub.mask = (
            self.anchors[rows],
            self.values[rows],
            self.mask[rows],
        )
        sub.parts = self._parts_of(rows)
        return sub

    def _parts_of(self, rows):
        """The parts restricted to the rows ``rows`` (indices, possibly
        repeated)."""
        parts = []
        for part in self.parts:
            width = part.values.shape[1]
            function = part.function
            if isinstance(function, DistortionFunction):
                index = rows.unsqueeze(1) * width + torch.arange(
                    width, device=rows.device
                )
                function = function.subset(index.reshape(-1))
            parts.append(
                _Part(
                    tuple(c[rows] for c in part.coords),
                    part.values[rows],
                    None if part.mask is None else part.mask[rows],
                    function,
                )
            )
        return parts


#: on the CPU, a row's penalties are evaluated in pieces of this many edges
#: (see :func:`_evaluate`): torch splits no elementwise operation below
#: 32,768 elements between threads ...
PIECE_EDGES = 1 << 15
#: ... and pieces of a multiple of this many edges leave no remainder to its
#: float64 vector loops (8 elements a step with AVX2, 16 with AVX-512); a
#: shorter remainder is evaluated repeated to this length
VECTOR_EDGES = 16


def _evaluate(function, values, d, order):
    """:func:`_evaluate_piece` of the edges at ``d``, each rounded alike in
    any batch.

    torch's CPU loops compute ``pow`` of most elements with vector
    instructions and of the last few of each thread's range with scalar ones,
    which round differently (torch 2.13: about one value in 60 by an ulp);
    where those ranges end depends on the number of elements, so a row's
    terms (``d ** 0.25`` in the refined pull's derivative) depended on its
    batch. On the CPU the edges are evaluated in pieces that torch keeps on
    one thread, of lengths its vector loops divide, so that every edge takes
    the vector path.
    """
    n = d.numel()
    if d.device.type != "cpu" or (n % VECTOR_EDGES == 0 and n <= PIECE_EDGES):
        return _evaluate_piece(function, values, d, order)
    simple = isinstance(function, DistortionFunction)
    cut = n - n % VECTOR_EDGES
    pieces = [
        slice(start, min(cut, start + PIECE_EDGES))
        for start in range(0, cut, PIECE_EDGES)
    ]
    if cut < n:  # the remainder, its last edge repeated
        pieces.append(torch.arange(cut, cut + VECTOR_EDGES).clamp_max_(n - 1))
    outputs = [
        _evaluate_piece(
            function.subset(piece) if simple else function,
            values[piece],
            d[piece],
            order,
        )
        for piece in pieces
    ]
    if cut < n:
        outputs[-1] = tuple(
            None if part is None else part[: n - cut] for part in outputs[-1]
        )
    return tuple(
        None if parts[0] is None else torch.cat(parts) for parts in zip(*outputs)
    )


def _evaluate_piece(function, values, d, order):
    """``f`` (and ``f'``, ``f''`` when ``order == 2``) of the edges at ``d``.

    ``function`` is a distortion function of these edges, or a factory when it
    does not build one of skmde's simple functions (then called with the
    edges' ``values``).
    Built-in functions give ``f'`` analytically, and ``f''`` too when they
    know it (else by one autograd pass over ``f'``); other callables are
    differentiated twice by autograd.
    """
    if isinstance(function, DistortionFunction):
        if order == 0:
            return function.value_and_derivative(d)[0], None, None
        terms = function.derivatives(d)
        if terms is not None:
            f, g1, g2 = terms
        else:
            d = d.detach().requires_grad_(True)
            with torch.enable_grad():
                f, g1 = function.value_and_derivative(d)
                (g2,) = torch.autograd.grad(g1.sum(), d, allow_unused=True)
    else:
        function = function(values)
        if order == 0:
            return function(d), None, None
        d = d.detach().requires_grad_(True)
        with torch.enable_grad():
            f = function(d)
            (g1,) = torch.autograd.grad(f.sum(), d, create_graph=True)
            (g2,) = torch.autograd.grad(g1.sum(), d, allow_unused=True)
    if g2 is None:  # linear in d
        g2 = torch.zeros_like(g1)
    return f.detach(), g1.detach(), g2.detach()


def _row_terms(x, problem, rows, order):
    """Per-row objective (and gradient, Hessian when ``order == 2``) at ``x``
    of the problem's rows ``rows`` (indices, possibly repeated), or of all its
    rows in order when ``rows`` is None.

    With ``u = (x - y) / d`` per edge, ``grad = sum f'(d) u`` and
    ``H = sum (f'/d) I + (f'' - f'/d) u u^T``. Every sum runs over one row's
    edges only, elementwise, so a row's terms round alike in any batch.
    """
    b, m = x.shape
    value = x.new_zeros(b)
    if order == 2:
        grad = x.new_zeros((b, m))
        hess = x.new_zeros((b, m, m))
    parts = problem.parts if rows is None else problem._parts_of(rows)
    for part in parts:
        width = part.values.shape[1]
        diff = [x[:, i : i + 1] - c for i, c in enumerate(part.coords)]
        d = diff[0].square()
        for component in diff[1:]:
            d.addcmul_(component, component)
        d.sqrt_()
        if order == 2:
            d.clamp_min_(1e-12)
        f, g1, g2 = _evaluate(
            part.function, part.values.reshape(-1), d.reshape(-1), order
        )
        f = f.view(b, width)
        mask = part.mask
        if mask is not None:
            f = torch.where(mask, f, 0.0)
        value += f.sum(dim=1)
        if order == 0:
            continue
        ratio = g1.view(b, width) / d
        g2 = g2.view(b, width)
        if mask is not None:
            ratio = torch.where(mask, ratio, 0.0)
            g2 = torch.where(mask, g2, 0.0)
        coeff = (g2 - ratio) / d.square()
        trace = ratio.sum(dim=1)
        for i in range(m):
            grad[:, i] += (ratio * diff[i]).sum(dim=1)
            weighted = coeff * diff[i]
            for j in range(i, m):
                h = (weighted * diff[j]).sum(dim=1)
                if i == j:
                    h += trace
                hess[:, i, j] += h
                if j != i:
                    hess[:, j, i] += h
    if order == 0:
        return value, None, None
    return value, grad, hess


def _backtrack(xa, value, step, slope, problem, rows, ladder=4, rounds=12):
    """Per-row backtracking for rows whose full step failed: the largest
    ``t = 2^-j`` (j >= 1) with sufficient decrease, ``ladder`` halvings tried
    per evaluation. Returns ``t`` (0: no step found)."""
    t = xa.new_zeros(len(rows))
    pending = torch.arange(len(rows), device=xa.device)
    scales = 0.5 ** torch.arange(1, ladder + 1, dtype=xa.dtype, device=xa.device)
    for round_ in range(rounds):
        if pending.numel() == 0:
            break
        steps = scales * 0.5 ** (ladder * round_)  # (L,)
        p, L = pending.numel(), len(steps)
        trial = (
            xa[pending].unsqueeze(1) + steps.view(1, L, 1) * step[pending].unsqueeze(1)
        ).reshape(p * L, -1)
        trial_value, _, _ = _row_terms(
            trial, problem, rows[pending].repeat_interleave(L), order=0
        )
        good = trial_value.view(p, L) <= (
            value[pending].unsqueeze(1)
            + 1e-4 * steps.view(1, L) * slope[pending].unsqueeze(1)
        )
        found = good.any(dim=1)
        first = torch.argmax(good.to(torch.int8), dim=1)  # the largest good step
        t[pending[found]] = steps[first[found]]
        pending = pending[~found]
    return t


def _newton_step(grad, hess):
    """The Newton step on ``|H|`` (eigenvalues replaced by their absolute
    values, at least 1e-10 of the largest): the Newton step where the Hessian
    is positive definite, a descent step of sensible length where it is not
    (along negative curvature it moves away from the maximum, as far as the
    curvature's magnitude says)."""
    hess = 0.5 * (hess + hess.transpose(1, 2))
    if hess.shape[1] == 2:
        return _newton_step_2d(grad, hess)
    return _newton_step_eigh(grad, hess)


def _newton_step_eigh(grad, hess):
    evals, evecs = torch.linalg.eigh(hess)
    size = _floored(evals.abs())
    coords = (evecs * grad.unsqueeze(2)).sum(dim=1)  # V^T g, row by row
    return -(evecs * (coords / size).unsqueeze(1)).sum(dim=2)


def _floored(size):
    return torch.maximum(size, 1e-10 * size.amax(dim=1, keepdim=True).clamp_min(1e-300))


def _newton_step_2d(grad, hess):
    """:func:`_newton_step` for 2 x 2 Hessians in closed form (elementwise,
    so each row rounds alike in any batch; a batched ``eigh`` costs more than
    the rest of a Newton iteration at this size).

    With eigenvalues ``l1 >= l2`` and ``P = (H - l2 I) / (l1 - l2)`` the
    projector on the first eigenvector, ``|H|^-1 = I / s2 + (1/s1 - 1/s2) P``
    (``s`` the floored absolute eigenvalues); ``P``'s entries are bounded by
    1, and where ``l1 == l2`` the second term vanishes.
    """
    a, b, c = hess[:, 0, 0], hess[:, 0, 1], hess[:, 1, 1]
    mean = 0.5 * (a + c)
    radius = torch.hypot(0.5 * (a - c), b)
    size = _floored(torch.stack([mean + radius, mean - radius], dim=1).abs())
    inverse = 1.0 / size
    scale = torch.where(
        radius > 0, (inverse[:, 0] - inverse[:, 1]) / (2.0 * radius), 0.0
    )
    g0, g1 = grad[:, 0], grad[:, 1]
    # (H - l2 I) g, with l2 = mean - radius
    shift = radius - mean
    p0 = (a + shift) * g0 + b * g1
    p1 = b * g0 + (c + shift) * g1
    return -(inverse[:, 1:] * grad + scale.unsqueeze(1) * torch.stack([p0, p1], 1))


def solve_rows(x0, problem, *, tol=NEWTON_TOL, max_iter=NEWTON_MAX_ITER):
    """Minimize each row's objective from ``x0`` by damped Newton steps.

    Each row takes the full step when it decreases its objective enough
    (Armijo), else backtracks on its own; it stops when its step is below
    ``tol`` relative to its position (a Newton step that small is taken
    without a check: near the minimum, the objective's change is below its
    rounding). The derivatives at an accepted full step are those of the next
    iteration, so they are computed with the trial.
    """
    x = x0.clone()
    active = torch.arange(x.shape[0], device=x.device)
    # ``problem`` holds the rows ``held`` (a superset of ``active``); once
    # fewer than half of them are active, it is cut down to the active ones,
    # so that most evaluations run on all of its rows, without gathering
    held = active
    value, grad, hess = _row_terms(x, problem, None, order=2)
    for _ in range(max_iter):
        if active.numel() == 0:
            break
        if 2 * active.numel() <= held.numel():
            problem = problem.take(torch.searchsorted(held, active))
            held = active
        xa = x[active]
        step = _newton_step(grad, hess)
        small = torch.linalg.vector_norm(step, dim=1) <= tol * (
            1.0 + torch.linalg.vector_norm(xa, dim=1)
        )
        if small.any():
            x[active[small]] = xa[small] + step[small]
            keep = ~small
            active, xa, step = active[keep], xa[keep], step[keep]
            value, grad, hess = value[keep], grad[keep], hess[keep]
            if active.numel() == 0:
                break
        slope = (grad * step).sum(dim=1)
        local = torch.searchsorted(held, active)  # sorted, distinct
        every = None if len(local) == len(held) else local
        new_value, new_grad, new_hess = _row_terms(xa + step, problem, every, order=2)
        t = (new_value <= value + 1e-4 * slope).to(xa.dtype)
        failed = (t == 0).nonzero().squeeze(1)
        if failed.numel():
            t[failed] = _backtrack(
                xa[failed],
                value[failed],
                step[failed],
                slope[failed],
                problem,
                local[failed],
            )
        accepted = t > 0
        moved = torch.where(accepted.unsqueeze(1), t.unsqueeze(1) * step, 0.0)
        x[active] = xa + moved
        size = torch.linalg.vector_norm(moved, dim=1)
        done = (~accepted) | (size <= tol * (1.0 + torch.linalg.vector_norm(xa, dim=1)))
        # derivatives for the next iteration: from the trial where the full
        # step was taken, recomputed where a shorter one was
        redo = (accepted & (t < 1) & ~done).nonzero().squeeze(1)
        if redo.numel():
            new_value[redo], new_grad[redo], new_hess[redo] = _row_terms(
                x[active[redo]], problem, local[redo], order=2
            )
        keep = ~done
        active = active[keep]
        value, grad, hess = new_value[keep], new_grad[keep], new_hess[keep]
    return x


# -- neighbour rows ------------------------------------------------------------------
