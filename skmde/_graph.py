"""Neighbour graphs, graphs as inputs, repulsive-edge sampling, shortest paths.

Exact k-nearest neighbours are computed by blocked matrix products (torch for
dense data, scipy for sparse data), never holding an n x n matrix for large n and
paying no compilation cost. For dense data of high dimension the search runs in
a PCA-reduced space for a list of candidates that are then re-ranked with exact
distances in the full space. Above 20,000 items it runs cluster by cluster, with a
check of its quality on a sample; above 200,000 items, if that check fails,
pynndescent takes over (it compiles with numba on its first call in a process,
a cost worth paying only at that size). The thresholds come from
``benchmarks/bench_knn.py``.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.spatial.distance
import torch

from ._utils import check_int, sparse_csr, torch_threads

__all__ = ["Graph"]

#: above this many items, "auto" uses pynndescent when the clustered search
#: misses its quality target (below, the exact search)
APPROXIMATE_THRESHOLD = 200_000
#: dense data with more features than this is searched in a PCA-reduced space
REDUCE_ABOVE_DIM = 128
REDUCED_DIM = 100
#: candidates kept per item in the reduced space, as a multiple of k (for the
#: items themselves, and for new rows, whose k already has QUERY_MARGIN spare
#: candidates: 1.25 kept 99.86% of MNIST-10k's true 32 neighbours of new rows,
#: 1.5 99.98% in a search a tenth slower)
CANDIDATE_FACTOR = 1.5
NEW_ROW_CANDIDATE_FACTOR = 1.25
#: metrics computed by the exact torch path
_TORCH_METRICS = ("euclidean", "cosine")
#: metrics computed exactly by scipy's cdist (blocked), by canonical name
_SCIPY_METRICS = (
    "braycurtis",
    "canberra",
    "chebyshev",
    "cityblock",
    "correlation",
    "dice",
    "hamming",
    "jaccard",
    "jensenshannon",
    "minkowski",
    "rogerstanimoto",
    "russellrao",
    "sokalmichener",
    "sokalsneath",
    "sqeuclidean",
    "yule",
)
#: metrics only pynndescent computes (always approximate)
_PYNNDESCENT_METRICS = (
    "haversine",
    "hellinger",
    "wasserstein",
    "kantorovich",
    "symmetric_kl",
    "spearmanr",
    "tsss",
    "true_angular",
    "circular_kantorovich",
    "sinkhorn",
)
_ALIASES = {
    "l2": "euclidean",
    "manhattan": "cityblock",
    "l1": "cityblock",
    "taxicab": "cityblock",
    "linf": "chebyshev",
    "linfinity": "chebyshev",
    "linfty": "chebyshev",
    "jensen_shannon": "jensenshannon",
    "jensen-shannon": "jensenshannon",
}
METRICS = (
    *_TORCH_METRICS,
    *_SCIPY_METRICS,
    *_PYNNDESCENT_METRICS,
    *_ALIASES,
    "precomputed",
)


def check_metric(metric):
    """Return the canonical name of ``metric`` or raise ValueError."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string; got {type(metric).__name__}.")
    name = _ALIASES.get(metric.lower(), metric.lower())
    if name not in METRICS:
        raise ValueError(
            f"unknown metric {metric!r}; expected one of {sorted(METRICS)}."
        )
    return name


#: size of the blocks of scores (or distances) computed at once: small enough
#: to stay in cache while they are selected from (8 MB searched MNIST-10k about
#: 14% faster than 64 MB)
_BLOCK_BYTES = 8 * 2**20
#: above this many items, the neighbours of the items themselves (the fit's
#: graph) are searched cluster by cluster (see _clustered_topk)
CLUSTERED_ABOVE = 20_000
#: clusters probed per cluster (at first), target cluster size, and the
#: quality on a sample below which more clusters are probed
PROBED_CLUSTERS = 16
MAX_PROBED_CLUSTERS = 64
CLUSTER_SIZE = 256
TARGET_RECALL = 0.95
TARGET_CLOSENESS = 0.995
#: spare candidates searched for new rows (see NeighborIndex.query)
QUERY_MARGIN = 8
#: above this many reference items, an index made with ``for_new_rows=True``
#: searches for new rows cluster by cluster (see QueryPartition)
CLUSTERED_QUERIES_ABOVE = 8192
#: clusters probed per new row at first, and the neighbours the check uses
PROBED_CLUSTERS_PER_ROW = 4
QUERY_CHECK_K = 32
#: rows of at most this many entries are selected from with numpy (_smallest)
NARROW_ROWS = 320


