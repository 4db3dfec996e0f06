"""skmde against its peers: time, memory and quality, dataset by dataset.

Every (method, dataset) pair runs in a fresh Python process, which measures

* the cold fit: from before the method's import to the end of its first fit
  (imports, JIT compilation and all);
* the warm fit: a second fit in the same process (the median of ``--repeats``);
* the peak resident memory of the process;
* the quality of the warm fit: trustworthiness at k = 10 on a fixed subsample
  of 5,000 and 5-fold 10-NN accuracy of the labels (on a 20,000 subsample for
  larger datasets);
* for skmde, the time of the warm fit's stages (kNN, init, solve, other).

skmde's fit is ``MDENeighbors(random_state=seed).fit_transform(X)``, the
estimator with its defaults, everything its ``fit`` does included: the
``preserve_neighbors`` problem, solved for the estimator's default ``max_iter``
in its two phases (``refine``; the work of PyMDE's
``preserve_neighbors(X).embed()``, whose solver runs 300 iterations;
``benchmarks/bench_iterations.py`` shows quality against iterations).

The table is printed, and written as JSON and as a PNG plot to ``--out``.

    python benchmarks/compare.py --datasets digits mnist10k --peers PyMDE UMAP
    python benchmarks/compare.py --datasets blobs70k --peers PyMDE UMAP PaCMAP
    python benchmarks/compare.py --datasets blobs1m --peers   # skmde only
    python benchmarks/compare.py --skmde-python /path/to/venv/bin/python

``--skmde-python`` runs skmde's fits with another interpreter (its own
environment; the peers keep this one). The ``torch`` column shows which torch
each torch-based method ran on: on our test machine the CPU kernels of torch
2.14.1 for CUDA 13 (PyPI's default wheel) compute ``expm1`` (in PyMDE's
default repulsive penalty; skmde takes it from NumPy) about 9 times slower
than the 2.13.0 CPU-only wheel, so compare skmde with PyMDE on the same torch.

Datasets: ``digits`` (scikit-learn, 1,797 x 64), ``mnist10k`` (the MNIST test
set from ../shared/data), ``blobs70k`` (``make_blobs(70000, 784, centers=10,
cluster_std=4.0, random_state=0)``, shaped like MNIST) and ``blobs1m``
(``make_blobs(1000000, 50, centers=20, cluster_std=3.0, random_state=0)``).
"""

import argparse
import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DATASETS = ("digits", "mnist10k", "blobs70k", "blobs1m")
PEERS = ("PyMDE", "UMAP", "openTSNE", "PaCMAP")


def make_dataset(name):
    import numpy as np

    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    elif name == "mnist10k":
        from _common import load_mnist10k

        X, y = load_mnist10k()
    elif name == "blobs70k":
        from sklearn.datasets import make_blobs

        X, y = make_blobs(70000, 784, centers=10, cluster_std=4.0, random_state=0)
    elif name == "blobs1m":
        from sklearn.datasets import make_blobs

        X, y = make_blobs(1_000_000, 50, centers=20, cluster_std=3.0, random_state=0)
    else:
        raise ValueError(f"unknown dataset {name!r}")
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)


