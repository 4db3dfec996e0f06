"""Out-of-sample embedding: new rows placed against a fixed fitted embedding.

Each new row is connected only to fitted items, which are anchored at their
fitted positions, so the problem separates into one tiny problem per row: an
``m``-dimensional minimization over the row's own edges. All rows of a chunk
are solved together by batched damped Newton steps (one ``m x m`` Hessian per
row), each row with its own line search and convergence test, so a row's
result does not depend on the other rows in the batch or on their order.

What a row is compared with besides its nearest fitted items comes from
tables drawn once, at fit time: a neighbour row's repulsive partners are the
partners its nearest fitted items were assigned, a distance row's are one
fixed sample of fitted items. Nothing depends on the row's position in the
batch, and nearly equal rows, which have the same nearest items, get the same
partners: ``transform`` is continuous (a hash of the row's bytes, used before,
made a 1-ulp change move a row by the embedding's radius).

The estimators call :func:`embed_rows` with the plan their recipe made
(:class:`NeighborSpec` or :class:`DistanceSpec`) and the fitted items' index.
"""

import copy
import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch

from ._distortion import DistortionFunction
from ._utils import tensor_on
from .graphs import SCALING_CANDIDATES, fuzzy_memberships, scaled_neighbors
from .initialization import best_start, weighted_mean
from .neighbors import NeighborIndex, ProjectedIndex, index_for_new_rows
from .penalties import PushAndPull

#: fitted items each new row is compared with by distance-preserving transforms
TRANSFORM_PAIRS = 256
#: rows solved together (bounds the memory of a transform call)
CHUNK_ROWS = 8192
#: rows solved together on a GPU, where the number of operations launched
#: (the same for any number of rows) bounds the time more than memory
DEVICE_CHUNK_ROWS = 1 << 16
NEWTON_TOL = 1e-8
NEWTON_MAX_ITER = 100
#: nearest fitted items tried as starts besides the mean (see best_start)
START_CANDIDATES = 3


# -- partners fixed at fit time ----------------------------------------------------
def partner_table(n_items, seed):
    """One repulsive partner per fitted item, drawn uniformly (int32)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=n_items).astype(np.int32)


def fixed_sample(n_items, count, seed):
    """``count`` distinct fitted items, sorted: every distance row's partners."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_items, size=min(count, n_items), replace=False))


def neighbor_partners(table, indices, valid):
    """The repulsive partners of rows whose nearest fitted items are
    ``indices`` ((B, k), ``valid`` where they exist): the partners ``table``
    assigned to those items. Returns ``(partners, mask)``; the mask drops
    partners missing, among the row's neighbours, or repeated (the first is
    kept)."""
    partners = table[indices].astype(np.int64)
    mask = valid.copy()
    for column in indices.T:
        mask &= partners != column[:, None]
    order = np.argsort(partners, axis=1, kind="stable")
    ranked = np.take_along_axis(partners, order, axis=1)
    repeat = np.zeros_like(mask)
    repeat[:, 1:] = ranked[:, 1:] == ranked[:, :-1]
    repeated = np.zeros_like(mask)
    np.put_along_axis(repeated, order, repeat, axis=1)
    return partners, mask & ~repeated


# -- the per-row solver ------------------------------------------------------------
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
@dataclass
class NeighborSpec:
    """What a fitted neighbour embedding needs to place new rows (with the
    embedding itself)."""

    n_neighbors: int
    local_scaling: bool
    scales: np.ndarray | None  # (n,) local scales of the fitted items
    weighting: str
    weight_scale: float
    attractive: object  # factory
    repulsive: object  # factory or None
    partners: np.ndarray | None  # (n,) each fitted item's repulsive partner
    repulsive_weight: float
    constraint: object = None  # a user constraint new rows must satisfy
    projection: object = None  # the Projection neighbours are searched in


def transform_neighbors(spec, embedding, candidates, candidate_distances, device=None):
    """Embed new rows given their nearest fitted items (sorted, (B, c) arrays).

    ``embedding`` (n, m) float64 holds the fitted positions; the rows are
    solved on ``device`` (None: the CPU).

    Rows at distance 0 from a fitted item return that item's position exactly.
    """
    indices, distances = candidates, candidate_distances
    if spec.local_scaling:
        indices, distances, _ = scaled_neighbors(
            indices, distances, spec.n_neighbors, reference_scales=spec.scales
        )
    else:
        indices, distances = (
            indices[:, : spec.n_neighbors],
            distances[:, : spec.n_neighbors],
        )
    finite = np.isfinite(distances)
    if spec.weighting == "fuzzy":
        weights = fuzzy_memberships(distances) / spec.weight_scale
    else:
        weights = np.ones(distances.shape, dtype=np.float32)
    if spec.repulsive is not None and spec.partners is not None:
        partners, partner_mask = neighbor_partners(spec.partners, indices, finite)
    else:
        partners = np.zeros((len(indices), 0), dtype=np.int64)
        partner_mask = np.zeros(partners.shape, dtype=bool)
    k = indices.shape[1]
    Y = tensor_on(embedding, device)
    all_idx = tensor_on(np.concatenate([indices, partners], axis=1), device)
    values = np.concatenate(
        [weights, np.full(partners.shape, -spec.repulsive_weight)], axis=1
    )
    mask = np.concatenate([finite, partner_mask], axis=1)
    parts = [(slice(0, k), spec.attractive)]
    if spec.repulsive is not None and partners.shape[1]:
        parts.append((slice(k, k + partners.shape[1]), spec.repulsive))
    problem = RowProblem(
        Y[all_idx], tensor_on(values, device).double(), tensor_on(mask, device), parts
    )
    w = tensor_on(np.where(finite, weights, 0.0), device).double()
    x0 = _best_start(weighted_mean(w, Y, indices), Y, indices, finite, problem)
    x = solve_rows(x0, problem)
    return _finish(x, x0, embedding, candidates, candidate_distances, spec.constraint)


