"""Compiled loops for the objective's gathers and scatters on the CPU.

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
first time, about 1 s), so only problems of at least
``_problem.KERNEL_MIN_EDGES`` edges use the loops. The loops run on one
thread and add in edge order, so results do not depend on the thread count.
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
