"""Embedding quality against the number of solver iterations.

For each dataset, one ``preserve_neighbors`` problem is solved up to the
last of the ``--checkpoints``; the iterates at the checkpoints are scored
(trustworthiness at k = 10 on a 5,000-row subsample, 5-fold 10-NN accuracy on
at most 20,000 rows) next to the average distortion and the solver time spent
to reach them. This is the measurement behind ``MDENeighbors``' ``max_iter``
default.

    python benchmarks/bench_iterations.py [--datasets digits mnist10k blobs70k]
        [--seeds 0 1 2] [--checkpoints 100 150 200 250 300]
"""

import argparse
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import machine, quality, table
from compare import make_dataset

import skmde


def solve_with_checkpoints(X, seed, checkpoints):
    mde, _ = skmde.recipes.neighbor_problem(X, random_state=seed)
    kept = {}
    start = time.perf_counter()

    def callback(iteration, Z, stats):
        if iteration in checkpoints:
            seconds = time.perf_counter() - start
            kept[iteration] = (Z.numpy().copy(), seconds, stats.average_distortions[-1])

    mde.embed(max_iter=max(checkpoints), callback=callback)
    return kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist10k"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--checkpoints", nargs="+", type=int, default=[100, 150, 200, 250, 300]
    )
    args = parser.parse_args()
    print(machine())
    rows = []
    for name in args.datasets:
        X, y = make_dataset(name)
        for seed in args.seeds:
            for iteration, (Z, seconds, distortion) in sorted(
                solve_with_checkpoints(X, seed, set(args.checkpoints)).items()
            ):
                rows.append(
                    {
                        "dataset": name,
                        "seed": seed,
                        "iterations": iteration,
                        "solve (s)": seconds,
                        "avg distortion": f"{distortion:.6f}",
                        **quality(X, Z, y),
                    }
                )
                print(table(rows[-1:], list(rows[-1])).splitlines()[-1], flush=True)
    print()
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