class Graph:
    """A weighted undirected graph on ``n_items`` items, given as an input.

    Recipes treat a :class:`Graph` as the relationships to preserve:
    ``preserve_neighbors`` uses its edges as the neighbour pairs,
    ``preserve_distances`` uses shortest-path lengths through it as the
    distances. (A plain scipy sparse matrix is read as a data matrix instead.)

    Parameters
    ----------
    adjacency : scipy sparse matrix or array-like of shape (n_items, n_items)
        Entry ``(i, j)`` is the length of the edge between ``i`` and ``j`` (zero
        or missing: no edge). An edge exists when either ``(i, j)`` or
        ``(j, i)`` is nonzero; its length is the larger of the two.

    Examples
    --------
    >>> from skmde import Graph
    >>> g = Graph.from_edges([[0, 1], [1, 2]], distances=[1.0, 2.0])
    >>> g.n_items, g.n_edges
    (3, 2)
    """

    def __init__(self, adjacency):
        if not scipy.sparse.issparse(adjacency):
            adjacency = np.asarray(adjacency)
            if adjacency.ndim != 2:
                raise ValueError(
                    f"adjacency must be a square matrix; got shape {adjacency.shape}."
                )
        adjacency = scipy.sparse.csr_matrix(adjacency, dtype=np.float64)
        n, n2 = adjacency.shape
        if n != n2:
            raise ValueError(
                f"adjacency must be a square matrix; got shape {adjacency.shape}."
            )
        if n < 2:
            raise ValueError(f"a graph needs at least 2 items; got {n}.")
        values = adjacency.data
        if not np.isfinite(values).all():
            raise ValueError("adjacency must hold finite edge lengths.")
        if (values < 0).any():
            raise ValueError("adjacency must hold nonnegative edge lengths.")
        # an edge exists when either entry is nonzero; its length is the larger
        upper = scipy.sparse.triu(adjacency.maximum(adjacency.T), k=1).tocsr()
        upper.eliminate_zeros()
        self._upper = upper.tocoo()
        self.n_items = n

    @classmethod
    def from_edges(cls, edges, distances=None, n_items=None):
        """Build a graph from ``(p, 2)`` edges and their lengths (default 1)."""
        edges = np.asarray(edges)
        if (
            edges.ndim != 2
            or edges.shape[1] != 2
            or not np.issubdtype(edges.dtype, np.integer)
        ):
            raise ValueError("edges must be an integer array of shape (n_edges, 2).")
        if distances is None:
            distances = np.ones(len(edges))
        distances = np.asarray(distances, dtype=np.float64)
        if distances.shape != (len(edges),):
            raise ValueError("distances must hold one value per edge.")
        n = int(edges.max()) + 1 if n_items is None else n_items
        i, j = edges.min(axis=1), edges.max(axis=1)
        adjacency = scipy.sparse.coo_matrix((distances, (i, j)), shape=(n, n))
        return cls(adjacency + adjacency.T)

    @property
    def edges(self):
        """The ``(n_edges, 2)`` int64 array of pairs ``i < j``."""
        return np.column_stack([self._upper.row, self._upper.col]).astype(np.int64)

    @property
    def distances(self):
        """The edge lengths, aligned with :attr:`edges`."""
        return self._upper.data.copy()

    @property
    def n_edges(self):
        return self._upper.nnz

    @property
    def adjacency(self):
        """The symmetric CSR adjacency matrix of edge lengths."""
        upper = self._upper.tocsr()
        return (upper + upper.T).tocsr()

    def __repr__(self):
        return f"Graph(n_items={self.n_items}, n_edges={self.n_edges})"


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


# -- k nearest neighbours ----------------------------------------------------
def nearest_neighbors(
    data,
    n_neighbors,
    metric="euclidean",
    *,
    method="auto",
    n_jobs=None,
    random_state=None,
):
    """The ``n_neighbors`` nearest other items of every item.

    Parameters
    ----------
    data : ndarray (n, d), scipy sparse matrix (n, d) or, with
        ``metric="precomputed"``, a dense (n, n) distance matrix or a sparse
        (n, n) matrix of stored distances (a kNN graph).
    method : {"auto", "exact", "approximate"}
        "exact" and "auto" search blocks of pairs exactly up to
        :data:`CLUSTERED_ABOVE` items, cluster by cluster above (see
        :func:`_clustered_topk`); "auto" then falls back to pynndescent above
        :data:`APPROXIMATE_THRESHOLD` items, "exact" to the exact search.
        "approximate" always uses pynndescent.

    Returns
    -------
    indices : ndarray of shape (n, k), int64
    distances : ndarray of shape (n, k), float32, sorted ascending per row
    """
    indices, distances, _ = _nearest_neighbors(
        data, n_neighbors, metric, method, n_jobs, random_state
    )
    return indices, distances


def _nearest_neighbors(data, k, metric, method, n_jobs, random_state):
    """:func:`nearest_neighbors`, also returning the :class:`NeighborIndex` it
    searched with (None when it used pynndescent or precomputed distances)."""
    metric = check_metric(metric)
    if metric == "precomputed":
        if scipy.sparse.issparse(data):
            return *_knn_from_sparse_distances(data, k), None
        return *_knn_from_dense_distances(data, k), None
    if method != "approximate" and NeighborIndex.supports(data, metric):
        large = method == "auto" and data.shape[0] > APPROXIMATE_THRESHOLD
        with torch_threads(n_jobs):
            index = NeighborIndex(data, metric)
            try:
                # above the threshold, a failed clustered search goes to
                # pynndescent rather than to an exact search of n^2 pairs
                return *index.query(None, k, exact_fallback=not large), index
            except ClusteredSearchFailed:
                pass
    return *_knn_pynndescent(data, k, metric, n_jobs, random_state), None


