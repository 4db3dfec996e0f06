"""Supervised and semi-supervised embeddings on MNIST-10k: fit(X, y).

Fit on the first 8,000 rows with their labels (all of them, or 10% with the
rest -1), ``transform`` the last 2,000, and score a 10-NN classifier fitted on
``embedding_`` on the transformed rows (held-out accuracy). Fit times are
warm: each method is run once on 1,000 rows first (UMAP compiles its numba
code then), and the median of ``--repeats`` fits is reported. UMAP runs with
``target_weight=0.5`` when installed (``pip install umap-learn``).

    python benchmarks/bench_labels.py [--repeats 3] [--weights 0.5 0.8]
"""

import argparse
import importlib.util
import sys

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, table, timed

N_FIT = 8000


def skmde_model(weight, seed):
    import skmde

    return skmde.MDENeighbors(target_weight=weight, random_state=seed)


def umap_model(weight, seed):
    import umap

    return umap.UMAP(target_weight=weight, random_state=seed)


def run(name, make, X, y, labels, repeats):
    model = make()
    make().fit(X[:1000], labels[:1000])  # warm-up (numba JIT, torch)
    seconds, times, _ = timed(model.fit, X[:N_FIT], labels, repeats=repeats)
    classifier = KNeighborsClassifier(10).fit(model.embedding_, y[:N_FIT])
    accuracy = classifier.score(model.transform(X[N_FIT:]), y[N_FIT:])
    return {"method": name, "fit s": seconds, "held-out acc": accuracy}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.5])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, y = load_mnist10k()
    X = X.astype(np.float32) / 255.0
    rng = np.random.default_rng(args.seed)
    tenth = y[:N_FIT].copy()
    tenth[rng.random(N_FIT) >= 0.1] = -1
    has_umap = importlib.util.find_spec("umap") is not None
    print(machine(), f"; fit {N_FIT} rows, transform {len(y) - N_FIT}")
    rows = [
        run(
            "skmde unsupervised",
            lambda: skmde_model(0.0, args.seed),
            X,
            y,
            y[:N_FIT],
            args.repeats,
        )
    ]
    for setting, labels in (("all labels", y[:N_FIT]), ("10% labels", tenth)):
        for weight in args.weights:
            rows.append(
                run(
                    f"skmde w={weight} ({setting})",
                    lambda weight=weight: skmde_model(weight, args.seed),
                    X,
                    y,
                    labels,
                    args.repeats,
                )
            )
        if has_umap:
            rows.append(
                run(
                    f"UMAP w=0.5 ({setting})",
                    lambda: umap_model(0.5, args.seed),
                    X,
                    y,
                    labels,
                    args.repeats,
                )
            )
    print(table(rows, ["method", "fit s", "held-out acc"]))


if __name__ == "__main__":
    main()
