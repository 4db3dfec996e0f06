"""Distance-preserving embeddings: skmde beside PyMDE, sklearn's MDS, Isomap, PCA.

For each dataset and method: the fit time (warm: the second fit in this
process, except for the slowest peers, timed once) and the Spearman and Pearson
correlations between original and embedded distances over 200,000 random
pairs. Then ``transform`` of held-out rows, measured the same way against
``Isomap.transform``.

    python benchmarks/bench_distances.py [--datasets digits scurve mnist10k blobs70k]
                                         [--peers PyMDE MDS Isomap PCA]

Datasets: digits (1,797 x 64), the S-curve (3,000 x 3, ``make_s_curve(3000,
random_state=0)``), MNIST-10k, and ``make_blobs(70000, 784, centers=10,
cluster_std=4.0, random_state=0)``.
"""

import argparse
import importlib.util
import sys
import time
import warnings

import numpy as np
import scipy.stats

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, peak_rss_mb, table


def dataset(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().data.astype(np.float64)
    if name == "scurve":
        from sklearn.datasets import make_s_curve

        return make_s_curve(3000, random_state=0)[0]
    if name == "mnist10k":
        return load_mnist10k()[0].astype(np.float64)
    if name == "blobs70k":
        from sklearn.datasets import make_blobs

        X, _ = make_blobs(70000, 784, centers=10, cluster_std=4.0, random_state=0)
        return X.astype(np.float32)
    raise ValueError(name)


def correlations(X, Z, n_pairs=200_000, seed=0):
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(X), size=(2, n_pairs))
    keep = i != j
    i, j = i[keep], j[keep]
    original = np.linalg.norm(X[i] - X[j], axis=1)
    embedded = np.linalg.norm(Z[i] - Z[j], axis=1)
    return (
        float(scipy.stats.spearmanr(original, embedded)[0]),
        float(scipy.stats.pearsonr(original, embedded)[0]),
    )


def fitters(peers):
    out = {}

    def skmde_recipe(X):
        import skmde

        return skmde.preserve_distances(X, random_state=0).embed().numpy()

    def skmde_estimator(X):
        import skmde

        return skmde.MDEDistances(random_state=0).fit_transform(X)

    out["skmde preserve_distances"] = skmde_recipe
    out["skmde MDEDistances"] = skmde_estimator
    if "PyMDE" in peers and importlib.util.find_spec("pymde"):

        def pymde_fit(X):
            import pymde

            pymde.seed(0)
            return pymde.preserve_distances(X, embedding_dim=2).embed().cpu().numpy()

        out["PyMDE preserve_distances"] = pymde_fit
    if "MDS" in peers:

        def mds(X):
            from sklearn.manifold import MDS

            return MDS(n_components=2, n_init=1, random_state=0).fit_transform(X)

        out["sklearn MDS (n_init=1)"] = mds
    if "Isomap" in peers:

        def isomap(X):
            from sklearn.manifold import Isomap

            return Isomap(n_components=2).fit_transform(X)

        out["Isomap"] = isomap
    if "PCA" in peers:

        def pca(X):
            from sklearn.decomposition import PCA

            return PCA(2).fit_transform(X)

        out["PCA"] = pca
    return out


SLOW = {"PyMDE preserve_distances", "sklearn MDS (n_init=1)", "Isomap"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=["digits", "scurve"])
    parser.add_argument("--peers", nargs="*", default=["PyMDE", "MDS", "Isomap", "PCA"])
    parser.add_argument(
        "--skip-slow-above",
        type=int,
        default=10000,
        help="run PyMDE and MDS, and Isomap's transform, only on datasets this small",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(machine())
    rows = []
    for name in args.datasets:
        X = dataset(name)
        print(f"{name}: {X.shape}", flush=True)
        for method, fit in fitters(args.peers).items():
            if method in SLOW and len(X) > args.skip_slow_above:
                continue
            if method not in SLOW:
                fit(X)  # warm-up
            start = time.perf_counter()
            try:
                Z = fit(X)
            except (MemoryError, RuntimeError) as error:  # e.g. pairs x features
                rows.append({"data": name, "method": method, "fit (s)": "failed"})
                print(f"  {method}: failed ({str(error).splitlines()[0][:120]})")
                continue
            seconds = time.perf_counter() - start
            spearman, pearson = correlations(X, Z)
            rows.append(
                {
                    "data": name,
                    "method": method,
                    "fit (s)": seconds,
                    "Spearman": spearman,
                    "Pearson": pearson,
                    "peak MB": peak_rss_mb(),
                }
            )
            print(f"  {method}: {seconds:.2f} s, Spearman {spearman:.4f}", flush=True)
        ref = next(
            (
                r
                for r in rows
                if r["data"] == name and r["method"] == "PyMDE preserve_distances"
            ),
            None,
        )
        for r in rows:
            if (
                ref is not None
                and isinstance(ref["fit (s)"], float)
                and r["data"] == name
                and r["method"].startswith("skmde")
            ):
                r["/ PyMDE"] = r["fit (s)"] / ref["fit (s)"]
    print(
        table(
            rows,
            ["data", "method", "fit (s)", "/ PyMDE", "Spearman", "Pearson", "peak MB"],
        )
    )

    # held-out rows: MDEDistances.transform against Isomap.transform
    rows = []
    for name in args.datasets:
        X = dataset(name)
        n_fit = int(0.8 * len(X))
        train, new = X[:n_fit], X[n_fit:]
        from sklearn.manifold import Isomap

        import skmde

        models = [("skmde MDEDistances", skmde.MDEDistances(random_state=0))]
        if "Isomap" in args.peers and len(X) <= args.skip_slow_above:
            models.append(("Isomap", Isomap(n_components=2)))
        for method, model in models:
            model.fit(train)
            start = time.perf_counter()
            Z_new = model.transform(new)
            seconds = time.perf_counter() - start
            Z = np.vstack([model.embedding_, Z_new])
            spearman, pearson = correlations(X, Z)
            rows.append(
                {
                    "data": name,
                    "method": method,
                    "transform (s)": seconds,
                    "Spearman (all rows)": spearman,
                    "Pearson": pearson,
                }
            )
    print(
        table(
            rows, ["data", "method", "transform (s)", "Spearman (all rows)", "Pearson"]
        )
    )


if __name__ == "__main__":
    main()
