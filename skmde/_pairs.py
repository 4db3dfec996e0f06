"""Pairs of items: uniform samples (repulsive edges, sampled distances), all
pairs, and the distances between the items of given pairs."""

import numpy as np
import scipy.sparse
import scipy.spatial.distance
import torch

from ._utils import sampled_dots, sorted_distinct, sparse_csr, tensor_on
from .constraints import Anchored
from .neighbors import PYNNDESCENT_METRICS, TORCH_METRICS
from .neighbors._blocks import BLOCK_BYTES, unit_rows

#: the default repulsion (``repulsive_fraction`` not given) is spread over
#: more, lighter pairs, its total weight unchanged: over at least this many
#: (every non-neighbour pair when there are fewer; four sampled pairs per
#: neighbour pair are few on data of a few hundred samples) ...
#: Measured with the estimator's defaults (seeds 0-4, medians, scored as
#: compare.py does): trustworthiness on iris 0.9746 -> 0.9778, breast cancer
#: 0.9368 -> 0.9454, 500 digits 0.9771 -> 0.9816, 1,000 MNIST images 0.9523
#: -> 0.9560 (wine 0.9475 -> 0.9444)
MIN_REPULSIVE_PAIRS = 50_000
#: ... and, in a problem solved in two phases (see ``_refine``), over
#: REPULSIVE_SPREAD times the sample (six pairs per neighbour pair), up to
#: MAX_SPREAD_PAIRS pairs: trustworthiness on digits 0.9872 -> 0.9889,
#: 2,000 / 5,000 MNIST images 0.9478 -> 0.9521 / 0.9636 -> 0.9655, MNIST-10k
#: 0.9667 -> 0.9683 (with MDENeighbors' 150 iterations, as fast as the
#: sample at 200). A million rows gained 0.0005 for 0.7 GB more memory: past
#: MAX_SPREAD_PAIRS the sample stays as drawn. The one-phase problem of
#: MDEEmbedder (300 iterations) gained 0.001 on MNIST-10k for 28% more time:
#: one-phase problems keep the floor alone
REPULSIVE_SPREAD = 1.5
MAX_SPREAD_PAIRS = 2_000_000

#: the solver visits the edges in tiles whose tail rows of the embedding and
#: of the gradient fill this many bytes (see :func:`cache_tile`)
TILE_BYTES = 1 << 18
#: :func:`_contains` searches this many keys at a time
CONTAINS_CHUNK = 1 << 22


def spread_repulsion(n_items, count, exclude, weight, refined=False):
    """``(count, weight)``: ``count`` repulsive pairs of ``weight`` each
    (sampled by :func:`sample_non_edges` away from ``exclude``), spread with
    the same total weight ``count * weight`` over more pairs when ``count``
    is less than :data:`MIN_REPULSIVE_PAIRS` or, for a ``refined`` problem,
    ``REPULSIVE_SPREAD * count`` (at most :data:`MAX_SPREAD_PAIRS`): over
    that many, or over all the available pairs when fewer (more than the
    available pairs: those, each weighing more)."""
    target = MIN_REPULSIVE_PAIRS
    if refined:
        target = max(target, min(int(REPULSIVE_SPREAD * count), MAX_SPREAD_PAIRS))
    if count <= 0 or count >= target:
        return count, weight
    total = n_items * (n_items - 1) // 2
    available = total - len(exclude)
    if available < target:  # exclude may repeat pairs: count them once
        available = total - len(_pair_keys(exclude, n_items))
    spread = min(available, target)
    if spread in (0, count):
        return count, weight
    return spread, weight * count / spread


