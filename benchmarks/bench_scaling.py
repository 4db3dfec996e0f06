"""How fit time and peak memory grow with n and d: the cost model, checked.

Each size is fitted in its own process (``preserve_neighbors`` defaults, as
``MDENeighbors`` uses them) on a float32 Gaussian mixture (20 centres, std 3),
generated in place so that the data cost ``4 n d`` bytes at any time. Printed
per size: the stage times, the solver's time per objective evaluation per
edge, the peak resident memory above the process's memory after imports, and
the memory the cost model of ``doc/performance.rst`` predicts for it:

    peak - baseline ~= 10 n d + BYTES_PER_EDGE |E| + 64 MB

(the data, the neighbour index's centred float32 copy of it and, above 128
features, its PCA-reduced copy, kept for ``transform``; the edges with the kNN
candidates, incidence matrix, weights and per-evaluation work arrays that they
bring; search blocks of 8 MB and the initialization's and solver's fixed
temporaries).

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


def blobs(n, d, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, size=(20, d)).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, 10_000):
        rows = min(n, start + 10_000) - start
        X[start : start + rows] = centres[rng.integers(20, size=rows)]
        X[start : start + rows] += 3.0 * rng.standard_normal((rows, d), np.float32)
    return X


def worker(n, d):
    import skmde
    from skmde._inputs import BYTES_PER_EDGE

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    X = blobs(n, d)
    mde, info = skmde.recipes.neighbor_problem(X, random_state=0)
    start = time.perf_counter()
    mde.embed()
    solve = time.perf_counter() - start
    stats = mde.solve_stats
    edges = mde.n_edges
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "d": d,
        "edges": edges,
        "kNN (s)": info.timings["knn"],
        "init (s)": info.timings["init"],
        "solve (s)": solve,
        "iterations": stats.iterations,
        "evaluations": stats.evaluations,
        "ns/edge/eval": 1e9 * solve / max(1, stats.evaluations) / edges,
        "peak-base (MB)": peak - baseline,
        "model (MB)": (10 * n * d + BYTES_PER_EDGE * edges) / 2**20 + 64,
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
