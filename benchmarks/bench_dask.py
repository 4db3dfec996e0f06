"""Distributed transform with Dask: 1 vs 2 worker processes.

A model is fitted on 20,000 rows (drawn with ``skmde.dask.sample_rows``) of a
synthetic 1,000,000 x 50 Gaussian mixture (20 centres, std 3); the 1,000,000
rows are then transformed with ``skmde.dask.transform`` on a LocalCluster of 1
and of 2 worker processes (one thread each). The data are generated chunk by
chunk on the workers, so no process ever holds the whole dataset. For each
cluster: wall time of the transform (after a small warm-up computation that
imports skmde on the workers), rows per second, rows per second per worker,
and each worker's peak resident memory.

Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes
glibc return freed memory to the system at once and makes transform about 1.7x
slower (every large temporary array is mapped and faulted in anew). Each worker
count is run with Dask's default environment and with that variable unset
(``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: None``), the
setting the large-data guide recommends.

    python benchmarks/bench_dask.py [--rows 1000000] [--chunk 50000] [--workers 1 2]
"""

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import machine, table

DIM, CENTERS, STD = 50, 20, 3.0


def make_chunk(index, size):
    """Rows of the mixture: centres fixed by seed 0, points by the chunk index."""
    centres = np.random.default_rng(0).uniform(-10, 10, size=(CENTERS, DIM))
    rng = np.random.default_rng([1, index])
    labels = rng.integers(CENTERS, size=size)
    return (centres[labels] + STD * rng.standard_normal((size, DIM))).astype(np.float32)


def dataset(n_rows, chunk):
    import dask
    import dask.array as da

    sizes = [min(chunk, n_rows - s) for s in range(0, n_rows, chunk)]
    blocks = [
        da.from_delayed(dask.delayed(make_chunk)(i, size), (size, DIM), np.float32)
        for i, size in enumerate(sizes)
    ]
    return da.concatenate(blocks)


def worker_state():
    import torch

    return {
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def run(model, X, n_workers, trim):
    import dask
    from dask.distributed import Client, LocalCluster

    import skmde.dask

    settings = {
        # the model travels in the graph once; no need to warn about it
        "distributed.admin.large-graph-warning-threshold": "1GB"
    }
    if not trim:
        settings["distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"] = None
        # a LocalCluster's nanny sets the variable in this process's environment
        # too, whence a later cluster's workers would inherit it
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with (
        dask.config.set(settings),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as client,
    ):
        skmde.dask.transform(model, X[:4096]).compute()  # warm-up: imports
        start = time.perf_counter()
        Z = skmde.dask.transform(model, X).compute()
        seconds = time.perf_counter() - start
        states = client.run(worker_state).values()
    return Z, seconds, list(states)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--fit-rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    import skmde
    import skmde.dask

    X = dataset(args.rows, args.chunk)
    sample = skmde.dask.sample_rows(X, args.fit_rows, random_state=0)
    start = time.perf_counter()
    train = X[sample].compute()
    model = skmde.MDENeighbors(random_state=0).fit(train)
    print(
        f"{machine()}; fit on {len(train):,} rows in "
        f"{time.perf_counter() - start:.1f} s; transform {args.rows:,} rows in "
        f"chunks of {args.chunk:,}"
    )

    rows, reference, base = [], None, {}
    for trim in (True, False):
        for n_workers in args.workers:
            Z, seconds, states = run(model, X, n_workers, trim)
            if reference is None:
                reference = Z
            rate = args.rows / seconds
            base.setdefault(trim, rate)
            rows.append(
                {
                    "malloc trim": "65536 (Dask default)" if trim else "unset",
                    "workers": n_workers,
                    "time (s)": seconds,
                    "rows/s": rate,
                    "rows/s/worker": rate / n_workers,
                    "speed-up": rate / base[trim],
                    "peak MB/worker": max(s["peak_mb"] for s in states),
                    "torch threads": states[0]["threads"],
                    "same result": bool(np.array_equal(Z, reference)),
                }
            )
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
