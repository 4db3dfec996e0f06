"""Building blocks for MDE problems, at PyMDE's paths.

Graphs from data (:func:`k_nearest_neighbors`, :func:`distances`), edges
without data (:func:`sample_edges`, :func:`dissimilar_edges`,
:func:`deduplicate_edges`), :func:`scale`, the :class:`Graph` and, in
:mod:`skmde.preprocess.graph`, shortest paths. A problem built from them by
hand is an :class:`skmde.MDE`::

    knn = preprocess.k_nearest_neighbors(X, k=15)
    far = preprocess.dissimilar_edges(len(X), knn.edges)
    edges = torch.cat([knn.edges, far])
    weights = torch.cat([knn.weights, -torch.ones(len(far))])
    mde = skmde.MDE(len(X), 2, edges, skmde.penalties.PushAndPull(weights),
                    skmde.Standardized())
"""

from . import graph
from ._data import distances, k_nearest_neighbors
from ._edges import deduplicate_edges, dissimilar_edges, sample_edges
from .graph import Graph, scale

__all__ = [
    "Graph",
    "deduplicate_edges",
    "dissimilar_edges",
    "distances",
    "graph",
    "k_nearest_neighbors",
    "sample_edges",
    "scale",
]
