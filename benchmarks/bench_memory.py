"""Resident memory of one ``MDENeighbors`` fit, stage by stage.

Fits ``make_blobs(n, 50, centers=20, cluster_std=3.0, random_state=0)`` (float32)
in this process, samples the resident set size every 50 ms, and prints it
with the peak so far at each of skmde's log messages (neighbour search,
initialization, problem built, end of the fit), at the start and end of each
solver phase and after the final average distortion.

    python benchmarks/bench_memory.py [--rows 200000] [key=value ...]

``key=value`` pairs are ``MDENeighbors`` settings (``max_iter=100``).
"""

import argparse
import logging
import os
import threading
import time


def rss_gb():
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1e6
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("settings", nargs="*", help="MDENeighbors key=value")
    args = parser.parse_args()
    import numpy as np
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(args.rows, 50, centers=20, cluster_std=3.0, random_state=0)
    X = X.astype(np.float32)
    peak = [0.0]

    def sample():
        while True:
            peak[0] = max(peak[0], rss_gb())
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()

    def report(what):
        print(
            f"rss {rss_gb():.2f} GB, peak so far {peak[0]:.2f} GB | {what}", flush=True
        )

    class Handler(logging.Handler):
        def emit(self, record):
            report(f"{record.relativeCreated / 1000:.1f} s {record.getMessage()[:70]}")

    import skmde
    from skmde import _problem

    embed, average = _problem.MDE.embed, _problem.MDE.average_distortion

    def logged_embed(self, *a, **k):
        report("solver phase starts")
        result = embed(self, *a, **k)
        report("solver phase ends")
        return result

    def logged_average(self, *a, **k):
        result = average(self, *a, **k)
        report("average distortion computed")
        return result

    _problem.MDE.embed, _problem.MDE.average_distortion = logged_embed, logged_average
    log = logging.getLogger("skmde")
    log.setLevel(logging.INFO)
    log.addHandler(Handler())
    settings = {}
    for item in args.settings:
        key, value = item.split("=")
        settings[key] = float(value) if "." in value else int(value)
    report(f"data {X.shape} loaded")
    skmde.MDENeighbors(random_state=0, **settings).fit(X)
    report("fit done")


if __name__ == "__main__":
    main()
