"""The embedding methods the benchmarks compare: skmde and installed peers.

Each entry maps a name to a function ``fit(X, seed) -> (n, 2) ndarray``. Peers
that are not installed are skipped; install them in a separate environment
(``pip install pymde umap-learn pacmap opentsne``).
"""

import importlib.util

import numpy as np


def _skmde(X, seed):
    import skmde

    return skmde.preserve_neighbors(X, random_state=seed).embed().numpy()


def _pymde(X, seed):
    import pymde

    pymde.seed(seed)
    return pymde.preserve_neighbors(X, embedding_dim=2).embed().cpu().numpy()


def _umap(X, seed):
    import umap

    return umap.UMAP(random_state=seed).fit_transform(X)


def _pacmap(X, seed):
    import pacmap

    return pacmap.PaCMAP(random_state=seed).fit_transform(X)


def _opentsne(X, seed):
    import openTSNE

    return np.asarray(openTSNE.TSNE(random_state=seed, n_jobs=-1).fit(X))


METHODS = {
    "skmde": ("skmde", _skmde),
    "PyMDE": ("pymde", _pymde),
    "UMAP": ("umap", _umap),
    "PaCMAP": ("pacmap", _pacmap),
    "openTSNE": ("openTSNE", _opentsne),
}


def available(names=None):
    """The methods (name -> fit) whose package is importable."""
    chosen = METHODS if names is None else {n: METHODS[n] for n in names}
    return {
        name: fit
        for name, (module, fit) in chosen.items()
        if importlib.util.find_spec(module) is not None
    }
