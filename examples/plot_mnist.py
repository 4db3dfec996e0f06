"""
MNIST with preserve_neighbors
=============================

The 10,000 MNIST test images (from ``../shared/data`` when this repository sits
beside it, else scikit-learn's digits), embedded with the recipe
:func:`skmde.preserve_neighbors`, which returns the MDE problem: its
``embed()`` computes the embedding, and the problem keeps every diagnostic.
"""

import pathlib
import time

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

import skmde

here = pathlib.Path(globals().get("__file__", "examples/plot_mnist.py")).resolve()
shared = here.parents[1] / ".." / "shared" / "data" / "mnist"
if (shared / "t10k-images-idx3-ubyte.gz").exists():
    mnist = skmde.datasets.load_mnist(shared, download=False)
    X, y, name = mnist.data, mnist.target, "MNIST-10k"
else:
    X, y = load_digits(return_X_y=True)
    name = "digits"

start = time.perf_counter()
mde = skmde.preserve_neighbors(X, random_state=0)
embedding = mde.embed()
print(f"{name}: {X.shape[0]} images embedded in {time.perf_counter() - start:.1f} s")
print(mde)

# %%
skmde.plot(
    embedding, color_by=y, color_map="tab10", marker_size=1, figsize_inches=(7, 7)
)
plt.title(name)
plt.show()
