"""Helpers shared by the benchmark scripts (not part of the package)."""

import contextlib
import gc
import os
import pathlib
import resource
import statistics
import time

SHARED_MNIST = (
    pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
)


def load_mnist10k(path=None):
    """MNIST-10k (the test set) as float32 (n, 784) data and int labels."""
    from skmde.datasets import load_mnist

    folder = pathlib.Path(path) if path else SHARED_MNIST.resolve()
    bunch = load_mnist(folder, subset="test", download=False)
    return bunch.data, bunch.target


def timed(fn, *args, repeats=1, **kwargs):
    """Run fn repeats times; return (median seconds, all seconds, last result)."""
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def peak_rss_mb():
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows, columns):
    """Format rows (dicts) as a plain-text table with the given columns."""
    cells = [[_fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def _fmt(value):
    if isinstance(value, float):
        # counts and rates in the thousands read better whole, with separators
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
    return str(value)


def machine():
    import torch

    return (
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads"
    )


def quality(data, embedding, labels=None, n_sub=5000, seed=0, max_rows=20000):
    """Trustworthiness at k=10 on a fixed subsample and 5-fold 10-NN accuracy.

    Data of more than ``max_rows`` rows is scored on a fixed subsample of
    ``max_rows`` (the cross-validated accuracy is slow beyond).
    """
    import numpy as np
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    if len(data) > max_rows:
        rows = np.random.default_rng(seed).choice(len(data), max_rows, replace=False)
        data, embedding = data[rows], embedding[rows]
        labels = None if labels is None else labels[rows]
    rng = np.random.default_rng(seed)
    n = len(data)
    sub = rng.choice(n, min(n, n_sub), replace=False)
    out = {"trust@10": trustworthiness(data[sub], embedding[sub], n_neighbors=10)}
    if labels is not None:
        out["10-NN acc"] = cross_val_score(
            KNeighborsClassifier(10), embedding, labels, cv=5
        ).mean()
    return out


@contextlib.contextmanager
def recorded_stages(timings):
    """Record into ``timings`` the recipe's stage timings of each
    ``neighbor_problem`` build (``knn``, ``init``; and ``build``, the whole
    build) while the block runs, by wrapping the function the estimators
    call (measurement only; restored on exit)."""
    from skmde import recipes

    real = recipes.neighbor_problem

    def recording(*args, **kwargs):
        start = time.perf_counter()
        mde, plan = real(*args, **kwargs)
        timings.update(plan.timings, build=time.perf_counter() - start)
        return mde, plan

    recipes.neighbor_problem = recording
    try:
        yield timings
    finally:
        recipes.neighbor_problem = real