def _best_start(mean, Y, nearest, valid, problem):
    """The best of the weighted mean and a few nearest items as each row's
    start (see :func:`skmde.initialization.best_start`)."""

    def objective(x):
        return _row_terms(x, problem, None, 0)[0]

    return best_start(mean, Y, nearest, valid, objective, START_CANDIDATES)


def _finish(x, x0, embedding, candidates, candidate_distances, constraint):
    """The solved rows as numpy: a row the solver could not place finitely
    (too far for float64 arithmetic) stays at its start, with a warning; rows
    are projected onto a row-wise user ``constraint``; a row equal to a fitted
    item gets that item's exact position."""
    lost = ~torch.isfinite(x).all(dim=1)
    if bool(lost.any()):
        warnings.warn(
            f"{int(lost.sum())} row(s) too far from the training data to be "
            "solved (e.g. row {}) were placed at their start, the weighted "
            "mean of their nearest training samples.".format(int(lost.nonzero()[0])),
            UserWarning,
            stacklevel=4,
        )
        x = torch.where(lost.unsqueeze(1), x0, x)
    if constraint is not None:
        x = constraint.project_onto_constraint(x)
    out = x.cpu().numpy()
    identical = candidate_distances[:, 0] == 0
    out[identical] = embedding[candidates[identical, 0]]
    return out


# -- distance rows ---------------------------------------------------------------------
@dataclass
class DistanceSpec:
    """What a fitted distance embedding needs to place new rows (with the
    embedding itself)."""

    loss: object  # factory
    partners: np.ndarray  # (S,) the fitted items every row is compared with
    deviation_scale: float
    precomputed: bool = False  # rows are distances to the fitted items
    constraint: object = None  # a user constraint new rows must satisfy
    units: float = 1.0  # the fit was solved in units of this (see recipes)


def transform_distances(
    spec, embedding, nearest, nearest_distances, index, rows, device=None
):
    """Embed new rows by matching their distances to a fixed sample of items.

    ``nearest`` (B, c) are the rows' nearest fitted items (for the start and the
    identical-row test); ``index.distances_to(rows, partners)`` gives the
    distances from each row to the fitted items of the sample. Sparse rows of
    given distances (``spec.precomputed``) are matched to their stored
    distances instead: the others are unknown.
    """
    if spec.precomputed and scipy.sparse.issparse(rows):
        partners, deviations, mask = _stored_entries(rows)
        unknown = np.flatnonzero(~mask.any(axis=1))
        if len(unknown):
            raise ValueError(
                f"row {unknown[0]} of X stores no distance to the training "
                "samples (with metric='precomputed', unstored distances are "
                "unknown); it cannot be placed."
            )
    else:
        partners = np.tile(spec.partners, (len(nearest), 1))
        deviations = index.distances_to(rows, partners)
        mask = np.isfinite(deviations)
    deviations = np.where(mask, deviations * spec.deviation_scale, 0.0)
    Y = tensor_on(embedding, device)
    problem = RowProblem(
        Y[tensor_on(partners, device)],
        tensor_on(np.asarray(deviations, np.float64), device),
        tensor_on(mask, device),
        [(slice(0, partners.shape[1]), spec.loss)],
    )
    # start at the inverse-distance weighted mean of the nearest items
    d = tensor_on(np.asarray(nearest_distances, np.float64), device)
    largest = torch.where(torch.isfinite(d), d, 0.0).amax(dim=1, keepdim=True)
    w = 1.0 / (d + 1e-12 * largest.clamp_min(1e-300))  # 0 for missing items
    w = torch.where(torch.isfinite(w), w, 0.0)
    x0 = _best_start(
        weighted_mean(w, Y, nearest),
        Y,
        nearest,
        np.isfinite(nearest_distances),
        problem,
    )
    x = solve_rows(x0, problem)
    return _finish(x, x0, embedding, nearest, nearest_distances, spec.constraint)


