"""Neighbours read from given distances (``metric="precomputed"``)."""

import numpy as np
import scipy.sparse

from ._blocks import blocked_smallest, rows_per_block, sort_rows


class PrecomputedIndex:
    """The "index" of a model fitted on precomputed distances: new rows come
    as their distances to the fitted items, (n_rows, n_items) dense or sparse
    (unstored entries: not neighbours)."""

    metric = "precomputed"

    def query(self, rows, k, device=None):
        """The k nearest fitted items of each row: (indices, distances)
        (computed on the CPU: ``device`` is accepted for a common signature)."""
        if scipy.sparse.issparse(rows):
            return sparse_distance_topk(rows, k, exclude_self=False)
        return dense_distance_topk(rows, k, exclude_self=False)

    def prepare_for_new_rows(self):
        """Nothing to prepare (a common signature with NeighborIndex)."""
        return self

    def distances_to(self, rows, partners):
        """The distances from each row to the fitted items ``partners``."""
        dense = rows.toarray() if scipy.sparse.issparse(rows) else rows
        return np.take_along_axis(np.asarray(dense, np.float64), partners, 1)


def dense_distance_topk(D, k, exclude_self=True):
    """The k smallest entries of each row of a dense distance matrix, sorted
    (with ``exclude_self``, row ``i`` skips column ``i``)."""
    D = np.asarray(D)

    def distances(start, stop):
        return np.array(D[start:stop], dtype=np.float64)

    block = rows_per_block(D.shape[1], D.dtype.itemsize)
    return sort_rows(
        *blocked_smallest(D.shape[0], k, block, distances, exclude_self, np.float32)
    )


def sparse_distance_topk(D, k, exclude_self=True):
    """k smallest stored entries per row of a sparse distance matrix.

    Rows with fewer than k stored entries (off the diagonal, with
    ``exclude_self``) are padded with an index at infinite distance (its own
    index, dropped when the graph is symmetrized).
    """
    D = scipy.sparse.csr_matrix(D)
    D.sort_indices()
    n = D.shape[0]
    pad = np.arange(n, dtype=np.int64) if exclude_self else np.zeros(n, np.int64)
    indices = np.tile(pad[:, None], (1, k))
    distances = np.full((n, k), np.inf, dtype=np.float32)
    coo = D.tocoo()
    off = coo.row != coo.col if exclude_self else np.ones(coo.nnz, dtype=bool)
    rows, cols, vals = coo.row[off], coo.col[off], coo.data[off]
    order = np.lexsort((vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(n))
    rank = np.arange(len(rows)) - starts[rows]
    take = rank < k
    indices[rows[take], rank[take]] = cols[take]
    distances[rows[take], rank[take]] = vals[take]
    return indices, distances
