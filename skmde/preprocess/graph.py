"""The :class:`Graph` (a weighted undirected graph, PyMDE's interface) and
what is computed from one: shortest paths, k nearest items by path length,
distances rescaled to a natural length."""

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import torch

from .._inputs import as_float_tensor, check_edges, check_float, check_int
from .._utils import logger, numpy_generator, reporting
from ..graphs import symmetrize
from ..neighbors._blocks import BLOCK_BYTES

__all__ = ["Graph", "k_nearest_neighbors", "scale", "shortest_paths"]


class Graph:
    """A weighted undirected graph on ``n_items`` items.

    Each edge carries one nonnegative value, its *distance* (PyMDE's name
    :attr:`weights` is the same array). Graphs come from
    :func:`skmde.preprocess.k_nearest_neighbors` (values: neighbour weights, 1
    or 2), :func:`skmde.preprocess.distances` and :func:`shortest_paths`
    (values: distances), or are given. Recipes read a Graph as relationships
    to preserve: :func:`~skmde.preserve_neighbors` uses its edges as the
    neighbour pairs, :func:`~skmde.preserve_distances` the shortest-path
    lengths through it. (A plain scipy sparse matrix is a data matrix there.)

    Parameters
    ----------
    adjacency_matrix : sparse matrix, array-like or torch.Tensor (n_items, n_items)
        Entry ``(i, j)`` is the length of the edge between ``i`` and ``j``;
        zero or ``inf`` means no edge (``inf``: unreachable, as in a matrix of
        shortest paths). An edge exists when ``(i, j)`` or ``(j, i)`` is
        nonzero; its length is the larger of the two. The diagonal must be
        zero (no self-edges) and the values nonnegative.

    Attributes
    ----------
    adjacency_matrix, A : scipy.sparse.csr_matrix
        The symmetric adjacency matrix (both ``(i, j)`` and ``(j, i)`` stored).
    edges : torch.Tensor of shape (n_edges, 2), int64
        Each edge once, as ``(i, j)`` with ``i < j``, sorted.
    distances, weights : torch.Tensor of shape (n_edges,), float32
        The edges' values, aligned with :attr:`edges`.
    n_items, n_edges, n_all_edges : int
        Items; edges; pairs of items, ``n_items (n_items - 1) / 2``.

    Examples
    --------
    >>> from skmde.preprocess import Graph
    >>> g = Graph.from_edges([[0, 1], [1, 2]], [1.0, 2.0])
    >>> g.n_items, g.n_edges, g.n_all_edges
    (3, 2, 3)
    >>> g.neighbors(1).tolist(), g.neighbor_distances(1).tolist()
    ([0, 2], [1.0, 2.0])
    >>> float(g[2, 1])
    2.0
    """

    def __init__(self, adjacency_matrix):
        if isinstance(adjacency_matrix, torch.Tensor):
            adjacency_matrix = adjacency_matrix.detach().cpu().numpy()
        if not scipy.sparse.issparse(adjacency_matrix):
            adjacency_matrix = np.asarray(adjacency_matrix)
            if adjacency_matrix.ndim != 2:
                raise ValueError(
                    "adjacency_matrix must be a square matrix; got shape "
                    f"{adjacency_matrix.shape}."
                )
        if adjacency_matrix.dtype.kind not in "biuf":
            raise TypeError(
                "adjacency_matrix must hold numbers; got dtype "
                f"{adjacency_matrix.dtype}."
            )
        A = scipy.sparse.csr_matrix(adjacency_matrix, dtype=np.float64, copy=True)
        n, n2 = A.shape
        if n != n2:
            raise ValueError(
                f"adjacency_matrix must be a square matrix; got shape {A.shape}."
            )
        if n < 2:
            raise ValueError(f"a graph needs at least 2 items; got {n}.")
        A.data[np.isposinf(A.data)] = 0.0  # unreachable: no edge
        if np.isnan(A.data).any() or np.isinf(A.data).any():
            raise ValueError(
                "adjacency_matrix must hold finite edge lengths (or +inf for none)."
            )
        if (A.data < 0).any():
            raise ValueError("adjacency_matrix must hold nonnegative edge lengths.")
        loops = np.flatnonzero(A.diagonal())
        if len(loops):
            raise ValueError(
                "adjacency_matrix must not have self-edges (a nonzero diagonal); "
                f"items {loops[:10].tolist()} have one."
            )
        A.eliminate_zeros()
        if A.nnz == 0:
            raise ValueError(
                "a graph needs at least one edge; adjacency_matrix has none."
            )
        A = A.maximum(A.T).tocsr()  # an edge in either direction, the larger
        A.sort_indices()
        self._A = A
        upper = scipy.sparse.triu(A, k=1).tocoo()
        order = np.lexsort((upper.col, upper.row))
        self._edges = np.column_stack([upper.row, upper.col])[order].astype(np.int64)
        self._values = upper.data[order]

    @classmethod
    def from_edges(cls, edges, weights=None, n_items=None, *, distances=None):
        """Build a graph from ``(n_edges, 2)`` edges and their values.

        Parameters
        ----------
        edges : array-like or torch.Tensor of shape (n_edges, 2)
            Pairs of distinct items; ``(i, j)`` and ``(j, i)`` are the same
            edge, and a repeated edge's values are summed.
        weights : array-like of shape (n_edges,), optional
            The edges' values (default 1). ``distances`` is the same
            argument under skmde's earlier name; give one of them.
        n_items : int, optional
            Default: the largest index in ``edges`` plus one.

        Returns
        -------
        Graph
        """
        if weights is not None and distances is not None:
            raise TypeError("give weights or distances (the same argument), not both.")
        values, name = (
            (weights, "weights") if distances is None else (distances, "distances")
        )
        if n_items is None:
            bound = edges.detach().cpu().numpy() if torch.is_tensor(edges) else edges
            bound = np.asarray(bound)
            n = int(bound.max()) + 1 if bound.size and bound.dtype.kind in "iu" else 2
        else:
            n = check_int(n_items, "n_items", min_value=2)
        edges = check_edges(edges, max(n, 2)).cpu().numpy()
        if values is None:
            values = np.ones(len(edges))
        if torch.is_tensor(values):
            values = values.detach().cpu().numpy()
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (len(edges),):
            raise ValueError(
                f"{name} must hold one value per edge ({len(edges)}); got shape "
                f"{values.shape}."
            )
        if not np.isfinite(values).all():
            raise ValueError(f"{name} must be finite.")
        i, j = edges.min(axis=1), edges.max(axis=1)
        upper = scipy.sparse.coo_matrix((values, (i, j)), shape=(n, n)).tocsr()
        return cls(upper + upper.T)

    @property
    def adjacency_matrix(self):
        return self._A

    A = adjacency_matrix

    @property
    def edges(self):
        return torch.from_numpy(self._edges.copy())

    @property
    def distances(self):
        return torch.from_numpy(self._values.astype(np.float32))

    weights = distances

    @property
    def n_items(self):
        return self._A.shape[0]

    @property
    def n_edges(self):
        return len(self._edges)

    @property
    def n_all_edges(self):
        return self.n_items * (self.n_items - 1) // 2

    def _node(self, node):
        node = check_int(node, "node", min_value=0)
        if node >= self.n_items:
            raise ValueError(f"node must be in [0, {self.n_items - 1}]; got {node}.")
        return node

    def neighbors(self, node):
        """The items joined to ``node`` by an edge, in increasing order."""
        i = self._node(node)
        return self._A.indices[self._A.indptr[i] : self._A.indptr[i + 1]].copy()

    def neighbor_distances(self, node):
        """The values of ``node``'s edges, aligned with :meth:`neighbors`."""
        i = self._node(node)
        return self._A.data[self._A.indptr[i] : self._A.indptr[i + 1]].copy()

    def __getitem__(self, key):
        return self._A[key]

    def __setitem__(self, key, value):
        raise TypeError("Graph objects are immutable; build a new one.")

    def __repr__(self):
        return f"Graph(n_items={self.n_items}, n_edges={self.n_edges})"

    def draw(self, embedding_dim=2, standardized=False, device="cpu", verbose=False):
        """Lay the graph out and plot it with its edges.

        Embeds the items so that embedding distances match shortest-path
        lengths through the graph (all pairs, or a sample of at most 10
        million), then draws the embedding with the graph's edges. With
        ``standardized=False`` the problem is Centered with
        :class:`~skmde.losses.WeightedQuadratic` losses (pairs far apart in
        the graph count less); with ``standardized=True`` it is Standardized
        with :class:`~skmde.penalties.Cubic` penalties of weight ``1 / d``.

        Parameters
        ----------
        embedding_dim : {1, 2, 3}
        standardized : bool
        device : str or torch.device
        verbose : bool

        Returns
        -------
        torch.Tensor of shape (n_items, embedding_dim)
            The layout (the figure is drawn with :func:`skmde.plot`; it needs
            matplotlib).
        """
        from .. import constraints, losses, penalties
        from .._inputs import check_bool
        from .._problem import MDE
        from ..plotting import plot

        embedding_dim = check_int(embedding_dim, "embedding_dim", min_value=1)
        if embedding_dim > 3:
            raise ValueError(f"embedding_dim must be 1, 2 or 3; got {embedding_dim}.")
        standardized = check_bool(standardized, "standardized")
        isolated = np.flatnonzero(np.diff(self._A.indptr) == 0)
        if len(isolated):
            raise ValueError(
                "draw() cannot place isolated items (no edges): items "
                f"{isolated[:10].tolist()}; remove them or join them to the graph."
            )
        if standardized and self.n_items <= embedding_dim:
            raise ValueError(
                f"standardized=True needs more items ({self.n_items}) than "
                f"embedding_dim ({embedding_dim})."
            )
        fraction = min(1.0, 1e7 / self.n_all_edges)
        paths = shortest_paths(self, retain_fraction=fraction)
        d = paths.distances
        if standardized:
            constraint, f = constraints.Standardized(), penalties.Cubic(1.0 / d)
        else:
            constraint, f = constraints.Centered(), losses.WeightedQuadratic(d)
        mde = MDE(
            self.n_items, embedding_dim, paths.edges, f, constraint, device=device
        )
        X = mde.embed(verbose=verbose)
        plot(X, edges=self.edges)
        return X


