"""Graphs from a data matrix (or from a graph, by path length): the k nearest
neighbours, and distances between all or a sample of the pairs."""

from .._inputs import as_data
from .._pairs import all_pairs, pair_distances
from .._utils import logger, reporting
from ..neighbors import nearest_neighbors
from . import graph as _graph
from ._edges import sample_edges

__all__ = ["distances", "k_nearest_neighbors"]


def k_nearest_neighbors(data, k, max_distance=None, verbose=False):
    """The graph of each item's ``k`` nearest neighbours.

    Rows of a data matrix are compared by Euclidean distance, with skmde's
    neighbour search (exact up to 20,000 rows, clustered or pynndescent
    above); the items of a :class:`Graph` by shortest-path length.

    Parameters
    ----------
    data : array-like, torch.Tensor or sparse matrix (n_items, n_features), or Graph
    k : int, 1 <= k < n_items
    max_distance : float, optional
        Neighbours farther than this are left out.
    verbose : bool

    Returns
    -------
    Graph
        An edge for each pair in which one item is among the other's ``k``
        nearest; its value (:attr:`Graph.weights`) is 2 when each is among
        the other's, else 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skmde import preprocess
    >>> X = np.array([[0.0], [1.0], [1.5], [1.75]])
    >>> g = preprocess.k_nearest_neighbors(X, k=1)
    >>> g.edges.tolist(), g.weights.tolist()
    ([[0, 1], [1, 2], [2, 3]], [1.0, 1.0, 2.0])
    """
    if isinstance(data, _graph.Graph):
        return _graph.k_nearest_neighbors(
            data, k, max_distance=max_distance, verbose=verbose
        )
    _, data = as_data(data, "euclidean")
    n = data.shape[0]
    k = _graph.check_k(k, n)
    max_distance = _graph.optional_length(max_distance, "max_distance")
    with reporting(verbose):
        logger.info("computing %d-nearest neighbors of %d items", k, n)
        indices, lengths, _ = nearest_neighbors(data, k)
    return _graph.neighbor_graph(indices, lengths, max_distance)


def distances(data, retain_fraction=1.0, verbose=False):
    """Distances between all pairs of items, or a uniform sample of them.

    Rows of a data matrix are compared by Euclidean distance; items of a
    :class:`Graph` by shortest-path length (:func:`graph.shortest_paths`).

    Parameters
    ----------
    data : array-like, torch.Tensor or sparse matrix (n_items, n_features), or Graph
    retain_fraction : float in (0, 1]
        Keep ``int(retain_fraction * n_items (n_items - 1) / 2)`` pairs (at
        least one), drawn uniformly; 1 keeps all.
    verbose : bool

    Returns
    -------
    Graph
        One edge per pair kept, valued by the distance. (Pairs of identical
        rows, distance 0, have no edge: a Graph cannot hold a zero.)

    Examples
    --------
    >>> import numpy as np
    >>> from skmde import preprocess
    >>> g = preprocess.distances(np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    >>> g.edges.tolist(), g.distances.tolist()
    ([[0, 1], [0, 2], [1, 2]], [5.0, 10.0, 5.0])
    """
    if isinstance(data, _graph.Graph):
        return _graph.shortest_paths(
            data, retain_fraction=retain_fraction, verbose=verbose
        )
    _, data = as_data(data, "euclidean")
    retain_fraction = _graph.check_retain_fraction(retain_fraction)
    n = data.shape[0]
    total = n * (n - 1) // 2
    count = max(1, int(retain_fraction * total))
    with reporting(verbose):
        logger.info("computing %d of %d distances", count, total)
        if count >= total:
            edges = all_pairs(n)
        else:
            edges = sample_edges(n, count, seed=None).numpy()
        lengths = pair_distances(data, edges)
    keep = lengths > 0
    if not keep.any():
        raise ValueError("every sampled pair of rows is identical (distance 0).")
    return _graph.Graph.from_edges(edges[keep], lengths[keep], n_items=n)
