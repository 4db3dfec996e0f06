"""Pictures of large embeddings, each in a fresh process (wall clock of the
whole process: start-up, loading the points, drawing, writing the file).

1. A static PNG of n points in 10 classes: density shading (the default
   above 100,000 points) against one marker per point (``density=False``).
2. An interactive page (``interactive=True``): seconds and HTML size.
3. ``skmde --help``.

    python benchmarks/bench_plot.py [--repeats 3] [--sizes 100000 1000000]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import table

SCRIPT = """
import numpy as np, skmde
X = np.load({points!r}); y = np.load({labels!r})
skmde.plot(X, color_by=y, savepath={out!r}, **{kwargs!r})
"""


def points(n, folder):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=n)
    centres = 6 * rng.normal(size=(10, 2))
    spread = np.where(y % 2, 0.6, 1.2)[:, None]
    X = (centres[y] + spread * rng.normal(size=(n, 2))).astype(np.float32)
    paths = os.path.join(folder, f"X{n}.npy"), os.path.join(folder, f"y{n}.npy")
    np.save(paths[0], X)
    np.save(paths[1], y)
    return paths


def whole_process(code, repeats):
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL
        )
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            X, y = points(n, folder)
            for name, kwargs, suffix in (
                ("PNG, density-shaded", {"density": True}, ".png"),
                ("PNG, one marker per point", {"density": False}, ".png"),
                ("HTML, interactive", {"interactive": True}, ".html"),
            ):
                out = os.path.join(folder, "out" + suffix)
                code = SCRIPT.format(points=X, labels=y, out=out, kwargs=kwargs)
                seconds = whole_process(code, args.repeats)
                rows.append(
                    {
                        "points": f"{n:,}",
                        "picture": name,
                        "seconds": seconds,
                        "file MB": os.path.getsize(out) / 1e6,
                    }
                )
        help_seconds = whole_process(
            "import sys; sys.argv = ['skmde', '--help']\n"
            "from skmde.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass",
            args.repeats,
        )
    print(f"{os.cpu_count()} CPUs; median of {args.repeats} fresh processes")
    print(table(rows, ["points", "picture", "seconds", "file MB"]))
    print(f"\nskmde --help: {help_seconds:.2f} s")


if __name__ == "__main__":
    main()
