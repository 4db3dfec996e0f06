"""The neighbour recipes: :func:`preserve_neighbors` and
:func:`laplacian_embedding`, and their builder :func:`neighbor_problem`."""

import functools
import time

import numpy as np
import torch

from .. import _labels, _refine, constraints, penalties
from .._distortion import build_function
from .._inputs import (
    check_bool,
    check_choice,
    check_dimension,
    check_dtype,
    check_float,
    check_int,
    check_memory,
    check_n_jobs,
    check_n_neighbors,
)
from .._pairs import (
    cache_tile,
    drop_anchor_pairs,
    sample_non_edges,
    spread_repulsion,
    tile_order,
)
from .._plan import (
    Plan,
    build_problem,
    feasible_constraint,
    items_of,
    keep_for_new_rows,
)
from .._transform import (
    NeighborSpec,
    partner_table,
)
from .._utils import (
    logger,
    numpy_generator,
    prefer_one_thread,
    reporting,
    resolve_device,
)
from ..constraints import Centered, Standardized
from ..graphs import neighbor_graph
from ..initialization import initial_embedding, jitter_coincident
from ..neighbors import (
    NeighborIndex,
    Projection,
    check_metric,
    check_new_rows,
    projected_index,
)

__all__ = ["laplacian_embedding", "preserve_neighbors"]


def default_n_neighbors(n_items):
    """``max(min(12, 0.005 (n - 1)), 10)``, at most ``n - 1``.

    PyMDE's rule with 12 for 15 (best trustworthiness on MNIST with scaled
    neighbours and fuzzy weights) and 10 for 5 (more trustworthy on small
    data: iris, wine, breast cancer, MNIST subsets; bench_quality.py).
    """
    return min(n_items - 1, int(max(min(12, 0.005 * (n_items - 1)), 10)))


#: pca_components="auto": dense data of more than PCA_ABOVE features is
#: searched in its first PCA_COMPONENTS principal components when they hold
#: at least PCA_MIN_EXPLAINED of its variance. MNIST-10k (0.83 held): 10-NN
#: accuracy 0.9504 in all 784 pixels, 0.9562 in 50 components, at the same
#: trustworthiness (other counts and subsets in doc/performance.rst);
#: compare.py's 70,000 x 784 mixture (0.68): searched twice as fast at the
#: same quality. Where the variance is spread more evenly, what they leave
#: out is not noise (200 features, 150 informative, 10 classes: 0.50 held,
#: and the 10-NN accuracy fell from 0.984 to 0.920 in them)
PCA_ABOVE = 100
PCA_COMPONENTS = 50
PCA_MIN_EXPLAINED = 0.6


def search_projection(pca_components, data, kind, metric):
    """``(projection, full)``: the :class:`~skmde.neighbors.Projection` whose
    scores the neighbours are searched in and the
    :class:`~skmde.neighbors.NeighborIndex` of the data's rows it was fitted
    from (kept for new rows), or ``(None, None)`` (the data's own features),
    for ``pca_components`` (None, "auto" or an int), checked."""
    if pca_components is None:
        return None, None
    if isinstance(pca_components, str):
        check_choice(pca_components, "pca_components", ("auto",))
        n, d = data.shape if kind == "dense" else (0, 0)
        if metric != "euclidean" or d <= PCA_ABOVE or n <= PCA_COMPONENTS:
            return None, None
        full = NeighborIndex(data, metric)
        projection = Projection.of_index(full, PCA_COMPONENTS)
        if projection.explained < PCA_MIN_EXPLAINED:
            return None, None
        return projection, full
    count = check_int(pca_components, "pca_components", min_value=1)
    if kind != "dense" or metric != "euclidean":
        what = "a Graph" if kind == "graph" else f"{kind} data"
        raise ValueError(
            f"pca_components={count} needs dense data and metric='euclidean', "
            f"not {what} with metric={metric!r}; use None (or 'auto')."
        )
    if count > min(data.shape):
        raise ValueError(
            f"pca_components={count} must be at most the data's "
            f"{min(data.shape)} (min of {data.shape[0]} samples and "
            f"{data.shape[1]} features)."
        )
    full = NeighborIndex(data, metric)
    return Projection.of_index(full, count), full


