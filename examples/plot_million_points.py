"""
A million points, shaded by density
===================================

Drawing each of a million points gives saturated blobs: the dense core of a
cluster and its thin halo look alike, and the class drawn last hides the
others. Above 100,000 points ``skmde.plot`` shades by density instead: each
pixel shows the mean colour of the points that fall in it, and its opacity
grows with their number on a log scale, so cores, halos and mixing zones all
stay visible. The whole picture takes about a second (see
:doc:`/performance`).
"""

import time

import numpy as np

import skmde

# %%
# A million 2-d points in ten classes of different spreads, standing in for
# the embedding of a large dataset.
rng = np.random.default_rng(0)
labels = rng.integers(0, 10, size=1_000_000)
centres = 6 * rng.normal(size=(10, 2))
spread = np.where(labels % 2, 0.6, 1.2)[:, None]
points = (centres[labels] + spread * rng.normal(size=(1_000_000, 2))).astype(np.float32)

start = time.perf_counter()
ax = skmde.plot(points, color_by=labels, title="class")
print(
    f"density-shaded plot of {len(points):,} points in "
    f"{time.perf_counter() - start:.2f} s"
)

# %%
# ``density=False`` forces one marker per point (slow and saturated here);
# ``density=True`` shades smaller embeddings too. Values instead of labels
# are averaged per pixel through the colour map:
ax = skmde.plot(points, color_by=np.linalg.norm(points, axis=1), title="radius")
