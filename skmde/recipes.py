"""Recipes: build an MDE problem from data.

:func:`preserve_neighbors` keeps nearest neighbours close (and, with repulsive
edges, other pairs apart); :func:`preserve_distances` keeps pairwise distances.
Both return an :class:`~skmde.MDE` whose ``X_init`` holds the initial embedding,
so ``preserve_neighbors(data).embed()`` computes the embedding.
"""

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from . import _graph, _init, losses, penalties
from ._distortion import build_function, resolve_function
from ._graph import Graph
from ._problem import MDE
from ._utils import check_float, check_int, numpy_generator, physical_memory
from .constraints import Anchored, Centered, Constraint, Standardized

__all__ = ["preserve_distances", "preserve_neighbors"]

_CONSTRAINTS = {"centered": Centered, "standardized": Standardized}


@dataclass
class RecipeInfo:
    """What a recipe computed besides the problem (used by the estimators)."""

    n_neighbors: int | None = None
    neighbor_graph: object = None
    n_attractive: int = 0
    n_repulsive: int = 0
    init: str = ""
    timings: dict = field(default_factory=dict)
    deviation_scale: float = 1.0


def _dtype(dtype):
    """The solver dtype: float32 unless "float64"/torch.float64 is asked."""
    if dtype is None:
        return torch.float32
    table = {
        "float32": torch.float32,
        "float64": torch.float64,
        torch.float32: torch.float32,
        torch.float64: torch.float64,
    }
    if dtype not in table:
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}.")
    return table[dtype]


def _distance_dtype(dtype, deviations):
    """float64 when distances are too large or too small for float32's squares
    (beyond about 1e19 they overflow, below 1e-19 they vanish)."""
    chosen = _dtype(dtype)
    positive = deviations[deviations > 0]
    if positive.size and (positive.max() > 1e15 or positive.min() < 1e-15):
        return torch.float64
    return chosen


def _log(verbose, message):
    if verbose:
        print(f"skmde: {message}", file=sys.stderr, flush=True)


# -- input handling ------------------------------------------------------------
def as_data(data, metric):
    """Validate ``data``; return ``(kind, array)`` with kind one of "dense",
    "sparse", "precomputed" or "graph"."""
    if isinstance(data, Graph):
        return "graph", data
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    elif hasattr(data, "to_numpy") and hasattr(data, "dtypes"):  # pandas, polars
        data = _frame_to_numpy(data)
    if scipy.sparse.issparse(data):
        data = scipy.sparse.csr_matrix(data)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"data must be numeric; got sparse dtype {data.dtype}.")
        data = data.astype(np.float64 if data.dtype == np.float64 else np.float32)
        values = data.data
    else:
        try:
            data = np.asarray(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"data must be array-like: {exc}") from exc
        if data.dtype.kind not in "biuf":
            raise TypeError(
                f"data must be numeric; got an array of dtype {data.dtype}."
            )
        if data.ndim != 2:
            raise ValueError(f"data must be a 2-D array; got shape {data.shape}.")
        data = data.astype(
            np.float64 if data.dtype == np.float64 else np.float32, copy=False
        )
        values = data
    if data.shape[0] < 2:
        raise ValueError(
            f"data must have at least 2 rows (items); got {data.shape[0]}."
        )
    if data.shape[1] < 1:
        raise ValueError("data must have at least 1 column (feature).")
    if not np.isfinite(values).all():
        raise ValueError("data must not contain NaN or infinity.")
    if metric == "precomputed":
        if data.shape[0] != data.shape[1]:
            raise ValueError(
                "with metric='precomputed', data must be a square (n, n) distance "
                f"matrix; got shape {data.shape}."
            )
        if (values < 0).any():
            raise ValueError("with metric='precomputed', distances must be >= 0.")
        return "precomputed", data
    return ("sparse" if scipy.sparse.issparse(data) else "dense"), data


def non_numeric_columns(frame):
    """Names of the columns of a pandas/polars frame that are not numbers."""
    kinds = ("int", "uint", "float", "bool", "i", "u", "f")
    return [
        str(c)
        for c, t in zip(frame.columns, frame.dtypes)
        if not any(str(t).lower().startswith(p) for p in kinds)
    ]


