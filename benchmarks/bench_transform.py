"""Out-of-sample embedding on MNIST-10k: fit on 8,000 rows, transform 2,000.

For each method: the time of the second ``transform`` call in the process (warm)
and the accuracy of a 10-NN classifier fitted on the training embedding and
scored on the transformed rows. Peers, when installed: UMAP's ``transform``,
openTSNE's ``transform`` and PyMDE's "updating an embedding" recipe (a joint
re-solve of all 10,000 rows with the 8,000 fitted ones anchored).

    python benchmarks/bench_transform.py [--peers UMAP openTSNE PyMDE]
"""

import argparse
import sys
import warnings

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, table, timed
from _peers import available


def skmde_fit(X, seed):
    import skmde

    model = skmde.MDENeighbors(random_state=seed).fit(X)
    return model.embedding_, model.transform


def umap_fit(X, seed):
    import umap

    model = umap.UMAP(random_state=seed).fit(X)
    return model.embedding_, model.transform


def opentsne_fit(X, seed):
    import openTSNE

    embedding = openTSNE.TSNE(random_state=seed, n_jobs=-1).fit(X)
    return np.asarray(embedding), lambda new: np.asarray(embedding.transform(new))


def pymde_fit(X, seed):
    import pymde
    import torch

    pymde.seed(seed)
    train = torch.as_tensor(X)
    base = pymde.preserve_neighbors(train, embedding_dim=2).embed()

    def resolve(new):
        pymde.seed(seed)
        full = torch.vstack([train, torch.as_tensor(new)])
        mde = pymde.preserve_neighbors(
            full,
            embedding_dim=2,
            constraint=pymde.Anchored(torch.arange(len(train)), base),
        )
        return mde.embed()[len(train) :].cpu().numpy()

    return base.cpu().numpy(), resolve


FITS = {
    "skmde": skmde_fit,
    "UMAP": umap_fit,
    "openTSNE": opentsne_fit,
    "PyMDE": pymde_fit,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", nargs="*", default=["UMAP", "openTSNE", "PyMDE"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    X, y = load_mnist10k(args.data)
    train, new, y_train, y_new = X[:8000], X[8000:], y[:8000], y[8000:]
    print(f"MNIST-10k: fit 8,000, transform 2,000; {machine()}")
    rows = []
    for name in available(["skmde", *args.peers]):
        embedding, transform = FITS[name](train, args.seed)
        transform(new)  # warm-up
        seconds, _, Z = timed(transform, new)
        accuracy = KNeighborsClassifier(10).fit(embedding, y_train).score(Z, y_new)
        rows.append({"method": name, "transform (s)": seconds, "10-NN acc": accuracy})
        print(f"  {name}: {seconds:.3f} s, accuracy {accuracy:.4f}", flush=True)
    reference = next((r for r in rows if r["method"] == "UMAP"), None)
    for row in rows:
        if reference is not None:
            row["time / UMAP"] = row["transform (s)"] / reference["transform (s)"]
    print(table(rows, ["method", "transform (s)", "time / UMAP", "10-NN acc"]))


if __name__ == "__main__":
    main()
