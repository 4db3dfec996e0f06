"""skmde: Minimum-Distortion Embedding for scikit-learn, on PyTorch.

The core API mirrors PyMDE: build an :class:`MDE` problem from edges, a
distortion function (:mod:`skmde.penalties`, :mod:`skmde.losses`) and a
constraint, then call :meth:`MDE.embed`.

Names are loaded on first use (PEP 562): ``import skmde`` itself imports
neither torch nor scikit-learn, so ``skmde.plot`` and ``skmde --help`` start
quickly; the first estimator or problem imports them.
"""

import importlib
import importlib.util

__version__ = "0.1.0.dev0"

#: public name -> the module that defines it
_ATTRIBUTES = {
    "MDE": "._problem",
    "SolveStats": ".optim",
    "MDEDistances": "._estimators",
    "MDEEmbedder": "._estimators",
    "MDENeighbors": "._estimators",
    "all_edges": "._geometry",
    "center": "._geometry",
    "rotate": "._geometry",
    "align": "._utils",
    "seed": "._utils",
    "Anchored": ".constraints",
    "Centered": ".constraints",
    "Constraint": ".constraints",
    "Standardized": ".constraints",
    "PushAndPull": ".penalties",
    "plot": ".plotting",
    "Graph": ".preprocess.graph",
    "pca": ".quadratic",
    "laplacian_embedding": ".recipes",
    "preserve_distances": ".recipes",
    "preserve_neighbors": ".recipes",
}
_SUBMODULES = [
    "constraints",
    "datasets",
    "losses",
    "optim",
    "penalties",
    "plotting",
    "preprocess",
    "quadratic",
]

__all__ = sorted([*_ATTRIBUTES, *_SUBMODULES], key=lambda s: (s[0].islower(), s))


def __getattr__(name):
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name], __name__), name)
        globals()[name] = value
        return value
    # any submodule, public or not (skmde.dask, skmde.neighbors, ...)
    if not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'skmde' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
