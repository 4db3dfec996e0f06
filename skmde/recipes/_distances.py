"""The distance recipe: :func:`preserve_distances` and its builder
:func:`distance_problem`."""

import time

import scipy.sparse
import torch

from .. import constraints, losses
from .._distortion import build_function
from .._inputs import (
    check_dimension,
    check_dtype,
    check_float,
    check_int,
    check_memory,
    check_n_jobs,
)
from .._pairs import (
    all_pairs,
    cache_tile,
    check_pair_metric,
    drop_anchor_pairs,
    lookup_distances,
    pair_distances,
    sample_pairs,
)
from .._plan import (
    Plan,
    build_problem,
    distance_dtype,
    items_of,
    keep_for_new_rows,
    scale_deviations,
)
from .._transform import (
    TRANSFORM_PAIRS,
    DistanceSpec,
    fixed_sample,
)
from .._utils import (
    logger,
    numpy_generator,
    reporting,
    torch_threads,
)
from ..constraints import Centered
from ..initialization import initial_embedding, jitter_coincident
from ..neighbors import check_metric, check_new_rows
from ..preprocess.graph import Graph, shortest_path_pairs

__all__ = ["preserve_distances"]


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
    *,
    embedding_dim=2,
    loss=losses.Quadratic,
    constraint=None,
    max_distances=None,
    init="auto",
    metric="euclidean",
    device=None,
    random_state=None,
    n_jobs=None,
    dtype=None,
    transform_seed=0,
    store_training_data=False,
):
    """:func:`preserve_distances`, also returning its :class:`Plan` (see
    :func:`neighbor_problem`)."""
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    n_jobs = check_n_jobs(n_jobs)
    metric = check_metric(metric)
    kind, data, n = items_of(data, metric)
    if kind == "precomputed" and scipy.sparse.issparse(data):
        # stored distances are what is known: the others are shortest paths
        # through them, as for a Graph (never 0)
        kind, data = "graph", Graph(data)
    rng = numpy_generator(random_state)
    factory = losses.get(loss, "loss")
    constraint = constraints.get(constraint, Centered())
    check_dimension(m, n)
    constraint.check(n, m)
    total = n * (n - 1) // 2
    if max_distances is None:
        max_distances = default_max_distances(n)
    max_distances = check_float(max_distances, "max_distances", low=1.0)
    if kind in ("dense", "sparse"):
        check_pair_metric(metric)
        if store_training_data:
            check_new_rows(data, metric)
    plan = Plan("distances")

    start = time.perf_counter()
    check_memory(min(total, max_distances), "preserve_distances", "max_distances")
    if kind == "graph":
        edges, deviations = shortest_path_pairs(data, max_distances, rng)
    else:
        # in the order the solver visits fastest (see cache_tile)
        tile = cache_tile(n, 2 * m * check_dtype(dtype).itemsize)
        edges = (
            all_pairs(n)
            if total <= max_distances
            else sample_pairs(n, int(max_distances), rng, tile)
        )
        if kind == "precomputed":
            deviations = lookup_distances(data, edges)
        else:
            with torch_threads(n_jobs):
                deviations = pair_distances(data, edges, metric)
    edges, deviations = drop_anchor_pairs(edges, deviations, constraint)
    if len(edges) == 0:
        raise ValueError("no pair of items has a finite distance.")
    plan.timings["distances"] = time.perf_counter() - start
    which = "all" if total <= max_distances else "sampled"
    logger.info("%d pairs (%s) in %.2f s", len(edges), which, plan.timings["distances"])

    deviations = scale_deviations(deviations, constraint, n, m, plan)

    start = time.perf_counter()
    X_init = initial_embedding(
        init,
        "distances",
        data=data,
        kind=kind,
        n_items=n,
        embedding_dim=m,
        edges=edges,
        values=deviations,
        constraint=constraint,
        metric=metric,
        rng=rng,
    )
    plan.init = init if isinstance(init, str) else "array"
    plan.timings["init"] = time.perf_counter() - start
    values = torch.as_tensor(deviations, dtype=distance_dtype(dtype, deviations))
    function = build_function(factory, values, "loss")
    X_init = jitter_coincident(X_init, edges, rng, constraint)
    mde = build_problem(n, m, edges, function, constraint, X_init, device)
    plan.transform = DistanceSpec(
        loss=factory,
        partners=fixed_sample(n, TRANSFORM_PAIRS, transform_seed),
        deviation_scale=plan.deviation_scale,
        precomputed=metric == "precomputed",
        units=plan.units,
    )
    every = kind != "graph" and total <= max_distances and len(edges) == total
    return mde, keep_for_new_rows(
        plan, mde, values, factory, data, kind, metric, None, store_training_data, every
    )


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
        Feature rows; a square distance matrix with ``metric="precomputed"``
        (a sparse one stores the known distances: the others are unknown, and
        the distances preserved are the shortest-path lengths through the
        stored ones, as for a Graph); or a :class:`Graph`, whose shortest-path
        lengths are the distances.
    embedding_dim : int, default=2
    loss : str, Loss class or factory, default=Quadratic
    constraint : Constraint, "centered" or "standardized", optional
        Default Centered, under which the embedding keeps the data's units
        (distances beyond 1e15 or below 1e-15 are then solved in float64, as
        float32 cannot square them; deviations whose RMS is beyond 2^60 or
        below 2^-60, whose squares leave float64's range too, are divided by
        a power of two near their RMS, so the problem and its embedding are
        in those units; the estimators scale the embedding back).
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
        Threads for the pair distances (torch's setting is restored).

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
    with reporting(verbose):
        return distance_problem(
            data,
            embedding_dim=embedding_dim,
            loss=loss,
            constraint=constraint,
            max_distances=max_distances,
            init=init,
            metric=metric,
            device=device,
            random_state=random_state,
            n_jobs=n_jobs,
        )[0]
