"""Exact search against a fixed reference set (:class:`NeighborIndex`)."""

import warnings

import numpy as np
import scipy.sparse
import scipy.spatial.distance
import torch

from .._utils import on_accelerator, parallel_blocks
from ._blocks import (
    block_topk,
    blocked_smallest,
    centered_float32,
    leading_axes,
    refine,
    rows_per_block,
    scaled_float32,
    sort_rows,
    squared_norms,
    unit_rows,
    zero_if_identical,
)
from ._clustered import (
    CLUSTERED_ABOVE,
    CLUSTERED_QUERIES_ABOVE,
    QueryPartition,
    clustered_topk,
    partition,
)
from ._device import DEVICE_MAX_ITEMS, device_topk
from ._metrics import PYNNDESCENT_METRICS, TORCH_METRICS

#: dense data with more features than this is searched in a PCA-reduced space
REDUCE_ABOVE_DIM = 128
REDUCED_DIM = 100
#: candidates kept per item in the reduced space, as a multiple of k (for the
#: items themselves, and for new rows, whose k already has QUERY_MARGIN spare
#: candidates: 1.25 kept 99.86% of MNIST-10k's true 32 neighbours of new rows,
#: 1.5 99.98% in a search a tenth slower)
CANDIDATE_FACTOR = 1.5
NEW_ROW_CANDIDATE_FACTOR = 1.25
#: new rows farther than this (in units of the data's largest deviation from
#: its mean) are searched in float64 (see NeighborIndex.query)
FAR = 64.0
#: data scales whose distances float32 holds (beyond, distances come in
#: float64: 1e39 overflows float32 and 1e-50 vanishes in it)
FLOAT32_SCALES = (2.0**-100, 2.0**100)
#: spare candidates searched for new rows (see NeighborIndex.query)
QUERY_MARGIN = 8


