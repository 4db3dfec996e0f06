"""partial_fit: a fitted embedding grown by new rows, solved jointly.

Unlike ``transform``, which places each new row alone, the new rows of a
``partial_fit`` are one MDE problem: each is connected to its nearest items
among the fitted items *and the other new rows*, so a group absent at fit
time can form its own cluster. The fitted items the new rows touch are in the
problem too, anchored at their fitted positions (they never move); the others
are left out, so the cost grows with the new rows, not with the fitted ones.

- neighbour embeddings: each new row's ``n_neighbors`` nearest items among
  fitted and new ones (chosen by scaled distance and weighted as in the fit),
  and as many repulsive partners drawn uniformly from all items, each carrying
  the repulsion ``transform`` gives a partner;
- distance embeddings: each new row's distances to the fit's fixed sample of
  fitted items, and to as many other new rows drawn at random.

New rows start where ``transform`` places them. Items are numbered globally:
the fitted ones ``0..n-1``, the new rows ``n..n+b-1``.
"""

import dataclasses
import functools

import numpy as np
import torch

from . import _transform
from ._distortion import build_function
from ._labels import merge_pairs
from ._pairs import pair_distances
from ._plan import build_problem
from ._utils import resolve_device, sorted_distinct
from .constraints import Anchored
from .graphs import (
    SCALING_CANDIDATES,
    fuzzy_memberships,
    local_scales,
    scaled_neighbors,
)
from .neighbors import nearest_neighbors
from .penalties import PushAndPull


@dataclasses.dataclass
class Growth:
    """What a partial fit adds: the new rows' positions (data units), the new
    edges (global indices) with their values and the factory of their
    distortion, the plan for new rows updated, and the solver's iterations."""

    embedding: np.ndarray
    edges: np.ndarray
    values: np.ndarray
    factory: object
    spec: object
    n_iter: int


def grow(spec, index, embedding, X, metric, rng, solve, dtype, device):
    """Grow ``embedding`` (n, m) by the rows ``X`` (see the module docstring).

    ``solve(mde)`` runs the solver on the joint problem and returns
    ``(solution, iterations)``; ``dtype`` and ``device`` are the solver's.
    """
    n, b = embedding.shape[0], X.shape[0]
    units = getattr(spec, "units", 1.0)
    embedding = np.asarray(embedding, dtype=np.float64)
    device = resolve_device(device)
    rows_device = None if device.type == "cpu" else device
    start = _transform.embed_rows(spec, index, embedding, X, rows_device) / units
    if isinstance(spec, _transform.NeighborSpec):
        edges, values, factory, spec = _neighbor_edges(spec, index, n, X, metric, rng)
    else:
        edges, values, factory = _distance_edges(spec, index, n, X, metric, rng)
    nearest, nearest_distance = index.query(X, 1, device=rows_device)
    # the fitted items in the problem: those the edges touch, and at least
    # one (the first row's nearest), so that the problem has an anchor
    touched = sorted_distinct(np.concatenate([edges[edges < n], nearest[:1, 0]]))
    local = np.empty(n + b, dtype=np.int64)
    local[n:] = np.arange(b)
    local[touched] = b + np.arange(len(touched))
    values_t = torch.as_tensor(values, dtype=dtype)
    anchors = torch.from_numpy(embedding[touched] / units)
    mde = build_problem(
        b + len(touched),
        embedding.shape[1],
        local[edges],
        build_function(factory, values_t, "distortion"),
        Anchored(torch.arange(b, b + len(touched)), anchors.to(dtype)),
        np.vstack([start, embedding[touched] / units]),
        device,
    )
    solution, n_iter = solve(mde)
    new = solution[:b].astype(np.float64) * units
    # a row equal to a fitted item is that item (as in transform)
    same = nearest_distance[:, 0] == 0
    new[same] = embedding[nearest[same, 0]]
    return Growth(new, edges, values, factory, spec, n_iter)