def _rows_per_block(n_columns, bytes_per_value=4):
    return max(1, min(8192, _BLOCK_BYTES // max(1, n_columns * bytes_per_value)))


def _sort_rows(indices, distances):
    """Sort each row by distance, ties by index (a batch-independent order)."""
    if (
        distances.dtype == np.float32
        and indices.size
        and indices.min() >= 0
        and indices.max() < 2**32
        and not (distances < 0).any()
    ):
        # one int64 key per entry, distance bits above index bits: the bits of
        # a non-negative float32 order like the float (about 4x faster than
        # lexsort); -0.0 + 0.0 is +0.0
        bits = (distances + np.float32(0.0)).view(np.int32).astype(np.int64)
        order = np.argsort((bits << 32) | indices, axis=1)
    else:
        order = np.lexsort((indices, distances), axis=1)
    return (
        np.take_along_axis(indices, order, axis=1),
        np.take_along_axis(distances, order, axis=1),
    )


class NeighborIndex:
    """Exact k-nearest-neighbour search against a fixed reference set.

    Dense data under "euclidean" or "cosine" is searched with blocked torch
    matrix products; with more than :data:`REDUCE_ABOVE_DIM` features, in a
    PCA-reduced copy for candidates that are then re-ranked by exact distances
    in the full space (one sampled dense-dense product). Sparse data uses
    blocked scipy products, other metrics blocked ``scipy.spatial.distance.cdist``.
    The index holds numpy arrays only, so it pickles anywhere.

    Parameters
    ----------
    data : ndarray or scipy sparse matrix of shape (n, d)
        The reference items.
    metric : str
        A canonical metric name supported by :meth:`supports`.
    for_new_rows : bool, default=False
        Prepare for many queries of new rows: with dense data, a torch metric
        and more than :data:`CLUSTERED_QUERIES_ABOVE` items, build a
        :class:`QueryPartition` so that each new row is compared with a few
        clusters of items instead of all of them.
    """

    def __init__(self, data, metric, for_new_rows=False):
        self.metric = metric
        self.partition = None
        self.n_items = data.shape[0]
        self.sparse = scipy.sparse.issparse(data)
        self.mean = self.basis = self.reduced = None
        # float32 squares overflow above ~1e19 and vanish below ~1e-19: divide
        # by a power of two near the data's magnitude (exact) and multiply the
        # distances back
        self.scale = 1.0
        if metric in _TORCH_METRICS:
            largest = 0.0
            if data.shape[0]:  # dense: from max and min, without an |data| copy
                largest = (
                    float(abs(data).max())
                    if self.sparse
                    else max(float(np.max(data)), -float(np.min(data)))
                )
            if largest > 0 and np.isfinite(largest):
                self.scale = 2.0 ** round(np.log2(largest))
        if self.sparse:
            self.data = self._prepare_sparse(data)
            self.squared_norms = _squared_norms(self.data)
        elif metric in _TORCH_METRICS:
            X = _scaled_float32(data, self.scale)
            if metric == "cosine":
                X = _unit_rows(X)
            # distances are translation invariant; centering reduces rounding
            self.mean = X.mean(axis=0)
            self.data = X - self.mean
            n, d = self.data.shape
            if d > REDUCE_ABOVE_DIM and n > 4 * REDUCED_DIM:
                T = torch.from_numpy(self.data)
                _, vecs = torch.linalg.eigh((T.T @ T).double())
                self.basis = vecs[:, -REDUCED_DIM:].float().numpy()
                self.reduced = (T @ torch.from_numpy(self.basis)).numpy()
            self.squared_norms = _squared_norms(self.data)
        else:
            self.data = np.ascontiguousarray(data, dtype=np.float64)
        if for_new_rows:
            self.prepare_for_new_rows()

    def prepare_for_new_rows(self):
        """Build the :class:`QueryPartition` (dense data, a torch metric and
        more than :data:`CLUSTERED_QUERIES_ABOVE` items; else nothing to do).
        Returns the index."""
        dense = not self.sparse and self.metric in _TORCH_METRICS
        if dense and self.partition is None and self.n_items > CLUSTERED_QUERIES_ABOVE:
            space = self.data if self.reduced is None else self.reduced
            self.partition = QueryPartition.build(torch.from_numpy(space))
        return self

    @staticmethod
    def supports(data, metric):
        """Whether exact search handles this data and metric."""
        if metric in _PYNNDESCENT_METRICS:
            return False
        return metric in _TORCH_METRICS or not scipy.sparse.issparse(data)

    def _prepare_sparse(self, data):
        X = scipy.sparse.csr_matrix(data, dtype=np.float64)
        if self.scale != 1.0:
            X = X / self.scale
        X = scipy.sparse.csr_matrix(X, dtype=np.float32)
        if self.metric == "cosine":
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
            inverse = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0)
            X = scipy.sparse.diags(inverse.astype(np.float32)) @ X
        return scipy.sparse.csr_matrix(X)

    def _prepare_queries(self, queries):
        if self.sparse:
            return self._prepare_sparse(queries)
        if self.metric in _TORCH_METRICS:
            Q = _scaled_float32(queries, self.scale)
            if self.metric == "cosine":
                Q = _unit_rows(Q)
            return Q - self.mean
        return np.ascontiguousarray(queries, dtype=np.float64)

    def query(self, queries, k, exact_fallback=True):
        """The k nearest reference items of each query row.

        ``queries=None`` queries the reference items themselves, each excluded
        from its own list. Returns ``(indices, distances)``, (nq, k) arrays
        sorted by distance (int64 and float32).
        """
        exclude_self = queries is None
        Q = self.data if exclude_self else self._prepare_queries(queries)
        wanted = min(k, self.n_items - (1 if exclude_self else 0))
        # new rows: a few spare candidates, so that items tied at the k-th
        # distance are chosen by index, not by the rounding of a BLAS block
        k = wanted if exclude_self else min(self.n_items, wanted + QUERY_MARGIN)
        if self.sparse:
            indices, d2 = _sparse_topk(Q, self.data, k, exclude_self)
        elif self.metric not in _TORCH_METRICS:
            indices, distances = _cdist_topk(Q, self.data, k, self.metric, exclude_self)
            return indices[:, :wanted], distances[:, :wanted]
        else:
            Xq, Xr = torch.from_numpy(Q), torch.from_numpy(self.data)
            if self.basis is not None:  # candidates in the reduced space
                Zr = torch.from_numpy(self.reduced)
                Zq = Zr if exclude_self else Xq @ torch.from_numpy(self.basis)
                factor = CANDIDATE_FACTOR if exclude_self else NEW_ROW_CANDIDATE_FACTOR
                c = min(self.n_items - (1 if exclude_self else 0), int(factor * k))
            else:
                Zq, Zr, c = Xq, Xr, k
            if exclude_self and self.n_items > CLUSTERED_ABOVE:
                indices, d2 = _clustered_topk(Zr, c, exact_fallback)
            elif exclude_self:
                indices, d2 = _block_topk(Zq, Zr, c, exclude_self)
            else:
                indices, d2 = self._new_row_candidates(Zq, Zr, c), None
            # distances in the full space: for reduced-space candidates, and for
            # new rows from per-pair dot products, which round alike whatever
            # the batch (a BLAS block does not)
            if self.basis is not None or d2 is None:
                indices, d2 = _refine(Xq, Xr, indices, k)
            indices, d2 = indices.numpy(), d2.numpy()
        if not exclude_self:
            d2 = _zero_if_identical(Q, self.data, self.squared_norms, indices, d2)
        d2 = np.maximum(d2, 0.0)
        # unit vectors: |a - b|^2 / 2 = 1 - cos(a, b)
        distances = d2 / 2.0 if self.metric == "cosine" else np.sqrt(d2) * self.scale
        indices, distances = _sort_rows(indices, distances.astype(np.float32))
        return indices[:, :wanted], distances[:, :wanted]

    def _new_row_candidates(self, Zq, Zr, k):
        if self.partition is None:
            return _block_topk(Zq, Zr, k, exclude_self=False)[0]
        return self.partition.topk(Zq, Zr, k)[0]

    def distances_to(self, queries, partners):
        """Distances from each query row to the reference items in its row of
        ``partners`` (a (B, S) index array), computed exactly, in chunks."""
        return self._distances_to(self._prepare_queries(queries), partners)

    def _distances_to(self, Q, partners):
        B, S = partners.shape
        out = np.empty((B, S), dtype=np.float64)
        if self.sparse or self.metric not in _TORCH_METRICS:
            for b in range(B):
                q = Q[b : b + 1]
                refs = self.data[partners[b]]
                if self.sparse:
                    q, refs = q.toarray(), refs.toarray()
                out[b] = (
                    scipy.spatial.distance.cdist(q, refs, metric=self.metric)[0]
                    if self.metric not in _TORCH_METRICS
                    else np.linalg.norm(refs - q, axis=1)
                )
        else:
            block = _rows_per_block(S * Q.shape[1])
            for start in range(0, B, block):
                stop = min(B, start + block)
                refs = self.data[partners[start:stop]]  # (b, S, d)
                out[start:stop] = np.linalg.norm(
                    refs.astype(np.float64) - Q[start:stop, None, :], axis=2
                )
        if self.metric == "cosine":  # unit vectors: |a - b|^2 / 2 = 1 - cos(a, b)
            return out**2 / 2.0
        return out * self.scale


def rows_nearest(rows, k):
    """The k smallest entries of each row of a (B, n) distance matrix (dense, or
    sparse with missing entries meaning "not a neighbour")."""
    if scipy.sparse.issparse(rows):
        return _knn_from_sparse_distances(rows, k, exclude_self=False)
    d = np.asarray(rows, dtype=np.float64)
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    return _sort_rows(part, np.take_along_axis(d, part, 1).astype(np.float32))


def _scaled_float32(data, scale):
    """``data / scale`` as a C-contiguous float32 array, ``scale`` a power of two.

    Float32 (or float16) data is divided in float32: one correctly rounded
    division by a power of two, the same result as dividing in float64 and
    rounding to float32, without a float64 copy of the data.
    """
    data = np.asarray(data)
    if scale == 1.0:
        return np.ascontiguousarray(data, dtype=np.float32)
    narrow = data.dtype in (np.float16, np.float32)
    if narrow and 2.0**-126 <= scale <= 2.0**127:  # a normal float32
        return np.ascontiguousarray(data, dtype=np.float32) / np.float32(scale)
    return np.ascontiguousarray(np.asarray(data, dtype=np.float64) / scale, np.float32)


def _squared_norms(A):
    if scipy.sparse.issparse(A):
        return np.asarray(A.multiply(A).sum(axis=1), dtype=np.float64).ravel()
    return np.einsum("ij,ij->i", A, A, dtype=np.float64)


def _zero_if_identical(Q, R, R_squared_norms, indices, d2):
    """Exact zeros for query rows equal to a reference item.

    ``|q|^2 + |r|^2 - 2 q.r`` rounds to a tiny number, not 0, when ``q == r``;
    pairs whose squared distance is within rounding of 0 are compared value by
    value.
    """
    size = _squared_norms(Q)[:, None] + R_squared_norms[indices]
    rows, cols = np.nonzero(d2 <= 1e-5 * size + 1e-30)
    if len(rows) == 0:
        return d2
    q, r = Q[rows], R[indices[rows, cols]]
    if scipy.sparse.issparse(q):
        same = np.asarray((q != r).sum(axis=1)).ravel() == 0
    else:
        same = (q == r).all(axis=1)
    d2 = d2.copy()
    d2[rows[same], cols[same]] = 0.0
    return d2


def _unit_rows(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.where(norms > 0, X / np.where(norms > 0, norms, 1.0), X)  # 0 stays 0


def _block_topk(Zq, Zr, k, exclude_self):
    """Exact k nearest rows of Zr for each row of Zq, by squared distance."""
    nq = Zq.shape[0]
    sq_r = (Zr * Zr).sum(dim=1)
    sq_q = sq_r if exclude_self else (Zq * Zq).sum(dim=1)
    indices = torch.empty((nq, k), dtype=torch.int64)
    d2 = torch.empty((nq, k), dtype=Zr.dtype)
    block = _rows_per_block(Zr.shape[0])
    for start in range(0, nq, block):
        stop = min(nq, start + block)
        # ||z_j||^2 - 2 z_i.z_j: adding ||z_i||^2 does not change the ranking
        scores = torch.addmm(sq_r.unsqueeze(0), Zq[start:stop], Zr.T, alpha=-2.0)
        if exclude_self:
            rows = torch.arange(stop - start)
            scores[rows, rows + start] = math.inf
        best, idx = _smallest(scores, k)
        indices[start:stop] = idx
        d2[start:stop] = best + sq_q[start:stop].unsqueeze(1)
    return indices, d2


def _smallest(scores, k):
    """The ``k`` smallest entries of each row of a CPU tensor, in no order:
    ``(values, column indices)``. Each row's result depends only on that row.

    On one thread, numpy's introselect (``argpartition``) takes about 0.6 of
    the time of ``torch.topk`` on rows of up to a few hundred entries (the
    k-means clusters); ``torch.topk`` is faster on wider rows and splits rows
    over threads.
    """
    width = scores.shape[1]
    if k >= width:
        return scores, torch.arange(width).expand(scores.shape[0], -1)
    if width > NARROW_ROWS or torch.get_num_threads() > 1:
        best, idx = torch.topk(scores, k, dim=1, largest=False, sorted=False)
        return best, idx
    idx = torch.from_numpy(np.argpartition(scores.numpy(), k - 1, axis=1)[:, :k])
    return torch.gather(scores, 1, idx), idx


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
    sq = (centers * centers).sum(dim=1)
    labels = torch.empty(Z.shape[0], dtype=torch.int64)
    block = _rows_per_block(centers.shape[0])
    for start in range(0, Z.shape[0], block):
        stop = min(Z.shape[0], start + block)
        scores = torch.addmm(sq.unsqueeze(0), Z[start:stop], centers.T, alpha=-2.0)
        labels[start:stop] = scores.argmin(dim=1)
    return labels


class ClusteredSearchFailed(Exception):
    """The clustered search did not reach its quality target."""


def _clustered_topk(Z, k, exact_fallback=True):
    """k nearest other rows of Z, searched cluster by cluster, with a recall check.

    The rows are grouped by k-means into clusters of about
    :data:`CLUSTER_SIZE`; the rows of a cluster are compared with the rows of
    the clusters whose centres are nearest to theirs, by blocked matrix
    products, scanning a fraction of the pairs. The result is then checked on a
    seeded sample of rows against an exact search: it is kept when it finds
    :data:`TARGET_RECALL` of the true neighbours, or neighbours on average
    within :data:`TARGET_CLOSENESS` of the true neighbours' distance (in high
    dimensions many items are about equally near, and any of them serves);
    otherwise the number of probed clusters doubles, up to
    :data:`MAX_PROBED_CLUSTERS` and half the clusters; past that the exact
    search is used instead (or, without
    ``exact_fallback``, :class:`ClusteredSearchFailed` is raised). Deterministic.
    """
    n = Z.shape[0]
    n_clusters = max(2, n // CLUSTER_SIZE)
    centers, labels = _kmeans(Z, n_clusters)
    sample = torch.randperm(n, generator=torch.Generator().manual_seed(1))[:256]
    # the true neighbours: the nearest k + 1, less the first (itself)
    exact = _without_nearest(*_block_topk(Z[sample], Z, k + 1, exclude_self=False))
    probed = PROBED_CLUSTERS
    while probed <= MAX_PROBED_CLUSTERS and 2 * probed <= n_clusters:
        # check the sample first (cheap), then search everything once
        if _good_enough(*_probe(Z, k, centers, labels, probed, rows=sample), exact):
            return _probe(Z, k, centers, labels, probed)
        probed *= 2
    if not exact_fallback:
        raise ClusteredSearchFailed
    return _block_topk(Z, Z, k, exclude_self=True)


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


class QueryPartition:
    """Reference items grouped by k-means, for searching new rows.

    Each new row is compared with the items of the ``probed`` clusters whose
    centres are nearest to it (centre distances from per-pair dot products, so
    a row's clusters do not depend on the batch it comes in). ``probed`` is
    chosen once, at build: it starts at :data:`PROBED_CLUSTERS_PER_ROW` and
    doubles until a seeded sample of items, searched as new rows, meets the
    quality targets of :func:`_good_enough` at :data:`QUERY_CHECK_K`
    neighbours; past half the clusters, :meth:`build` returns None (search
    everything). Holds numpy arrays only.
    """

    def __init__(self, centers, order, starts, probed):
        self.centers, self.order, self.starts = centers, order, starts
        self.probed = probed

    @classmethod
    def build(cls, Z):
        n = Z.shape[0]
        n_clusters = max(2, n // CLUSTER_SIZE)
        centers, labels = _kmeans(Z, n_clusters)
        order = torch.argsort(labels, stable=True)
        starts = torch.zeros(n_clusters + 1, dtype=torch.int64)
        torch.cumsum(torch.bincount(labels, minlength=n_clusters), 0, out=starts[1:])
        sample = torch.randperm(n, generator=torch.Generator().manual_seed(1))[:256]
        k = min(QUERY_CHECK_K, n - 1) + 1
        exact = _without_nearest(*_block_topk(Z[sample], Z, k, exclude_self=False))
        probed = PROBED_CLUSTERS_PER_ROW
        while 2 * probed <= n_clusters:
            part = cls(centers.numpy(), order.numpy(), starts.numpy(), probed)
            found = _without_nearest(*part.topk(Z[sample], Z, k))
            if _good_enough(*found, exact):
                return part
            probed *= 2
        return None

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
            probes[start:stop] = _refine(
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
            best, idx = _smallest(scores, t)
            found[pairs, :t] = members[idx]
            found_d2[pairs, :t] = best
        best, idx = _smallest(found_d2.view(nq, p * k), k)
        indices = torch.gather(found.view(nq, p * k), 1, idx)
        d2 = best + (Zq * Zq).sum(dim=1).unsqueeze(1)
        short = torch.nonzero((indices < 0).any(dim=1)).squeeze(1)
        if short.numel():
            indices[short], d2[short] = _block_topk(Zq[short], Zr, k, False)
        return indices, d2


def _probe(Z, k, centers, labels, probed, rows=None):
    """Neighbours of each row (all, or ``rows``) among the rows of the
    ``probed`` clusters nearest to its own; results in the order of ``rows``."""
    n, n_clusters = Z.shape[0], centers.shape[0]
    center_sq = (centers * centers).sum(dim=1)
    center_scores = torch.addmm(center_sq.unsqueeze(0), centers, centers.T, alpha=-2.0)
    nearby = torch.topk(center_scores, probed, dim=1, largest=False).indices
    order = torch.argsort(labels, stable=True)
    starts = torch.zeros(n_clusters + 1, dtype=torch.int64)
    torch.cumsum(torch.bincount(labels, minlength=n_clusters), 0, out=starts[1:])
    members = [order[starts[c] : starts[c + 1]] for c in range(n_clusters)]
    sq = (Z * Z).sum(dim=1)
    indices = torch.empty((n, k), dtype=torch.int64)
    d2 = torch.empty((n, k), dtype=Z.dtype)
    if rows is not None:  # only these rows are queries
        asked = torch.zeros(n, dtype=torch.bool)
        asked[rows] = True
    for c in range(n_clusters):
        # the own cluster first: member i of the cluster is candidate i
        queries = members[c]
        position = torch.arange(queries.numel())
        if rows is not None:
            position = position[asked[queries]]
            queries = queries[position]
        if queries.numel() == 0:
            continue
        others = [members[int(o)] for o in nearby[c] if int(o) != c]
        pool = torch.cat([members[c], *others])
        if pool.numel() - 1 < k:  # too few candidates: search everything
            pool = torch.cat([members[c], order[labels[order] != c]])
        Zp, sq_p = Z[pool], sq[pool]
        block = _rows_per_block(pool.numel())
        for start in range(0, queries.numel(), block):
            stop = min(queries.numel(), start + block)
            batch = queries[start:stop]
            scores = torch.addmm(sq_p.unsqueeze(0), Z[batch], Zp.T, alpha=-2.0)
            itself = position[start:stop]
            scores[torch.arange(stop - start), itself] = math.inf
            best, idx = _smallest(scores, k)
            indices[batch] = pool[idx]
            d2[batch] = best + sq[batch].unsqueeze(1)
    if rows is not None:
        return indices[rows], d2[rows]
    return indices, d2


def _refine(Xq, Xr, candidates, k):
    """Re-rank candidate neighbours by distances in the full space; keep k.

    The candidate dot products come from one sampled dense-dense product
    (SDDMM) over the candidate pattern, without gathering candidate vectors.
    """
    nq, c = candidates.shape
    pattern = sparse_csr(
        torch.arange(0, nq * c + 1, c),
        candidates.reshape(-1),
        torch.zeros(nq * c),
        (nq, Xr.shape[0]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sparse "beta" notice
        dots = torch.sparse.sampled_addmm(pattern, Xq, Xr.T).values().view(nq, c)
    d2 = (
        (Xq * Xq).sum(dim=1).unsqueeze(1)
        - 2.0 * dots
        + (Xr * Xr).sum(dim=1)[candidates]
    )
    best, order = torch.topk(d2, k, dim=1, largest=False)
    return torch.gather(candidates, 1, order), best


def _sparse_topk(Q, R, k, exclude_self):
    sq_r = np.asarray(R.multiply(R).sum(axis=1)).ravel()
    sq_q = sq_r if exclude_self else np.asarray(Q.multiply(Q).sum(axis=1)).ravel()
    RT = R.T.tocsc()
    nq = Q.shape[0]
    indices = np.empty((nq, k), dtype=np.int64)
    d2 = np.empty((nq, k), dtype=np.float64)
    block = _rows_per_block(R.shape[0])
    for start in range(0, nq, block):
        stop = min(nq, start + block)
        scores = (
            sq_q[start:stop, None]
            - 2.0 * (Q[start:stop] @ RT).toarray()
            + sq_r[None, :]
        )
        if exclude_self:
            rows = np.arange(stop - start)
            scores[rows, rows + start] = np.inf
        part = np.argpartition(scores, k - 1, axis=1)[:, :k]
        indices[start:stop] = part
        d2[start:stop] = np.take_along_axis(scores, part, 1)
    return indices, d2


def _cdist_topk(Q, R, k, metric, exclude_self):
    nq = Q.shape[0]
    indices = np.empty((nq, k), dtype=np.int64)
    distances = np.empty((nq, k), dtype=np.float32)
    block = _rows_per_block(R.shape[0], 8)
    for start in range(0, nq, block):
        stop = min(nq, start + block)
        try:
            d = scipy.spatial.distance.cdist(Q[start:stop], R, metric=metric)
        except ValueError as exc:
            raise ValueError(f"metric {metric!r} failed: {exc}") from exc
        if exclude_self:
            rows = np.arange(stop - start)
            d[rows, rows + start] = np.inf
        d = np.nan_to_num(d, nan=np.inf)
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        indices[start:stop] = part
        distances[start:stop] = np.take_along_axis(d, part, 1)
    return _sort_rows(indices, distances)


def _knn_pynndescent(data, k, metric, n_jobs, random_state):
    from pynndescent import NNDescent

    seed = (
        None
        if random_state is None
        else int(np.random.default_rng(random_state).integers(2**31 - 1))
    )
    index = NNDescent(
        data,
        n_neighbors=k + 1,
        metric=metric,
        random_state=seed,
        n_jobs=n_jobs if n_jobs is not None else 1,
        low_memory=True,
        compressed=True,
    )
    indices, distances = index.neighbor_graph
    return _drop_self(indices, distances, k)


def _drop_self(indices, distances, k):
    """Remove each item from its own list (or the farthest entry if absent)."""
    n = indices.shape[0]
    is_self = indices == np.arange(n)[:, None]
    keep = ~is_self
    missing = ~is_self.any(axis=1)
    keep[missing, -1] = False
    indices = indices[keep].reshape(n, -1)[:, :k]
    distances = distances[keep].reshape(n, -1)[:, :k]
    return indices.astype(np.int64), distances.astype(np.float32)


def _knn_from_dense_distances(D, k):
    n = D.shape[0]
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    block = _rows_per_block(n, D.dtype.itemsize)
    for start in range(0, n, block):
        stop = min(n, start + block)
        d = np.array(D[start:stop], dtype=np.float64)
        rows = np.arange(stop - start)
        d[rows, rows + start] = np.inf
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        indices[start:stop] = part
        distances[start:stop] = np.take_along_axis(d, part, 1)
    return _sort_rows(indices, distances)


def _knn_from_sparse_distances(D, k, exclude_self=True):
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


# -- graphs ------------------------------------------------------------------
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
    dist = distances.reshape(-1).astype(np.float32)
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
    lengths = np.full(len(unique), np.inf, dtype=np.float32)
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
    scaled = distances.astype(np.float64) ** 2 / (scale[:, None] * others[indices])
    chosen = np.argsort(scaled, axis=1, kind="stable")[:, :k]
    indices, distances = _sort_rows(
        np.take_along_axis(indices, chosen, 1), np.take_along_axis(distances, chosen, 1)
    )
    return indices, distances, scale


def fuzzy_memberships(distances, n_iter=48):
    """UMAP-style neighbour memberships in (0, 1], one per kNN entry.

    ``p_ij = exp(-max(d_ij - rho_i, 0) / sigma_i)`` with ``rho_i`` the distance
    to the nearest neighbour and ``sigma_i`` set (by bisection, for all items at
    once) so that each row sums to ``log2(k)``: the nearest neighbour always
    has membership 1, and farther ones decay at the item's own scale.
    """
    d = distances.astype(np.float64)
    n, k = d.shape
    finite = np.isfinite(d)
    rho = np.where(finite[:, 0], d[:, 0], 0.0)
    excess = np.where(finite, np.maximum(d - rho[:, None], 0.0), np.inf)
    target = np.log2(max(k, 2))
    spread = np.nanmax(np.where(finite, excess, np.nan), axis=1)
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    lo, hi = np.full(n, 1e-6) * spread, np.full(n, 1e3) * spread
    for _ in range(n_iter):
        sigma = np.sqrt(lo * hi)
        total = np.exp(-excess / sigma[:, None]).sum(axis=1)
        too_big = total > target
        hi = np.where(too_big, sigma, hi)
        lo = np.where(too_big, lo, sigma)
    sigma = np.sqrt(lo * hi)
    return np.exp(-excess / sigma[:, None]).astype(np.float32)


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
):
    """kNN lists and their symmetrized, weighted graph.

    With ``local_scaling`` the ``n_neighbors`` are chosen among
    ``n_neighbors + 20`` candidates by :func:`scaled_neighbors`. ``weighting``
    is "fuzzy" (:func:`fuzzy_memberships` combined by fuzzy union, rescaled to
    mean 1) or "binary" (PyMDE's 1 and 2, see :func:`symmetrize`).
    """
    n = data.shape[0]
    searched = (
        min(n - 1, n_neighbors + SCALING_CANDIDATES) if local_scaling else n_neighbors
    )
    indices, distances, index = _nearest_neighbors(
        data, searched, metric, method, n_jobs, random_state
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


def n_components(n_items, edges):
    """Number of connected components of the graph with these edges."""
    adjacency = scipy.sparse.coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])),
        shape=(n_items, n_items),
    )
    return scipy.sparse.csgraph.connected_components(adjacency, directed=False)[0]


def sample_non_edges(n_items, count, exclude, rng):
    """``count`` distinct pairs ``i < j`` drawn uniformly among those not in
    ``exclude`` (an (p, 2) array of pairs ``i < j``), without replacement.

    Draws pairs in one vectorized batch (a few more than needed), keeps the
    distinct ones not excluded, and removes a uniformly random surplus: every
    set of ``count`` available pairs is equally likely. Memory is proportional
    to the pairs drawn. When the request approaches the number of available
    pairs, the available pairs are enumerated instead. The pairs come sorted
    (by ``i``, then ``j``), which makes the solver read the embedding in order.
    """
    total = n_items * (n_items - 1) // 2
    excluded = _unique(exclude[:, 0].astype(np.int64) * n_items + exclude[:, 1])
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
            a = rng.integers(0, n_items, size=want)
            b = rng.integers(0, n_items - 1, size=want)
            b = b + (b >= a)  # uniform over b != a
            new = np.minimum(a, b) * n_items + np.maximum(a, b)
            keys = _unique(np.concatenate([keys, new[~_contains(excluded, new)]]))
        if len(keys) > count:
            surplus = rng.choice(len(keys), len(keys) - count, replace=False)
            keys = np.delete(keys, surplus)
    return np.column_stack([keys // n_items, keys % n_items])


def _contains(sorted_keys, keys):
    """Whether each of ``keys`` is in ``sorted_keys`` (int64 arrays).

    torch's searchsorted: several times faster than numpy's on large arrays
    (it runs in parallel), which matters at millions of pairs.
    """
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    haystack, needles = torch.from_numpy(sorted_keys), torch.from_numpy(keys)
    pos = torch.searchsorted(haystack, needles).clamp_(max=len(sorted_keys) - 1)
    return (haystack[pos] == needles).numpy()


def _unique(keys):
    """Sorted distinct values of an int64 array (torch: fast on large arrays)."""
    return torch.unique(torch.from_numpy(np.ascontiguousarray(keys))).numpy()


def all_pairs(n_items):
    """All pairs ``i < j`` as a (n(n-1)/2, 2) int64 array."""
    i, j = np.triu_indices(n_items, k=1)
    return np.column_stack([i, j]).astype(np.int64)


def sample_pairs(n_items, count, rng):
    """``count`` distinct pairs ``i < j`` drawn uniformly without replacement."""
    return sample_non_edges(n_items, count, np.empty((0, 2), dtype=np.int64), rng)


def pair_distances(data, edges, metric="euclidean"):
    """Distances between the items of each pair, computed in chunks.

    Never holds more than a chunk of (pairs x features) values. Dense data under
    "euclidean" or "cosine" uses ``|a|^2 + |b|^2 - 2 a.b`` in float64, with the
    dot products of a chunk of pairs from one sampled dense-dense product.
    """
    if not scipy.sparse.issparse(data) and metric in _TORCH_METRICS:
        return _dense_pair_distances(data, edges, metric)
    out = np.empty(len(edges), dtype=np.float64)
    sparse = scipy.sparse.issparse(data)
    if sparse:
        data = scipy.sparse.csr_matrix(data, dtype=np.float64)
    d = data.shape[1]
    chunk = max(1, _BLOCK_BYTES // (8 * max(d, 1)))
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
    X = torch.from_numpy(_unit_rows(X) if metric == "cosine" else X)
    X = X - X.mean(dim=0)  # translation invariant; less cancellation
    sq = (X * X).sum(dim=1)
    n = X.shape[0]
    out = np.empty(len(edges), dtype=np.float64)
    for start in range(0, len(edges), 1 << 21):
        e = torch.from_numpy(np.ascontiguousarray(edges[start : start + (1 << 21)]))
        order = torch.argsort(e[:, 0], stable=True)
        rows, cols = e[order, 0], e[order, 1]
        crow = torch.zeros(n + 1, dtype=torch.int64)
        torch.cumsum(torch.bincount(rows, minlength=n), 0, out=crow[1:])
        pattern = sparse_csr(
            crow, cols, torch.zeros(len(e), dtype=torch.float64), (n, n)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # sparse "beta" notice
            dots = torch.sparse.sampled_addmm(pattern, X, X.T).values()
        d2 = (sq[rows] + sq[cols] - 2.0 * dots).clamp_min_(0.0)
        # unit vectors: |a - b|^2 / 2 = 1 - cos(a, b)
        values = d2 / 2.0 if metric == "cosine" else d2.sqrt_()
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


def shortest_path_pairs(graph, max_pairs, rng):
    """Pairs and their shortest-path lengths through ``graph``.

    All pairs when they fit under ``max_pairs``; otherwise the paths from a
    random subset of source items (each gives its distances to every other
    item), until ``max_pairs`` pairs are collected. Unreachable pairs are
    dropped.
    """
    n = graph.n_items
    adjacency = graph.adjacency
    total = n * (n - 1) // 2
    if total <= max_pairs:
        sources = np.arange(n)
    else:
        sources = rng.permutation(n)[: max(1, int(max_pairs // (n - 1)))]
        sources.sort()
    edges, lengths = [], []
    chunk = max(1, _BLOCK_BYTES // (8 * n))
    for start in range(0, len(sources), chunk):
        src = sources[start : start + chunk]
        dist = scipy.sparse.csgraph.dijkstra(adjacency, directed=False, indices=src)
        cols = np.arange(n)
        for row, s in zip(dist, src):
            mask = np.isfinite(row) & (cols != s)
            if total <= max_pairs:
                mask &= cols > s  # each pair once
            edges.append(np.column_stack([np.full(mask.sum(), s), cols[mask]]))
            lengths.append(row[mask])
    edges = np.concatenate(edges).astype(np.int64)
    lengths = np.concatenate(lengths)
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    keys, first = np.unique(lo * n + hi, return_index=True)
    return np.column_stack([keys // n, keys % n]), lengths[first]


def check_n_neighbors(n_neighbors, n_items):
    """Validate ``n_neighbors`` and clip it to ``n_items - 1`` with a warning."""
    k = check_int(n_neighbors, "n_neighbors", min_value=1)
    if k >= n_items:
        warnings.warn(
            f"n_neighbors={k} >= n_samples={n_items}; using n_neighbors={n_items - 1}.",
            UserWarning,
            stacklevel=3,
        )
        k = n_items - 1
    return k
