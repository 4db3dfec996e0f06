"""Compiled loops on the CPU: the objective's gathers and scatters, and the
neighbour search's selection of the smallest scores of each row.

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
``_problem.KERNEL_MIN_WORK`` edge evaluations use the loops. The loops run on one
thread and add in edge order, so results do not depend on the thread count.

:func:`smallest_rows` keeps the ``k`` smallest entries of each row of a block
of scores in a max-heap: after the first few hundred entries nearly every
entry is rejected by one comparison with the heap's top. On MNIST-10k's exact
search (rows of 10,000 scores, k = 24, one thread) it took 0.13 s against
``torch.topk``'s 0.29-0.42 s for all 10,000 rows.
"""

import math

import numba
import torch


def _compile(function):
    """numba's compilation of ``function``, its machine code cached on disk
    where numba finds a writable place; where it finds none (a read-only
    installation and home directory), compiled anew in each process."""
    options = {"nogil": True, "boundscheck": False}
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
        u, v = float(u), float(v)  # squares in float64: no overflow
        distances[k] = math.sqrt(u * u + v * v)


@_compile
def _differences_any(X, tail, head, diff, distances):
    for k in range(tail.shape[0]):
        i, j = tail[k], head[k]
        total = 0.0
        for q in range(X.shape[1]):
            v = X[i, q] - X[j, q]
            diff[k, q] = v
            total += float(v) * float(v)
        distances[k] = math.sqrt(total)


@_compile
def _accumulate_2d(G, diff, coefficients, tail, head):
    for k in range(tail.shape[0]):
        c, i, j = coefficients[k], tail[k], head[k]
        u, v = c * diff[k, 0], c * diff[k, 1]
        G[i, 0] += u
        G[i, 1] += v
        G[j, 0] -= u
        G[j, 1] -= v


@_compile
def _accumulate_any(G, diff, coefficients, tail, head):
    for k in range(tail.shape[0]):
        c, i, j = coefficients[k], tail[k], head[k]
        for q in range(G.shape[1]):
            w = c * diff[k, q]
            G[i, q] += w
            G[j, q] -= w


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


@_compile
def _smallest_rows(scores, k, values, indices):
    for r in range(scores.shape[0]):
        row, best, where = scores[r], values[r], indices[r]
        for t in range(k):  # a max-heap of the first k entries, sifted up
            p, value = t, row[t]
            while p > 0 and _after(value, t, best[(p - 1) // 2], where[(p - 1) // 2]):
                best[p], where[p] = best[(p - 1) // 2], where[(p - 1) // 2]
                p = (p - 1) // 2
            best[p], where[p] = value, t
        # later columns tie after earlier ones: only a smaller value enters
        top = best[0]
        for j in range(k, row.shape[0]):
            if row[j] < top:
                _sift_down(best, where, k, row[j], j)
                top = best[0]


def smallest_rows(scores, k):
    """The ``k`` smallest entries of each row of a C-contiguous CPU tensor,
    ``1 <= k <= scores.shape[1]``, in no order: ``(values, column indices)``.
    Ties go to the earlier columns: the result is the first ``k`` entries of
    the row sorted by value, then column, whatever the algorithm. On one
    thread (the searches run blocks of rows in parallel)."""
    values = torch.empty((scores.shape[0], k), dtype=scores.dtype)
    indices = torch.empty((scores.shape[0], k), dtype=torch.int64)
    _smallest_rows(scores.numpy(), k, values.numpy(), indices.numpy())
    return values, indices
