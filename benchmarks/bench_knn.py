"""Neighbour search backends: time, recall, and what they do to the embedding.

For each dataset, the k nearest neighbours (k = 32, what preserve_neighbors
searches with its default 12 neighbours) by

* ``exact``: blocked products over all pairs (PCA-reduced candidates re-ranked
  in the full space above 128 features);
* ``clustered``: k-means clusters, each compared with its nearest clusters,
  with the quality check of ``skmde.neighbors._clustered.clustered_topk``;
* ``pynndescent``: its NN-descent (timed warm: after a first call that
  compiles it; the compilation time is printed separately).

Recall is measured against the exact search (on a 2,000-row sample for the large
datasets), and, on MNIST-10k, the trustworthiness and 10-NN accuracy of the
resulting ``preserve_neighbors`` embeddings.

With ``--selection``, instead: the exact and the clustered search timed with
the compiled selection of each row's k smallest scores and with
``torch.topk`` (``COMPILED_MIN_SCORES`` set to 0 or out of reach), in
``--rounds`` alternating rounds in one process, medians and their ratio.

    python benchmarks/bench_knn.py [--datasets mnist10k random20k blobs70k]
    python benchmarks/bench_knn.py --selection [--rounds 5]
"""

import argparse
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, quality, table

import skmde
from skmde import graphs
from skmde.neighbors import NeighborIndex, _blocks, _exact
from skmde.neighbors._pynndescent import pynndescent_topk


def dataset(name):
    if name == "mnist10k":
        return load_mnist10k()
    if name == "random20k":
        return np.random.default_rng(0).normal(size=(20000, 50)).astype(
            np.float32
        ), None
    if name == "blobs70k":
        from sklearn.datasets import make_blobs

        X, y = make_blobs(70000, 784, centers=10, cluster_std=4.0, random_state=0)
        return X.astype(np.float32), y
    raise ValueError(name)


def search(X, k, backend):
    if backend == "pynndescent":
        return pynndescent_topk(X, k, "euclidean", None, 0)
    saved = _exact.CLUSTERED_ABOVE
    _exact.CLUSTERED_ABOVE = 0 if backend == "clustered" else 10**12
    try:
        return NeighborIndex(X, "euclidean").query(None, k)
    finally:
        _exact.CLUSTERED_ABOVE = saved


def selection(datasets, k, rounds):
    """The searches timed with the compiled selection and with torch.topk."""
    search(np.random.default_rng(0).normal(size=(6000, 8)), k, "exact")  # load numba
    rows = []
    for name in datasets:
        X, _ = dataset(name)
        for backend in ("exact", "clustered"):
            seconds = {"compiled": [], "torch.topk": []}
            for _ in range(rounds):
                for way, least in (("compiled", 0), ("torch.topk", 10**18)):
                    _blocks.COMPILED_MIN_SCORES = least
                    start = time.perf_counter()
                    search(X, k, backend)
                    seconds[way].append(time.perf_counter() - start)
            compiled, topk = (float(np.median(v)) for v in seconds.values())
            rows.append(
                {
                    "data": name,
                    "backend": backend,
                    "compiled (s)": compiled,
                    "torch.topk (s)": topk,
                    "ratio": compiled / topk,
                }
            )
            print(f"{name} {backend} done", flush=True)
    columns = ["data", "backend", "compiled (s)", "torch.topk (s)", "ratio"]
    print(table(rows, columns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=["mnist10k", "random20k"])
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--selection", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(machine())
    if args.selection:
        selection(args.datasets, args.k, args.rounds)
        return
    start = time.perf_counter()
    pynndescent_topk(
        np.random.default_rng(0).normal(size=(500, 5)), 5, "euclidean", None, 0
    )
    print(
        f"pynndescent's first call (import and compilation): "
        f"{time.perf_counter() - start:.1f} s"
    )
    rows = []
    for name in args.datasets:
        X, y = dataset(name)
        results = {}
        for backend in ("exact", "clustered", "pynndescent"):
            start = time.perf_counter()
            results[backend] = search(X, args.k, backend)[0]
            rows.append(
                {
                    "data": name,
                    "backend": backend,
                    "time (s)": time.perf_counter() - start,
                }
            )
        sample = np.random.default_rng(0).choice(
            len(X), min(len(X), 2000), replace=False
        )
        for row in rows[-3:]:
            found = results[row["backend"]][sample]
            truth = results["exact"][sample]
            row["recall@10"] = np.mean(
                [len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(found, truth)]
            )
        if name == "mnist10k":
            saved = graphs.nearest_neighbors
            for row in rows[-3:]:
                backend = row["backend"]
                graphs.nearest_neighbors = (
                    lambda data, k, metric="euclidean", backend=backend, **kw: (
                        *search(data, k, backend),
                        None,
                    )
                )
                try:
                    Z = skmde.preserve_neighbors(X, random_state=0).embed().numpy()
                finally:
                    graphs.nearest_neighbors = saved
                row.update(quality(X, Z, y))
        print(f"{name} done", flush=True)
    print(
        table(
            rows, ["data", "backend", "time (s)", "recall@10", "trust@10", "10-NN acc"]
        )
    )


if __name__ == "__main__":
    main()
