"""Neighbours in a PCA space: :class:`Projection` and :class:`ProjectedIndex`.

Dense data of many features (pixels, expression counts) is noisiest in its
directions of least variance: neighbours found among the first principal
components of the data (its PCA scores) are more often of the same kind
than neighbours found in all of its features. A :class:`Projection` maps
rows to those scores, the same for every row whatever the batch it comes
in; a :class:`ProjectedIndex` searches the scores of the fitted items and
keeps their own rows for :meth:`~ProjectedIndex.rows` (``inverse_transform``).
"""

import copy

import numpy as np
import scipy.sparse

from .._inputs import check_int
from ._blocks import leading_axes, near_zero, rows_per_block, sort_rows
from ._exact import NeighborIndex


class Projection:
    """The map from rows of ``n_features`` values to their first
    ``n_components`` principal components (float32 scores).

    Build it with :meth:`fit`. Each row's scores are computed in float64 and
    rounded to float32, so a row projects to the same scores in any batch.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
        The fitted rows' mean (float64).
    axes : ndarray of shape (n_features, n_components)
        Orthonormal principal axes (float64), by decreasing variance; each
        axis's largest entry in magnitude is positive.
    explained : float
        The share of the fitted rows' variance along the axes, in [0, 1].
    """

    def __init__(self, mean, axes, explained=1.0):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.axes = np.asarray(axes, dtype=np.float64)
        self.explained = float(explained)

    @property
    def n_components(self):
        return self.axes.shape[1]

    @classmethod
    def fit(cls, data, n_components):
        """The projection of dense ``data`` (n, d) onto its first
        ``n_components`` principal axes (``n_components <= min(n, d)``)."""
        return cls.of_index(NeighborIndex(np.asarray(data), "euclidean"), n_components)

    @classmethod
    def of_index(cls, index, n_components):
        """The projection of the rows a dense euclidean :class:`NeighborIndex`
        holds, from the centred copy it keeps (centred and divided by a power
        of two near their spread: float32 squares overflow above ~1e19; the
        axes do not depend on it)."""
        centered = index.data
        n_components = check_int(n_components, "n_components", min_value=1)
        if n_components > min(centered.shape):
            raise ValueError(
                f"n_components must be at most {min(centered.shape)} (the rows' "
                f"count or features, {centered.shape}); got {n_components}."
            )
        # the axes in NumPy, as the scores (NumPy products): one BLAS's
        # threads, still spinning after a call, slowed the next call of
        # another (torch's or SciPy's) 1.5 to 3 times
        values, axes, total = leading_axes(centered, n_components)
        axes = np.ascontiguousarray(axes[:, ::-1])
        largest = np.abs(axes).argmax(axis=0)
        axes *= np.where(axes[largest, np.arange(n_components)] < 0, -1.0, 1.0)
        kept = float(np.clip(values, 0.0, None).sum())
        return cls(index.mean, axes, kept / total if total > 0 else 1.0)

    def __call__(self, rows):
        """The rows' scores, (n, n_components) float32, in blocks of rows."""
        if scipy.sparse.issparse(rows):
            rows = rows.toarray()
        rows = np.asarray(rows)
        out = np.empty((rows.shape[0], self.n_components), dtype=np.float32)
        block = rows_per_block(rows.shape[1], 8)
        for start in range(0, rows.shape[0], block):
            chunk = np.asarray(rows[start : start + block], dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                out[start : start + block] = (chunk - self.mean) @ self.axes
        return out


class ProjectedIndex:
    """An index whose distances are those of a :class:`Projection`'s scores.

    ``inner`` is the :class:`NeighborIndex` of the fitted items' scores,
    ``full`` that of their rows (for :meth:`rows`, and to tell rows equal
    to a fitted item: at distance 0 exactly those, whatever the rounding of
    their scores). New rows are projected, then searched in ``inner``.
    """

    metric = "euclidean"

    def __init__(self, projection, inner, full):
        self.projection = projection
        self.inner = inner
        self.full = full

    @property
    def n_items(self):
        return self.inner.n_items

    @property
    def partition(self):
        return self.inner.partition

    def prepare_for_new_rows(self):
        """See :meth:`NeighborIndex.prepare_for_new_rows`. Returns the index."""
        self.inner.prepare_for_new_rows()
        return self

    def query(self, queries, k, exact_fallback=True, device=None):
        """The k nearest fitted items of each row (None: of each fitted item,
        itself excluded) by the distance of their scores, as
        :meth:`NeighborIndex.query`; a distance is 0 exactly where the rows
        are equal."""
        if queries is None:
            return self.inner.query(None, k, exact_fallback, device)
        if scipy.sparse.issparse(queries):
            queries = queries.toarray()
        scores = self.projection(queries)
        indices, distances = self.inner.query(scores, k, exact_fallback, device)
        return self._exact_zeros(queries, scores, indices, distances)

    def _exact_zeros(self, queries, scores, indices, distances):
        """0 for the pairs of equal rows, and float32's least positive value
        for unequal rows at 0, among the pairs within rounding of 0 (as
        :func:`._blocks.near_zero` tells them): the scores of equal rows
        agree but for a rounding, and different rows can share their
        scores."""
        inner = self.inner
        d2 = (np.asarray(distances, dtype=np.float64) / inner.scale) ** 2
        rows, cols = near_zero(
            inner._prepare_queries(scores), inner.squared_norms, indices, d2
        )
        if len(rows) == 0:
            return indices, distances
        same = (
            self.full._prepare_queries(queries[rows])
            == self.full.data[indices[rows, cols]]
        ).all(axis=1)
        distances = distances.copy()
        tiny = np.finfo(distances.dtype).smallest_subnormal
        distances[rows, cols] = np.where(
            same, 0.0, np.maximum(distances[rows, cols], tiny)
        )
        return sort_rows(indices, distances)

    def distances_to(self, queries, partners):
        """The distances of the rows' scores to those of ``partners``."""
        return self.inner.distances_to(self.projection(queries), partners)

    def rows(self, indices):
        """The fitted items' own rows (see :meth:`NeighborIndex.rows`)."""
        return self.full.rows(indices)

    def extend(self, rows):
        """Append ``rows`` to the fitted items (the projection unchanged).
        Returns the index; the indexes it held before are not modified."""
        if scipy.sparse.issparse(rows):
            rows = rows.toarray()
        self.inner = copy.copy(self.inner).extend(self.projection(rows))
        self.full = copy.copy(self.full).extend(rows)
        return self


def projected_index(data, projection, index=None, full=None):
    """A :class:`ProjectedIndex` of the fitted items ``data`` (their rows),
    reusing ``index``, the :class:`NeighborIndex` of their scores, and
    ``full``, that of their rows, where given."""
    if index is None:
        index = NeighborIndex(projection(data), "euclidean")
    if full is None:
        full = NeighborIndex(data, "euclidean")
    return ProjectedIndex(projection, index, full)
