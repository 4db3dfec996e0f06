"""Embedding quality on every real dataset at hand: skmde beside its peers.

Trustworthiness at k = 10 (on a fixed subsample of 5,000 rows where larger)
and 5-fold 10-NN accuracy of the embedding, median over seeds, for
``MDENeighbors`` (its defaults, or the settings given with ``--skmde``) and
the installed peers with theirs. The datasets: scikit-learn's bundled digits,
iris, wine and breast cancer (the last three standardized first, for every
method: their features have unrelated units) and MNIST-10k from
``../shared/data``.

    python benchmarks/bench_quality.py [--datasets digits iris] [--seeds 0 1 2]
        [--peers UMAP PaCMAP openTSNE] [--skmde '{"n_neighbors": 15}']
        [--cache peers.json]

``--cache`` keeps the peers' results in a JSON file, so that only skmde is
refitted when the file has them (the peers are slow and do not change).
"""

import argparse
import json
import pathlib
import statistics
import sys
import time
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _common import load_mnist10k, machine, quality, table
from _peers import METHODS, available

DATASETS = ("iris", "wine", "breast_cancer", "digits", "mnist10k")


def load(name):
    import numpy as np
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    if name == "mnist10k":
        return load_mnist10k()
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if name != "digits":
        X = StandardScaler().fit_transform(X)
    return X.astype(np.float32), y


def skmde_fit(settings):
    def fit(X, seed):
        from skmde import MDENeighbors

        return MDENeighbors(random_state=seed, **settings).fit_transform(X)

    return fit


def score(fit, X, y, seeds):
    runs = []
    for seed in seeds:
        start = time.perf_counter()
        Z = fit(X, seed)
        seconds = time.perf_counter() - start
        runs.append({"seconds": seconds, **quality(X, Z, y)})
    return {
        key: statistics.median(run[key] for run in runs)
        for key in ("seconds", "trust@10", "10-NN acc")
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--peers",
        nargs="*",
        default=["UMAP", "PaCMAP", "openTSNE"],
        choices=[m for m in METHODS if m != "skmde"],
    )
    parser.add_argument("--skmde", default="{}", help="MDENeighbors settings (JSON)")
    parser.add_argument("--cache", help="JSON file keeping the peers' results")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    settings = json.loads(args.skmde)
    cache_path = pathlib.Path(args.cache) if args.cache else None
    cache = (
        json.loads(cache_path.read_text()) if cache_path and cache_path.exists() else {}
    )
    print(f"{machine()}; seeds {args.seeds}; skmde settings {settings}")
    methods = {"skmde": skmde_fit(settings), **available(args.peers)}
    rows = []
    for dataset in args.datasets:
        X, y = load(dataset)
        for name, fit in methods.items():
            key = f"{dataset}/{name}/{args.seeds}"
            if name != "skmde" and key in cache:
                result = cache[key]
            else:
                fit(X[: min(len(X), 500)], 0)  # warm-up: imports, compilation
                result = score(fit, X, y, args.seeds)
                if name != "skmde":
                    cache[key] = result
            rows.append({"data": f"{dataset} {X.shape}", "method": name, **result})
            print(f"  {dataset} {name}: {result}", flush=True)
        if cache_path:
            cache_path.write_text(json.dumps(cache, indent=1))
    print(table(rows, ["data", "method", "seconds", "trust@10", "10-NN acc"]))


if __name__ == "__main__":
    main()