def _frame_to_numpy(frame):
    bad = non_numeric_columns(frame)
    if bad:
        raise TypeError(f"data must be numeric; non-numeric columns: {bad[:5]}.")
    return frame.to_numpy()


#: bytes an edge costs while a problem is built and solved (indices, values,
#: incidence matrix, the recipes' temporaries), as measured by
#: benchmarks/bench_scaling.py
BYTES_PER_EDGE = 88


def check_memory(n_edges, what, parameter):
    """Refuse, before allocating, a problem that cannot fit in memory."""
    total = physical_memory()
    needed = n_edges * BYTES_PER_EDGE
    if total is not None and needed > total:
        raise MemoryError(
            f"{what} would use about {needed / 2**30:.1f} GiB for {n_edges:.3g} "
            f"edges, more than this machine's {total / 2**30:.1f} GiB; lower "
            f"{parameter}."
        )


def _constraint(constraint, default):
    if constraint is None:
        return default
    if isinstance(constraint, str):
        key = constraint.lower()
        if key not in _CONSTRAINTS:
            raise ValueError(
                f"unknown constraint {constraint!r}; expected 'centered', "
                "'standardized' or a Constraint instance."
            )
        return _CONSTRAINTS[key]()
    if not isinstance(constraint, Constraint):
        raise TypeError(
            "constraint must be None, 'centered', 'standardized' or a Constraint; "
            f"got {type(constraint).__name__}."
        )
    return constraint


def _drop_anchor_pairs(edges, values, constraint):
    """Remove edges between two anchors (they carry no information)."""
    if not isinstance(constraint, Anchored):
        return edges, values
    is_anchor = np.zeros(int(edges.max()) + 1, dtype=bool)
    anchors = constraint.anchors.cpu().numpy()
    is_anchor[anchors[anchors < len(is_anchor)]] = True
    keep = ~(is_anchor[edges[:, 0]] & is_anchor[edges[:, 1]])
    return edges[keep], values[keep]


