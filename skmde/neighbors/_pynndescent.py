"""Approximate search by pynndescent (imported, and compiled by numba, only
when used)."""

import numpy as np

from .._utils import thread_count


def pynndescent_topk(data, k, metric, n_jobs, random_state):
    """The ``k`` nearest other items of each row of ``data`` by pynndescent,
    seeded from ``random_state``, on ``n_jobs`` threads (None: pynndescent's
    own default, numba's thread count, all cores unless set otherwise; its
    graph is the same for a seed and a thread count, and differs between
    thread counts)."""
    import numba
    from pynndescent import NNDescent

    threads = None
    if n_jobs is not None:
        threads = min(numba.config.NUMBA_NUM_THREADS, thread_count(n_jobs))
    seed = (
        None
        if random_state is None
        else int(np.random.default_rng(random_state).integers(2**31 - 1))
    )
    index = NNDescent(
        data,
        n_neighbors=k + 1,
        metric=metric,
        random_state=seed,
        n_jobs=threads,
        low_memory=True,
        compressed=True,
    )
    indices, distances = index.neighbor_graph
    return _drop_self(indices, distances, k)


def _drop_self(indices, distances, k):
    """Remove each item from its own list (or the farthest entry if absent)."""
    n = indices.shape[0]
    is_self = indices == np.arange(n)[:, None]
    keep = ~is_self
    missing = ~is_self.any(axis=1)
    keep[missing, -1] = False
    indices = indices[keep].reshape(n, -1)[:, :k]
    distances = distances[keep].reshape(n, -1)[:, :k]
    return indices.astype(np.int64), distances.astype(np.float32)
