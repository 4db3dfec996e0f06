"""Compiled loops on the CPU: the objective's gathers and scatters, its
default penalties in float32 (:func:`evaluate`), and the neighbour search's
selection of the smallest scores of each row.

An evaluation of the objective gathers the two ends of every edge, takes their
difference and its norm, and, once the distortion function has turned the
norms into coefficients ``c = f'(d) / (p d)``, adds ``c (x_i - x_j)`` to row
``i`` of the gradient and subtracts it from row ``j``. In torch the gathers are
``index_select`` and a subtraction over the whole chunk, and the scatter a
sparse product with an incidence matrix: several passes over memory. The two
loops here do each in one pass, without the incidence matrices. On MNIST-10k's
neighbour problem (367,635 edges, one thread) an evaluation took 0.68 times as
long (medians of alternating rounds: 5.8 against 8.6 ms, on a slow stretch of
the machine); on a random 46-million-edge problem over a million items (two
threads for the distortion function) 1.05 against 1.64 s.

numba (a dependency of pynndescent) compiles them on first use and caches the
machine code on disk; importing it and loading that code costs a process about
0.7 s once (0.25-0.3 s the import, 0.4-0.5 s the first call; compiling, the
first time, about 1 s), so only solves of at least
``_problem.KERNEL_MIN_WORK`` edge evaluations use the loops. Each call runs
on one thread and adds in edge order; the objective runs several calls at
once on runs of edges with gradients of their own, added in a fixed order
(``_compiled.LANES``), so results do not depend on the thread count.

:func:`smallest_rows` keeps the ``k`` smallest entries of each row of a block
of scores in a max-heap: after the first few hundred entries nearly every
entry is rejected by one comparison with the heap's top. On MNIST-10k's exact
search (rows of 10,000 scores, k = 24, one thread) it took 0.13 s against
``torch.topk``'s 0.29-0.42 s for all 10,000 rows.
"""

import functools
import math

import numba
import numpy as np
import torch
from numba.core import types
from numba.extending import intrinsic


def _compile(function, **extra):
    """numba's compilation of ``function``, its machine code cached on disk
    where numba finds a writable place; where it finds none (a read-only
    installation and home directory), compiled anew in each process."""
    options = {"nogil": True, "boundscheck": False, **extra}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(**options)(function)


# each loop in two forms: the plane's, written out (a loop over the two
# coordinates made them 1.6 to 2.4 times slower), and any dimension's


@_compile
def _differences_2d(X, tail, head, diff, distances):
    for k in range(tail.shape[0]):
        i, j = tail[k], head[k]
        u, v = X[i, 0] - X[j, 0], X[i, 1] - X[j, 1]
        diff[k, 0], diff[k, 1] = u, v
        # squares in float64 (numba's float() of a float32 stays float32)
        u, v = np.float64(u), np.float64(v)
        distances[k] = math.sqrt(u * u + v * v)


@_compile
def _differences_any(X, tail, head, diff, distances):
    for k in range(tail.shape[0]):
        i, j = tail[k], head[k]
        total = 0.0
        for q in range(X.shape[1]):
            v = X[i, q] - X[j, q]
            diff[k, q] = v
            total += np.float64(v) * np.float64(v)
        distances[k] = math.sqrt(total)


# the scatter sums each run of pairs with the same tail (the pairs of a
# problem of up to a tile's items are sorted by tail) before adding it to the
# tail's row: adding to the same row pair after pair waits for each store


@_compile
def _accumulate_2d(G, diff, coefficients, tail, head):
    if tail.shape[0] == 0:
        return
    i, x, y = tail[0], G.dtype.type(0.0), G.dtype.type(0.0)
    for k in range(tail.shape[0]):
        if tail[k] != i:
            G[i, 0] += x
            G[i, 1] += y
            i, x, y = tail[k], G.dtype.type(0.0), G.dtype.type(0.0)
        c, j = coefficients[k], head[k]
        u, v = c * diff[k, 0], c * diff[k, 1]
        x += u
        y += v
        G[j, 0] -= u
        G[j, 1] -= v
    G[i, 0] += x
    G[i, 1] += y


@_compile
def _accumulate_any(G, diff, coefficients, tail, head):
    if tail.shape[0] == 0:
        return
    run = np.zeros(G.shape[1], dtype=G.dtype)
    i = tail[0]
    for k in range(tail.shape[0]):
        if tail[k] != i:
            for q in range(G.shape[1]):
                G[i, q] += run[q]
                run[q] = 0.0
            i = tail[k]
        c, j = coefficients[k], head[k]
        for q in range(G.shape[1]):
            w = c * diff[k, q]
            run[q] += w
            G[j, q] -= w
    for q in range(G.shape[1]):
        G[i, q] += run[q]


