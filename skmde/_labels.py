"""Labels in a neighbour problem: how known targets reshape its edges.

A target (a class, or a number for regression) is known for some items and
unknown for others (-1 or a missing value for classes, NaN for numbers). Two
labelled items have a *target similarity* ``s`` in [0, 1]: 1 within a class and
0 across classes, or ``exp(-(dy / scale)^2)`` for numbers, where ``scale`` is a
typical distance from an item's target to that of its ``k``-th nearest in
target. With ``target_weight`` ``w`` in (0, 1]:

- a neighbour pair's weight is multiplied by ``1 - w + w s`` (at ``w = 1``
  pairs across classes no longer attract);
- a repulsive pair's weight is multiplied by ``1 + w (1 - s)`` (at ``w = 1``
  classes repel each other twice as much; within a class repulsion is kept,
  so a class keeps its inner structure instead of collapsing);
- each labelled item attracts partners of similar target, with ``w`` times the
  median neighbour weight: ``k // 2`` random items of its class (``k`` the
  number of neighbours), so that a class split in the data can come together,
  or ``k`` random items among the ``2 k`` nearest in target, which chain
  numeric targets in order.

The repulsive sample keeps the size the data's graph gives it. Measured on
MNIST-10k (``benchmarks/bench_labels.py``): ``k`` partners per item held out
0.0025 more accuracy but drew a class of digits into a spot 7e-4 of the
embedding's extent at ``w = 1``; ``k // 2`` keeps classes 3 times wider, and
``k // 4`` lost accuracy below the unsupervised embedding's with 10% labels.
Numeric targets need the ``k`` links of a chain to order a 1-d manifold.

Pairs with an unlabelled item keep their weights; an unlabelled item gets no
target partner. Numpy only: the estimators check the labels' shape and type.
"""

import numpy as np

CATEGORICAL, CONTINUOUS = "categorical", "euclidean"
TARGET_METRICS = (CATEGORICAL, CONTINUOUS)


class Targets:
    """Encoded targets: ``values`` (class codes or numbers) and ``known``."""

    def __init__(self, kind, values, known, scale=1.0):
        self.kind = kind
        self.values = values
        self.known = known
        self.scale = scale

    @property
    def n_known(self):
        return int(self.known.sum())

    def similarity(self, edges):
        """Target similarity of each pair, and whether both items are labelled."""
        i, j = edges[:, 0], edges[:, 1]
        both = self.known[i] & self.known[j]
        if self.kind == CATEGORICAL:
            s = (self.values[i] == self.values[j]).astype(np.float64)
        else:
            d = (self.values[i] - self.values[j]) / self.scale
            with np.errstate(invalid="ignore"):
                s = np.exp(-(d**2))
        return np.where(both, s, 0.0), both


def _missing(values):
    """Which entries of an object array are None or NaN."""
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values])


def encode(targets, n_items, metric, n_neighbors):
    """Check 1-d targets of ``n_items`` items and encode them as :class:`Targets`.

    Classes (``metric="categorical"``): any comparable values; -1, None or NaN
    marks an unlabelled item. Numbers (``metric="euclidean"``): NaN marks an
    unlabelled item.
    """
    if metric not in TARGET_METRICS:
        raise ValueError(
            f"target_metric must be one of {list(TARGET_METRICS)}; got {metric!r}."
        )
    y = np.asarray(targets)
    if y.ndim != 1 or y.shape[0] != n_items:
        raise ValueError(
            f"y must be a 1-d array with one label per sample ({n_items}); got "
            f"shape {y.shape}."
        )
    if metric == CONTINUOUS:
        if y.dtype.kind not in "iufb":
            raise TypeError(
                f"with target_metric='euclidean', y must be numeric; got dtype "
                f"{y.dtype}."
            )
        y = y.astype(np.float64)
        known = ~np.isnan(y)
        if np.isinf(y[known]).any():
            raise ValueError("y must be finite (NaN marks an unlabelled sample).")
        return Targets(CONTINUOUS, y, known, _target_scale(y[known], n_neighbors))
    if y.dtype.kind == "f":
        known = ~np.isnan(y) & (y != -1)
    elif y.dtype.kind in "iub":
        known = y != -1
    elif y.dtype.kind == "O":
        known = ~_missing(y)
        known[known] = [not (isinstance(v, int | float) and v == -1) for v in y[known]]
    else:  # strings
        known = np.ones(n_items, dtype=bool)
    codes = np.full(n_items, -1, dtype=np.int64)
    if known.any():
        try:
            _, codes[known] = np.unique(y[known], return_inverse=True)
        except TypeError as error:
            raise TypeError(
                f"the class labels in y cannot be compared with each other "
                f"({error}); give labels of one type."
            ) from None
    return Targets(CATEGORICAL, codes, known)


