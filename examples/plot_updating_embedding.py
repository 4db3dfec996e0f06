"""
Updating an embedding with new points
=====================================

Two ways to embed new samples without moving the old ones:

* ``MDENeighbors.transform`` places each new sample on its own against the
  fitted embedding (its nearest fitted samples attract it, a few others repel
  it), so the result for a sample never depends on which others come with it;
* the joint re-solve of PyMDE's tutorial: one MDE problem over old and new
  samples together, the old ones pinned with :class:`skmde.Anchored`, so the
  new samples also interact with each other.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

import skmde

X, y = load_digits(return_X_y=True)
n_train = 1400
train, new = X[:n_train], X[n_train:]

model = skmde.MDENeighbors(random_state=0).fit(train)
start = time.perf_counter()
by_transform = model.transform(new)
transform_time = time.perf_counter() - start

start = time.perf_counter()
anchored = skmde.preserve_neighbors(
    np.vstack([train, new]),
    constraint=skmde.Anchored(
        torch.arange(n_train), torch.from_numpy(model.embedding_)
    ),
    random_state=0,
)
by_resolve = anchored.embed().numpy()[n_train:]
resolve_time = time.perf_counter() - start

knn = KNeighborsClassifier(10).fit(model.embedding_, y[:n_train])
for name, Z, seconds in [
    ("transform", by_transform, transform_time),
    ("joint anchored re-solve", by_resolve, resolve_time),
]:
    print(
        f"{name:>24}: {seconds:.2f} s, 10-NN accuracy {knn.score(Z, y[n_train:]):.3f}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
for ax, Z, title in [
    (axes[0], by_transform, "transform"),
    (axes[1], by_resolve, "joint anchored re-solve"),
]:
    ax.scatter(*model.embedding_.T, c="0.85", s=3)
    ax.scatter(*Z.T, c=y[n_train:], cmap="tab10", s=10)
    ax.set_title(title)
plt.show()
