"""inverse_transform: from points of the embedding back to the data space.

A point ``z`` of the embedding is decoded as a weighted mean of the training
rows whose embeddings are nearest to it: the ``k`` nearest fitted positions
(exact search, ties by index), weighted by a Gaussian kernel of their
distances to ``z`` whose width is the distance to the ``k``-th of them. A
point on a fitted position decodes to that training row. Every row is
computed on its own (exact neighbours, row-wise sums), so it does not depend
on the batch it comes in.
"""

import numpy as np

from ._transform import chunks
from .neighbors import NeighborIndex

#: fitted rows averaged per point, and the kernel's sharpness (weights
#: ``exp(-SHARPNESS (d / d_k)^2)``): measured on MNIST-10k
#: (``benchmarks/bench_inverse.py``)
INVERSE_NEIGHBORS = 10
SHARPNESS = 2.0
#: candidates searched beyond k, re-ranked by exact distances
SPARE = 8
#: rows decoded at once (bounds the (rows, k, features) working array)
DECODE_ROWS = 512


def decode_rows(index, embedding, Z, k=INVERSE_NEIGHBORS):
    """Rows of the data space for the points ``Z`` (float64, (len(Z), d)).

    ``index`` is the fitted items' :class:`~skmde.neighbors.NeighborIndex`,
    which rebuilds training rows (:meth:`~NeighborIndex.rows`); ``embedding``
    the fitted positions.
    """
    embedding = np.asarray(embedding, dtype=np.float64)
    positions = NeighborIndex(embedding, "euclidean")
    k = min(k, embedding.shape[0])
    n_features = index.rows(np.zeros(1, dtype=np.int64)).shape[1]
    out = np.empty((Z.shape[0], n_features))
    spare = min(embedding.shape[0], k + SPARE)
    for rows in chunks(Z.shape[0], DECODE_ROWS):
        points = np.asarray(Z[rows], np.float64)
        nearest, _ = positions.query(points, spare)
        # distances in float64 from the positions themselves (the search's
        # float32 cannot tell apart points closer than ~1e-4 of the spread),
        # so that only a point on a fitted position is at distance 0
        distances = np.linalg.norm(embedding[nearest] - points[:, None, :], axis=2)
        order = np.lexsort((nearest, distances), axis=1)[:, :k]
        nearest = np.take_along_axis(nearest, order, 1)
        distances = np.take_along_axis(distances, order, 1)
        weights = kernel_weights(distances)
        out[rows] = (weights[:, :, None] * index.rows(nearest)).sum(axis=1)
    return out


def kernel_weights(distances):
    """Weights summing to 1 per row from sorted distances (rows, k): all on
    the nearest item when it is at distance 0, else
    ``exp(-SHARPNESS (d / d_k)^2)`` normalized."""
    width = distances[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(width > 0, distances / width, 0.0)
    weights = np.exp(-SHARPNESS * relative**2)
    on_item = distances[:, 0] == 0
    weights[on_item] = 0.0
    weights[on_item, 0] = 1.0
    return weights / weights.sum(axis=1, keepdims=True)