def partners_for(targets, n_neighbors):
    """Target partners per labelled item (see the module docstring)."""
    if targets is None or targets.kind == CONTINUOUS:
        return n_neighbors
    return max(1, n_neighbors // 2)


def _target_scale(values, k):
    """Median distance from a target to its ``k``-th nearest (along the sorted
    targets); 1 when all targets are equal or too few are known."""
    values = np.sort(values)
    k = min(max(int(k), 1), len(values) - 1)
    if k < 1:
        return 1.0
    gaps = values[k:] - values[:-k]
    scale = float(np.median(gaps))
    if scale <= 0:
        positive = gaps[gaps > 0]
        scale = float(positive.min()) if positive.size else 1.0
    return scale


def _partners(targets, count, window, rng):
    """``count`` partners of similar target for every labelled item, as pairs:
    random other members of its class, or random items among the ``window``
    nearest in target on either side."""
    labelled = np.flatnonzero(targets.known)
    if labelled.size < 2 or count < 1:
        return np.empty((0, 2), dtype=np.int64)
    order = np.argsort(targets.values[labelled], kind="stable")
    items = labelled[order]
    n = items.size
    position = np.arange(n)[:, None]
    if targets.kind == CATEGORICAL:
        codes = targets.values[items]
        start = np.searchsorted(codes, codes, side="left")[:, None]
        size = np.searchsorted(codes, codes, side="right")[:, None] - start
        alone = size[:, 0] == 1
        size[alone] = 2  # no partner: drawn, then dropped below
        offset = rng.integers(1, size, size=(n, count))
        partner = start + (position - start + offset) % size
        partner[alone] = position[alone]
    else:
        w = max(1, min(int(window), n - 1))
        step = rng.integers(1, w + 1, size=(n, count))
        partner = position + rng.choice(np.array([-1, 1]), size=(n, count)) * step
        # reflect at the ends
        partner = np.where(partner < 0, -partner, partner)
        partner = np.clip(
            np.where(partner >= n, 2 * (n - 1) - partner, partner), 0, n - 1
        )
    pairs = np.column_stack([np.repeat(items, count), items[partner.ravel()]])
    return pairs[pairs[:, 0] != pairs[:, 1]]


def merge_pairs(edges, weights, n_items):
    """Unordered pairs made unique (i < j), the weights of repeats summed."""
    lo = np.minimum(edges[:, 0], edges[:, 1]).astype(np.int64)
    hi = np.maximum(edges[:, 0], edges[:, 1]).astype(np.int64)
    keys, inverse = np.unique(lo * n_items + hi, return_inverse=True)
    summed = np.bincount(inverse, weights=weights, minlength=keys.size)
    pairs = np.column_stack([keys // n_items, keys % n_items])
    return pairs, summed


def attract(edges, weights, targets, weight, n_items, count, window, rng):
    """The neighbour pairs reweighted by target similarity, with ``count``
    target partners per labelled item added (pairs made unique); weights keep
    their dtype."""
    if targets is None or weight == 0 or targets.n_known == 0:
        return edges, weights
    s, both = targets.similarity(edges)
    scaled = weights * np.where(both, 1.0 - weight + weight * s, 1.0)
    partners = _partners(targets, count, window, rng)
    strength = weight * float(np.median(weights)) if weights.size else weight
    edges, scaled = merge_pairs(
        np.concatenate([edges, partners]),
        np.concatenate([scaled, strength * targets.similarity(partners)[0]]),
        n_items,
    )
    keep = scaled > 0
    return edges[keep], scaled[keep].astype(weights.dtype)


def repel(edges, weights, targets, weight):
    """Repulsive (negative) weights scaled up between dissimilar targets."""
    if targets is None or weight == 0 or targets.n_known == 0 or not len(edges):
        return weights
    s, both = targets.similarity(edges)
    return (weights * np.where(both, 1.0 + weight * (1.0 - s), 1.0)).astype(
        weights.dtype
    )