#: the repulsive sample, in pairs per neighbour pair: many light edges
#: approximate all pairs' repulsion better than few heavy ones (the default's
#: is spread over more pairs still, see _pairs.spread_repulsion);
#: Standardized spreads the items itself: a quarter as many.
REPULSIVE_FRACTION = {"centered": 4.0, "standardized": 1.0}
REPULSIVE_WEIGHT = 0.5
#: the default problem solved in one phase (no refine) under Centered: its
#: repulsion twice as heavy (when repulsive_weight is not given) and its log1p
#: pull of exponent 1.6 (when the penalty is Log1p at its default exponent).
#: Trustworthiness rose on every set measured, 150 to 10,000 items (iris,
#: wine, breast cancer, diabetes, subsets of digits and MNIST-10k; medians of
#: five seeds, doc/performance.rst); under Standardized it fell on MNIST subsets
ONE_PHASE_REPULSIVE_WEIGHT = 1.0
ONE_PHASE_EXPONENT = 1.6


def neighbor_problem(
    data,
    *,
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
    n_jobs=None,
    knn_method="auto",
    local_scaling=True,
    edge_weights="fuzzy",
    repulsive_weight=None,
    dtype=None,
    transform_seed=0,
    store_training_data=False,
    targets=None,
    target_weight=0.0,
    target_metric="categorical",
    pca_components="auto",
    refine=False,
):
    """:func:`preserve_neighbors`, also returning its :class:`Plan`.

    ``transform_seed`` seeds the partner tables of ``transform``;
    ``store_training_data`` keeps an index of the data for new rows and the
    record that rebuilds the problem in the plan. ``refine`` (see ``_refine``)
    sets ``plan.refined``. ``targets`` (one label or number per item, see
    ``_labels``) reshape the edges by ``target_weight`` in [0, 1]; 0: none.
    """
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    n_jobs = check_n_jobs(n_jobs)
    metric = check_metric(metric)
    kind, data, n = items_of(data, metric)
    rng, device = numpy_generator(random_state), resolve_device(device)
    attractive = penalties.get(attractive_penalty, "attractive_penalty")
    repulsive = (
        None
        if repulsive_penalty is None
        else penalties.get(repulsive_penalty, "repulsive_penalty")
    )
    given = constraint
    constraint = constraints.get(
        constraint, Centered() if repulsive is not None else Standardized()
    )
    check_dimension(m, n)
    constraint.check(n, m)
    standardized = isinstance(constraint, Standardized)
    spread = repulsive_fraction is None  # the default's sample is spread
    if spread:
        repulsive_fraction = REPULSIVE_FRACTION[
            "standardized" if standardized else "centered"
        ]
    repulsive_fraction = check_float(repulsive_fraction, "repulsive_fraction", low=0.0)
    # the default problem solved in one phase under Centered has the
    # ONE_PHASE_ penalties
    refined = _refine.wanted(refine, n)
    one_phase = spread and not refined and not standardized and repulsive is not None
    if repulsive_weight is None:
        repulsive_weight = ONE_PHASE_REPULSIVE_WEIGHT if one_phase else REPULSIVE_WEIGHT
    if one_phase and attractive is penalties.Log1p:
        attractive = functools.partial(penalties.Log1p, exponent=ONE_PHASE_EXPONENT)
    repulsive_weight = check_float(
        repulsive_weight, "repulsive_weight", low=0.0, low_open=True
    )
    edge_weights = check_choice(edge_weights, "edge_weights", ("fuzzy", "binary"))
    dtype = check_dtype(dtype)
    local_scaling = check_bool(local_scaling, "local_scaling")
    if max_distance is not None:
        max_distance = check_float(max_distance, "max_distance", low=0.0, low_open=True)
    target_weight = check_float(target_weight, "target_weight", low=0.0, high=1.0)
    targets = (
        _labels.encode(targets, n, target_metric, n_neighbors or default_n_neighbors(n))
        if targets is not None and target_weight > 0
        else None
    )
    if store_training_data and kind in ("dense", "sparse"):
        check_new_rows(data, metric)  # before the search, not after the solve
    projection, full = search_projection(pca_components, data, kind, metric)
    if not store_training_data:
        full = None  # the index of the rows serves new rows only: freed now
    # what the neighbours and the start are computed from
    search = data if projection is None else projection(data)
    if kind != "graph":
        prefer_one_thread(n, data.shape[1])
    plan = Plan("neighbors")

    start = time.perf_counter()
    graph = None
    if kind == "graph":
        edges, weights = data.edges.numpy(), np.ones(data.n_edges, dtype=np.float32)
        if max_distance is not None:
            keep = data.distances.numpy() <= max_distance
            edges, weights = edges[keep], weights[keep]
        k = default_n_neighbors(n)
    else:
        k = check_n_neighbors(
            default_n_neighbors(n) if n_neighbors is None else n_neighbors, n
        )
        plan.n_neighbors = k
        check_memory(
            1.5 * n * k * (1 + repulsive_fraction),
            "preserve_neighbors",
            "n_neighbors or repulsive_fraction",
        )
        if projection is not None:
            logger.info("in the first %d principal components", projection.n_components)
        logger.info("computing %d-nearest neighbors (%s)", k, metric)
        graph = neighbor_graph(
            search,
            k,
            metric,
            method=knn_method,
            max_distance=max_distance,
            n_jobs=n_jobs,
            random_state=rng,
            local_scaling=local_scaling,
            weighting=edge_weights,
            device=device,
        )
        plan.neighbor_graph = graph
        edges, weights = graph.edges, graph.weights
    if len(edges) == 0:
        raise ValueError(
            "the neighbour graph has no edges"
            + (": is max_distance too small?" if max_distance is not None else ".")
        )
    plan.timings["knn"] = time.perf_counter() - start
    n_graph_edges = len(edges)  # the repulsion is sized by the data's graph
    edges, weights = _labels.attract(
        edges,
        weights,
        targets,
        target_weight,
        n,
        _labels.partners_for(targets, k),
        k,
        rng,
    )
    edges, weights = drop_anchor_pairs(edges, weights, constraint)
    constraint = feasible_constraint(
        constraint,
        given,
        n,
        m,
        len(edges),
        repulsive is not None and repulsive_fraction > 0,
    )

    start = time.perf_counter()
    X_init = initial_embedding(
        init,
        "neighbors",
        data=search,
        kind=kind,
        n_items=n,
        embedding_dim=m,
        edges=edges,
        values=weights,
        constraint=constraint,
        metric=metric,
        rng=rng,
        device=device,
    )
    plan.init = init if isinstance(init, str) else "array"
    plan.timings["init"] = time.perf_counter() - start
    logger.info("initialization (%s) in %.2f s", plan.init, plan.timings["init"])

    # the index new rows are searched in: the search's own; with a
    # projection, that of the items' scores (the search's, if it kept one)
    # beside that of their rows the projection was fitted from
    index = None if graph is None else graph.index
    if projection is not None and store_training_data:
        if index is None:
            index = NeighborIndex(search, metric)
        index = projected_index(data, projection, index, full)
    del search, full  # not needed past the start (with a projection, a copy)

    # the solver's loops run fastest over edges in tiles (see cache_tile)
    tile = cache_tile(n, 2 * m * dtype.itemsize)
    if tile is not None:
        order = tile_order(edges, n, tile)
        edges, weights = edges[order], weights[order]
    plan.n_attractive = len(edges)
    if repulsive is not None:
        count = int(repulsive_fraction * min(len(edges), n_graph_edges))
        each = repulsive_weight
        if spread:
            count, each = spread_repulsion(
                n, count, edges, repulsive_weight, refined=refined
            )
        negative = sample_non_edges(n, count, edges, rng, tile)
        negative, _ = drop_anchor_pairs(negative, np.zeros(len(negative)), constraint)
        repelling = _labels.repel(
            negative,
            np.full(len(negative), -each, np.float32),
            targets,
            target_weight,
        )
        plan.n_repulsive = len(negative)
        edges = np.concatenate([edges, negative])
        weights = np.concatenate([weights, repelling])
        del negative, repelling  # copied: not held through the build
    weights_t = torch.as_tensor(weights, dtype=dtype)
    if plan.n_repulsive:
        factory = functools.partial(
            penalties.PushAndPull,
            attractive_penalty=attractive,
            repulsive_penalty=repulsive,
        )
        function = factory(weights_t)
    else:
        factory = attractive
        function = build_function(attractive, weights_t, "attractive_penalty")
    X_init = jitter_coincident(X_init, edges, rng, constraint)
    mde = build_problem(n, m, edges, function, constraint, X_init, device)
    del edges, weights  # the problem holds them (at a million rows, 1 GB)
    # the recorded problem and the penalties of new rows are the final ones
    factory, weights_t, attractive, repulsion = _refine.final_problem(
        plan, refine, n, function, factory, attractive, repulsive, weights_t
    )
    plan.transform = NeighborSpec(
        n_neighbors=k,
        local_scaling=graph is not None and graph.scales is not None,
        scales=None if graph is None else graph.scales,
        weighting="binary" if graph is None else graph.weighting,
        weight_scale=1.0 if graph is None else graph.weight_scale,
        attractive=attractive,
        repulsive=repulsive,
        # one repulsive partner per neighbour (the one assigned to it), with
        # the repulsion the fit spread over `fraction` lighter edges
        partners=(
            partner_table(n, transform_seed)
            if repulsive is not None and repulsive_fraction > 0
            else None
        ),
        repulsive_weight=repulsive_weight * repulsive_fraction * repulsion,
        projection=projection,
    )
    return mde, keep_for_new_rows(
        plan,
        mde,
        weights_t,
        factory,
        data,
        kind,
        metric,
        index,
        store_training_data,
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
    targets=None,
    target_weight=0.0,
    target_metric="categorical",
    pca_components="auto",
):
    """An MDE problem that keeps each item near its nearest neighbours.

    Pairs of nearest neighbours attract; with a repulsive penalty, a uniform
    sample of the other pairs repels. Returns the problem; call ``.embed()``.

    The parameters, penalties and constraint are PyMDE's. Four defaults
    differ as they measurably improve the embeddings (trustworthiness and
    k-NN accuracy, see the benchmarks): neighbours chosen by locally scaled
    distance (``local_scaling``), fuzzy weights (``edge_weights``), a
    larger repulsive sample (four pairs per neighbour pair, their weight
    spread over at least 50,000 pairs; with a log1p pull of exponent 1.6
    when solved in one phase), and, for data
    of more than 100 features, neighbours found in its first 50 principal
    components (``pca_components``). PyMDE's problem: ``local_scaling=False,
    edge_weights="binary", n_neighbors=15, repulsive_fraction=1,
    repulsive_weight=1, pca_components=None``. (:class:`MDENeighbors`
    solves it in two phases, see its ``refine``.)

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
        Default ``max(min(12, 0.005 (n - 1)), 10)``; clipped to n - 1 (warning).
    repulsive_fraction : float, optional
        Repulsive edges per attractive edge: 4 by default, 1 with Standardized.
        The default's repulsion is spread with the same total weight over at
        least 50,000 pairs (or every non-neighbour pair, when fewer), and, in
        a problem solved in two phases (``refine``), over 1.5 times as many
        pairs up to 2,000,000: more trustworthy. A value given here is sampled
        as given.
    max_distance : float, optional
        Drop neighbour pairs farther apart than this.
    init : {"spectral", "quadratic", "pca", "random"} or array of shape \
            (n, embedding_dim)
        "spectral" (PyMDE's name: "quadratic") is the Laplacian eigenmap of the
        neighbour graph; it falls back to "pca" with a warning when the graph
        is disconnected. Arrays are projected onto the constraint.
    metric : str, default="euclidean"
        "euclidean", "cosine", scipy's metrics, pynndescent's, or "precomputed".
    device : str or torch.device, optional
        Where to solve: "cpu" (None), "cuda", "cuda:N" or "auto"; on a GPU
        the neighbour search of dense data runs there too, exactly.
    random_state : int, numpy Generator or RandomState, optional
        Seeds the repulsive sample, the init and approximate kNN: equal seeds
        give identical problems and embeddings.
    verbose : bool, default=False
    n_jobs : int, optional
        Threads for the neighbour search (torch's setting is restored;
        pynndescent, when it searches, runs on all cores by default).
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
        Magnitude of the repulsive weights: default 1 with the default
        ``repulsive_fraction`` under Centered, whose problem is then also
        pulled by ``Log1p`` with exponent 1.6 when ``attractive_penalty`` is
        ``Log1p`` at its default exponent (more trustworthy, see the user
        guide); 0.5 otherwise.
    targets : array-like of shape (n,), optional
        A label (``target_metric="categorical"``: -1 or a missing value when
        unknown) or a number (``"euclidean"``: NaN when unknown) per item.
    target_weight : float in [0, 1], default=0
        How much ``targets`` reshape the problem (0 ignores them): neighbour
        pairs are reweighted by target similarity, repulsion across classes is
        strengthened, and each labelled item attracts items of similar target
        (see the user guide's section on labels).
    target_metric : {"categorical", "euclidean"}, default="categorical"
    pca_components : int, "auto" or None, default="auto"
        Find the neighbours by the distances of the items' first
        ``pca_components`` principal components (their PCA scores), which
        leave out the directions of least variance, where much of the noise
        of pixel or expression data lies. "auto": 50 for dense data of more
        than 100 features under the euclidean metric when they hold at least
        60% of its variance, else none; None: the
        items' own features. A number needs dense data and
        ``metric="euclidean"``.

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
    with reporting(verbose):
        return neighbor_problem(
            data,
            embedding_dim=embedding_dim,
            attractive_penalty=attractive_penalty,
            repulsive_penalty=repulsive_penalty,
            constraint=constraint,
            n_neighbors=n_neighbors,
            repulsive_fraction=repulsive_fraction,
            max_distance=max_distance,
            init=init,
            metric=metric,
            device=device,
            random_state=random_state,
            n_jobs=n_jobs,
            knn_method=knn_method,
            local_scaling=local_scaling,
            edge_weights=edge_weights,
            repulsive_weight=repulsive_weight,
            targets=targets,
            target_weight=target_weight,
            target_metric=target_metric,
            pca_components=pca_components,
        )[0]


def laplacian_embedding(
    data,
    embedding_dim=2,
    n_neighbors=None,
    max_distance=None,
    init="spectral",
    device=None,
    verbose=False,
    *,
    random_state=None,
):
    """An MDE problem whose solution is a Laplacian eigenmap (PyMDE's recipe).

    :func:`preserve_neighbors` (skmde's neighbour graph) with a quadratic
    penalty, no repulsion and :class:`Standardized`: the spectral start is
    already the solution up to the solver's tolerance.

    Parameters
    ----------
    data, embedding_dim, n_neighbors, max_distance, device, verbose, random_state
        As in :func:`preserve_neighbors`.
    init : {"spectral", "quadratic", "pca", "random"}, default="spectral"
        "quadratic" is PyMDE's name for "spectral".

    Returns
    -------
    MDE

    Examples
    --------
    >>> import numpy as np, skmde
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> skmde.laplacian_embedding(X, random_state=0).embed().shape
    torch.Size([200, 2])
    """
    return preserve_neighbors(
        data,
        embedding_dim=embedding_dim,
        attractive_penalty=penalties.Quadratic,
        repulsive_penalty=None,
        constraint=Standardized(),
        n_neighbors=n_neighbors,
        max_distance=max_distance,
        init=init,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
