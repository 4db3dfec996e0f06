"""What a recipe returns besides its problem (:class:`Plan`), and the steps
every recipe shares: checking its data, building the problem, keeping what
new rows need."""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from ._inputs import as_data, check_dtype
from ._problem import MDE
from ._record import ProblemRecord
from ._utils import logger
from .constraints import Anchored, Centered, Standardized
from .neighbors import index_for_new_rows
from .preprocess.graph import Graph


@dataclass
class Plan:
    """What a recipe decided besides the problem.

    Attributes
    ----------
    kind : {"neighbors", "distances"}
        How new rows are placed.
    transform : NeighborSpec or DistanceSpec
        What a new row is connected to, and how.
    index : object or None
        The fitted items' index for new rows (``query``, ``distances_to``);
        None unless asked for (``store_training_data``) or for a Graph.
    record : ProblemRecord or None
        Rebuilds the problem (with ``store_training_data``).
    """

    kind: str
    transform: object = None
    index: object = None
    record: object = None
    n_neighbors: int | None = None
    neighbor_graph: object = None
    n_attractive: int = 0
    n_repulsive: int = 0
    init: str = ""
    timings: dict = field(default_factory=dict)
    deviation_scale: float = 1.0
    #: the embedding's unit: the problem is solved in units of this power of
    #: two when the deviations are beyond float64's comfortable range
    units: float = 1.0
    #: the function of the solve's second half (see skmde._refine), or None
    refined: object = None


def distance_dtype(dtype, deviations):
    """float64 when distances are too large or too small for float32's squares
    (beyond about 1e19 they overflow, below 1e-19 they vanish)."""
    chosen = check_dtype(dtype)
    positive = deviations[deviations > 0]
    if positive.size and (positive.max() > 1e15 or positive.min() < 1e-15):
        return torch.float64
    return chosen


#: deviations whose RMS lies outside this range are solved in other units
UNITS_RANGE = (2.0**-60, 2.0**60)


def scale_deviations(deviations, constraint, n, m, plan):
    """The deviations of a distance problem in the units it is solved in,
    recorded in ``plan`` (``deviation_scale``, ``units``): rescaled to the
    natural length under Standardized; otherwise, when their RMS is beyond
    :data:`UNITS_RANGE` (squares near 1e-160 or 1e160 leave float64's range),
    divided by a power of two near it (exact)."""
    top = float(deviations.max())
    rms = top * math.sqrt(float(np.mean((deviations / top) ** 2))) if top else 1.0
    if isinstance(constraint, Standardized):
        plan.deviation_scale = constraint.natural_length(n, m) / rms
        return deviations * plan.deviation_scale
    if not UNITS_RANGE[0] <= rms <= UNITS_RANGE[1]:
        plan.units = 2.0 ** round(math.log2(rms))
        plan.deviation_scale = 1.0 / plan.units
        return deviations / plan.units
    return deviations


def items_of(data, metric):
    """``(kind, data, n_items)``: a Graph as it is, anything else checked."""
    if isinstance(data, Graph):
        return "graph", data, data.n_items
    kind, data = as_data(data, metric)
    return kind, data, data.shape[0]


def build_problem(n, m, edges, function, constraint, X_init, device):
    """Build the MDE and attach its initial embedding, projected to be feasible."""
    mde = MDE(n, m, edges, function, constraint, device=device)
    X = torch.as_tensor(X_init, dtype=mde.dtype).to(mde.device)
    mde.X_init = mde.constraint.project_onto_constraint(X, inplace=True)
    logger.info("%r", mde)
    return mde


def keep_for_new_rows(
    plan,
    mde,
    values,
    factory,
    data,
    kind,
    metric,
    index,
    store,
    pairs=False,
):
    """Attach the index for new rows (given distances need no stored data),
    a user constraint new rows may have to satisfy, and the record that
    rebuilds the problem. The index's partition for new rows is left to the
    first search of new rows: a fit that is never followed by ``transform``
    (``fit_transform``) does not pay for it."""
    if type(mde.constraint) not in (Centered, Standardized, Anchored):
        plan.transform.constraint = mde.constraint.to("cpu", torch.float64)
    if metric == "precomputed" or (store and kind != "graph"):
        plan.index = index_for_new_rows(data, metric, index, prepare=False)
    if store:
        plan.record = ProblemRecord.from_problem(
            mde, values, factory, plan.units, all_pairs=pairs
        )
    return plan


def feasible_constraint(constraint, given, n, m, n_edges, repels):
    """The constraint, or Standardized where a centred attraction-only problem
    (no repulsion, or a graph joining every pair) would collapse every item
    onto one point: a warning when the constraint was the default, an error
    when the user chose it."""
    if type(constraint) is not Centered or (repels and n_edges < n * (n - 1) // 2):
        return constraint
    why = (
        f"the neighbour graph joins every pair of the {n} items, leaving no "
        "pair to repel"
        if repels
        else "there is no repulsion"
    )
    if given is not None:
        raise ValueError(
            f"with constraint='centered', {why}: every item would collapse "
            "onto one point. Use constraint='standardized', more items or "
            "fewer neighbours."
        )
    warnings.warn(
        f"{why}; the embedding is standardized instead of centered, where "
        "every item would collapse onto one point.",
        UserWarning,
        stacklevel=4,
    )
    constraint = Standardized()
    constraint.check(n, m)
    return constraint
