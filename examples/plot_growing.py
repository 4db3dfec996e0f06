"""
Growing a fitted map, and reading it back
=========================================

Two ways to add samples to a fitted embedding, which never moves:

* ``transform`` places each new sample on its own, next to the fitted samples
  it resembles most; a class absent from the fit lands on its look-alikes;
* ``partial_fit`` solves the new samples together, connected to fitted
  samples *and to each other*, so a new class can form its own cluster; the
  model then holds them (later ``transform`` calls see them).

Below, digits are fitted without the 9s, then the 9s are added both ways.
Then ``inverse_transform`` maps points of the embedding back to images: a grid
over the map, decoded.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skmde import MDENeighbors

X, y = load_digits(return_X_y=True)
old, nines = X[y != 9], X[y == 9]

model = MDENeighbors(random_state=0).fit(old)
fitted = model.embedding_.copy()
by_transform = model.transform(nines)
model.partial_fit(nines)
by_partial_fit = model.embedding_[len(old) :]
assert np.array_equal(model.embedding_[: len(old)], fitted)  # never moved

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
for ax, Z, title in [
    (axes[0], by_transform, "9s by transform: on their look-alikes"),
    (axes[1], by_partial_fit, "9s by partial_fit: a cluster of their own"),
]:
    ax.scatter(*fitted.T, c=y[y != 9], cmap="tab10", s=2, vmin=0, vmax=9)
    ax.scatter(*Z.T, c="k", s=8, label="the 9s")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="lower left")
plt.tight_layout()
plt.show()

# %%
# A 6 x 6 grid over the embedding, decoded to images by inverse_transform.
lo, hi = np.percentile(model.embedding_, [5, 95], axis=0)
u, v = np.meshgrid(np.linspace(lo[0], hi[0], 6), np.linspace(hi[1], lo[1], 6))
grid = np.column_stack([u.ravel(), v.ravel()])
images = model.inverse_transform(grid).reshape(-1, 8, 8)

fig = plt.figure(figsize=(11, 5.5))
left = fig.add_subplot(1, 2, 1)
left.scatter(
    *model.embedding_.T,
    c=y[np.r_[np.flatnonzero(y != 9), np.flatnonzero(y == 9)]],
    cmap="tab10",
    s=2,
    vmin=0,
    vmax=9,
)
left.scatter(*grid.T, c="k", marker="+", s=40)
left.set_title("grid points over the embedding")
left.set_aspect("equal")
left.set_xticks([])
left.set_yticks([])
for i, image in enumerate(images):
    ax = fig.add_subplot(6, 12, 12 * (i // 6) + 7 + i % 6)
    ax.imshow(image, cmap="gray_r")
    ax.axis("off")
fig.suptitle("inverse_transform: each grid point decoded to an image")
plt.show()
