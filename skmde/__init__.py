"""skmde: Minimum-Distortion Embedding for scikit-learn, on PyTorch.

The core API mirrors PyMDE: build an :class:`MDE` problem from edges, a
distortion function (:mod:`skmde.penalties`, :mod:`skmde.losses`) and a
constraint, then call :meth:`MDE.embed`.
"""

from . import constraints, datasets, losses, optim, penalties, preprocess, quadratic
from ._estimators import MDEDistances, MDEEmbedder, MDENeighbors
from ._geometry import all_edges, center, rotate
from ._problem import MDE, SolveStats
from ._utils import align, seed
from .constraints import Anchored, Centered, Constraint, Standardized
from .penalties import PushAndPull
from .plotting import plot
from .preprocess.graph import Graph
from .quadratic import pca
from .recipes import laplacian_embedding, preserve_distances, preserve_neighbors

__version__ = "0.1.0.dev0"

__all__ = [
    "MDE",
    "Anchored",
    "Centered",
    "Constraint",
    "Graph",
    "MDEDistances",
    "MDEEmbedder",
    "MDENeighbors",
    "PushAndPull",
    "SolveStats",
    "Standardized",
    "align",
    "all_edges",
    "center",
    "constraints",
    "datasets",
    "laplacian_embedding",
    "losses",
    "optim",
    "pca",
    "penalties",
    "plot",
    "preprocess",
    "preserve_distances",
    "preserve_neighbors",
    "quadratic",
    "rotate",
    "seed",
]
