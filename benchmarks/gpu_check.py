"""The 70,000 x 784 problem of compare.py on a GPU: stage timings.

Builds ``make_blobs(70000, 784, centers=10, cluster_std=4.0, random_state=0)``,
runs ``preserve_neighbors`` with ``device="cuda"`` (the neighbour search on the
CPU, the solve on the GPU), twice, and prints the stages of the second run,
beside the same solve on the CPU when ``--cpu`` is given.

    python benchmarks/gpu_check.py [--cpu] [--n 70000]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import make_blobs

import skmde


def run(X, device):
    mde, info = skmde.recipes.neighbor_problem(X, random_state=0, device=device)
    if device != "cpu":
        torch.cuda.synchronize()
    start = time.perf_counter()
    Z = mde.embed()
    if device != "cpu":
        torch.cuda.synchronize()
    solve = time.perf_counter() - start
    return {
        "device": device,
        "knn (s)": info.timings["knn"],
        "init (s)": info.timings["init"],
        "solve (s)": solve,
        "iterations": mde.solve_stats.iterations,
        "edges": mde.n_edges,
        "ms / iteration": 1e3 * solve / max(mde.solve_stats.iterations, 1),
        "average distortion": float(mde.average_distortion()),
        "finite": bool(torch.isfinite(Z).all()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=70000)
    parser.add_argument("--cpu", action="store_true", help="also time the CPU")
    args = parser.parse_args()
    X, _ = make_blobs(args.n, 784, centers=10, cluster_std=4.0, random_state=0)
    X = X.astype(np.float32)
    print(
        f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}, "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else '-'}; "
        f"{torch.get_num_threads()} CPU threads"
    )
    devices = (["cuda"] if torch.cuda.is_available() else []) + (
        ["cpu"] if args.cpu or not torch.cuda.is_available() else []
    )
    for device in devices:
        run(X, device)  # warm-up
        result = run(X, device)
        print(
            "  ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in result.items()
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
