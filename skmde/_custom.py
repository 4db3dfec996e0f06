"""The recipe of :class:`~skmde.MDEEmbedder` with a callable ``relationships``:
an MDE problem on the pairs and values a user function returns."""

import numpy as np
import torch

from . import constraints, losses
from ._distortion import build_function
from ._inputs import check_dimension, check_dtype, check_int
from ._plan import Plan, build_problem, items_of, keep_for_new_rows
from ._transform import TRANSFORM_PAIRS, DistanceSpec, NeighborSpec, fixed_sample
from ._utils import numpy_generator
from .constraints import Centered
from .initialization import initial_embedding
from .neighbors import check_metric
from .recipes import default_n_neighbors


def custom_problem(
    data,
    *,
    relationships,
    factory,
    embedding_dim=2,
    constraint=None,
    init="random",
    metric="euclidean",
    device=None,
    random_state=None,
    n_neighbors=None,
    dtype=None,
    transform_seed=0,
    store_training_data=False,
):
    """An MDE problem on the pairs and values that ``relationships(data)``
    returns, and its :class:`Plan`.

    ``relationships`` returns ``(edges, values)``: a (p, 2) integer array of
    pairs and one weight or deviation per pair, given to ``factory``. New rows
    are placed by their ``n_neighbors`` nearest items under ``metric`` when
    ``factory`` is a penalty (its values are weights), by their distances to
    a sample of items when it is a loss.
    """
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    metric = check_metric(metric)
    kind, data, n = items_of(data, metric)
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
    constraint = constraints.get(constraint, Centered())
    check_dimension(m, n)
    constraint.check(n, m)
    values_t = torch.as_tensor(values, dtype=check_dtype(dtype))
    function = build_function(factory, values_t, "distortion")
    X_init = initial_embedding(
        init,
        "custom",
        data=data,
        kind=kind,
        n_items=n,
        embedding_dim=m,
        edges=edges,
        values=values,
        constraint=constraint,
        metric=metric,
        rng=rng,
    )
    mde = build_problem(n, m, edges, function, constraint, X_init, device)
    is_loss = isinstance(factory, type) and issubclass(factory, losses.Loss)
    plan = Plan("distances" if is_loss else "neighbors", n_attractive=len(edges))
    if is_loss:
        plan.transform = DistanceSpec(
            loss=factory,
            partners=fixed_sample(n, TRANSFORM_PAIRS, transform_seed),
            deviation_scale=1.0,
            precomputed=metric == "precomputed",
        )
    else:
        plan.n_neighbors = n_neighbors
        plan.transform = NeighborSpec(
            n_neighbors=default_n_neighbors(n) if n_neighbors is None else n_neighbors,
            local_scaling=False,
            scales=None,
            weighting="binary",
            weight_scale=1.0,
            attractive=factory,
            repulsive=None,
            partners=None,
            repulsive_weight=0.0,
        )
    return mde, keep_for_new_rows(
        plan, mde, values_t, factory, data, kind, metric, None, store_training_data
    )
