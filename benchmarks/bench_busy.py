"""Fit times on a quiet machine and beside one busy process.

The benchmark starts its own busy process (a pure-Python loop: one core
taken, as by a notebook computing, a browser, or another fit) and fits
``MDENeighbors`` on digits and MNIST-10k, warm, in this process. Each round
fits every setting once, in turn, so that a change of load hits them alike:

* ``n_jobs=None``: the default (torch's threads, adapted to the load);
* ``n_jobs=1``: one thread;
* ``n_jobs=2``: two threads, fixed (0.1's default on this machine).

It prints each setting's median and worst of the rounds, and the ratio of
the busy to the quiet median of the default.

    python benchmarks/bench_busy.py [--rounds 5] [--datasets digits mnist10k]
"""

import argparse
import statistics
import subprocess
import sys
import time

from sklearn.datasets import load_digits

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import load_mnist10k, machine, table

SETTINGS = (None, 1, 2)


def fit_seconds(X, n_jobs):
    import skmde

    start = time.perf_counter()
    skmde.MDENeighbors(random_state=0, n_jobs=n_jobs).fit(X)
    return time.perf_counter() - start


def rounds(X, n):
    seconds = {s: [] for s in SETTINGS}
    for _ in range(n):
        for setting in SETTINGS:
            seconds[setting].append(fit_seconds(X, setting))
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist10k"])
    args = parser.parse_args()
    data = {}
    if "digits" in args.datasets:
        data["digits"] = load_digits().data
    if "mnist10k" in args.datasets:
        data["mnist10k"] = load_mnist10k()[0]
    rows = []
    for name, X in data.items():
        fit_seconds(X, None)  # warm: imports, first-call costs
        measured = {}
        for load in ("quiet", "busy"):
            busy = None
            if load == "busy":
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(1.0)
            try:
                measured[load] = rounds(X, args.rounds)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
        quiet = statistics.median(measured["quiet"][None])
        for load in ("quiet", "busy"):
            for setting in SETTINGS:
                times = measured[load][setting]
                rows.append(
                    {
                        "dataset": name,
                        "load": load,
                        "n_jobs": str(setting),
                        "median (s)": statistics.median(times),
                        "worst (s)": max(times),
                        "median / quiet default": statistics.median(times) / quiet,
                        "worst / quiet default": max(times) / quiet,
                        "all (s)": " ".join(f"{t:.2f}" for t in times),
                    }
                )
    print(machine())
    print(
        table(
            rows,
            [
                "dataset",
                "load",
                "n_jobs",
                "median (s)",
                "worst (s)",
                "median / quiet default",
                "worst / quiet default",
                "all (s)",
            ],
        )
    )


if __name__ == "__main__":
    main()
