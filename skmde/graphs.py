"""Weighted neighbour graphs of a fit: symmetrized kNN relations, neighbours
chosen by local scale, fuzzy memberships. (The public :class:`Graph` is in
:mod:`skmde.preprocess.graph`.)"""

from dataclasses import dataclass

import numpy as np
import torch

from ._utils import parallel_blocks
from .neighbors import nearest_neighbors
from .neighbors._blocks import sort_rows


@dataclass
class NeighborGraph:
    """A symmetrized kNN graph and the raw neighbour lists it came from."""

    edges: np.ndarray  # (p, 2) int64, i < j, sorted
    weights: np.ndarray  # (p,) float32: 2 for mutual neighbours, else 1
    distances: np.ndarray  # (p,) float32 edge lengths
    indices: np.ndarray  # (n, k) int64 neighbours of each item
    neighbor_distances: np.ndarray  # (n, k) float32
    scales: np.ndarray | None = None  # (n,) local scales, with local scaling
    weighting: str = "binary"  # "fuzzy" or "binary"
    weight_scale: float = 1.0  # fuzzy weights were divided by this
    index: object = None  # the NeighborIndex searched, when the search was exact


def symmetrize(indices, distances, n_items, max_distance=None, memberships=None):
    """The union of the kNN relations as undirected edges ``i < j``.

    Without ``memberships``, a pair gets weight 2 when each item is among the
    other's neighbours and 1 otherwise (PyMDE's weights). With ``memberships``
    (one value in (0, 1] per kNN entry), the weight is their fuzzy union
    ``a + b - a b``. Pairs farther than ``max_distance`` and padding entries
    (infinite distance, or an item paired with itself) are dropped.
    """
    n, k = indices.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = indices.reshape(-1).astype(np.int64)
    # float32 unless the search gave float64 (scales beyond float32's range)
    dist = distances.reshape(-1).astype(np.result_type(distances, np.float32))
    keep = (rows != cols) & np.isfinite(dist)
    if max_distance is not None:
        keep &= dist <= max_distance
    rows, cols, dist = rows[keep], cols[keep], dist[keep]
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    keys = torch.from_numpy(lo * n_items + hi)
    unique, inverse, counts = torch.unique(
        keys, return_inverse=True, return_counts=True
    )
    unique, inverse, counts = unique.numpy(), inverse.numpy(), counts.numpy()
    edges = np.column_stack([unique // n_items, unique % n_items])
    # the pair's length: the shorter direction (they agree for a metric)
    lengths = np.full(len(unique), np.inf, dtype=dist.dtype)
    np.minimum.at(lengths, inverse, dist)
    if memberships is None:
        weights = np.minimum(counts, 2)
    else:
        p = memberships.reshape(-1)[keep].astype(np.float64)
        total = np.bincount(inverse, weights=p, minlength=len(unique))
        both = np.exp(
            np.bincount(
                inverse, weights=np.log(np.maximum(p, 1e-300)), minlength=len(unique)
            )
        )
        weights = total - np.where(counts > 1, both, 0.0)
    return edges, weights.astype(np.float32), lengths


def local_scales(distances):
    """Each row's local scale: its mean distance to its 4th-6th neighbours.

    Padding entries (infinite distances) are ignored; rows without any finite
    one get the largest scale; zero scales (duplicates) are floored.
    """
    c = distances.shape[1]
    lo, hi = min(3, c - 1), min(6, c)
    near = distances[:, lo:hi].astype(np.float64)
    finite = np.isfinite(near)
    counts = finite.sum(axis=1)
    scale = np.where(finite, near, 0.0).sum(axis=1) / np.maximum(counts, 1)
    if not (counts > 0).all():
        scale[counts == 0] = scale[counts > 0].max() if (counts > 0).any() else 1.0
    positive = scale[scale > 0]
    floor = positive.min() * 1e-3 if positive.size else 1.0
    return np.maximum(scale, floor)


def scaled_neighbors(indices, distances, n_neighbors, reference_scales=None):
    """Choose ``n_neighbors`` among candidate neighbours by scaled distance.

    The scaled distance ``d_ij^2 / (s_i s_j)`` divides by the local scales
    (:func:`local_scales`, as PaCMAP does): in dense regions near pairs count as
    closer, in sparse regions as farther, so every item keeps neighbours of
    comparable relative closeness. ``reference_scales`` gives the scales ``s_j``
    of the candidates when they belong to another set (new rows queried
    against fitted items); by default the rows are their own candidates' items.
    Returns the chosen lists sorted by distance, and the rows' scales.
    """
    scale = local_scales(distances)
    others = scale if reference_scales is None else reference_scales
    k = min(n_neighbors, indices.shape[1])
    d = distances.astype(np.float64)
    # (d / s_i)(d / s_j): the ratios are near 1 at any scale (d^2 / (s_i s_j)
    # underflowed at distances near 1e-200)
    scaled = (d / scale[:, None]) * (d / others[indices])
    chosen = np.argsort(scaled, axis=1, kind="stable")[:, :k]
    indices, distances = sort_rows(
        np.take_along_axis(indices, chosen, 1), np.take_along_axis(distances, chosen, 1)
    )
    return indices, distances, scale


#: rows of memberships computed together (small enough to stay in cache)
FUZZY_BLOCK_ROWS = 4096


def fuzzy_memberships(distances, n_iter=48):
    """UMAP-style neighbour memberships in (0, 1], one per kNN entry.

    ``p_ij = exp(-max(d_ij - rho_i, 0) / sigma_i)`` with ``rho_i`` the distance
    to the nearest neighbour and ``sigma_i`` set (by bisection, for all items at
    once) so that each row sums to ``log2(k)``: the nearest neighbour always
    has membership 1, and farther ones decay at the item's own scale.
    """
    n, k = distances.shape
    out = np.empty((n, k), dtype=np.float32)
    target = np.log2(max(k, 2))

    def rows(start, stop):  # each row on its own: blocks run on threads
        d = distances[start:stop].astype(np.float64)
        finite = np.isfinite(d)
        rho = np.where(finite[:, 0], d[:, 0], 0.0)
        excess = np.where(finite, np.maximum(d - rho[:, None], 0.0), np.inf)
        spread = np.max(np.where(finite, excess, -np.inf), axis=1)
        spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
        # bisection on sigma_i / spread_i, in [1e-6, 1e3]: dimensionless, so
        # that no product of two tiny (1e-200) or huge lengths under- or
        # overflows
        relative = excess / spread[:, None]
        lo, hi = np.full(len(d), 1e-6), np.full(len(d), 1e3)
        for _ in range(n_iter):
            sigma = np.sqrt(lo * hi)
            total = np.exp(-relative / sigma[:, None]).sum(axis=1)
            too_big = total > target
            hi = np.where(too_big, sigma, hi)
            lo = np.where(too_big, lo, sigma)
        sigma = np.sqrt(lo * hi)
        out[start:stop] = np.exp(-relative / sigma[:, None])

    parallel_blocks(rows, n, FUZZY_BLOCK_ROWS)
    return out


#: extra candidates searched per item when neighbours are chosen by scaled distance
SCALING_CANDIDATES = 20


def neighbor_graph(
    data,
    n_neighbors,
    metric="euclidean",
    *,
    method="auto",
    max_distance=None,
    n_jobs=None,
    random_state=None,
    local_scaling=True,
    weighting="fuzzy",
    device=None,
):
    """kNN lists and their symmetrized, weighted graph.

    With ``local_scaling`` the ``n_neighbors`` are chosen among
    ``n_neighbors + 20`` candidates by :func:`scaled_neighbors`. ``weighting``
    is "fuzzy" (:func:`fuzzy_memberships` combined by fuzzy union, rescaled to
    mean 1) or "binary" (PyMDE's 1 and 2, see :func:`symmetrize`). A
    ``device`` other than the CPU searches there when it can (see
    :func:`~skmde.neighbors.nearest_neighbors`).
    """
    n = data.shape[0]
    searched = (
        min(n - 1, n_neighbors + SCALING_CANDIDATES) if local_scaling else n_neighbors
    )
    indices, distances, index = nearest_neighbors(
        data,
        searched,
        metric,
        method=method,
        n_jobs=n_jobs,
        random_state=random_state,
        device=device,
    )
    scales = None
    if local_scaling:
        indices, distances, scales = scaled_neighbors(indices, distances, n_neighbors)
    memberships = fuzzy_memberships(distances) if weighting == "fuzzy" else None
    edges, weights, edge_distances = symmetrize(
        indices, distances, n, max_distance, memberships
    )
    weight_scale = 1.0
    if memberships is not None and len(weights):
        weight_scale = float(weights.mean())
        weights = weights / weight_scale
    return NeighborGraph(
        edges,
        weights,
        edge_distances,
        indices,
        distances,
        scales,
        weighting,
        weight_scale,
        index,
    )