def _dijkstra_rows(A, sources, limit=np.inf):
    """Shortest-path lengths from ``sources``, a block of sources at a time:
    yields ``(block, lengths)``, ``lengths`` of shape (len(block), n_items)."""
    n = A.shape[0]
    chunk = max(1, BLOCK_BYTES // (8 * n))
    for start in range(0, len(sources), chunk):
        block = sources[start : start + chunk]
        yield (
            block,
            scipy.sparse.csgraph.dijkstra(
                A, directed=False, indices=block, limit=limit
            ),
        )


def shortest_path_pairs(graph, max_pairs, rng, max_length=np.inf):
    """Pairs ``i < j`` and their shortest-path lengths through ``graph``.

    All pairs when they fit under ``max_pairs``; otherwise the paths from a
    random subset of source items (each gives its lengths to every other
    item), until ``max_pairs`` pairs are collected. Unreachable pairs and
    paths longer than ``max_length`` are dropped.
    """
    n = graph.n_items
    total = n * (n - 1) // 2
    if total <= max_pairs:
        sources = np.arange(n)
    else:
        sources = np.sort(rng.permutation(n)[: max(1, int(max_pairs // (n - 1)))])
    cols = np.arange(n)
    edges, lengths = [], []
    for block, rows in _dijkstra_rows(graph.A, sources, max_length):
        mask = np.isfinite(rows) & (cols != block[:, None])
        if total <= max_pairs:
            mask &= cols > block[:, None]  # each pair once
        src, dst = np.nonzero(mask)
        edges.append(np.column_stack([block[src], dst]))
        lengths.append(rows[src, dst])
    edges = np.concatenate(edges).astype(np.int64)
    lengths = np.concatenate(lengths)
    lo, hi = edges.min(axis=1), edges.max(axis=1)
    keys, first = np.unique(lo * n + hi, return_index=True)
    return np.column_stack([keys // n, keys % n]), lengths[first]


def _check_graph(graph):
    if scipy.sparse.issparse(graph):
        return Graph(graph)
    if not isinstance(graph, Graph):
        raise TypeError(
            "graph must be a skmde.preprocess.Graph or a scipy sparse adjacency "
            f"matrix; got {type(graph).__name__}."
        )
    return graph


def check_retain_fraction(retain_fraction):
    return check_float(
        retain_fraction, "retain_fraction", low=0.0, high=1.0, low_open=True
    )


def shortest_paths(
    graph, max_length=None, retain_fraction=1.0, n_workers=None, verbose=False
):
    """Shortest-path lengths through a graph, as a new (filled-in) graph.

    Parameters
    ----------
    graph : Graph or scipy sparse adjacency matrix
    max_length : float, optional
        Paths longer than this are neither explored nor stored.
    retain_fraction : float in (0, 1]
        Keep about this fraction of all ``n_items (n_items - 1) / 2`` pairs:
        the paths from a random subset of source items. 1 keeps every
        reachable pair.
    n_workers : int, optional
        Accepted for PyMDE's signature; scipy's Dijkstra runs in this
        process whatever its value.
    verbose : bool
        Log progress (skmde's logger).

    Returns
    -------
    Graph
        One edge per pair whose path was computed, valued by the path's length;
        unreachable pairs have no edge.

    Examples
    --------
    >>> from skmde.preprocess import Graph, graph
    >>> path = Graph.from_edges([[0, 1], [1, 2], [2, 3]])
    >>> filled = graph.shortest_paths(path)
    >>> filled.edges.tolist()
    [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    >>> filled.distances.tolist()
    [1.0, 2.0, 3.0, 1.0, 2.0, 1.0]
    """
    graph = _check_graph(graph)
    limit = optional_length(max_length, "max_length")
    retain_fraction = check_retain_fraction(retain_fraction)
    if n_workers is not None:
        check_int(n_workers, "n_workers", min_value=1)
    max_pairs = max(1, int(retain_fraction * graph.n_all_edges))
    with reporting(verbose):
        logger.info(
            "computing shortest paths (%d of %d pairs at most)",
            max_pairs,
            graph.n_all_edges,
        )
        edges, lengths = shortest_path_pairs(
            graph, max_pairs, numpy_generator(None), limit
        )
    if len(edges) == 0:
        raise ValueError("no two items are joined by a path within max_length.")
    return Graph.from_edges(edges, lengths, n_items=graph.n_items)


def k_nearest_neighbors(
    graph, k, graph_distances=True, max_distance=None, verbose=False
):
    """The ``k`` items nearest each item by path length through ``graph``.

    Parameters
    ----------
    graph : Graph or scipy sparse adjacency matrix
    k : int, 1 <= k < n_items
    graph_distances : bool
        True: nearness is the shortest-path length (the only choice here;
        False is refused).
    max_distance : float, optional
        Neighbours farther than this are left out.
    verbose : bool

    Returns
    -------
    Graph
        Edge values 2 where each item is among the other's ``k`` nearest, 1
        where one is. Among items tied at the ``k``-th length (common in
        unweighted graphs), the choice is arbitrary but repeatable.
    """
    graph = _check_graph(graph)
    if graph_distances is not True:
        raise ValueError(
            "graph_distances must be True: neighbours of a Graph are judged by "
            "shortest-path length."
        )
    k = check_k(k, graph.n_items)
    limit = optional_length(max_distance, "max_distance")
    n = graph.n_items
    indices = np.empty((n, k), dtype=np.int64)
    lengths = np.empty((n, k))
    for block, rows in _dijkstra_rows(graph.A, np.arange(n), limit):
        rows[np.arange(len(block)), block] = np.inf  # not its own neighbour
        nearest = np.argpartition(rows, k - 1, axis=1)[:, :k]
        indices[block], lengths[block] = nearest, np.take_along_axis(rows, nearest, 1)
    # unreachable entries (infinite length) are dropped by symmetrize
    return neighbor_graph(indices, lengths)


def neighbor_graph(indices, lengths, max_distance=np.inf):
    """The Graph of (n, k) neighbour lists: values 2 for mutual neighbours,
    1 otherwise; pairs longer than ``max_distance`` left out."""
    n = len(indices)
    edges, weights, _ = symmetrize(indices, lengths, n, max_distance=max_distance)
    if len(edges) == 0:
        raise ValueError("no item has a neighbour within max_distance.")
    return Graph.from_edges(edges, weights, n_items=n)


def optional_length(value, name):
    """``value`` as a float > 0, or ``inf`` for None (no bound)."""
    if value is None:
        return np.inf
    return check_float(value, name, low=0.0, low_open=True)


def check_k(k, n_items):
    """``k`` as an int in ``[1, n_items)``."""
    k = check_int(k, "k", min_value=1)
    if k >= n_items:
        raise ValueError(
            f"k must be less than the number of items ({n_items}); got {k}."
        )
    return k


def scale(graph, natural_length):
    """A copy of ``graph`` with its values scaled to root-mean-square
    ``natural_length`` (a tensor of distances is scaled the same way).

    Examples
    --------
    >>> from skmde.preprocess import Graph, scale
    >>> scale(Graph.from_edges([[0, 1], [1, 2]], [3.0, 4.0]), 1.0).distances
    tensor([0.8485, 1.1314])
    """
    natural_length = check_float(
        natural_length, "natural_length", low=0.0, low_open=True
    )
    if isinstance(graph, Graph):
        values = graph._values
        rms = np.sqrt(np.mean(values**2))
        if rms == 0:
            raise ValueError("graph's values are all zero; they cannot be scaled.")
        return Graph.from_edges(
            graph._edges, values * (natural_length / rms), graph.n_items
        )
    distances = as_float_tensor(graph, "distances", ndim=1)
    if distances.numel() == 0:
        raise ValueError("distances must not be empty.")
    rms = distances.pow(2).mean().sqrt()
    if rms == 0:
        raise ValueError("distances are all zero; they cannot be scaled.")
    return distances * (natural_length / rms)
