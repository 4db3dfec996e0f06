"""Nearest-neighbour search.

Two entry points: :func:`nearest_neighbors` finds the nearest other items of
every item (the fit's neighbour graph), :func:`index_for_new_rows` returns an
index that finds the nearest fitted items of new rows (``transform``). Behind
them:

- exact search (:class:`NeighborIndex`, ``_exact``): blocked torch matrix
  products for dense data under "euclidean" and "cosine" (in a PCA-reduced
  space, re-ranked exactly, above 128 features), blocked scipy products for
  sparse data, blocked ``cdist`` for scipy's other metrics (in dense
  searches of :data:`._blocks.COMPILED_MIN_SCORES` scores or more, each
  row's k smallest are selected by a loop numba compiles); above 20,000
  items cluster by cluster with a check of its quality on a sample
  (``_clustered``); given a ``device`` other than the CPU (a GPU), dense
  data under these metrics is searched there exactly, in the full space
  (``_device``), up to :data:`DEVICE_MAX_ITEMS` items;
- pynndescent above :data:`APPROXIMATE_THRESHOLD` items when the clustered
  search misses its quality target, and for the metrics only it computes
  (``_pynndescent``; it compiles with numba on its first call in a process, a
  cost worth paying only at that size);
- given distances, ``metric="precomputed"`` (``_precomputed``);
- neighbours by the distances of the data's first principal components
  (its PCA scores), found by the searches above (``_projected``).

No compilation cost below the threshold; never an n x n matrix for large n.
The thresholds come from ``benchmarks/bench_knn.py``.
"""

import scipy.sparse

from .._utils import torch_threads
from ._clustered import ClusteredSearchFailed
from ._device import DEVICE_MAX_ITEMS
from ._exact import NeighborIndex
from ._metrics import METRICS, PYNNDESCENT_METRICS, TORCH_METRICS, check_metric
from ._precomputed import PrecomputedIndex, dense_distance_topk, sparse_distance_topk
from ._projected import ProjectedIndex, Projection, projected_index
from ._pynndescent import pynndescent_topk

__all__ = [
    "DEVICE_MAX_ITEMS",
    "METRICS",
    "PYNNDESCENT_METRICS",
    "TORCH_METRICS",
    "NeighborIndex",
    "ProjectedIndex",
    "Projection",
    "check_metric",
    "check_new_rows",
    "index_for_new_rows",
    "nearest_neighbors",
    "supports_new_rows",
]

#: above this many items, "auto" uses pynndescent when the clustered search
#: misses its quality target (below, the exact search)
APPROXIMATE_THRESHOLD = 200_000


def nearest_neighbors(
    data,
    k,
    metric="euclidean",
    *,
    method="auto",
    n_jobs=None,
    random_state=None,
    device=None,
):
    """The ``k`` nearest other items of every item.

    Parameters
    ----------
    data : ndarray (n, d), scipy sparse matrix (n, d) or, with
        ``metric="precomputed"``, a dense (n, n) distance matrix or a sparse
        (n, n) matrix of stored distances (a kNN graph).
    k : int
    metric : str
    method : {"auto", "exact", "approximate"}
        "exact" and "auto" search blocks of pairs exactly up to 20,000 items,
        cluster by cluster above; "auto" then falls back to pynndescent above
        :data:`APPROXIMATE_THRESHOLD` items, "exact" to the exact search.
        "approximate" always uses pynndescent.
    n_jobs : int, optional
        Threads of the search (pynndescent's: all cores when None).
    random_state : numpy Generator, optional
        Seeds pynndescent.
    device : str or torch.device, optional
        A GPU ("cuda") searches dense data under "euclidean" or "cosine"
        exactly, unless ``method="approximate"`` or the data has more than
        :data:`DEVICE_MAX_ITEMS` items; None or the CPU: the search above.

    Returns
    -------
    indices : ndarray of shape (n, k), int64
    distances : ndarray of shape (n, k), float32, sorted ascending per row
    index : NeighborIndex or None
        The exact index searched (None for pynndescent and given distances);
        :func:`index_for_new_rows` reuses it.
    """
    metric = check_metric(metric)
    if metric == "precomputed":
        if scipy.sparse.issparse(data):
            return *sparse_distance_topk(data, k), None
        return *dense_distance_topk(data, k), None
    if method != "approximate" and NeighborIndex.supports(data, metric):
        large = method == "auto" and data.shape[0] > APPROXIMATE_THRESHOLD
        with torch_threads(n_jobs):
            index = NeighborIndex(data, metric)
            try:
                # above the threshold, a failed clustered search goes to
                # pynndescent rather than to an exact search of n^2 pairs
                found = index.query(None, k, exact_fallback=not large, device=device)
                return *found, index
            except ClusteredSearchFailed:
                pass
    return *pynndescent_topk(data, k, metric, n_jobs, random_state), None


def supports_new_rows(data, metric):
    """Whether new rows can be searched against ``data`` under ``metric``
    exactly (with given distances, always)."""
    metric = check_metric(metric)
    return metric == "precomputed" or NeighborIndex.supports(data, metric)


def check_new_rows(data, metric):
    """Raise ValueError, before any work, if new rows cannot be searched
    against ``data`` under ``metric`` (see :func:`supports_new_rows`)."""
    if not supports_new_rows(data, metric):
        kind = "sparse" if scipy.sparse.issparse(data) else "dense"
        only = " (pynndescent's only)" if metric in PYNNDESCENT_METRICS else ""
        raise ValueError(
            f"metric={metric!r}{only} on {kind} data has no exact search for new "
            "rows (transform); use 'euclidean', 'cosine', or one of scipy's "
            "metrics on dense data. (With store_training_data=False a model "
            "fits, but cannot transform.)"
        )


def index_for_new_rows(data, metric, index=None, prepare=True, projection=None):
    """An index of the fitted items ``data`` for new rows: ``query(rows, k)``
    gives their nearest fitted items, ``distances_to(rows, partners)`` their
    distances to given ones.

    ``index``, the :class:`NeighborIndex` of the fit's own search when there
    was one, is reused. The index is prepared for CPU searches of many new
    rows now unless ``prepare`` is False: then the first CPU search of new
    rows prepares it (the same partition; a search on a GPU never needs it).
    With a :class:`Projection`, the index measures the distances of the
    rows' scores (a :class:`ProjectedIndex`; ``index``, if given, is that of
    the fitted items' scores). ValueError when the metric has no exact
    search on this kind of data (see :func:`supports_new_rows`).
    """
    metric = check_metric(metric)
    if metric == "precomputed":
        return PrecomputedIndex()
    if projection is not None:
        index = projected_index(data, projection, index)
    elif index is None:
        check_new_rows(data, metric)
        index = NeighborIndex(data, metric)
    return index.prepare_for_new_rows() if prepare else index
