"""Clustered search: rows grouped by k-means, each compared with a few clusters.

Used for the neighbours of the items themselves above :data:`CLUSTERED_ABOVE`
items (:func:`clustered_topk`), and for new rows against a large reference set
(:class:`QueryPartition`). Both check their quality on a seeded sample of rows
against an exact search and probe more clusters until it is good enough
(:func:`_fewest_probes`).
"""

import contextlib
import math

import numpy as np
import torch

from .._utils import ThreadGovernor, parallel_blocks
from ._blocks import (
    block_topk,
    compiled_selection,
    nearest_scores,
    numpy_products,
    refine,
    rows_per_block,
    scores_of,
    smallest,
)

#: above this many items, the neighbours of the items themselves (the fit's
#: graph) are searched cluster by cluster (see clustered_topk)
CLUSTERED_ABOVE = 20_000
#: clusters probed per cluster (at first, and at most: beyond a quarter of
#: the clusters the exact search is hardly slower), target cluster size, and
#: the quality on a sample below which more clusters are probed
PROBED_CLUSTERS = 16
MAX_PROBED_CLUSTERS = 128
CLUSTER_SIZE = 256
TARGET_RECALL = 0.95
TARGET_CLOSENESS = 0.995
#: above this many reference items, an index made with ``for_new_rows=True``
#: searches for new rows cluster by cluster (see QueryPartition)
CLUSTERED_QUERIES_ABOVE = 8192
#: clusters probed per new row at first, and the neighbours the check uses
PROBED_CLUSTERS_PER_ROW = 4
QUERY_CHECK_K = 32
#: rows of the seeded sample the quality checks search exactly
CHECKED_ROWS = 256


class ClusteredSearchFailed(Exception):
    """The clustered search did not reach its quality target."""


def _kmeans(Z, n_clusters, n_iter=8, seed=0):
    """Lloyd's k-means fitted on a seeded sample, then all rows assigned.

    The sample (32 rows per cluster) keeps the fit cheap at millions of rows.
    """
    n = Z.shape[0]
    generator = torch.Generator().manual_seed(seed)
    sample = Z[torch.randperm(n, generator=generator)[: min(n, 32 * n_clusters)]]
    centers = sample[:n_clusters].clone()
    for _ in range(n_iter):
        labels = _nearest_center(sample, centers)
        counts = torch.bincount(labels, minlength=n_clusters).to(Z.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, sample)
        empty = counts == 0
        centers = torch.where(
            empty.unsqueeze(1), centers, sums / counts.clamp_min(1).unsqueeze(1)
        )
    return centers, _nearest_center(Z, centers)


def _nearest_center(Z, centers):
    """Each row's nearest centre (ties to the first). Large assignments run
    blocks in parallel, torch on one thread in each, and take each row's
    minimum with the compiled selection: ``argmin`` over the scores took 3
    of every 4 seconds of a million rows' assignment to 3,906 centres."""
    sq = (centers * centers).sum(dim=1)
    labels = torch.empty(Z.shape[0], dtype=torch.int64)
    compiled = compiled_selection(Z.shape[0] * centers.shape[0])
    products = compiled and numpy_products()

    def assign(start, stop):
        if compiled:
            found = nearest_scores(sq, Z[start:stop], centers, 1, compiled, products)
            labels[start:stop] = found[1][:, 0]
        else:
            labels[start:stop] = scores_of(sq, Z[start:stop], centers).argmin(dim=1)

    block = rows_per_block(centers.shape[0])
    if compiled:
        parallel_blocks(
            assign, Z.shape[0], block, torch_inside=True, blas_inside=products
        )
    else:
        for start in range(0, Z.shape[0], block):
            assign(start, min(Z.shape[0], start + block))
    return labels


