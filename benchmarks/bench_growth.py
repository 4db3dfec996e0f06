"""inverse_transform and partial_fit on MNIST-10k (pixels scaled to [0, 1]).

1. Fit 8,000 rows; decode ``inverse_transform(transform(X_new))`` for 500
   held-out rows: time and mean squared error against the true rows, beside
   UMAP's (``pip install umap-learn``; its inverse_transform is slow, so it
   runs once).
2. Fit 6,000 rows, ``partial_fit`` the next 2,000: time, the fitted rows
   bit-identical or not, and the 10-NN accuracy of the new rows against a
   classifier fitted on the first 6,000 embedded rows; beside ``transform`` of
   the same rows and a refit of all 8,000 rows.

    python benchmarks/bench_growth.py [--repeats 3] [--no-umap]
"""

import argparse
import importlib.util
import sys

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, table, timed


def inverse_rows(X, repeats, with_umap):
    import skmde

    train, new = X[:8000], X[8000:8500]
    rows = []
    model = skmde.MDENeighbors(random_state=0).fit(train)
    Z = model.transform(new)
    model.inverse_transform(Z[:10])  # warm
    seconds, _, decoded = timed(model.inverse_transform, Z, repeats=repeats)
    rows.append(
        {
            "method": "skmde",
            "seconds": seconds,
            "MSE": float(((decoded - new) ** 2).mean()),
        }
    )
    if with_umap:
        import umap

        reducer = umap.UMAP(random_state=0).fit(train)
        Z = reducer.transform(new)
        seconds, _, decoded = timed(reducer.inverse_transform, Z, repeats=1)
        rows.append(
            {
                "method": "UMAP",
                "seconds": seconds,
                "MSE": float(((decoded - new) ** 2).mean()),
            }
        )
    mean_image = float(((train.mean(axis=0) - new) ** 2).mean())
    rows.append({"method": "(the mean image)", "seconds": 0.0, "MSE": mean_image})
    return rows


def growth_rows(X, y, repeats):
    import skmde

    first, second = slice(0, 6000), slice(6000, 8000)
    rows = []

    def grow():
        model = skmde.MDENeighbors(random_state=0).fit(X[first])
        before = model.embedding_.copy()
        seconds, _, _ = timed(model.partial_fit, X[second], repeats=1)
        return model, before, seconds

    times, last = [], None
    for _ in range(repeats):
        model, before, seconds = grow()
        times.append(seconds)
        last = (model, before)
    model, before = last
    knn = KNeighborsClassifier(10).fit(model.embedding_[first], y[first])
    rows.append(
        {
            "method": "partial_fit 2,000",
            "seconds": float(np.median(times)),
            "new-row acc": knn.score(model.embedding_[second], y[second]),
            "fitted rows identical": bool(
                np.array_equal(model.embedding_[first], before)
            ),
        }
    )
    fitted = skmde.MDENeighbors(random_state=0).fit(X[first])
    seconds, _, Z = timed(fitted.transform, X[second], repeats=repeats)
    knn = KNeighborsClassifier(10).fit(fitted.embedding_, y[first])
    rows.append(
        {
            "method": "transform 2,000",
            "seconds": seconds,
            "new-row acc": knn.score(Z, y[second]),
        }
    )
    seconds, _, refit = timed(
        lambda: skmde.MDENeighbors(random_state=0).fit(X[:8000]), repeats=repeats
    )
    knn = KNeighborsClassifier(10).fit(refit.embedding_[first], y[first])
    rows.append(
        {
            "method": "refit all 8,000",
            "seconds": seconds,
            "new-row acc": knn.score(refit.embedding_[second], y[second]),
        }
    )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-umap", action="store_true")
    args = parser.parse_args()
    X, y = load_mnist10k()
    X = X.astype(np.float32) / 255.0
    with_umap = not args.no_umap and importlib.util.find_spec("umap") is not None
    print(machine())
    print("inverse_transform(transform(X_new)), 500 held-out rows, fit on 8,000")
    print(table(inverse_rows(X, args.repeats, with_umap), ["method", "seconds", "MSE"]))
    print()
    print("fit 6,000 rows, then the next 2,000")
    print(
        table(
            growth_rows(X, y, args.repeats),
            ["method", "seconds", "new-row acc", "fitted rows identical"],
        )
    )


if __name__ == "__main__":
    main()