def _stored_entries(rows):
    """The stored entries of each row of a CSR matrix, padded to the widest
    row: ``(columns, values, mask)``, (B, w) arrays."""
    rows = scipy.sparse.csr_matrix(rows)
    counts = np.diff(rows.indptr)
    width = max(1, int(counts.max()) if len(counts) else 1)
    owner = np.repeat(np.arange(rows.shape[0]), counts)
    slot = np.arange(rows.nnz) - rows.indptr[owner]
    columns = np.zeros((rows.shape[0], width), dtype=np.int64)
    values = np.zeros((rows.shape[0], width))
    mask = np.zeros((rows.shape[0], width), dtype=bool)
    columns[owner, slot] = rows.indices
    values[owner, slot] = rows.data
    mask[owner, slot] = True
    return columns, values, mask


def chunks(n_rows, size=None):
    """Slices covering ``range(n_rows)`` in chunks of ``size`` rows
    (:data:`CHUNK_ROWS` by default)."""
    size = CHUNK_ROWS if size is None else size
    return [slice(start, min(n_rows, start + size)) for start in range(0, n_rows, size)]


# -- the estimators' entry points ----------------------------------------------------
def embed_rows(spec, index, embedding, X, device=None):
    """Place the rows of ``X`` against the fitted ``embedding`` (never moved).

    ``spec`` is the recipe's :class:`NeighborSpec` or :class:`DistanceSpec`,
    ``index`` the fitted items' index for new rows. ``device`` (None: the
    CPU) runs the rows' neighbour search, where the index can (see
    :meth:`NeighborIndex.query`), and their solves. Returns a float64 array
    of shape (n_rows, m).
    """
    units = getattr(spec, "units", 1.0)  # a power of two: exact
    embedding = np.asarray(embedding, dtype=np.float64) / units
    out = np.empty((X.shape[0], embedding.shape[1]))
    if spec.constraint is not None and not _acts_row_by_row(spec.constraint, embedding):
        spec = dataclasses.replace(spec, constraint=None)
    with torch.no_grad():
        size = None if device is None else DEVICE_CHUNK_ROWS
        for rows in chunks(X.shape[0], size):
            chunk = X[rows]
            if isinstance(spec, NeighborSpec):
                extra = SCALING_CANDIDATES if spec.local_scaling else 0
                k = spec.n_neighbors + extra
                idx, dist = nearest(index, embedding, chunk, k, device)
                out[rows] = transform_neighbors(spec, embedding, idx, dist, device)
            else:
                idx, dist = nearest(index, embedding, chunk, 5, device)
                out[rows] = transform_distances(
                    spec, embedding, idx, dist, index, chunk, device
                )
    return out * units


def _acts_row_by_row(constraint, embedding):
    """Whether ``constraint`` holds for rows one by one (a sphere, a box), so
    that new rows must satisfy it too: projecting a few fitted rows alone
    leaves them where they are. A constraint on the whole set (centred,
    standardized) moves them, and leaves new rows free."""
    rows = torch.from_numpy(np.array(embedding[:8], dtype=np.float64))
    projected = constraint.project_onto_constraint(rows.clone())
    scale = float(rows.abs().max()) or 1.0
    return bool(torch.allclose(projected, rows, rtol=1e-4, atol=1e-6 * scale))


def nearest(index, embedding, rows, k, device=None):
    """The k nearest fitted items of each row: (indices, distances)."""
    return index.query(rows, min(k, embedding.shape[0]), device=device)


def neighborhood_score(index, embedding, X, Z, k):
    """Mean fraction of each row's k nearest fitted items in the data (by
    ``index``) that are among its k nearest in the embedding (``Z`` the rows'
    positions); a row equal to a fitted item leaves that item out of both.
    The data's nearest are found in its own features, also where the fit
    searched principal components (so that the scores of such fits compare)."""
    if isinstance(index, ProjectedIndex):
        index = index.full
    data_idx, data_dist = nearest(index, embedding, X, k + 1)
    embedded = NeighborIndex(np.asarray(embedding), "euclidean")
    emb_idx, _ = embedded.query(Z, k + 1)
    same = np.where(data_dist[:, 0] == 0, data_idx[:, 0], -1)
    return float(
        np.mean(
            [
                len(_drop(a, s, k) & _drop(b, s, k)) / k
                for a, b, s in zip(data_idx, emb_idx, same)
            ]
        )
    )


def _drop(neighbors, item, k):
    """The first k entries of ``neighbors`` other than ``item``, as a set."""
    return set(neighbors[neighbors != item][:k].tolist())


def training_index(X, metric, projection=None):
    """An index of the training data ``X`` for new rows (see
    :meth:`attach_training_data`), prepared by its first search of new rows
    as a fitted model's is; ``projection``: the fit's (see
    :class:`NeighborSpec`)."""
    return index_for_new_rows(X, metric, prepare=False, projection=projection)
