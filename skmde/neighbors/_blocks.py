"""Blockwise building blocks of the exact searches: scores computed a block of
rows at a time (small enough to stay in cache), the k smallest per row, rows
sorted by distance, exact re-ranking of candidates."""

import functools
import math

import numpy as np
import scipy.sparse
import torch

from .._utils import (
    ThreadGovernor,
    load_kernels,
    one_blas_thread,
    parallel_blocks,
    sampled_dots,
    sparse_csr,
)

#: size of the blocks of scores (or distances) computed at once: small enough
#: to stay in cache while they are selected from (8 MB searched MNIST-10k about
#: 14% faster than 64 MB)
BLOCK_BYTES = 8 * 2**20


#: rows of at most this many entries are selected from with numpy (see smallest)
NARROW_ROWS = 320
#: searches of at least this many scores select with the compiled loop (see
#: smallest): numba's one-time load, a few tenths of a second, is paid where
#: the solve of the same fit pays it too (about 5,800 items or more)
COMPILED_MIN_SCORES = 2**25


def compiled_selection(n_scores):
    """Whether a search of ``n_scores`` scores selects with the compiled loop
    (at least :data:`COMPILED_MIN_SCORES`, where numba loads)."""
    return n_scores >= COMPILED_MIN_SCORES and load_kernels() is not None


@functools.cache
def numpy_products():
    """Whether the searches that run their blocks in parallel compute their
    products with NumPy's BLAS rather than torch's: where torch's is MKL and
    the processor is not Intel's, and NumPy's is OpenBLAS.

    On an AMD EPYC without AVX-512, MKL's float32 product of 256 rows by
    32,768 candidates of 50 features (a cluster of the clustered search)
    took 65.6 ms on one thread, OpenBLAS's 25.8 ms; the exact search of
    10,000 rows of 50 features in blocks, 387 ms against 282 ms. The
    choice depends on the machine only, not on timings, so a fit's
    results do not change from one run to the next.
    """
    if not torch.backends.mkl.is_available() or _cpu_vendor() in (None, "GenuineIntel"):
        return False
    from threadpoolctl import threadpool_info

    apis = {library.get("internal_api") for library in threadpool_info()}
    return "openblas" in apis and "mkl" not in apis