class NeighborIndex:
    """Exact k-nearest-neighbour search against a fixed reference set.

    Dense data under "euclidean" or "cosine" is searched with blocked torch
    matrix products; with more than :data:`REDUCE_ABOVE_DIM` features, in a
    PCA-reduced copy for candidates that are then re-ranked by exact distances
    in the full space (one sampled dense-dense product). Sparse data uses
    blocked scipy products, other metrics blocked ``scipy.spatial.distance.cdist``.
    Queries given a ``device`` other than the CPU search dense data under a
    torch metric exactly there (:mod:`._device`), in the full space. The
    index pickles numpy arrays only (not its device copy), so it loads
    anywhere.

    Parameters
    ----------
    data : ndarray or scipy sparse matrix of shape (n, d)
        The reference items.
    metric : str
        A canonical metric name supported by :meth:`supports`.
    for_new_rows : bool, default=False
        Prepare for many queries of new rows: with dense data, a torch metric
        and more than :data:`CLUSTERED_QUERIES_ABOVE` items, build a
        :class:`QueryPartition` so that each new row is compared with a few
        clusters of items instead of all of them.
    """

    def __init__(self, data, metric, for_new_rows=False):
        self.metric = metric
        self.partition = None
        # the k-means clusters of the items' own clustered search, kept
        # until the partition for new rows reuses them (never pickled)
        self._clusters = None
        self.n_items = data.shape[0]
        self.sparse = scipy.sparse.issparse(data)
        self.mean = self.basis = self.reduced = None
        # float32 squares overflow above ~1e19 and vanish below ~1e-19: divide
        # by a power of two near the data's magnitude (exact) and multiply the
        # distances back. Euclidean distances are translation invariant: the
        # data is centred in float64 first, so that a common offset (say
        # 1e8) does not swallow the differences when rounded to float32.
        self.scale = 1.0
        self.norms = None  # cosine: the rows' norms (in units of scale)
        if self.sparse:
            self.scale = _power_of_two(abs(data).max() if data.nnz else 0.0)
            self.data = self._prepare_sparse(data, keep_norms=True)
            self.squared_norms = squared_norms(self.data)
        elif metric == "euclidean":
            self.mean, spread = _center_and_spread(data)
            self.scale = _power_of_two(spread.max() if spread.size else 0.0)
            self.data = centered_float32(data, self.mean, self.scale)
        elif metric == "cosine":  # unit rows, centred (not translation invariant)
            self.scale = _power_of_two(max(np.max(data), -np.min(data)))
            scaled = scaled_float32(data, self.scale)
            self.norms = np.linalg.norm(scaled, axis=1).astype(np.float64)
            X = unit_rows(scaled)
            self.mean = X.mean(axis=0)
            self.data = X - self.mean
        else:
            self.data = np.ascontiguousarray(data, dtype=np.float64)
        self._device_copy = None  # (device, the prepared items there)
        if not self.sparse and metric in TORCH_METRICS:
            self.squared_norms = squared_norms(self.data)
        if for_new_rows:
            self.prepare_for_new_rows()

    def __getstate__(self):
        return {**self.__dict__, "_device_copy": None, "_clusters": None}

    def _reduce(self):
        """Compute the PCA-reduced copy of dense items with more than
        :data:`REDUCE_ABOVE_DIM` features under a torch metric, once, when a
        CPU search first needs it (a search on a device never does)."""
        if self.sparse or self.metric not in TORCH_METRICS or self.basis is not None:
            return
        n, d = self.data.shape
        if d > REDUCE_ABOVE_DIM and n > 4 * REDUCED_DIM:
            _, axes, _ = leading_axes(self.data, REDUCED_DIM)
            self.basis = np.ascontiguousarray(axes, np.float32)
            self.reduced = self.data @ self.basis

    def _searches_on(self, device):
        """Whether queries given ``device`` are searched there."""
        return (
            on_accelerator(device)
            and not self.sparse
            and self.metric in TORCH_METRICS
            and self.n_items <= DEVICE_MAX_ITEMS
        )

    def _items_on(self, device):
        """The prepared items as a tensor on ``device``, copied once."""
        device = torch.device(device)
        copy = getattr(self, "_device_copy", None)  # None in older pickles
        if copy is None or copy[0] != device:
            self._device_copy = (device, torch.from_numpy(self.data).to(device))
        return self._device_copy[1]

    def prepare_for_new_rows(self):
        """Build the :class:`QueryPartition` (dense data, a torch metric and
        more than :data:`CLUSTERED_QUERIES_ABOVE` items; else nothing to do).
        Returns the index."""
        dense = not self.sparse and self.metric in TORCH_METRICS
        if dense and self.partition is None and self.n_items > CLUSTERED_QUERIES_ABOVE:
            self._reduce()
            space = self.data if self.reduced is None else self.reduced
            clusters = getattr(self, "_clusters", None)  # None in older pickles
            self.partition = QueryPartition.build(torch.from_numpy(space), clusters)
        self._clusters = None
        return self

    @staticmethod
    def supports(data, metric):
        """Whether exact search handles this data and metric."""
        if metric in PYNNDESCENT_METRICS:
            return False
        return metric in TORCH_METRICS or not scipy.sparse.issparse(data)

    def _prepare_sparse(self, data, keep_norms=False):
        X = scipy.sparse.csr_matrix(data, dtype=np.float64)
        if self.scale != 1.0:
            X = X / self.scale
        X = scipy.sparse.csr_matrix(X, dtype=np.float32)
        if self.metric == "cosine":
            norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
            if keep_norms:
                self.norms = norms.astype(np.float64)
            inverse = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0)
            X = scipy.sparse.diags(inverse.astype(np.float32)) @ X
        return scipy.sparse.csr_matrix(X)

    def _prepare_queries(self, queries):
        if self.sparse:
            return self._prepare_sparse(queries)
        if self.metric == "euclidean":
            return centered_float32(queries, self.mean, self.scale)
        if self.metric == "cosine":
            return unit_rows(scaled_float32(queries, self.scale)) - self.mean
        return np.ascontiguousarray(queries, dtype=np.float64)

    def query(self, queries, k, exact_fallback=True, device=None):
        """The k nearest reference items of each query row.

        ``queries=None`` queries the reference items themselves, each excluded
        from its own list. Returns ``(indices, distances)``, (nq, k) arrays
        sorted by distance: int64, and float32 unless the data's scale is
        beyond float32's range (then float64; far new rows get float32's
        largest value where their distance exceeds it). ``device`` (say
        "cuda") searches there when it can (see :meth:`_searches_on`).
        """
        if queries is None:
            return self._query(None, k, exact_fallback, device)
        queries = self._same_kind(queries)
        Q = self._prepare_queries(queries)
        if self.metric == "euclidean" and not self.sparse:
            # rows too far for float32 to rank the items (their squared norm
            # swamps the differences), or beyond its range (inf): beyond FAR
            # times the data's largest deviation from its mean. Rare outliers,
            # searched in float64 from the original rows
            with np.errstate(invalid="ignore"):
                far = ~(np.abs(Q).max(axis=1, initial=0.0) <= FAR)
            if far.any():
                wanted = min(k, self.n_items)
                indices = np.empty((len(far), wanted), dtype=np.int64)
                distances = np.empty((len(far), wanted), dtype=np.float32)
                if not far.all():
                    indices[~far], distances[~far] = self._query(
                        Q[~far], k, device=device
                    )
                indices[far], distances[far] = self._far_topk(queries[far], wanted)
                return indices, distances
        return self._query(Q, k, exact_fallback, device)

    def rows(self, indices):
        """The reference items ``indices`` (any shape) in the data's own
        space, as dense float64 rows: rebuilt from the prepared copy the index
        holds, exact to its float32 rounding (about 1e-7 of the data's
        spread)."""
        flat = np.asarray(indices).ravel()
        X = self.data[flat]
        X = np.array(X.toarray() if self.sparse else X, dtype=np.float64)
        if self.metric == "cosine":
            if not self.sparse:
                X += self.mean
            X *= self.norms[flat, None] * self.scale
        elif self.metric == "euclidean":
            X *= self.scale
            if not self.sparse:
                X += self.mean
        return X.reshape(*np.shape(indices), -1)

    def extend(self, rows):
        """Append ``rows`` to the reference items, prepared as queries are
        (with the index's centre and scale, so that the items already indexed
        keep their prepared values bit for bit). Returns the index."""
        rows = self._same_kind(rows)
        norms = self.norms
        if self.sparse:
            new = self._prepare_sparse(rows, keep_norms=True)  # sets self.norms
            self.data = scipy.sparse.vstack([self.data, new], format="csr")
        else:
            if self.metric == "cosine":
                scaled = scaled_float32(rows, self.scale)
                self.norms = np.linalg.norm(scaled, axis=1).astype(np.float64)
            new = self._prepare_queries(rows)
            if not np.isfinite(new).all():
                raise ValueError(
                    "the new rows are beyond the range the index was prepared "
                    "for; refit on all the data instead."
                )
            self.data = np.concatenate([self.data, new])
            self._device_copy = None
            if self.basis is not None:
                self.reduced = np.concatenate([self.reduced, new @ self.basis])
        if norms is not None:
            self.norms = np.concatenate([norms, self.norms])
        if self.sparse or self.metric in TORCH_METRICS:
            self.squared_norms = np.concatenate(
                [self.squared_norms, squared_norms(new)]
            )
        self.n_items = self.data.shape[0]
        self._clusters = None
        if self.partition is not None:
            self.partition = None
            self.prepare_for_new_rows()
        return self

    def _same_kind(self, queries):
        """Sparse rows for an index of dense data, as dense rows (the other
        way round, :meth:`_prepare_sparse` converts)."""
        if queries is not None and not self.sparse and scipy.sparse.issparse(queries):
            return queries.toarray()
        return queries

    def _far_topk(self, queries, k):
        """:meth:`query` for far rows, in float64. From far away every item is
        at nearly the same distance (at 1e20, equal to float64's precision):
        the items are ranked by ``|r|^2 - 2 q.r``, which resolves them, with
        each row divided by a power of two near its size so that nothing
        overflows; the distances of the chosen items are computed apart."""
        with np.errstate(over="ignore", invalid="ignore"):
            q = (np.asarray(queries, dtype=np.float64) - self.mean) / self.scale
        q = np.clip(np.nan_to_num(q, nan=0.0), -1e300, 1e300)
        factor = 2.0 ** np.ceil(np.log2(np.maximum(np.abs(q).max(axis=1), 1.0)))
        u = q / factor[:, None]
        scores = np.empty((len(u), self.n_items))
        block = rows_per_block(self.data.shape[1], 8)
        for start in range(0, self.n_items, block):  # no float64 copy of the data
            R = self.data[start : start + block].astype(np.float64)
            sq = np.einsum("ij,ij->i", R, R)
            scores[:, start : start + block] = sq / factor[:, None] - 2.0 * u @ R.T
        part = np.argpartition(scores, k - 1, axis=1)[:, :k]
        chosen = self.data[part].astype(np.float64)
        diff = u[:, None, :] - chosen / factor[:, None, None]
        d = np.sqrt((diff * diff).sum(axis=2)) * (factor * self.scale)[:, None]
        order = np.argsort(np.take_along_axis(scores, part, 1), axis=1, kind="stable")
        indices = np.take_along_axis(part, order, 1)
        limit = np.finfo(np.float32).max
        d = np.minimum(np.take_along_axis(d, order, 1), limit).astype(np.float32)
        return indices, d

    def _query(self, Q, k, exact_fallback=True, device=None):
        """:meth:`query` of prepared rows ``Q`` (None: the items themselves)."""
        exclude_self = Q is None
        if exclude_self:
            Q = self.data
        wanted = min(k, self.n_items - (1 if exclude_self else 0))
        # new rows: a few spare candidates, so that items tied at the k-th
        # distance are chosen by index, not by the rounding of a BLAS block
        k = wanted if exclude_self else min(self.n_items, wanted + QUERY_MARGIN)
        if self.sparse:
            indices, d2 = _sparse_topk(Q, self.data, k, exclude_self)
        elif self.metric not in TORCH_METRICS:
            indices, distances = _cdist_topk(Q, self.data, k, self.metric, exclude_self)
            return indices[:, :wanted], distances[:, :wanted]
        else:
            found = self._device_topk(Q, k, exclude_self, device)
            indices, d2 = found or self._torch_topk(Q, k, exclude_self, exact_fallback)
        if not exclude_self:
            d2 = zero_if_identical(Q, self.data, self.squared_norms, indices, d2)
        d2 = np.maximum(d2, 0.0)
        # unit vectors: |a - b|^2 / 2 = 1 - cos(a, b)
        if self.metric == "cosine":
            distances = (d2 / 2.0).astype(np.float32)
        else:
            distances = np.sqrt(d2, dtype=np.float64) * self.scale
            if FLOAT32_SCALES[0] <= self.scale <= FLOAT32_SCALES[1]:
                distances = distances.astype(np.float32)
        indices, distances = sort_rows(indices, distances)
        return indices[:, :wanted], distances[:, :wanted]

    def _device_topk(self, Q, k, exclude_self, device):
        """:meth:`_query`'s candidates searched on ``device`` (numpy arrays),
        or None where the index does not search there (see
        :meth:`_searches_on`) or the device ran out of memory (then with a
        warning, and the CPU searches)."""
        if not self._searches_on(device):
            return None
        try:
            R = self._items_on(device)
            indices, d2 = device_topk(
                None if exclude_self else Q, R, k, exclude_self, device
            )
        except torch.cuda.OutOfMemoryError:
            self._device_copy = None
            warnings.warn(
                f"the neighbour search ran out of memory on {device}; "
                "searching on the CPU instead.",
                UserWarning,
                stacklevel=2,
            )
            return None
        return indices.numpy(), d2.numpy()

    def _torch_topk(self, Q, k, exclude_self, exact_fallback):
        """:meth:`_query`'s candidates of dense rows under a torch metric,
        searched on the CPU: ``(indices, squared distances)``."""
        self._reduce()
        Xq, Xr = torch.from_numpy(Q), torch.from_numpy(self.data)
        if self.basis is not None:  # candidates in the reduced space
            Zr = torch.from_numpy(self.reduced)
            Zq = Zr if exclude_self else Xq @ torch.from_numpy(self.basis)
            factor = CANDIDATE_FACTOR if exclude_self else NEW_ROW_CANDIDATE_FACTOR
            c = min(self.n_items - (1 if exclude_self else 0), int(factor * k))
        else:
            Zq, Zr, c = Xq, Xr, k
        if exclude_self and self.n_items > CLUSTERED_ABOVE:
            self._clusters = partition(Zr)
            indices, d2 = clustered_topk(Zr, c, exact_fallback, self._clusters)
        elif exclude_self:
            indices, d2 = block_topk(Zq, Zr, c, exclude_self)
        else:
            indices, d2 = self._new_row_candidates(Zq, Zr, c), None
        # distances in the full space: for reduced-space candidates, and for
        # new rows from per-pair dot products, which round alike whatever
        # the batch (a BLAS block does not)
        if self.basis is not None or d2 is None:
            indices, d2 = refine(Xq, Xr, indices, k)
        return indices.numpy(), d2.numpy()

    def _new_row_candidates(self, Zq, Zr, k):
        self.prepare_for_new_rows()  # once (an index fitted on a GPU skips it)
        if self.partition is None:
            return block_topk(Zq, Zr, k, exclude_self=False)[0]
        return self.partition.topk(Zq, Zr, k)[0]

    def distances_to(self, queries, partners):
        """Distances from each query row to the reference items in its row of
        ``partners`` (a (B, S) index array), computed exactly, in chunks."""
        queries = self._same_kind(queries)
        return self._distances_to(self._prepare_queries(queries), partners)

    def _distances_to(self, Q, partners):
        B, S = partners.shape
        out = np.empty((B, S), dtype=np.float64)
        if self.sparse or self.metric not in TORCH_METRICS:
            for b in range(B):
                q = Q[b : b + 1]
                refs = self.data[partners[b]]
                if self.sparse:
                    q, refs = q.toarray(), refs.toarray()
                out[b] = (
                    scipy.spatial.distance.cdist(q, refs, metric=self.metric)[0]
                    if self.metric not in TORCH_METRICS
                    else np.linalg.norm(refs - q, axis=1)
                )
        else:
            block = rows_per_block(S * Q.shape[1])
            for start in range(0, B, block):
                stop = min(B, start + block)
                refs = self.data[partners[start:stop]]  # (b, S, d)
                out[start:stop] = np.linalg.norm(
                    refs.astype(np.float64) - Q[start:stop, None, :], axis=2
                )
        if self.metric == "cosine":  # unit vectors: |a - b|^2 / 2 = 1 - cos(a, b)
            return out**2 / 2.0
        return out * self.scale