def cache_tile(n_items, row_bytes):
    """The tile of :func:`tile_order` for ``n_items`` items whose rows of the
    embedding and of the gradient take ``row_bytes`` together, or None when
    one tile would hold every item.

    The solver's loops read the embedding and write the gradient at both
    ends of each edge. Edges sorted by tail reach their heads all over the
    embedding: past a few hundred thousand items nearly every head is a cache
    miss. Visited tile by tile (the edges whose tails lie in one range of
    ``tile`` items, sorted by head), the tails' rows stay in cache and the
    heads are read in increasing order, which the processor prefetches. On
    our machine the loops over 30 million random pairs of a million items
    took 0.13-0.14 s instead of 0.41-0.49 s with tiles of 16,384 items
    (0.15-0.19 s with 4,096 or 32,768), over 7.5 million pairs of 250,000
    items 0.036-0.056 s instead of 0.059-0.066 s.
    """
    tile = max(1, TILE_BYTES // row_bytes)
    return tile if n_items > tile else None


def tile_keys(i, j, n_items, tile):
    """Distinct int64 keys of the pairs ``(i, j)`` (two integer arrays) whose
    increasing order is :func:`tile_order`'s: ``(i // tile, j, i)``."""
    i = np.asarray(i, dtype=np.int64)
    keys = i // tile
    keys *= n_items
    keys += j
    keys *= tile
    keys += i % tile
    return keys


def tile_order(pairs, n_items, tile):
    """The permutation that visits ``pairs`` tile by tile: by the range of
    ``tile`` items that holds the pair's first item, then by its second,
    then by its first (see :func:`cache_tile`)."""
    return np.argsort(tile_keys(pairs[:, 0], pairs[:, 1], n_items, tile))


def sample_non_edges(n_items, count, exclude, rng, tile=None):
    """``count`` distinct pairs ``i < j`` drawn uniformly among those not in
    ``exclude`` (an (p, 2) array of pairs ``i < j``), without replacement.

    Draws pairs in one vectorized batch (a few more than needed), keeps the
    distinct ones not excluded, and removes a uniformly random surplus: every
    set of ``count`` available pairs is equally likely. Memory is proportional
    to the pairs drawn. When the request approaches the number of available
    pairs, the available pairs are enumerated instead. The pairs come sorted
    by ``i``, then ``j``, or with ``tile`` (see :func:`cache_tile`) in
    :func:`tile_order`.
    """
    total = n_items * (n_items - 1) // 2
    excluded = _pair_keys(exclude, n_items)
    available = total - len(excluded)
    count = min(count, available)
    if count <= 0:
        return np.empty((0, 2), dtype=np.int64)
    if count > available // 2:
        i, j = np.triu_indices(n_items, k=1)
        keys = i.astype(np.int64) * n_items + j
        keys = keys[~_contains(excluded, keys)]
        keys = np.sort(rng.permutation(keys)[:count])
    else:
        keys = np.empty(0, dtype=np.int64)
        while len(keys) < count:
            want = int(1.05 * (count - len(keys))) + 64
            new = _drawn_keys(n_items, want, rng)
            new = new[~_contains(excluded, new)]  # sorted: cache-friendly search
            keys = (
                new if len(keys) == 0 else sorted_distinct(np.concatenate([keys, new]))
            )
            del new
        if len(keys) > count:
            surplus = rng.choice(len(keys), len(keys) - count, replace=False)
            keys = np.delete(keys, surplus)
    pairs = np.empty((len(keys), 2), dtype=np.int64)
    np.divmod(keys, n_items, out=(pairs[:, 0], pairs[:, 1]))
    if tile is None:
        return pairs
    # the same pairs in the tiles' order, decoded in place (the arrays of a
    # sample of 30 million pairs take 240 MB each)
    del keys
    keys = tile_keys(pairs[:, 0], pairs[:, 1], n_items, tile)
    keys.sort()
    high = keys // tile
    np.remainder(high, n_items, out=pairs[:, 1])
    high //= n_items
    high *= tile
    high += np.remainder(keys, tile, out=keys)
    pairs[:, 0] = high
    return pairs


def _drawn_keys(n_items, count, rng):
    """The sorted distinct keys ``i n + j`` of ``count`` pairs ``i < j`` of
    distinct items drawn uniformly with replacement, computed in place (three
    arrays of ``count`` at most)."""
    a = rng.integers(0, n_items, size=count)
    b = rng.integers(0, n_items - 1, size=count)
    b += b >= a  # uniform over b != a
    high = np.maximum(a, b)
    np.minimum(a, b, out=a)
    del b
    a *= n_items
    a += high
    del high
    return sorted_distinct(a, in_place=True)


def _pair_keys(pairs, n_items):
    """The sorted distinct keys ``i n + j`` of pairs ``(i, j)``."""
    return sorted_distinct(pairs[:, 0].astype(np.int64) * n_items + pairs[:, 1])


def _contains(sorted_keys, keys):
    """Whether each of ``keys`` is in ``sorted_keys`` (int64 arrays).

    torch's searchsorted: several times faster than numpy's on large arrays
    (it runs in parallel), which matters at millions of pairs.
    """
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    haystack, found = torch.from_numpy(sorted_keys), np.empty(len(keys), dtype=bool)
    for start in range(0, len(keys), CONTAINS_CHUNK):  # a chunk's positions
        needles = torch.from_numpy(keys[start : start + CONTAINS_CHUNK])
        pos = torch.searchsorted(haystack, needles).clamp_(max=len(sorted_keys) - 1)
        found[start : start + len(needles)] = (haystack[pos] == needles).numpy()
    return found


def all_pairs(n_items):
    """All pairs ``i < j`` as a (n(n-1)/2, 2) int64 array."""
    i, j = np.triu_indices(n_items, k=1)
    return np.column_stack([i, j]).astype(np.int64)


def sample_pairs(n_items, count, rng, tile=None):
    """``count`` distinct pairs ``i < j`` drawn uniformly without replacement
    (in :func:`tile_order` with ``tile``)."""
    exclude = np.empty((0, 2), dtype=np.int64)
    return sample_non_edges(n_items, count, exclude, rng, tile)


def check_pair_metric(metric):
    """Raise ValueError if :func:`pair_distances` cannot compute ``metric``
    (the metrics only pynndescent's approximate search knows)."""
    if metric in PYNNDESCENT_METRICS:
        raise ValueError(
            f"metric={metric!r} is known to pynndescent's approximate neighbour "
            "search only; distances between given pairs need 'euclidean', "
            "'cosine' or one of scipy's metrics."
        )


def pair_distances(data, edges, metric="euclidean"):
    """Distances between the items of each pair, computed in chunks.

    Never holds more than a chunk of (pairs x features) values. Dense data under
    "euclidean" or "cosine" uses ``|a|^2 + |b|^2 - 2 a.b`` in float64, with the
    dot products of a chunk of pairs from one sampled dense-dense product.
    """
    if not scipy.sparse.issparse(data) and metric in TORCH_METRICS:
        return _dense_pair_distances(data, edges, metric)
    out = np.empty(len(edges), dtype=np.float64)
    sparse = scipy.sparse.issparse(data)
    if sparse:
        data = scipy.sparse.csr_matrix(data, dtype=np.float64)
    d = data.shape[1]
    chunk = max(1, BLOCK_BYTES // (8 * max(d, 1)))
    for start in range(0, len(edges), chunk):
        e = edges[start : start + chunk]
        a, b = data[e[:, 0]], data[e[:, 1]]
        if sparse:
            if metric == "euclidean":
                out[start : start + len(e)] = np.sqrt(
                    np.asarray((a - b).multiply(a - b).sum(axis=1)).ravel()
                )
                continue
            a, b = a.toarray(), b.toarray()
        out[start : start + len(e)] = _paired(a, b, metric)
    return out


def _dense_pair_distances(data, edges, metric):
    X = np.asarray(data, dtype=np.float64)
    X = torch.from_numpy(unit_rows(X) if metric == "cosine" else X)
    X = X - X.mean(dim=0)  # translation invariant; less cancellation
    # squares of lengths near 1e-160 or 1e160 leave float64's range: divide by
    # a power of two (exact) and multiply the distances back
    top = float(X.abs().max()) if X.numel() else 0.0
    unit = 1.0
    if metric != "cosine" and top > 0 and not 2.0**-100 <= top <= 2.0**100:
        unit = 2.0 ** round(np.log2(top))
        X = X / unit
    sq = (X * X).sum(dim=1)
    n = X.shape[0]
    out = np.empty(len(edges), dtype=np.float64)
    for start in range(0, len(edges), 1 << 21):
        e = tensor_on(edges[start : start + (1 << 21)])
        order = torch.argsort(e[:, 0], stable=True)
        rows, cols = e[order, 0], e[order, 1]
        crow = torch.zeros(n + 1, dtype=torch.int64)
        torch.cumsum(torch.bincount(rows, minlength=n), 0, out=crow[1:])
        pattern = sparse_csr(
            crow, cols, torch.zeros(len(e), dtype=torch.float64), (n, n)
        )
        dots = sampled_dots(pattern, X, X)
        d2 = (sq[rows] + sq[cols] - 2.0 * dots).clamp_min_(0.0)
        # unit vectors: |a - b|^2 / 2 = 1 - cos(a, b)
        values = d2 / 2.0 if metric == "cosine" else d2.sqrt_() * unit
        chunk = torch.empty_like(values)
        chunk[order] = values
        out[start : start + len(e)] = chunk.numpy()
    return out


def _paired(a, b, metric):
    if metric == "cosine":
        na = np.linalg.norm(a, axis=1)
        nb = np.linalg.norm(b, axis=1)
        denom = np.where((na > 0) & (nb > 0), na * nb, 1.0)
        return 1.0 - np.where((na > 0) & (nb > 0), (a * b).sum(1) / denom, 0.0)
    try:
        fn = getattr(scipy.spatial.distance, metric)
    except AttributeError:
        raise ValueError(f"unknown metric {metric!r}.") from None
    return np.fromiter((fn(x, y) for x, y in zip(a, b)), dtype=np.float64, count=len(a))


def lookup_distances(D, edges):
    """The entries of the distance matrix ``D`` (dense or sparse) at ``edges``."""
    if scipy.sparse.issparse(D):
        values = np.asarray(D[edges[:, 0], edges[:, 1]]).ravel()
    else:
        values = D[edges[:, 0], edges[:, 1]]
    return np.asarray(values, dtype=np.float64)


def drop_anchor_pairs(edges, values, constraint):
    """Remove edges between two anchors (they carry no information)."""
    if not isinstance(constraint, Anchored) or len(edges) == 0:
        return edges, values
    is_anchor = np.zeros(int(edges.max()) + 1, dtype=bool)
    anchors = constraint.anchors.cpu().numpy()
    is_anchor[anchors[anchors < len(is_anchor)]] = True
    keep = ~(is_anchor[edges[:, 0]] & is_anchor[edges[:, 1]])
    return edges[keep], values[keep]
