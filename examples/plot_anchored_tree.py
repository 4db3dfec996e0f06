"""
A binary tree with its leaves pinned to a circle
================================================

An MDE problem built by hand: the edges of a binary tree with a quadratic
penalty, and an :class:`skmde.Anchored` constraint that pins the 128 leaves to
a circle of radius 20. ``embed(snapshot_every=...)`` records the iterates and
``play`` turns them into an animated GIF.
"""

import math

import matplotlib.pyplot as plt
import torch

import skmde

depth = 7
n_items = 2 ** (depth + 1) - 1
edges = torch.tensor([[(i - 1) // 2, i] for i in range(1, n_items)])
leaves = torch.arange(2**depth - 1, n_items)
angles = torch.linspace(0, 2 * math.pi, len(leaves) + 1)[:-1]
circle = 20 * torch.stack([angles.cos(), angles.sin()], dim=1)

mde = skmde.MDE(
    n_items,
    embedding_dim=2,
    edges=edges,
    distortion_function=skmde.penalties.Quadratic(torch.ones(len(edges))),
    constraint=skmde.Anchored(leaves, circle),
)
X = mde.embed(snapshot_every=2, random_state=0)
print(f"{mde.solve_stats.iterations} iterations, {mde.solve_stats.message}")
print("leaves on the circle:", bool(torch.equal(X[leaves], circle)))

# %%
# The GIF, one frame per snapshot (written next to this script):
gif = mde.play(
    edges=edges, marker_size=10, figsize_inches=(5, 5), savepath="anchored_tree.gif"
)
print("wrote", gif, "with", len(mde.solve_stats.snapshots), "frames")

# %%
# The final frame:
mde.plot(edges=edges, marker_size=10, figsize_inches=(6, 6))
plt.title("the tree grows inward from its anchored leaves")
plt.show()