# -- the worker: one method on one dataset, in its own process ---------------------
@contextlib.contextmanager
def stage_timer(stages):
    """Time the stages of an ``MDENeighbors`` fit into ``stages``: the
    recipe's own timings of the neighbour search and the initialization
    (``_common.recorded_stages``), the solve, and the rest of the fit
    ("other": the graph's weights, the repulsive sample, the estimator's
    bookkeeping), by wrapping the solve the estimator calls (measurement
    only; restored on exit)."""
    from _common import recorded_stages

    from skmde import _base

    solve = _base._refine.solve
    seconds = {}

    def timed_solve(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return solve(*args, **kwargs)
        finally:
            seconds["solve"] = time.perf_counter() - begin

    _base._refine.solve = timed_solve
    begin = time.perf_counter()
    try:
        with recorded_stages(seconds):
            yield
    finally:
        total = time.perf_counter() - begin
        _base._refine.solve = solve
        # (NaN where a failed fit never reached a stage: its error goes on)
        found = {
            key: seconds.get(key, float("nan")) for key in ("knn", "init", "solve")
        }
        stages.update(found, other=total - sum(found.values()))


def worker(method, data_path, repeats, seed):
    start = time.perf_counter()
    import numpy as np
    from _common import peak_rss_mb, quality

    loaded = np.load(data_path)
    X, y = loaded["X"], loaded["y"]
    load_time = time.perf_counter() - start

    stages = {}

    def fit():
        if method == "skmde":
            import skmde

            model = skmde.MDENeighbors(random_state=seed)
            with stage_timer(stages):
                return model.fit_transform(X)
        from _peers import METHODS

        return METHODS[method][1](X, seed)

    begin = time.perf_counter()
    fit()
    cold = time.perf_counter() - begin
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        Z = fit()
        times.append(time.perf_counter() - begin)
    result = {
        "method": method,
        "cold fit (s)": cold,
        "warm fit (s)": float(np.median(times)),
        "load (s)": load_time,
    }
    result.update({f"{k} (s)": v for k, v in stages.items()})
    result.update(quality(X, Z, y))
    result["peak memory (MB)"] = peak_rss_mb()
    if "torch" in sys.modules:
        result["torch"] = sys.modules["torch"].__version__
    print("RESULT " + json.dumps(result), flush=True)


def run(method, dataset, data_path, repeats, seed, timeout, python=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    if python is not None:  # another environment: skmde from this checkout
        env["PYTHONPATH"] = os.pathsep.join(
            [str(HERE.parent), env.get("PYTHONPATH", "")]
        )
    try:
        completed = subprocess.run(
            [
                python or sys.executable,
                __file__,
                "--worker",
                method,
                "--data-path",
                data_path,
                "--repeats",
                str(repeats),
                "--seed",
                str(seed),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"method": method, "dataset": dataset, "error": f"over {timeout} s"}
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
            result["dataset"] = dataset
            return result
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["?"]
    return {"method": method, "dataset": dataset, "error": tail[0][:80]}


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in results))
    methods = list(dict.fromkeys(r["method"] for r in results))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(len(methods), 1)
    for i, method in enumerate(methods):
        for ax, key in zip(axes, ("warm fit (s)", "trust@10")):
            values = [
                next(
                    (
                        r.get(key)
                        for r in results
                        if r["method"] == method and r["dataset"] == d and key in r
                    ),
                    0,
                )
                for d in datasets
            ]
            ax.bar(
                [j + i * width for j in range(len(datasets))],
                values,
                width,
                label=method,
            )
    for ax, title in zip(axes, ("warm fit time (s, log scale)", "trustworthiness@10")):
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(datasets))], datasets)
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[1].set_ylim(0.8, 1.0)
    axes[1].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="*", default=["digits", "mnist10k"], choices=DATASETS
    )
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=PEERS)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--skmde-python", help="interpreter for skmde's fits")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data-path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data_path, args.repeats, args.seed)
        return

    import numpy as np
    from _common import machine, table
    from _peers import available

    methods = list(available(["skmde", *args.peers]))
    print(f"methods: {', '.join(methods)}; {machine()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            X, y = make_dataset(dataset)
            path = os.path.join(tmp, f"{dataset}.npz")
            np.savez(path, X=X, y=y)
            print(f"{dataset}: {X.shape[0]} x {X.shape[1]}", flush=True)
            for method in methods:
                result = run(
                    method,
                    dataset,
                    path,
                    args.repeats,
                    args.seed,
                    args.timeout,
                    args.skmde_python if method == "skmde" else None,
                )
                results.append(result)
                shown = result.get("error") or f"{result['warm fit (s)']:.2f} s warm"
                print(f"  {method}: {shown}", flush=True)
    for dataset in args.datasets:
        rows = [r for r in results if r["dataset"] == dataset and "error" not in r]
        ref = {r["method"]: r["warm fit (s)"] for r in rows}
        for r in rows:
            for peer in ("PyMDE", "UMAP", "PaCMAP"):
                if peer in ref and r["method"] == "skmde":
                    r[f"/ {peer}"] = r["warm fit (s)"] / ref[peer]
    columns = [
        "dataset",
        "method",
        "warm fit (s)",
        "cold fit (s)",
        "/ PyMDE",
        "/ UMAP",
        "/ PaCMAP",
        "knn (s)",
        "init (s)",
        "solve (s)",
        "other (s)",
        "peak memory (MB)",
        "trust@10",
        "10-NN acc",
        "torch",
        "error",
    ]
    print(table(results, columns))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = "-".join(args.datasets)
    (out / f"compare-{stamp}.json").write_text(
        json.dumps({"machine": machine(), "results": results}, indent=2)
    )
    with contextlib.suppress(ImportError):
        plot([r for r in results if "error" not in r], out / f"compare-{stamp}.png")
    print(f"written: {out / f'compare-{stamp}.json'} and .png")


if __name__ == "__main__":
    main()