def _init_array(init, n, m):
    try:
        array = np.asarray(
            init.detach().cpu().numpy() if isinstance(init, torch.Tensor) else init,
            dtype=np.float64,
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "init must be a name or a numeric array of shape (n_items, "
            f"embedding_dim); got {type(init).__name__}."
        ) from exc
    if array.shape != (n, m):
        raise ValueError(f"init must have shape ({n}, {m}); got {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError("init must be finite.")
    return array


def _anchored_init(n, edges, weights, constraint, base):
    """Harmonic extension: free items at the weighted mean of their neighbours.

    Solves ``L_ff X_f = -L_fa X_a (+ eps D_ff X_base)``; the small pull towards
    ``base`` places items in components without anchors.
    """
    anchors = constraint.anchors.cpu().numpy()
    values = constraint.values.cpu().numpy().astype(np.float64)
    W = scipy.sparse.coo_matrix(
        (np.abs(weights).astype(np.float64), (edges[:, 0], edges[:, 1])), shape=(n, n)
    ).tocsr()
    W = (W + W.T).tocsr()
    degree = np.asarray(W.sum(axis=1)).ravel()
    free = np.setdiff1d(np.arange(n), anchors)
    X = np.array(base, dtype=np.float64)
    X[anchors] = values
    if len(free) == 0:
        return X
    eps = 1e-3
    L_ff = (
        scipy.sparse.diags(degree[free] * (1 + eps) + 1e-12) - W[free][:, free]
    ).tocsc()
    rhs = W[free][:, anchors] @ values + eps * degree[free, None] * base[free]
    solve = scipy.sparse.linalg.factorized(L_ff) if len(free) <= 20000 else None
    for col in range(X.shape[1]):
        if solve is not None:
            X[free, col] = solve(rhs[:, col])
        else:
            X[free, col], _ = scipy.sparse.linalg.cg(
                L_ff, rhs[:, col], x0=base[free, col], maxiter=200
            )
    return X


def _anchor_spread(constraint, n, m, rng):
    """Random positions with the mean and spread of the anchors' values: where
    the harmonic init puts items that no path links to an anchor."""
    values = constraint.values.cpu().numpy().astype(np.float64)
    spread = values.std(axis=0) if len(values) > 1 else np.ones(values.shape[1])
    return values.mean(axis=0) + np.maximum(spread, 1e-3) * rng.standard_normal((n, m))


def _jitter_coincident(X, edges, rng, constraint):
    """Perturb the init slightly if two items of an edge coincide exactly."""
    step = 1 << 22  # in chunks: no (edges x dim) array for large problems
    coincide = any(
        bool((X[edges[s : s + step, 0]] == X[edges[s : s + step, 1]]).all(axis=1).any())
        for s in range(0, len(edges), step)
    )
    if not coincide:
        return X
    scale = float(np.sqrt((X**2).sum(axis=1).mean())) or 1.0
    X = X + 1e-4 * scale * rng.standard_normal(X.shape)
    if isinstance(constraint, Anchored):
        anchors = constraint.anchors.cpu().numpy()
        X[anchors] = constraint.values.cpu().numpy()
    return X


def _finish(n, m, edges, function, constraint, X_init, device):
    """Build the MDE and attach its initial embedding, projected to be feasible."""
    mde = MDE(n, m, edges, function, constraint, device=device)
    X = torch.as_tensor(X_init, dtype=mde.dtype).to(mde.device)
    mde.X_init = mde.constraint.project_onto_constraint(X, inplace=True)
    return mde


# -- preserve_neighbors --------------------------------------------------------
def default_n_neighbors(n_items):
    """``max(min(12, 0.005 (n - 1)), 5)``, at most ``n - 1``.

    PyMDE's rule with 12 in place of 15: with neighbours chosen by scaled
    distance and fuzzy weights, 12 gave the best trustworthiness at an
    accuracy above the peers' on MNIST (``benchmarks/bench_neighbors.py``).
    """
    return min(n_items - 1, int(max(min(12, 0.005 * (n_items - 1)), 5)))


#: defaults of the repulsive sample: many light edges approximate the repulsion
#: of all pairs better than few heavy ones (same total strength, 2 per
#: attractive edge, lower variance); under Standardized the constraint spreads
#: the items and half as much is used.
REPULSIVE_FRACTION = {"centered": 4.0, "standardized": 1.0}
REPULSIVE_WEIGHT = 0.5


def neighbor_problem(
    data,
    embedding_dim=2,
    attractive_penalty=penalties.Log1p,
    repulsive_penalty=penalties.Log,
    constraint=None,
    n_neighbors=None,
    repulsive_fraction=None,
    max_distance=None,
    init="spectral",
    metric="euclidean",
    device=None,
    random_state=None,
    verbose=False,
    n_jobs=None,
    knn_method="auto",
    local_scaling=True,
    edge_weights="fuzzy",
    repulsive_weight=None,
    dtype=None,
):
    """:func:`preserve_neighbors`, also returning a :class:`RecipeInfo`."""
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    metric = _graph.check_metric(metric)
    kind, data = as_data(data, metric)
    n = data.n_items if kind == "graph" else data.shape[0]
    rng = numpy_generator(random_state)
    attractive = resolve_function(
        attractive_penalty, penalties._REGISTRY, "attractive_penalty"
    )
    repulsive = (
        None
        if repulsive_penalty is None
        else resolve_function(
            repulsive_penalty, penalties._REGISTRY, "repulsive_penalty"
        )
    )
    constraint = _constraint(
        constraint, Centered() if repulsive is not None else Standardized()
    )
    constraint.check(n, m)
    standardized = isinstance(constraint, Standardized)
    if repulsive_fraction is None:
        repulsive_fraction = REPULSIVE_FRACTION[
            "standardized" if standardized else "centered"
        ]
    repulsive_fraction = check_float(repulsive_fraction, "repulsive_fraction", low=0.0)
    if repulsive_weight is None:
        repulsive_weight = REPULSIVE_WEIGHT
    repulsive_weight = check_float(
        repulsive_weight, "repulsive_weight", low=0.0, low_open=True
    )
    if edge_weights not in ("fuzzy", "binary"):
        raise ValueError(
            f"edge_weights must be 'fuzzy' or 'binary'; got {edge_weights!r}."
        )
    if not isinstance(local_scaling, bool | np.bool_):
        raise TypeError(f"local_scaling must be True or False; got {local_scaling!r}.")
    if max_distance is not None:
        max_distance = check_float(max_distance, "max_distance", low=0.0, low_open=True)
    info = RecipeInfo()

    start = time.perf_counter()
    if kind == "graph":
        edges, weights = data.edges, np.ones(data.n_edges, dtype=np.float32)
        if max_distance is not None:
            keep = data.distances <= max_distance
            edges, weights = edges[keep], weights[keep]
    else:
        k = _graph.check_n_neighbors(
            default_n_neighbors(n) if n_neighbors is None else n_neighbors, n
        )
        info.n_neighbors = k
        check_memory(
            1.5 * n * k * (1 + repulsive_fraction),
            "preserve_neighbors",
            "n_neighbors or repulsive_fraction",
        )
        _log(verbose, f"computing {k}-nearest neighbors ({metric})")
        graph = _graph.neighbor_graph(
            data,
            k,
            metric,
            method=knn_method,
            max_distance=max_distance,
            n_jobs=n_jobs,
            random_state=rng,
            local_scaling=bool(local_scaling),
            weighting=edge_weights,
        )
        info.neighbor_graph = graph
        edges, weights = graph.edges, graph.weights
    if len(edges) == 0:
        raise ValueError(
            "the neighbour graph has no edges (is max_distance too small?)."
        )
    info.timings["knn"] = time.perf_counter() - start
    edges, weights = _drop_anchor_pairs(edges, weights, constraint)

    start = time.perf_counter()
    X_init = _neighbor_init(init, data, kind, n, m, edges, weights, constraint, rng)
    info.init = init if isinstance(init, str) else "array"
    info.timings["init"] = time.perf_counter() - start
    _log(verbose, f"initialization ({info.init}) in {info.timings['init']:.2f} s")

    info.n_attractive = len(edges)
    if repulsive is not None:
        count = int(repulsive_fraction * len(edges))
        negative = _graph.sample_non_edges(n, count, edges, rng)
        negative, _ = _drop_anchor_pairs(negative, np.zeros(len(negative)), constraint)
        info.n_repulsive = len(negative)
        edges = np.concatenate([edges, negative])
        weights = np.concatenate(
            [weights, np.full(len(negative), -repulsive_weight, np.float32)]
        )
    weights_t = torch.as_tensor(weights, dtype=_dtype(dtype))
    if info.n_repulsive:
        function = penalties.PushAndPull(weights_t, attractive, repulsive)
    else:
        function = build_function(attractive, weights_t, "attractive_penalty")
    X_init = _jitter_coincident(X_init, edges, rng, constraint)
    mde = _finish(n, m, edges, function, constraint, X_init, device)
    _log(verbose, f"{mde!r}")
    return mde, info


def _neighbor_init(init, data, kind, n, m, edges, weights, constraint, rng):
    if isinstance(constraint, Anchored) and isinstance(init, str):
        return _anchored_init(
            n, edges, weights, constraint, _anchor_spread(constraint, n, m, rng)
        )
    if not isinstance(init, str):
        return _init_array(init, n, m)
    name = init.lower()
    if name in ("spectral", "quadratic"):
        try:
            return _init.spectral(
                n,
                m,
                edges,
                weights,
                random_state=int(rng.integers(2**31 - 1)),
                data=data if kind in ("dense", "sparse") else None,
            )
        except _init.SpectralInitError as exc:
            fallback = "pca" if kind in ("dense", "sparse") else "random"
            _init.warn_fallback(str(exc), fallback)
            name = fallback
    if name == "pca":
        if kind not in ("dense", "sparse"):
            raise ValueError(
                "init='pca' needs a data matrix (not a graph or precomputed distances)."
            )
        return _init.standardize(_init.pca(data, m))
    if name == "random":
        return (
            Standardized()
            .initialization(
                n,
                m,
                generator=torch.Generator().manual_seed(int(rng.integers(2**62))),
                dtype=torch.float64,
            )
            .numpy()
        )
    raise ValueError(
        f"unknown init {init!r}; expected 'spectral', 'pca', 'random' "
        "or an array of shape (n_items, embedding_dim)."
    )


def preserve_neighbors(
    data,
    embedding_dim=2,
    attractive_penalty=penalties.Log1p,
    repulsive_penalty=penalties.Log,
    constraint=None,
    n_neighbors=None,
    repulsive_fraction=None,
    max_distance=None,
    init="spectral",
    metric="euclidean",
    device=None,
    random_state=None,
    verbose=False,
    *,
    n_jobs=None,
    knn_method="auto",
    local_scaling=True,
    edge_weights="fuzzy",
    repulsive_weight=None,
):
    """An MDE problem that keeps each item near its nearest neighbours.

    Pairs of nearest neighbours attract; with a repulsive penalty, a uniform
    sample of the other pairs repels. Returns the problem; call ``.embed()``.

    The parameters are PyMDE's, and so are the penalties and the constraint. Three
    choices differ from PyMDE by default because they measurably improve the
    embeddings (trustworthiness and k-NN accuracy on MNIST, see the
    benchmarks): neighbours are chosen by locally scaled distance
    (``local_scaling``), neighbour pairs are weighted by fuzzy membership
    (``edge_weights="fuzzy"``), and the repulsive sample is four times larger
    with half the weight. ``local_scaling=False, edge_weights="binary",
    n_neighbors=15, repulsive_fraction=1, repulsive_weight=1`` gives PyMDE's
    problem.

    Parameters
    ----------
    data : array-like (n, d), torch.Tensor, DataFrame, scipy sparse matrix or Graph
        Items as rows of features; a square distance matrix or a sparse kNN
        graph of distances with ``metric="precomputed"``; or a :class:`Graph`
        whose edges are used as the neighbour pairs.
    embedding_dim : int, default=2
    attractive_penalty : str, Penalty class or factory, default=Log1p
    repulsive_penalty : str, Penalty class, factory or None, default=Log
        None: no repulsive edges, and the default constraint is Standardized.
    constraint : Constraint, "centered" or "standardized", optional
        Default Centered (Standardized without a repulsive penalty). With
        :class:`Anchored`, edges between two anchors are dropped and the initial
        embedding puts each free item at the weighted mean of its neighbours.
    n_neighbors : int, optional
        Default ``max(min(12, 0.005 (n - 1)), 5)``; values >= n are clipped to
        n - 1 with a warning.
    repulsive_fraction : float, optional
        Repulsive edges per attractive edge: 4 by default, 1 with Standardized.
    max_distance : float, optional
        Drop neighbour pairs farther apart than this.
    init : {"spectral", "pca", "random"} or array of shape (n, embedding_dim)
        "spectral" (alias "quadratic") is the Laplacian eigenmap of the
        neighbour graph; it falls back to "pca" with a warning when the graph
        is disconnected. Arrays are projected onto the constraint.
    metric : str, default="euclidean"
        "euclidean", "cosine", scipy's metrics, pynndescent's, or "precomputed".
    device : str or torch.device, optional
    random_state : int, numpy Generator or RandomState, optional
        Seeds the repulsive sample, the init and approximate kNN: equal seeds
        give identical problems and embeddings.
    verbose : bool, default=False
    n_jobs : int, optional
        Threads for the neighbour search (torch's setting is restored).
    knn_method : {"auto", "exact", "approximate"}, default="auto"
    local_scaling : bool, default=True
        Choose the ``n_neighbors`` among ``n_neighbors + 20`` nearest candidates
        by the scaled distance ``d_ij^2 / (s_i s_j)``, ``s_i`` being the mean
        distance from ``i`` to its 4th-6th nearest neighbours.
    edge_weights : {"fuzzy", "binary"}, default="fuzzy"
        "fuzzy": each neighbour's membership ``exp(-(d_ij - rho_i) / sigma_i)``
        (``rho_i`` the nearest distance, ``sigma_i`` calibrated per item),
        combined over both directions by fuzzy union and scaled to mean 1.
        "binary": 2 for mutual neighbours, 1 otherwise (PyMDE).
    repulsive_weight : float > 0, optional
        Magnitude of the repulsive weights (default 0.5).

    Returns
    -------
    MDE
        With ``X_init`` set; ``mde.embed()`` starts from it.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> import skmde
    >>> X = load_digits().data
    >>> mde = skmde.preserve_neighbors(X, random_state=0)
    >>> mde.embed().shape
    torch.Size([1797, 2])
    """
    return neighbor_problem(
        data,
        embedding_dim,
        attractive_penalty,
        repulsive_penalty,
        constraint,
        n_neighbors,
        repulsive_fraction,
        max_distance,
        init,
        metric,
        device,
        random_state,
        verbose,
        n_jobs,
        knn_method,
        local_scaling,
        edge_weights,
        repulsive_weight,
    )[0]


# -- preserve_distances --------------------------------------------------------
def default_max_distances(n_items):
    """All pairs up to 5 million of them; beyond, 150 per item (at least 5
    million, at most 50 million): enough for the stress of a random sample to
    track the full one, few enough for the solve to take minutes, not hours,
    at 100,000 items (``benchmarks/bench_distances.py``)."""
    total = n_items * (n_items - 1) // 2
    if total <= 5e6:
        return float(total)
    return float(min(5e7, max(5e6, 150 * n_items)))


def distance_problem(
    data,
    embedding_dim=2,
    loss=losses.Quadratic,
    constraint=None,
    max_distances=None,
    init="auto",
    metric="euclidean",
    device=None,
    random_state=None,
    verbose=False,
    n_jobs=None,
    dtype=None,
):
    """:func:`preserve_distances`, also returning a :class:`RecipeInfo`."""
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    metric = _graph.check_metric(metric)
    kind, data = as_data(data, metric)
    n = data.n_items if kind == "graph" else data.shape[0]
    rng = numpy_generator(random_state)
    factory = resolve_function(loss, losses._REGISTRY, "loss")
    constraint = _constraint(constraint, Centered())
    constraint.check(n, m)
    total = n * (n - 1) // 2
    if max_distances is None:
        max_distances = default_max_distances(n)
    max_distances = check_float(max_distances, "max_distances", low=1.0)
    info = RecipeInfo()

    start = time.perf_counter()
    check_memory(min(total, max_distances), "preserve_distances", "max_distances")
    if kind == "graph":
        edges, deviations = _graph.shortest_path_pairs(data, max_distances, rng)
    else:
        edges = (
            _graph.all_pairs(n)
            if total <= max_distances
            else _graph.sample_pairs(n, int(max_distances), rng)
        )
        if kind == "precomputed":
            deviations = _lookup(data, edges)
        else:
            deviations = _graph.pair_distances(data, edges, metric)
    edges, deviations = _drop_anchor_pairs(edges, deviations, constraint)
    if len(edges) == 0:
        raise ValueError("no pair of items has a finite distance.")
    info.timings["distances"] = time.perf_counter() - start
    which = "all" if total <= max_distances else "sampled"
    _log(verbose, f"{len(edges)} pairs ({which}) in {info.timings['distances']:.2f} s")

    if isinstance(constraint, Standardized):
        rms = math.sqrt(float(np.mean(deviations**2))) or 1.0
        info.deviation_scale = constraint.natural_length(n, m) / rms
        deviations = deviations * info.deviation_scale

    start = time.perf_counter()
    X_init = _distance_init(
        init, data, kind, n, m, edges, deviations, constraint, metric, rng
    )
    info.init = init if isinstance(init, str) else "array"
    info.timings["init"] = time.perf_counter() - start
    function = build_function(
        factory,
        torch.as_tensor(deviations, dtype=_distance_dtype(dtype, deviations)),
        "loss",
    )
    X_init = _jitter_coincident(X_init, edges, rng, constraint)
    mde = _finish(n, m, edges, function, constraint, X_init, device)
    _log(verbose, f"{mde!r}")
    return mde, info


def _lookup(D, edges):
    if scipy.sparse.issparse(D):
        values = np.asarray(D[edges[:, 0], edges[:, 1]]).ravel()
    else:
        values = D[edges[:, 0], edges[:, 1]]
    return np.asarray(values, dtype=np.float64)


def _distance_init(init, data, kind, n, m, edges, deviations, constraint, metric, rng):
    if isinstance(constraint, Anchored) and isinstance(init, str):
        return _anchored_init(
            n,
            edges,
            1.0 / np.maximum(deviations, 1e-12),
            constraint,
            _anchor_spread(constraint, n, m, rng),
        )
    if not isinstance(init, str):
        X = _init_array(init, n, m)
    else:
        name = init.lower()
        if name == "auto":
            name = (
                "pca"
                if kind in ("dense", "sparse") and metric == "euclidean"
                else "mds"
            )
        if name == "pca":
            if kind not in ("dense", "sparse"):
                raise ValueError("init='pca' needs a data matrix.")
            X = _init.pca(data, m)
        elif name == "mds":
            X = _landmark_mds(data, kind, n, m, metric, rng)
        elif name == "random":
            X = rng.standard_normal((n, m))
        else:
            raise ValueError(
                f"unknown init {init!r}; expected 'auto', 'pca', 'mds', "
                "'random' or an array of shape (n_items, "
                "embedding_dim)."
            )
    if isinstance(constraint, Standardized):
        return _init.standardize(X)
    # match the scale of the deviations: least-squares factor over the edges
    X = X - X.mean(axis=0)
    d = np.linalg.norm(X[edges[:, 0]] - X[edges[:, 1]], axis=1)
    denominator = float(d @ d)
    if denominator > 0:
        X = X * (float(d @ deviations) / denominator)
    return X


def _landmark_mds(data, kind, n, m, metric, rng, n_landmarks=400):
    """Classical MDS on landmarks, the other items placed by triangulation."""
    L = min(n, max(n_landmarks, 2 * m + 2))
    landmarks = np.sort(rng.choice(n, size=L, replace=False))
    if kind == "graph":
        D = scipy.sparse.csgraph.dijkstra(
            data.adjacency, directed=False, indices=landmarks
        )
        finite = np.isfinite(D)
        D[~finite] = D[finite].max() * 2 if finite.any() else 1.0
    elif kind == "precomputed":
        D = (
            data[landmarks].toarray()
            if scipy.sparse.issparse(data)
            else np.asarray(data[landmarks], dtype=np.float64)
        )
    else:
        pairs = np.column_stack([np.repeat(landmarks, n), np.tile(np.arange(n), L)])
        D = _graph.pair_distances(data, pairs, metric).reshape(L, n)
    D2 = D**2
    D2_LL = D2[:, landmarks]
    J = np.eye(L) - 1.0 / L
    B = -0.5 * J @ D2_LL @ J
    values, vectors = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(values)[::-1][:m]
    values = np.maximum(values[order], 1e-12)
    vectors = vectors[:, order]
    # triangulation (de Silva & Tenenbaum): y = -1/2 L^-1/2 V^T (d^2 - mean d^2)
    pseudo = vectors / np.sqrt(values)
    X = -0.5 * (D2 - D2_LL.mean(axis=1, keepdims=True)).T @ pseudo
    return _init._fix_signs(X)


def preserve_distances(
    data,
    embedding_dim=2,
    loss=losses.Quadratic,
    constraint=None,
    max_distances=None,
    init="auto",
    metric="euclidean",
    device=None,
    random_state=None,
    verbose=False,
    *,
    n_jobs=None,
):
    """An MDE problem that keeps the distances between items.

    The edges are all pairs when there are at most ``max_distances`` of them,
    otherwise a uniform sample of that many pairs (or, for a :class:`Graph`,
    the shortest paths from a random subset of items).

    Two defaults differ from PyMDE's: the loss is ``Quadratic`` (the stress of
    classical multidimensional scaling; PyMDE uses ``Absolute``, available by
    name), which preserves the rank order of distances better (Spearman 0.733
    against 0.685 on digits) and converges in fewer iterations; and
    ``max_distances`` adapts to the data (below). Each edge's deviation is
    the distance between its items; the loss penalizes the gap between it and
    the embedding distance. Distances are computed in chunks: no
    (pairs x features) array is ever formed.

    Parameters
    ----------
    data : array-like (n, d), torch.Tensor, DataFrame, scipy sparse matrix or Graph
        Feature rows; a square distance matrix with ``metric="precomputed"``;
        or a :class:`Graph`, whose shortest-path lengths are the distances.
    embedding_dim : int, default=2
    loss : str, Loss class or factory, default=Quadratic
    constraint : Constraint, "centered" or "standardized", optional
        Default Centered, under which the embedding keeps the data's units
        (distances beyond 1e15 or below 1e-15 are then solved in float64, as
        float32 cannot square them).
        With Standardized the deviations are rescaled to the natural length.
    max_distances : float, optional
        The most pairs to use. Default: all pairs up to 5 million; beyond, 150
        per item (at least 5 million, at most 50 million).
    init : {"auto", "pca", "mds", "random"} or array of shape (n, embedding_dim)
        "auto" is "pca" (principal coordinates) for Euclidean feature data and
        "mds" (classical MDS on 400 landmarks) otherwise. The initial embedding
        is rescaled to match the deviations in the least-squares sense.
    metric : str, default="euclidean"
    device : str or torch.device, optional
    random_state : int, numpy Generator or RandomState, optional
    verbose : bool, default=False
    n_jobs : int, optional
        Accepted for symmetry with :func:`preserve_neighbors`.

    Returns
    -------
    MDE
        With ``X_init`` set.

    Examples
    --------
    >>> import numpy as np
    >>> import skmde
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> mde = skmde.preserve_distances(X, random_state=0)
    >>> mde.n_edges
    4950
    """
    return distance_problem(
        data,
        embedding_dim,
        loss,
        constraint,
        max_distances,
        init,
        metric,
        device,
        random_state,
        verbose,
        n_jobs,
    )[0]


def custom_problem(
    data,
    relationships,
    factory,
    n_items,
    embedding_dim=2,
    constraint=None,
    init="random",
    metric="euclidean",
    device=None,
    random_state=None,
    verbose=False,
    n_jobs=None,
    dtype=None,
):
    """An MDE problem on the pairs and values that ``relationships(data)`` returns.

    ``relationships`` returns ``(edges, values)``: a (p, 2) integer array of
    pairs and one weight or deviation per pair, given to ``factory``.
    """
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    rng = numpy_generator(random_state)
    result = relationships(data)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("relationships(X) must return a tuple (edges, values).")
    edges, values = result
    edges = np.asarray(edges)
    values = np.asarray(values, dtype=np.float64)
    if edges.ndim != 2 or edges.shape[1] != 2 or values.shape != (len(edges),):
        raise ValueError(
            "relationships(X) must return edges of shape (n_edges, 2) and one value "
            f"per edge; got shapes {edges.shape} and {values.shape}."
        )
    constraint = _constraint(constraint, Centered())
    constraint.check(n_items, m)
    function = build_function(
        factory, torch.as_tensor(values, dtype=_dtype(dtype)), "distortion"
    )
    if isinstance(init, str):
        if init.lower() != "random":
            raise ValueError(
                "with custom relationships, init must be 'random' or an "
                f"array of shape (n_items, embedding_dim); got {init!r}."
            )
        X_init = rng.standard_normal((n_items, m))
    else:
        X_init = _init_array(init, n_items, m)
    if isinstance(constraint, Standardized):
        X_init = _init.standardize(X_init)
    mde = _finish(n_items, m, edges, function, constraint, X_init, device)
    _log(verbose, f"{mde!r}")
    return mde, RecipeInfo(n_attractive=len(edges))
