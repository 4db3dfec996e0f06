"""Recipes: build an MDE problem from data, and the plan for new rows.

:func:`preserve_neighbors` keeps nearest neighbours close (and, with repulsive
edges, other pairs apart); :func:`preserve_distances` keeps pairwise distances.
Both return an :class:`~skmde.MDE` whose ``X_init`` holds the initial embedding,
so ``preserve_neighbors(data).embed()`` computes the embedding. The one place
where the recipes' defaults live. The builders behind them (``neighbor_problem``,
``distance_problem``, ``_custom.custom_problem``) also return a ``Plan``, what
the estimators keep to place new rows and rebuild the problem. Data walks
down the layers once: checked, searched, weighted, started, paired, posed.
"""

# the builders and METRICS are re-exported for the estimators
from ..neighbors import METRICS as METRICS
from ._distances import distance_problem as distance_problem
from ._distances import preserve_distances
from ._neighbors import default_n_neighbors as default_n_neighbors
from ._neighbors import laplacian_embedding, preserve_neighbors
from ._neighbors import neighbor_problem as neighbor_problem

__all__ = ["laplacian_embedding", "preserve_distances", "preserve_neighbors"]