def differences(X, tail, head, diff):
    """``x_tail - x_head`` into the first rows of the buffer ``diff``, and a
    new tensor of their norms; returns ``(diff[:p], distances)``."""
    p = tail.shape[0]
    diff = diff[:p]
    distances = torch.empty(p, dtype=X.dtype)
    loop = _differences_2d if X.shape[1] == 2 else _differences_any
    loop(X.numpy(), tail.numpy(), head.numpy(), diff.numpy(), distances.numpy())
    return diff, distances


def accumulate(G, diff, coefficients, tail, head):
    """``G[tail] += c diff`` and ``G[head] -= c diff``, edge by edge, in place."""
    loop = _accumulate_2d if G.shape[1] == 2 else _accumulate_any
    loop(G.numpy(), diff.numpy(), coefficients.numpy(), tail.numpy(), head.numpy())


@_compile
def _after(value, index, other_value, other_index):
    """Whether ``(value, index)`` comes after the other pair: by value, ties
    by index."""
    return value > other_value or (value == other_value and index > other_index)


@_compile
def _sift_down(values, indices, k, value, index):
    """Put ``(value, index)`` at the top of the max-heap in the first ``k``
    slots of ``values``/``indices`` and sift it down."""
    p = 0
    while True:
        c = 2 * p + 1
        if c >= k:
            break
        if c + 1 < k and _after(values[c + 1], indices[c + 1], values[c], indices[c]):
            c += 1
        if not _after(values[c], indices[c], value, index):
            break
        values[p], indices[p] = values[c], indices[c]
        p = c
    values[p], indices[p] = value, index


#: :func:`_smallest_rows` checks the entries of a row this many at a time: one
#: loop the compiler vectorizes finds whether any of them enters the heap
_SCAN = 64


@_compile
def _entering(chunk, shift, top):
    """How many of ``chunk + shift`` (equal lengths) are below ``top``."""
    count = 0
    for t in range(chunk.shape[0]):
        count += chunk[t] + shift[t] < top
    return count


