"""preserve_neighbors on MNIST-10k: skmde beside PyMDE, UMAP and PaCMAP.

Each method is fitted twice in this process and the second (warm) fit is timed,
so one-off costs (imports, numba compilation) are excluded; the quality of that
fit is measured by trustworthiness at k = 10 on a fixed subsample of 5,000 and
by 5-fold 10-NN accuracy. Methods run back to back in one invocation.

    python benchmarks/bench_neighbors.py [--peers PyMDE UMAP PaCMAP] [--seed 0]
"""

import argparse
import sys
import warnings

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, quality, table, timed
from _peers import METHODS, available


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--peers",
        nargs="*",
        default=["PyMDE", "UMAP", "PaCMAP"],
        choices=[m for m in METHODS if m != "skmde"],
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    X, y = load_mnist10k(args.data)
    print(f"MNIST-10k {X.shape}; {machine()}")
    rows = []
    for name, fit in available(["skmde", *args.peers]).items():
        fit(X, args.seed)  # warm-up: imports, compilation
        seconds, _, Z = timed(fit, X, args.seed)
        row = {"method": name, "warm fit (s)": seconds}
        row.update(quality(X, Z, y))
        rows.append(row)
        print(f"  {name}: {seconds:.2f} s", flush=True)
    reference = next((r for r in rows if r["method"] == "PyMDE"), None)
    for row in rows:
        if reference is not None:
            row["time / PyMDE"] = row["warm fit (s)"] / reference["warm fit (s)"]
    print(
        table(rows, ["method", "warm fit (s)", "time / PyMDE", "trust@10", "10-NN acc"])
    )


if __name__ == "__main__":
    main()