def _neighbor_edges(spec, index, n, X, metric, rng):
    b = X.shape[0]
    k = spec.n_neighbors
    wanted = k + (SCALING_CANDIDATES if spec.local_scaling else 0)
    indices, distances = index.query(X, min(wanted, n))
    if b > 1:  # the other new rows as candidates too
        among, among_d, _ = nearest_neighbors(X, min(wanted, b - 1), metric)
        indices = np.concatenate([indices, among + n], axis=1)
        distances = np.concatenate([distances, among_d], axis=1).astype(np.float64)
    order = np.argsort(distances, axis=1, kind="stable")[:, :wanted]
    indices = np.take_along_axis(indices, order, 1)
    distances = np.take_along_axis(distances, order, 1)
    scales = None
    if spec.local_scaling:
        scales = local_scales(distances)
        indices, distances, _ = scaled_neighbors(
            indices, distances, k, np.concatenate([spec.scales, scales])
        )
    else:
        indices, distances = indices[:, :k], distances[:, :k]
    fuzzy = spec.weighting == "fuzzy"
    memberships = fuzzy_memberships(distances) if fuzzy else np.ones(distances.shape)
    rows = np.repeat(np.arange(n, n + b), indices.shape[1])
    pairs = np.column_stack([rows, indices.ravel()])
    keep = np.isfinite(distances.ravel()) & (pairs[:, 0] != pairs[:, 1])
    edges, weights = _union(pairs[keep], memberships.ravel()[keep], n + b, fuzzy)
    if fuzzy:
        weights = weights / spec.weight_scale
    factory = spec.attractive
    if spec.repulsive is not None and spec.partners is not None:
        others = rng.integers(0, n + b - 1, size=(b, k))
        others += others >= np.arange(n, n + b)[:, None]  # never oneself
        repulsive = np.column_stack([np.repeat(np.arange(n, n + b), k), others.ravel()])
        repulsive, _ = merge_pairs(repulsive, np.zeros(len(repulsive)), n + b)
        attractive_keys = edges[:, 0] * (n + b) + edges[:, 1]
        fresh = ~np.isin(repulsive[:, 0] * (n + b) + repulsive[:, 1], attractive_keys)
        repulsive = repulsive[fresh]
        edges = np.concatenate([edges, repulsive])
        weights = np.concatenate(
            [weights, np.full(len(repulsive), -spec.repulsive_weight)]
        )
        factory = functools.partial(
            PushAndPull,
            attractive_penalty=spec.attractive,
            repulsive_penalty=spec.repulsive,
        )
    grown = dataclasses.replace(
        spec,
        scales=None if scales is None else np.concatenate([spec.scales, scales]),
        partners=None
        if spec.partners is None
        else np.concatenate(
            [spec.partners, rng.integers(0, n + b, size=b).astype(spec.partners.dtype)]
        ),
    )
    return edges, weights, factory, grown


def _union(pairs, memberships, n_items, fuzzy):
    """Undirected pairs ``i < j`` from directed ones: a pair found from both
    ends gets the fuzzy union ``a + b - ab`` of its memberships (2 with binary
    weights, as in the fit)."""
    pairs = np.sort(pairs, axis=1)
    edges, total = merge_pairs(pairs, memberships, n_items)
    _, counts = merge_pairs(pairs, np.ones(len(pairs)), n_items)
    if fuzzy:
        _, logs = merge_pairs(pairs, np.log(np.maximum(memberships, 1e-300)), n_items)
        total = total - np.where(counts > 1, np.exp(logs), 0.0)
    else:
        total = np.minimum(counts, 2.0)
    return edges, total


def _distance_edges(spec, index, n, X, metric, rng):
    b = X.shape[0]
    partners = np.asarray(spec.partners, dtype=np.int64)
    to_fitted = index.distances_to(X, np.tile(partners, (b, 1)))
    edges = [
        np.column_stack(
            [np.repeat(partners, b), np.tile(np.arange(n, n + b), len(partners))]
        )
    ]
    values = [to_fitted.T.ravel()]
    if b > 1:
        count = min(len(partners), b - 1)
        others = rng.integers(0, b - 1, size=(b, count))
        others += others >= np.arange(b)[:, None]
        pairs = np.column_stack([np.repeat(np.arange(b), count), others.ravel()])
        pairs, _ = merge_pairs(pairs, np.zeros(len(pairs)), b)
        edges.append(pairs + n)
        values.append(pair_distances(X, pairs, metric))
    edges = np.concatenate(edges)
    values = np.concatenate(values) * spec.deviation_scale
    known = np.isfinite(values)
    return edges[known], values[known], spec.loss