@_compile
def _smallest_rows(scores, shift, k, values, indices):
    for r in range(scores.shape[0]):
        row, best, where = scores[r], values[r], indices[r]
        for t in range(k):  # a max-heap of the first k entries, sifted up
            p, value = t, row[t] + shift[t]
            while p > 0 and _after(value, t, best[(p - 1) // 2], where[(p - 1) // 2]):
                best[p], where[p] = best[(p - 1) // 2], where[(p - 1) // 2]
                p = (p - 1) // 2
            best[p], where[p] = value, t
        # later columns tie after earlier ones: only a smaller value enters
        top, n = best[0], row.shape[0]
        for start in range(k, n, _SCAN):
            stop = min(start + _SCAN, n)
            if _entering(row[start:stop], shift[start:stop], top) == 0:
                continue
            for j in range(start, stop):
                value = row[j] + shift[j]
                if value < top:
                    _sift_down(best, where, k, value, j)
                    top = best[0]


def smallest_rows(scores, k, shift=None):
    """The ``k`` smallest entries of each row of a C-contiguous CPU tensor,
    ``1 <= k <= scores.shape[1]``, in no order: ``(values, column indices)``;
    with ``shift`` (a tensor of one value per column, the scores' dtype), of
    ``scores + shift``, computed entry by entry as the selection reads them
    (the same values as adding it first, without a pass over the block).
    Ties go to the earlier columns: the result is the first ``k`` entries of
    the row sorted by value, then column, whatever the algorithm. On one
    thread (the searches run blocks of rows in parallel)."""
    values = torch.empty((scores.shape[0], k), dtype=scores.dtype)
    indices = torch.empty((scores.shape[0], k), dtype=torch.int64)
    shift = (
        np.zeros(scores.shape[1], dtype=values.numpy().dtype)
        if shift is None
        else np.ascontiguousarray(shift.numpy())
    )
    _smallest_rows(scores.numpy(), shift, k, values.numpy(), indices.numpy())
    return values, indices


# -- the default penalties in float32, in loops the compiler vectorizes -----
#
# torch evaluates Log and Log1p in a dozen passes over the distances (a power,
# expm1, log, the ratio's products and quotients, the check for inf and NaN),
# each writing a new array. The loops below do it in one pass. A call to the
# C library's exp or log would keep the compiler from using vector
# instructions (a scalar float64 exp took 11 ns on an AMD EPYC), so both are
# written out as in Cephes: a range reduction by powers of two, read from and
# written into the bits of the float, and a polynomial (about 1 ulp).

_F = np.float32
_MAGIC = _F(12582912.0)  # 1.5 * 2**23: adding it rounds to an integer
_MAGIC_BITS = np.int32(0x4B400000)
_LOG2E = _F(1.4426950408889634)
_LN2_HI = _F(0.693359375)  # ln 2 in two parts (Cody and Waite)
_LN2_LO = _F(-2.12194440e-4)
_LN2 = _F(0.6931471805599453)
_SQRT2 = _F(1.4142135623730951)
_INF = _F(math.inf)
#: 1 - exp(-x) = x (1 - x (1/2 - x (1/6 - ...))): its coefficients, from the
#: 6th down (x / 5040 the 7th)
_EXPM1_SERIES = tuple(_F(1.0 / math.factorial(k)) for k in range(6, 0, -1))
_SMALLEST_NORMAL = _F(1.1754943508222875e-38)
_NUMPY_ERRORS = {"error_model": "numpy"}  # x / 0 gives inf or NaN, no exception


@intrinsic
def _bits(typingctx, x):
    """The bits of a float32, as an int32."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int32))

    return types.int32(types.float32), codegen


@intrinsic
def _float(typingctx, x):
    """The float32 whose bits an int32 holds."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return types.float32(types.int32), codegen


@numba.njit(inline="always", **_NUMPY_ERRORS)
def _exp(x):
    """``exp(x)``: ``exp(-86)`` below -86, inf above 88.7, NaN for NaN."""
    x = _F(x)
    x = x if not x < _F(-86.0) else _F(-86.0)  # NaN stays NaN
    x = x if not x > _F(89.0) else _F(89.0)
    t = x * _LOG2E + _MAGIC
    n = t - _MAGIC  # the integer nearest to x / ln 2
    r = (x - n * _LN2_HI) - n * _LN2_LO  # |r| <= ln(2) / 2
    p = _F(1.9875691500e-4)
    p = p * r + _F(1.3981999507e-3)
    p = p * r + _F(8.3334519073e-3)
    p = p * r + _F(4.1665795894e-2)
    p = p * r + _F(1.6666665459e-1)
    p = p * r + _F(5.0000001201e-1)
    p = p * r * r + r + _F(1.0)
    # times 2**(n - 1), then 2: 2**128 is not a float32, exp(88.5) is
    half = _float((_bits(t) - _MAGIC_BITS + np.int32(126)) << np.int32(23))
    return (p * half) * _F(2.0)


@numba.njit(inline="always", **_NUMPY_ERRORS)
def _log(y):
    """``log(y)`` for ``y >= 0`` (-inf at 0; inf, NaN unchanged)."""
    y = _F(y)
    subnormal = y < _SMALLEST_NORMAL
    bits = _bits(y * _F(8388608.0) if subnormal else y)  # times 2**23
    exponent = (bits >> np.int32(23)) - (np.int32(150) if subnormal else np.int32(127))
    m = _float((bits & np.int32(0x007FFFFF)) | np.int32(0x3F800000))  # [1, 2)
    high = m > _SQRT2
    m = m * _F(0.5) if high else m  # in [sqrt(1/2), sqrt(2)]
    exponent = exponent + np.int32(1) if high else exponent
    e = _float(exponent + _MAGIC_BITS) - _MAGIC  # exact, the int as a float
    s = (m - _F(1.0)) / (m + _F(1.0))  # log(m) = 2 atanh(s), |s| <= 0.1716
    z = s * s
    q = _F(1.0 / 9.0)
    q = q * z + _F(1.0 / 7.0)
    q = q * z + _F(1.0 / 5.0)
    q = q * z + _F(1.0 / 3.0)
    q = q * z + _F(1.0)
    result = e * _LN2 + _F(2.0) * s * q
    result = -_INF if y == _F(0.0) else result
    return result if y < _INF else y  # inf and NaN


@numba.njit(inline="always", **_NUMPY_ERRORS)
def _power(d, e):
    """``d ** e`` for ``d >= 0``, ``e > 0``; square roots for the common ``e``."""
    if e == _F(1.0):
        return d
    if e == _F(1.5):
        return d * _F(math.sqrt(d))
    if e == _F(1.25):
        return d * _F(math.sqrt(_F(math.sqrt(d))))
    if e == _F(2.0):
        return d * d
    return _F(0.0) if d == _F(0.0) else _exp(e * _log(d))


@functools.partial(_compile, **_NUMPY_ERRORS)
def _powers(d, exponent, out):
    """``d ** exponent`` into ``out``."""
    for k in range(d.shape[0]):
        out[k] = _power(d[k], exponent)


# (the loops below read d and de and write values and ratio: four distinct
# arrays, or the compiler's check for overlap sends them to a scalar loop)


@functools.partial(_compile, **_NUMPY_ERRORS)
def _log_penalty(d, de, w, exponent, scale, values, ratio):
    """:class:`~skmde.penalties.Log`: values ``w log(1 - exp(-d^e))``,
    ratio ``scale f'(d) / d`` (0 where not finite), ``de = d^e``."""
    for k in range(d.shape[0]):
        x, y = d[k], de[k]
        q = _exp(-y)
        # 1 - exp(-y): its series below 0.35, where the difference cancels
        em = _F(1.0 / 5040.0)
        for c in _EXPM1_SERIES:
            em = c - y * em
        em = em * y if y < _F(0.35) else _F(1.0) - q
        values[k] = w[k] * _log(em)
        # f'(d)/d = w e d^(e-2) exp(-d^e) / (1 - exp(-d^e))
        r = (exponent * scale * w[k]) * q * (y / em) / (x * x)
        ratio[k] = r if abs(r) < _INF else _F(0.0)


@functools.partial(_compile, **_NUMPY_ERRORS)
def _log1p_penalty(d, de, w, exponent, scale, values, ratio):
    """:class:`~skmde.penalties.Log1p`: values ``w log(1 + d^e)``, ratio
    ``scale f'(d) / d`` (0 where not finite), ``de = d^e``."""
    for k in range(d.shape[0]):
        x, y = d[k], de[k]
        u = _F(1.0) + y
        # log1p(y) = log(u) y / (u - 1): the rounding of u cancels out
        exact = u == _F(1.0) or u == _INF
        values[k] = w[k] * (y if exact else _log(u) * (y / (u - _F(1.0))))
        # f'(d)/d = w e d^(e-2) / (1 + d^e)
        r = (exponent * scale * w[k]) * (y / x) / (x * u)
        ratio[k] = r if abs(r) < _INF else _F(0.0)


#: the penalties the loops evaluate, by name: their codes in :func:`evaluate`
PENALTIES = ("log", "log1p")


@functools.partial(_compile, **_NUMPY_ERRORS)
def _evaluate(
    X,
    tail,
    head,
    parts,
    weights,
    exponents,
    scale,
    G,
    diff,
    distances,
    values,
    ratio,
    powers,
):
    """One chunk of the objective: differences and distances, the penalties
    of the ``parts`` (rows ``(start, stop, code)``, code an index in
    :data:`PENALTIES`) with their ``weights`` and ``exponents``, and the
    scatter of ``scale f'(d) / d`` times the differences into ``G``. (Every
    array C-contiguous: the compiler vectorizes the penalties' loops over
    contiguous arrays only.)"""
    if X.shape[1] == 2:
        _differences_2d(X, tail, head, diff, distances)
    else:
        _differences_any(X, tail, head, diff, distances)
    for part in range(parts.shape[0]):
        a, b, code = parts[part, 0], parts[part, 1], parts[part, 2]
        e, d = exponents[part], distances[a:b]
        de = d
        if e != _F(1.0):
            _powers(d, e, powers[a:b])
            de = powers[a:b]
        if code == 0:  # PENALTIES[0], "log"
            _log_penalty(d, de, weights[a:b], e, scale, values[a:b], ratio[a:b])
        else:
            _log1p_penalty(d, de, weights[a:b], e, scale, values[a:b], ratio[a:b])
    if X.shape[1] == 2:
        _accumulate_2d(G, diff, ratio, tail, head)
    else:
        _accumulate_any(G, diff, ratio, tail, head)


def evaluate(X, tail, head, parts, weights, exponents, scale, G, diff, buffers):
    """Evaluate a chunk of float32 pairs whose distortion function the loops
    compute (see :func:`_evaluate`; numpy arrays, ``buffers`` at least as
    long as the chunk, rows ``diff`` as many): adds to ``G`` and returns the
    sum of the values (float64, NumPy's pairwise sum)."""
    p = tail.shape[0]
    rows = [row[:p] for row in buffers]  # distances, values, ratios, powers
    _evaluate(X, tail, head, parts, weights, exponents, _F(scale), G, diff, *rows)
    return rows[1].sum(dtype=np.float64)
