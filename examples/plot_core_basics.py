"""
The MDE core: edges, a distortion function and a constraint
===========================================================

This example builds an MDE problem by hand, the way PyMDE's tutorial does:
first the tutorial's five items, then a generated dataset (three Gaussian
blobs in 10 dimensions) whose nearest-neighbour pairs become edges with a
quadratic penalty under the standardization constraint.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

import skmde

# %%
# Five items, four weighted edges
# -------------------------------
edges = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3]])
weights = torch.tensor([1.0, 2.0, 5.0, 6.0])
mde = skmde.MDE(
    n_items=5,
    embedding_dim=2,
    edges=edges,
    distortion_function=skmde.penalties.Quadratic(weights),
    constraint=skmde.Standardized(),
)
X = mde.embed(random_state=0)
print(mde)
print("covariance (1/n) X^T X =\n", (X.T @ X / mde.n_items).numpy().round(4))
print("average distortion:", round(float(mde.average_distortion()), 4))


# %%
# Any differentiable torch function works as a distortion function:
def quadratic(distances):
    return weights * distances.pow(2)


custom = skmde.MDE(5, 2, edges, quadratic, skmde.Standardized())
custom.embed(random_state=0)
print(
    "same optimum with a custom callable:", round(float(custom.average_distortion()), 4)
)

# %%
# A generated dataset: neighbours attract, the constraint spreads items out
# -------------------------------------------------------------------------
data, labels = make_blobs(n_samples=600, n_features=10, centers=3, random_state=0)
neighbors = NearestNeighbors(n_neighbors=11).fit(data).kneighbors(return_distance=False)
pairs = np.sort(
    np.column_stack([np.repeat(np.arange(600), 10), neighbors[:, :10].ravel()]), axis=1
)
pairs = np.unique(pairs, axis=0)
blobs = skmde.MDE(
    600,
    2,
    pairs,
    skmde.penalties.Quadratic(torch.ones(len(pairs))),
    skmde.Standardized(),
)
embedding = blobs.embed(random_state=0).numpy()
stats = blobs.solve_stats
print(f"{len(pairs)} edges, {stats.iterations} iterations, {stats.message}")

skmde.plot(
    embedding, color_by=labels, color_map="tab10", marker_size=6, figsize_inches=(6, 6)
)
plt.title("three blobs: a Laplacian eigenmap solved as an MDE problem")
plt.show()