def partition(Z):
    """k-means clusters of about :data:`CLUSTER_SIZE` rows: ``(centers,
    labels, order, starts)``, the rows of cluster ``c`` being
    ``order[starts[c]:starts[c + 1]]``."""
    n_clusters = max(2, Z.shape[0] // CLUSTER_SIZE)
    centers, labels = _kmeans(Z, n_clusters)
    order = torch.argsort(labels, stable=True)
    starts = torch.zeros(n_clusters + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(labels, minlength=n_clusters), 0, out=starts[1:])
    return centers, labels, order, starts


def _without_nearest(indices, d2):
    """Drop each row's nearest entry (the query itself, when it is an item)."""
    d2, order = torch.sort(d2, dim=1)
    return torch.gather(indices, 1, order)[:, 1:], d2[:, 1:]


def _good_enough(indices, d2, exact):
    """Whether found neighbours ``(indices, d2)`` meet the quality targets
    against the ``exact`` ones: :data:`TARGET_RECALL` of the true neighbours,
    or a mean distance within :data:`TARGET_CLOSENESS` of theirs."""
    exact_indices, exact_d2 = exact
    recall = np.mean(
        [
            len(set(f) & set(e)) / max(len(e), 1)
            for f, e in zip(indices.tolist(), exact_indices.tolist())
        ]
    )
    exact_mean = exact_d2.clamp_min(0).sqrt().mean(1)
    found_mean = d2.clamp_min(0).sqrt().mean(1)
    closeness = float((exact_mean / found_mean.clamp_min(1e-30)).mean())
    return recall >= TARGET_RECALL or closeness >= TARGET_CLOSENESS


def _fewest_probes(Z, k, probed, limit, search):
    """The fewest probed clusters, from ``probed`` doubling up to ``limit``,
    for which ``search(rows, probed)`` finds good enough neighbours (see
    :func:`_good_enough`, ``k`` of them, the rows themselves left out) for a
    seeded sample of the rows of ``Z``; None when none does."""
    n = Z.shape[0]
    sample = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    sample = sample[:CHECKED_ROWS]
    # the true neighbours: the nearest k + 1, less the first (itself)
    exact = _without_nearest(*block_topk(Z[sample], Z, k + 1, exclude_self=False))
    while probed <= limit:
        if _good_enough(*search(sample, probed), exact):
            return probed
        probed *= 2
    return None


def clustered_topk(Z, k, exact_fallback=True, clusters=None):
    """k nearest other rows of Z, searched cluster by cluster, with a recall check.

    The rows are grouped by k-means into clusters of about
    :data:`CLUSTER_SIZE`; the rows of a cluster are compared with the rows of
    the clusters whose centres are nearest to theirs, by blocked matrix
    products, scanning a fraction of the pairs. The number of probed clusters
    starts at :data:`PROBED_CLUSTERS` and doubles, up to
    :data:`MAX_PROBED_CLUSTERS` and a quarter of the clusters (at least
    :data:`PROBED_CLUSTERS`), until a seeded sample
    of rows meets the quality targets (:func:`_fewest_probes`; in high
    dimensions many items are about equally near, and any of them serves);
    past that the exact search is used instead (or, without
    ``exact_fallback``, :class:`ClusteredSearchFailed` is raised).
    Deterministic. ``clusters``: :func:`partition` of ``Z`` if already
    computed.
    """
    centers, labels, order, starts = clusters or partition(Z)
    limit = min(MAX_PROBED_CLUSTERS, max(PROBED_CLUSTERS, centers.shape[0] // 4))

    def search(rows, probed):
        return _probe(Z, k, centers, labels, order, starts, probed, rows=rows)

    probed = _fewest_probes(Z, k, PROBED_CLUSTERS, limit, search)
    if probed is not None:
        return search(None, probed)
    if not exact_fallback:
        raise ClusteredSearchFailed
    return block_topk(Z, Z, k, exclude_self=True)


def _probe(Z, k, centers, labels, order, starts, probed, rows=None):
    """Neighbours of each row (all, or ``rows``) among the rows of the
    ``probed`` clusters nearest to its own; results in the order of ``rows``."""
    n, n_clusters = Z.shape[0], centers.shape[0]
    center_sq = (centers * centers).sum(dim=1)
    center_scores = torch.addmm(center_sq.unsqueeze(0), centers, centers.T, alpha=-2.0)
    nearby = torch.topk(center_scores, probed, dim=1, largest=False).indices
    members = [order[starts[c] : starts[c + 1]] for c in range(n_clusters)]
    sq = (Z * Z).sum(dim=1)
    indices = torch.empty((n, k), dtype=torch.int64)
    d2 = torch.empty((n, k), dtype=Z.dtype)
    if rows is not None:  # only these rows are queries
        asked = torch.zeros(n, dtype=torch.bool)
        asked[rows] = True
    asked_rows = n if rows is None else len(rows)
    compiled = compiled_selection(asked_rows * probed * CLUSTER_SIZE)
    products = compiled and numpy_products()

    def search(c, governor=None):
        # the own cluster first: member i of the cluster is candidate i
        queries = members[c]
        position = torch.arange(queries.numel())
        if rows is not None:
            position = position[asked[queries]]
            queries = queries[position]
        if queries.numel() == 0:
            return
        others = [members[int(o)] for o in nearby[c] if int(o) != c]
        pool = torch.cat([members[c], *others])
        if pool.numel() - 1 < k:  # too few candidates: search everything
            pool = torch.cat([members[c], order[labels[order] != c]])
        # index_select copies whole rows: 4 to 8 times as fast as Z[pool]
        Zp, sq_p = Z.index_select(0, pool), sq.index_select(0, pool)
        block = rows_per_block(pool.numel())
        with governor or contextlib.nullcontext():
            for start in range(0, queries.numel(), block):
                stop = min(queries.numel(), start + block)
                with _timed(governor, (stop - start) * pool.numel()):
                    batch = queries[start:stop]
                    best, idx = nearest_scores(
                        sq_p,
                        Z.index_select(0, batch),
                        Zp,
                        k,
                        compiled,
                        products,
                        skip=position[start:stop],  # itself
                    )
                    indices[batch] = pool[idx]
                    d2[batch] = best + sq[batch].unsqueeze(1)

    if compiled:  # clusters in parallel, torch on one thread in each

        def clusters(first, stop):
            for c in range(first, stop):
                search(c)

        parallel_blocks(
            clusters, n_clusters, 1, torch_inside=True, blas_inside=products
        )
    else:
        governor = ThreadGovernor()
        for c in range(n_clusters):
            search(c, governor)
    if rows is not None:
        indices, d2 = indices[rows], d2[rows]
    if not compiled:
        # the products' rounding changed with the governed thread count
        # (MKL's, for clusters of a few rows): distances pair by pair instead
        indices, d2 = refine(Z if rows is None else Z[rows], Z, indices, k)
    return indices, d2


def _timed(governor, work):
    """``governor.timed(work)``, or nothing without a governor."""
    return contextlib.nullcontext() if governor is None else governor.timed(work)


class QueryPartition:
    """Reference items grouped by k-means, for searching new rows.

    Each new row is compared with the items of the ``probed`` clusters whose
    centres are nearest to it (centre distances from per-pair dot products, so
    a row's clusters do not depend on the batch it comes in). ``probed`` is
    chosen once, at build: it starts at :data:`PROBED_CLUSTERS_PER_ROW` and
    doubles until a seeded sample of items, searched as new rows, meets the
    quality targets at :data:`QUERY_CHECK_K` neighbours; past half the
    clusters, :meth:`build` returns None (search everything). Holds numpy
    arrays only.
    """

    def __init__(self, centers, order, starts, probed):
        self.centers, self.order, self.starts = centers, order, starts
        self.probed = probed

    @classmethod
    def build(cls, Z, clusters=None):
        """The partition of the items ``Z``; ``clusters``: :func:`partition`
        of ``Z`` if already computed (by the items' own search)."""
        centers, _, order, starts = clusters or partition(Z)
        k = min(QUERY_CHECK_K, Z.shape[0] - 1)
        arrays = centers.numpy(), order.numpy(), starts.numpy()

        def search(rows, probed):
            return _without_nearest(*cls(*arrays, probed).topk(Z[rows], Z, k + 1))

        limit = centers.shape[0] // 2
        probed = _fewest_probes(Z, k, PROBED_CLUSTERS_PER_ROW, limit, search)
        return None if probed is None else cls(*arrays, probed)

    def topk(self, Zq, Zr, k):
        """Approximate k nearest rows of Zr for each row of Zq: (indices,
        squared distances). Rows whose probed clusters hold fewer than k items
        are searched exactly."""
        centers = torch.from_numpy(self.centers)
        order, starts = torch.from_numpy(self.order), self.starts
        nq, n_clusters, p = Zq.shape[0], centers.shape[0], self.probed
        probes = torch.empty((nq, p), dtype=torch.int64)
        every = torch.arange(n_clusters)
        block = max(1, 2**22 // n_clusters)
        for start in range(0, nq, block):
            stop = min(nq, start + block)
            probes[start:stop] = refine(
                Zq[start:stop], centers, every.expand(stop - start, -1), p
            )[0]
        # (row, slot) pairs grouped by cluster
        flat = probes.reshape(-1)
        by_cluster = torch.argsort(flat, stable=True)
        bounds = torch.zeros(n_clusters + 1, dtype=torch.int64)
        torch.cumsum(torch.bincount(flat, minlength=n_clusters), 0, out=bounds[1:])
        bounds = bounds.tolist()
        found = torch.full((nq * p, k), -1, dtype=torch.int64)
        found_d2 = torch.full((nq * p, k), math.inf, dtype=Zr.dtype)
        sq = (Zr * Zr).sum(dim=1)
        for c in range(n_clusters):
            if bounds[c] == bounds[c + 1] or starts[c] == starts[c + 1]:
                continue
            pairs = by_cluster[bounds[c] : bounds[c + 1]]
            members = order[starts[c] : starts[c + 1]]
            scores = torch.addmm(
                sq[members].unsqueeze(0), Zq[pairs // p], Zr[members].T, alpha=-2.0
            )
            t = min(k, members.numel())
            best, idx = smallest(scores, t)
            found[pairs, :t] = members[idx]
            found_d2[pairs, :t] = best
        best, idx = smallest(found_d2.view(nq, p * k), k)
        indices = torch.gather(found.view(nq, p * k), 1, idx)
        d2 = best + (Zq * Zq).sum(dim=1).unsqueeze(1)
        short = torch.nonzero((indices < 0).any(dim=1)).squeeze(1)
        if short.numel():
            indices[short], d2[short] = block_topk(Zq[short], Zr, k, False)
        return indices, d2
