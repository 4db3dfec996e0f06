"""The objective of an :class:`~skmde.MDE` problem by the compiled loops of
:mod:`skmde._kernels` (large CPU solves, see ``_problem.KERNEL_MIN_WORK``).

The pairs are cut into chunks, and the chunks into :data:`LANES` runs of
consecutive chunks ("lanes"), each summing into a gradient of its own. The
lanes are handed out to the threads (:func:`~skmde._utils.run_lanes`), in any
order, and their gradients and values added up in order: the results are the
same for any thread count. A chunk whose distortion function the loops
compute (the default penalties in float32, see
:meth:`~skmde.penalties.Penalty._kernel_parts`) is one compiled call, whose
arguments are built once per function (:func:`plan`); the others are
evaluated by torch between the compiled gathers and scatter, one lane after
another.

The state lives on the problem: the plans in ``mde._slices`` (cleared with
the chunks when the function changes) and the lanes' buffers in
``mde._lane_buffers``.
"""

import threading

import numpy as np
import torch

from ._distortion import DistortionFunction
from ._utils import load_kernels, run_lanes

#: the runs of consecutive chunks the compiled objective evaluates apart
LANES = 4


def kernel_parts(function, dtype):
    """The parts of a float32 ``function`` the compiled loops evaluate whole
    (see :meth:`~skmde.penalties.Penalty._kernel_parts`), or None."""
    if dtype != torch.float32 or not isinstance(function, DistortionFunction):
        return None
    return function._kernel_parts()


def lanes(n_chunks):
    """The chunks of each of the :data:`LANES` lanes (runs of consecutive
    chunks, as even in count as can be; fewer lanes for fewer chunks)."""
    count = min(LANES, n_chunks)
    return [
        list(range(lane * n_chunks // count, (lane + 1) * n_chunks // count))
        for lane in range(count)
    ]


def objective(mde, X, kernels):
    """``(total distortion, gradient)`` of ``mde`` at ``X`` (a contiguous CPU
    tensor) by the compiled loops ``kernels``, in lanes: in parallel on
    torch's thread count (from the main thread) where the loops evaluate
    every chunk's penalty too."""
    p = mde.n_edges
    chunks = mde._function_chunks(compiled=True)
    chunk_plan = plan(mde, X.dtype)
    rows = max(stop - start for start, stop, _ in chunks)
    runs = lanes(len(chunks))
    scratch = _scratch(mde, len(runs), rows, X)
    totals = [None] * len(chunks)
    X_array = X.numpy()

    def lane(number):
        (G, diff, _), arrays = scratch[number]
        G.zero_()
        for c in runs[number]:
            if chunk_plan[c] is not None:  # the whole chunk in one compiled call
                totals[c] = kernels.evaluate(X_array, *chunk_plan[c], 1.0 / p, *arrays)
                continue
            start, stop, function = chunks[c]
            tail, head = mde._tail[start:stop], mde._head[start:stop]
            d, distances = kernels.differences(X, tail, head, diff)
            totals[c], ratio = mde._sum_and_ratio(function, distances)
            kernels.accumulate(G, d, ratio.mul_(1.0 / p), tail, head)

    main = threading.current_thread() is threading.main_thread()
    parallel = None not in chunk_plan and main
    run_lanes(lane, len(runs), torch.get_num_threads() if parallel else 1)
    G = scratch[0][0][0].clone()
    for (other, _, _), _ in scratch[1:]:
        G += other
    total = torch.zeros((), dtype=X.dtype)
    for chunk_total in totals:
        total += chunk_total
    return total, G


def plan(mde, dtype):
    """Per compiled chunk of ``mde``, built once: the arguments of
    :func:`skmde._kernels.evaluate` that describe it (its pairs, the table of
    its penalties' parts, their weights and exponents, as numpy arrays), or
    None where torch computes its function."""
    key = ("plan", dtype)
    if key not in mde._slices:
        names = load_kernels().PENALTIES
        chunk_plan = []
        for start, stop, function in mde._function_chunks(compiled=True):
            parts = kernel_parts(function, dtype)
            if parts is None:
                chunk_plan.append(None)
                continue
            table = [(a, b, names.index(name)) for a, b, name, _, _ in parts]
            weights = [w.numpy() for *_, w, _ in parts]
            chunk_plan.append(
                (
                    mde._tail[start:stop].numpy(),
                    mde._head[start:stop].numpy(),
                    np.array(table, dtype=np.int64).reshape(-1, 3),
                    np.concatenate(weights).astype(np.float32, copy=False),
                    np.array([e for *_, e in parts], dtype=np.float32),
                )
            )
        mde._slices[key] = chunk_plan
    return mde._slices[key]


def runs_in_parallel(mde, X, iterations):
    """Whether an evaluation of ``mde`` at ``X`` for a solve of
    ``iterations`` iterations runs its lanes in parallel."""
    if mde._kernels(X, iterations) is None:
        return False
    return None not in plan(mde, X.dtype)


def _scratch(mde, count, rows, X):
    """Per lane, kept between evaluations: a gradient, a buffer of
    differences and four rows for the compiled loops (distances, values,
    ratios, powers), as tensors and as the numpy arrays they share."""
    n, m = X.shape
    key = (count, rows, n, m, X.dtype)
    if mde._lane_buffers is None or mde._lane_buffers[0] != key:
        buffers = []
        for _ in range(count):
            tensors = (
                torch.empty((n, m), dtype=X.dtype),
                torch.empty((rows, m), dtype=X.dtype),
                torch.empty((4, rows), dtype=X.dtype),
            )
            buffers.append((tensors, tuple(t.numpy() for t in tensors)))
        mde._lane_buffers = (key, buffers)
    return mde._lane_buffers[1]
