"""The solver's compiled loops over pairs sorted by their first item and over
the same pairs in cache-sized tiles (``skmde._pairs.cache_tile``).

For each number of items: 30 random pairs per item, in a 2-d float32
embedding; one pass of the two loops the objective runs (the gathers with
the distances, then the scatter into the gradient), in chunks as the solver
runs them, one thread. The orders alternate in one process over
``--rounds`` rounds; the table gives medians and their ratio, and the cost
of putting the pairs in tiles once (``tile_order``), per pair.

    python benchmarks/bench_tiles.py [--items 70000 250000 1000000] [--rounds 3]
"""

import argparse
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from _common import machine, table

from skmde import _pairs, _problem
from skmde._utils import load_kernels

PAIRS_PER_ITEM = 30


def one_pass(kernels, X, G, tail, head, scratch):
    """The objective's two loops over every pair, chunk by chunk."""
    begin = time.perf_counter()
    for start in range(0, len(tail), _problem.CHUNK_EDGES):
        t = tail[start : start + _problem.CHUNK_EDGES]
        h = head[start : start + _problem.CHUNK_EDGES]
        diff, distances = kernels.differences(X, t, h, scratch)
        kernels.accumulate(G, diff, distances, t, h)
    return time.perf_counter() - begin


def measure(n, rounds, rng):
    kernels = load_kernels()
    X = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    G = torch.zeros_like(X)
    pairs = _pairs.sample_pairs(n, PAIRS_PER_ITEM * n, rng)
    # (the recipes keep the sorted order up to one tile's items: shown anyway)
    tile = _pairs.cache_tile(n, 2 * 2 * X.element_size()) or n
    begin = time.perf_counter()
    order = _pairs.tile_order(pairs, n, tile)
    ordering = time.perf_counter() - begin
    orders = {"sorted": pairs, "tiles": pairs[order]}
    edges = {
        name: [torch.from_numpy(p[:, c].astype(np.int32)) for c in (0, 1)]
        for name, p in orders.items()
    }
    scratch = torch.empty(_problem.CHUNK_EDGES, 2)
    seconds = {name: [] for name in edges}
    for tail, head in edges.values():  # a first pass of each: warm-up
        one_pass(kernels, X, G, tail, head, scratch)
    for _ in range(rounds):
        for name, (tail, head) in edges.items():
            seconds[name].append(one_pass(kernels, X, G, tail, head, scratch))
    sorted_s, tiles_s = np.median(seconds["sorted"]), np.median(seconds["tiles"])
    return {
        "items": n,
        "pairs": len(pairs),
        "tile": tile,
        "sorted (s)": float(sorted_s),
        "tiles (s)": float(tiles_s),
        "ratio": float(tiles_s / sorted_s),
        "tiles all (s)": " ".join(f"{s:.3f}" for s in seconds["tiles"]),
        "sorted all (s)": " ".join(f"{s:.3f}" for s in seconds["sorted"]),
        "ordering (ns/pair)": 1e9 * ordering / len(pairs),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--items", type=int, nargs="+", default=[70_000, 250_000, 1_000_000]
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(machine(), "(the loops run on one thread)")
    rng = np.random.default_rng(0)
    rows = [measure(n, args.rounds, rng) for n in args.items]
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
