"""How fit time and peak memory grow with n and d: the cost model, checked.

Each size is fitted in its own process (``preserve_neighbors`` defaults, as
``MDENeighbors`` uses them) on ``make_blobs(n, d, centers=20, cluster_std=3,
random_state=0)`` as float32. Printed per size: the stage times, the solver's
time per iteration per edge, the peak resident memory above the process's
memory after imports, and the memory the cost model of ``doc/performance.rst``
predicts for it:

    peak - baseline ~= 8 n d  +  BYTES_PER_EDGE |E|  +  4 n m (2 memory_size + 8)

(the data and one float32 copy, the edges with their temporaries, the
embedding with the L-BFGS memory and the solver's work arrays).

    python benchmarks/bench_scaling.py [--sizes 25000 50000 100000 200000]
                                       [--dims 50 784]
"""

import argparse
import json
import resource
import subprocess
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import machine, table


def worker(n, d):
    import numpy as np
    from sklearn.datasets import make_blobs

    import skmde
    from skmde.recipes import BYTES_PER_EDGE

    X = make_blobs(n, d, centers=20, cluster_std=3.0, random_state=0)[0]
    X = np.ascontiguousarray(X, dtype=np.float32)
    baseline = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - X.nbytes / 2**20
    )
    mde, info = skmde.recipes.neighbor_problem(X, random_state=0)
    start = time.perf_counter()
    mde.embed()
    solve = time.perf_counter() - start
    stats = mde.solve_stats
    edges = mde.n_edges
    m, memory_size = mde.embedding_dim, 10
    model = 8 * n * d + BYTES_PER_EDGE * edges + 4 * n * m * (2 * memory_size + 8)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "d": d,
        "edges": edges,
        "kNN (s)": info.timings["knn"],
        "init (s)": info.timings["init"],
        "solve (s)": solve,
        "iterations": stats.iterations,
        "ns/edge/iter": 1e9 * solve / max(1, stats.iterations) / edges,
        "peak-base (MB)": peak - baseline,
        "model (MB)": model / 2**20,
        "base (MB)": baseline,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000]
    )
    parser.add_argument("--dims", type=int, nargs="+", default=[50, 784])
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    print(machine())
    rows = []
    for d in args.dims:
        for n in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(n), str(d)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(table(rows[-1:], list(rows[-1])), flush=True)
    print()
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
