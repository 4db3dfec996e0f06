"""Fingerprint the estimators' outputs, to show a refactor changed nothing.

Fits MDENeighbors, MDEDistances and MDEEmbedder with fixed seeds on digits,
MNIST-10k (from ../shared/data, skipped when absent) and a 70,000-row Gaussian
mixture, transforms held-out rows, and writes every ``embedding_`` and
``transform`` output to an ``.npz`` file. Run it once on the old code with
``--save ref.npz`` and once on the new code with ``--compare ref.npz``: it
prints, per output, whether the arrays are bit-identical (and the largest
difference when not).

Usage::

    python benchmarks/check_identical.py --save /tmp/before.npz
    python benchmarks/check_identical.py --compare /tmp/before.npz [--skip-large]
"""

import argparse
import time

import numpy as np
from _common import load_mnist10k
from sklearn.datasets import load_digits, make_blobs

import skmde


def cases(skip_large):
    digits = load_digits().data
    yield "digits", digits[:1500], digits[1500:]
    try:
        mnist, _ = load_mnist10k()
        yield "mnist10k", mnist[:9500], mnist[9500:]
    except (FileNotFoundError, OSError):
        print("MNIST-10k not found: skipped")
    if not skip_large:
        X, _ = make_blobs(70500, 50, centers=10, cluster_std=4.0, random_state=0)
        X = X.astype(np.float32)
        yield "blobs70k", X[:70000], X[70000:]


def estimators(name):
    yield "neighbors", skmde.MDENeighbors(random_state=0)
    yield (
        "neighbors-std",
        skmde.MDENeighbors(random_state=1, repulsive_penalty=None, n_neighbors=10),
    )
    if name != "blobs70k":
        yield "distances", skmde.MDEDistances(random_state=0, max_distances=200_000)
        yield (
            "embedder",
            skmde.MDEEmbedder(
                relationships="distances",
                distortion="huber",
                random_state=2,
                max_distances=100_000,
            ),
        )


def fingerprints(skip_large):
    out = {}
    for data_name, train, new in cases(skip_large):
        for est_name, model in estimators(data_name):
            start = time.perf_counter()
            model.fit(train)
            key = f"{data_name}/{est_name}"
            out[key + "/embedding"] = model.embedding_
            out[key + "/transform"] = model.transform(new)
            print(f"{key}: {time.perf_counter() - start:.1f} s", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save")
    group.add_argument("--compare")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    results = fingerprints(args.skip_large)
    if args.save:
        np.savez(args.save, **results)
        return
    reference = np.load(args.compare)
    width = max(len(k) for k in results)
    print(f"{'output'.ljust(width)}  identical  max |diff|")
    for key, value in results.items():
        if key not in reference:
            print(f"{key.ljust(width)}  (no reference)")
            continue
        ref = reference[key]
        same = ref.shape == value.shape and np.array_equal(ref, value)
        diff = np.abs(ref - value).max() if ref.shape == value.shape else np.inf
        print(f"{key.ljust(width)}  {'yes' if same else 'NO':9}  {diff:.3g}")


if __name__ == "__main__":
    main()
