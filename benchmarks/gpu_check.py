"""A 70,000 x 784 fit end to end on a GPU, and transform there.

Builds ``make_blobs(n + new, dim, centers, cluster_std, random_state=0)``
(float32; by default 80,000 x 784, 10 centers, std 4), fits
``MDENeighbors(device=...)`` on the first ``n`` rows (on a GPU after a
warm-up fit on ``--warmup-rows`` rows, all by default: ``--repeats`` timed
fits; on the CPU ``--cpu-repeats``; the whole ``fit``, neighbour search,
init and solve included) and transforms the ``--new`` held-out rows (with
CUDA on the CPU too, for the largest difference). Prints a table per device
(CUDA when available; the CPU with ``--cpu``): median fit and transform
times, the stages of the last fit (kNN and init from the recipe's timings;
solve and the rest by difference), peak memory, and trustworthiness and
10-NN accuracy on a sample. ``--profile`` prints the functions of one more
CUDA fit and transform that took longest. The million rows of issue 19:

    python benchmarks/gpu_check.py [--cpu] [--n 70000] [--new 10000]
    python benchmarks/gpu_check.py --n 1000000 --dim 50 --centers 20 --std 3 \\
        --new 0 --repeats 1 --warmup-rows 5000
"""

import argparse
import cProfile
import pstats
import resource
import statistics
import time
import traceback

import numpy as np
import torch
from _common import quality, recorded_stages, table
from sklearn.datasets import make_blobs

import skmde


def synchronized(fn, device):
    """Seconds of ``fn()`` and its result, with the device's queue drained."""
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def run(X, X_new, y, device, repeats, warmup_rows):
    model = skmde.MDENeighbors(device=device, random_state=0)
    if device != "cpu":  # the CUDA context and kernels
        synchronized(lambda: model.fit(X[:warmup_rows]), device)
    with recorded_stages({}) as timings:
        fits = [synchronized(lambda: model.fit(X), device)[0] for _ in range(repeats)]
    row = {
        "device": device,
        "fit (s)": statistics.median(fits),
        "fits (s)": " ".join(f"{t:.3g}" for t in fits),
        # the stages of the last fit
        "kNN (s)": timings["knn"],
        "init (s)": timings["init"],
        "rest of build (s)": timings["build"] - timings["knn"] - timings["init"],
        "solve and finish (s)": fits[-1] - timings["build"],
        "iterations": model.n_iter_,
        "peak RSS (GB)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        **quality(X, model.embedding_, y, n_sub=5000),
    }
    if device != "cpu":
        row["peak GPU memory (GB)"] = torch.cuda.max_memory_allocated() / 1e9
    if len(X_new) == 0:
        return row
    moves = [
        synchronized(lambda: model.transform(X_new), device)
        for _ in range(max(1, repeats))
    ]
    row[f"transform {len(X_new):,} (s)"] = statistics.median(t for t, _ in moves)
    if device != "cpu":  # the same model's new rows placed on the CPU
        model.set_params(device="cpu")
        seconds, on_cpu = synchronized(lambda: model.transform(X_new), "cpu")
        scale = np.abs(model.embedding_).max()
        row["transform on CPU (s)"] = seconds
        row["max |device - CPU| / scale"] = np.abs(moves[-1][1] - on_cpu).max() / scale
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=70000)
    parser.add_argument("--new", type=int, default=10000, help="rows to transform")
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--centers", type=int, default=10)
    parser.add_argument("--std", type=float, default=4.0, help="cluster_std")
    parser.add_argument(
        "--warmup-rows", type=int, default=None, help="of the GPU's warm-up fit"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed GPU fits")
    parser.add_argument("--cpu-repeats", type=int, default=1)
    parser.add_argument("--cpu", action="store_true", help="also time the CPU")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    data, labels = make_blobs(
        args.n + args.new,
        args.dim,
        centers=args.centers,
        cluster_std=args.std,
        random_state=0,
    )
    data = data.astype(np.float32)
    X, X_new, y = data[: args.n], data[args.n :], labels[: args.n]
    gpu = torch.cuda.is_available()
    print(
        f"torch {torch.__version__}, "
        f"{torch.cuda.get_device_name() if gpu else 'no CUDA device'}; "
        f"{torch.get_num_threads()} CPU threads; X {X.shape}",
        flush=True,
    )
    devices = (["cuda"] if gpu else []) + (["cpu"] if args.cpu or not gpu else [])
    for device in devices:
        try:
            repeats = args.cpu_repeats if device == "cpu" else args.repeats
            row = run(X, X_new, y, device, repeats, args.warmup_rows)
        except Exception:  # report, and go on with the other device
            traceback.print_exc()
            continue
        print(table([row], list(row)), flush=True)
    if args.profile and gpu:
        model = skmde.MDENeighbors(device="cuda", random_state=0)
        steps = [lambda: model.fit(X)] + (
            [lambda: model.transform(X_new)] * bool(args.new)
        )
        for step in steps:
            profile = cProfile.Profile()
            profile.enable()
            step()
            torch.cuda.synchronize()
            profile.disable()
            for order in ("cumulative", "tottime"):
                pstats.Stats(profile).sort_stats(order).print_stats(25)


if __name__ == "__main__":
    main()