def _cpu_vendor():
    """The processor's vendor string (Linux's ``/proc/cpuinfo``), or None."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def scores_of(sq_r, Q, R, numpy=False):
    """``sq_r - 2 Q R^T`` (a row's ranking of the rows of ``R`` by squared
    distance, up to the row's own norm), a new float tensor; with
    ``numpy``, by NumPy's product (see :func:`numpy_products`)."""
    if not numpy:
        return torch.addmm(sq_r.unsqueeze(0), Q, R.T, alpha=-2.0)
    out = torch.from_numpy(_scaled_products(Q, R))
    out += sq_r
    return out


def _scaled_products(Q, R):
    """``-2 Q R^T`` by NumPy's product of ``-2 Q`` and ``R^T``: the same
    numbers as scaling the product (by a power of two, exactly), without a
    pass over it."""
    return (Q.numpy() * Q.numpy().dtype.type(-2.0)) @ R.numpy().T


def nearest_scores(sq_r, Q, R, k, compiled=False, numpy=False, skip=None):
    """The ``k`` smallest entries of each row of ``scores_of(sq_r, Q, R,
    numpy)``, in no order: ``(values, column indices)``; with ``skip`` (a
    column per row), that column left out (the row itself). See
    :func:`smallest`. NumPy's products (which the compiled searches alone
    use) go to the compiled selection unshifted, which adds ``sq_r`` as it
    reads them: two passes over each block fewer, the same values."""
    if numpy:
        scores = torch.from_numpy(_scaled_products(Q, R))
    else:
        scores = scores_of(sq_r, Q, R)
    if skip is not None:
        scores[torch.arange(scores.shape[0]), skip] = math.inf
    if numpy:
        return smallest(scores, k, compiled, shift=sq_r)
    return smallest(scores, k, compiled)


def rows_per_block(n_columns, bytes_per_value=4):
    return max(1, min(8192, BLOCK_BYTES // max(1, n_columns * bytes_per_value)))


def sort_rows(indices, distances):
    """Sort each row by distance, ties by index (a batch-independent order)."""
    if (
        distances.dtype == np.float32
        and indices.size
        and indices.min() >= 0
        and indices.max() < 2**32
        and not (distances < 0).any()
    ):
        # one int64 key per entry, distance bits above index bits: the bits of
        # a non-negative float32 order like the float (about 4x faster than
        # lexsort); -0.0 + 0.0 is +0.0
        bits = (distances + np.float32(0.0)).view(np.int32).astype(np.int64)
        order = np.argsort((bits << 32) | indices, axis=1)
    else:
        order = np.lexsort((indices, distances), axis=1)
    return (
        np.take_along_axis(indices, order, axis=1),
        np.take_along_axis(distances, order, axis=1),
    )


def scaled_float32(data, scale):
    """``data / scale`` as a C-contiguous float32 array, ``scale`` a power of two.

    Float32 (or float16) data is divided in float32: one correctly rounded
    division by a power of two, the same result as dividing in float64 and
    rounding to float32, without a float64 copy of the data.
    """
    data = np.asarray(data)
    if scale == 1.0:
        return np.ascontiguousarray(data, dtype=np.float32)
    narrow = data.dtype in (np.float16, np.float32)
    if narrow and 2.0**-126 <= scale <= 2.0**127:  # a normal float32
        return np.ascontiguousarray(data, dtype=np.float32) / np.float32(scale)
    return np.ascontiguousarray(np.asarray(data, dtype=np.float64) / scale, np.float32)


def centered_float32(data, center, scale):
    """``(data - center) / scale`` as a C-contiguous float32 array, computed
    in float64 a block of rows at a time (no float64 copy of the data), the
    blocks on torch's threads."""
    data = np.asarray(data)
    out = np.empty(data.shape, dtype=np.float32)

    def center_rows(start, stop):
        rows = np.asarray(data[start:stop], dtype=np.float64)
        with np.errstate(over="ignore"):  # far rows: see NeighborIndex.query
            out[start:stop] = (rows - center) / scale

    parallel_blocks(center_rows, data.shape[0], rows_per_block(data.shape[1], 8))
    return out


def squared_norms(A):
    """Each row's squared norm, summed in float64 (dense or CSR rows)."""
    if scipy.sparse.issparse(A):
        A = scipy.sparse.csr_matrix(A)
        owner = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
        squares = np.square(A.data, dtype=np.float64)
        return np.bincount(owner, weights=squares, minlength=A.shape[0])
    return np.einsum("ij,ij->i", A, A, dtype=np.float64)


def leading_axes(centered, count):
    """``(values, axes, total)`` of centred rows (float32): the ``count``
    largest eigenvalues of ``centered^T centered`` (float64, ascending), their
    unit eigenvectors as the columns of ``axes``, and the sum of all the
    eigenvalues (the trace). Computed by NumPy, whose threads ``n_jobs`` does
    not set (torch's eigensolver rounds differently on one and two threads);
    NumPy computes ``A^T A`` as a symmetric rank-k update, half the work of a
    general product. On one BLAS thread (from the main thread, see
    :func:`one_blas_thread`), so that the axes are the same on any machine
    (two threads round them differently): on MNIST-10k (784 features) two
    threads took 0.10 s against one's 0.15 s when the machine was quiet, and
    0.39 s against 0.21 s beside a process busy on one of two cores (their
    spinning took the eigensolver alone from 0.08 to 0.26-0.29 s)."""
    with one_blas_thread():
        gram = (centered.T @ centered).astype(np.float64)
        values, vectors = np.linalg.eigh(gram)
    return values[-count:], vectors[:, -count:], float(np.trace(gram))


def near_zero(Q, reference_norms, indices, d2):
    """``(rows, cols)`` of the pairs (query row, its candidate ``indices``)
    whose squared distance ``d2`` is within rounding of 0: at most 1e-5 of
    their squared norms, ``|q|^2 + |r|^2`` (``reference_norms`` the
    reference items')."""
    size = squared_norms(Q)[:, None] + reference_norms[indices]
    return np.nonzero(d2 <= 1e-5 * size + 1e-30)


def zero_if_identical(Q, R, reference_norms, indices, d2):
    """Exact zeros for query rows equal to a reference item.

    ``|q|^2 + |r|^2 - 2 q.r`` rounds to a tiny number, not 0, when ``q == r``;
    pairs whose squared distance is within rounding of 0 (:func:`near_zero`)
    are compared value by value.
    """
    rows, cols = near_zero(Q, reference_norms, indices, d2)
    if len(rows) == 0:
        return d2
    q, r = Q[rows], R[indices[rows, cols]]
    if scipy.sparse.issparse(q):
        same = np.asarray((q != r).sum(axis=1)).ravel() == 0
    else:
        same = (q == r).all(axis=1)
    d2 = d2.copy()
    d2[rows[same], cols[same]] = 0.0
    return d2


def unit_rows(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.where(norms > 0, X / np.where(norms > 0, norms, 1.0), X)  # 0 stays 0


def block_topk(Zq, Zr, k, exclude_self):
    """Exact k nearest rows of Zr for each row of Zq, by squared distance.

    The items' own searches (``exclude_self``) of at least
    :data:`COMPILED_MIN_SCORES` scores select with the compiled loop where
    numba loads, and run their blocks in parallel, torch on one thread in
    each (see :func:`parallel_blocks`); the others run their blocks one
    after another, torch's thread count chosen by a :class:`ThreadGovernor`.
    New rows never use the compiled loop: a row's candidates (ties
    included) do not depend on the size of the batch it comes in.

    The distances do not depend on the thread count: on one thread per
    block, or computed pair by pair (:func:`refine`) after a governed
    search, whose products' rounding changes with the count (MKL's, for
    blocks of a few rows).
    """
    nq = Zq.shape[0]
    sq_r = (Zr * Zr).sum(dim=1)
    sq_q = sq_r if exclude_self else (Zq * Zq).sum(dim=1)
    indices = torch.empty((nq, k), dtype=torch.int64)
    d2 = torch.empty((nq, k), dtype=Zr.dtype)
    compiled = exclude_self and compiled_selection(nq * Zr.shape[0])
    products = compiled and numpy_products()

    def search(start, stop):
        # ||z_j||^2 - 2 z_i.z_j: adding ||z_i||^2 does not change the ranking
        skip = torch.arange(start, stop) if exclude_self else None
        best, idx = nearest_scores(
            sq_r, Zq[start:stop], Zr, k, compiled, products, skip
        )
        indices[start:stop] = idx
        d2[start:stop] = best + sq_q[start:stop].unsqueeze(1)

    block = rows_per_block(Zr.shape[0])
    if compiled:
        parallel_blocks(search, nq, block, torch_inside=True, blas_inside=products)
        return indices, d2
    with ThreadGovernor() as governor:
        for start in range(0, nq, block):
            stop = min(nq, start + block)
            with governor.timed(work=stop - start):
                search(start, stop)
    return refine(Zq, Zr, indices, k)  # distances independent of the threads


def smallest(scores, k, compiled=False, shift=None):
    """The ``k`` smallest entries of each row of a CPU tensor, in no order:
    ``(values, column indices)``. Each row's result depends only on that row.
    ``shift`` (one value per column) is added to the scores first.

    With ``compiled`` (searches of at least :data:`COMPILED_MIN_SCORES`
    scores, where numba loads), a compiled heap selection
    (:func:`skmde._kernels.smallest_rows`, 2.4 times as fast as
    ``torch.topk`` on MNIST-10k's rows, on one thread: the searches run
    blocks in parallel). Otherwise, on one thread, numpy's introselect
    (``argpartition``)
    takes about 0.6 of the time of ``torch.topk`` on rows of up to a few
    hundred entries (the k-means clusters); ``torch.topk`` is faster on wider
    rows and splits rows over threads.
    """
    width = scores.shape[1]
    kernels = load_kernels() if compiled and k < width else None
    if (
        kernels is not None
        and scores.is_contiguous()
        and scores.dtype.is_floating_point
    ):
        return kernels.smallest_rows(scores, k, shift)
    if shift is not None:
        scores = scores + shift
    if k >= width:
        return scores, torch.arange(width).expand(scores.shape[0], -1)
    if width > NARROW_ROWS or torch.get_num_threads() > 1:
        best, idx = torch.topk(scores, k, dim=1, largest=False, sorted=False)
        return best, idx
    idx = torch.from_numpy(np.argpartition(scores.numpy(), k - 1, axis=1)[:, :k])
    return torch.gather(scores, 1, idx), idx


def refine(Xq, Xr, candidates, k):
    """Re-rank candidate neighbours by distances in the full space; keep k.

    The candidate dot products come from one sampled dense-dense product
    (SDDMM) over the candidate pattern, without gathering candidate vectors.
    """
    nq, c = candidates.shape
    device = candidates.device
    pattern = sparse_csr(
        torch.arange(0, nq * c + 1, c, device=device),
        candidates.reshape(-1),
        torch.zeros(nq * c, dtype=Xq.dtype, device=device),
        (nq, Xr.shape[0]),
    )
    dots = sampled_dots(pattern, Xq, Xr).view(nq, c)
    d2 = (
        (Xq * Xq).sum(dim=1).unsqueeze(1)
        - 2.0 * dots
        + (Xr * Xr).sum(dim=1)[candidates]
    )
    best, order = torch.topk(d2, k, dim=1, largest=False)
    return torch.gather(candidates, 1, order), best


def blocked_smallest(n_queries, k, block, scores_of, exclude_self, dtype):
    """The ``k`` smallest entries of each row of a (n_queries, n) numpy matrix
    computed ``block`` rows at a time by ``scores_of(start, stop)``: (indices,
    values), in no order. With ``exclude_self`` row ``i`` skips column ``i``."""
    indices = np.empty((n_queries, k), dtype=np.int64)
    values = np.empty((n_queries, k), dtype=dtype)
    with ThreadGovernor() as governor:
        for start in range(0, n_queries, block):
            governor.start()
            stop = min(n_queries, start + block)
            scores = scores_of(start, stop)
            if exclude_self:
                rows = np.arange(stop - start)
                scores[rows, rows + start] = np.inf
            part = np.argpartition(scores, k - 1, axis=1)[:, :k]
            indices[start:stop] = part
            values[start:stop] = np.take_along_axis(scores, part, 1)
            governor.step(work=stop - start)
    return indices, values