def _sparse_topk(Q, R, k, exclude_self):
    sq_r = np.asarray(R.multiply(R).sum(axis=1)).ravel()
    sq_q = sq_r if exclude_self else np.asarray(Q.multiply(Q).sum(axis=1)).ravel()
    RT = R.T.tocsc()

    def scores(start, stop):
        return (
            sq_q[start:stop, None]
            - 2.0 * (Q[start:stop] @ RT).toarray()
            + sq_r[None, :]
        )

    block = rows_per_block(R.shape[0])
    return blocked_smallest(Q.shape[0], k, block, scores, exclude_self, np.float64)


def _cdist_topk(Q, R, k, metric, exclude_self):
    def distances(start, stop):
        try:
            d = scipy.spatial.distance.cdist(Q[start:stop], R, metric=metric)
        except ValueError as exc:
            raise ValueError(f"metric {metric!r} failed: {exc}") from exc
        return np.nan_to_num(d, nan=np.inf)

    block = rows_per_block(R.shape[0], 8)
    return sort_rows(
        *blocked_smallest(Q.shape[0], k, block, distances, exclude_self, np.float32)
    )


def _center_and_spread(data):
    """Each column's mean (float64) and largest deviation from it, blocks of
    columns on torch's threads (numpy sums each column in the same order as
    over the whole array: the same values)."""
    d = data.shape[1]
    mean, spread = np.empty(d), np.empty(d)

    def columns(start, stop):
        block = data[:, start:stop]
        mean[start:stop] = center = np.mean(block, axis=0, dtype=np.float64)
        high, low = np.max(block, axis=0), np.min(block, axis=0)
        spread[start:stop] = np.maximum(high - center, center - low)

    parallel_blocks(columns, d, max(8, -(-d // torch.get_num_threads())))
    return mean, spread


def _power_of_two(largest):
    """The power of two nearest to ``largest`` (1 for 0 or non-finite)."""
    largest = float(largest)
    if largest > 0 and np.isfinite(largest):
        return 2.0 ** round(np.log2(largest))
    return 1.0
