"""
Preserving distances: an S-curve
================================

:class:`skmde.MDEDistances` (the recipe :func:`skmde.preserve_distances`)
embeds samples so that their pairwise distances match the original ones as
well as possible. The S-curve is a 2-D sheet bent in 3-D: a distance-preserving
embedding cannot unroll it (that would stretch Euclidean distances) but keeps
its shape seen from the side.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
from sklearn.datasets import make_s_curve

from skmde import MDEDistances

X, color = make_s_curve(1500, random_state=0)
model = MDEDistances(random_state=0)
Z = model.fit_transform(X)

rng = np.random.default_rng(0)
i, j = rng.integers(0, len(X), size=(2, 20000))
original = np.linalg.norm(X[i] - X[j], axis=1)
embedded = np.linalg.norm(Z[i] - Z[j], axis=1)
print(
    f"Spearman correlation of distances: "
    f"{scipy.stats.spearmanr(original, embedded)[0]:.4f}"
)

# %%
model.plot(color_by=color, marker_size=5, figsize_inches=(6, 6))
plt.title("S-curve, distances preserved")
plt.show()
