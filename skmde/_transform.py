"""Out-of-sample embedding: new rows placed against a fixed fitted embedding.

Each new row is connected only to fitted items, which are anchored at their
fitted positions, so the problem separates into one tiny problem per row: an
``m``-dimensional minimization over the row's own edges. All rows of a chunk
are solved together by batched damped Newton steps (one ``m x m`` Hessian per
row; ``_row_solver``), each row with its own line search and convergence
test, so a row's result does not depend on the other rows in the batch or on
their order.

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

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import torch

from ._row_solver import RowProblem, _row_terms, solve_rows
from ._utils import tensor_on
from .graphs import SCALING_CANDIDATES, fuzzy_memberships, scaled_neighbors
from .initialization import best_start, weighted_mean
from .neighbors import NeighborIndex, ProjectedIndex, index_for_new_rows

#: fitted items each new row is compared with by distance-preserving transforms
TRANSFORM_PAIRS = 256
#: rows solved together (bounds the memory of a transform call)
CHUNK_ROWS = 8192
#: rows solved together on a GPU, where the number of operations launched
#: (the same for any number of rows) bounds the time more than memory
DEVICE_CHUNK_ROWS = 1 << 16
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
