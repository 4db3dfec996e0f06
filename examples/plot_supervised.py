"""
Supervised and semi-supervised embeddings
=========================================

``MDENeighbors.fit(X, y)`` with a positive ``target_weight`` lets labels shape
the embedding: neighbours from different classes attract less, classes repel
each other more, and samples of one class attract a few of their classmates.
``-1`` marks an unlabelled sample, so a few labels can organize many
unlabelled samples.

Below, the same digits are embedded without labels, with all labels, and with
10% of them. The held-out digits (large dots) are placed by ``transform``,
which never sees labels; the accuracy of a 10-NN classifier fitted on the
training embedding and scored on them is in each title. Judge supervised
embeddings on held-out samples: on the training samples, labels make classes
look separate whether or not the features support it.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from skmde import MDENeighbors

X, y = load_digits(return_X_y=True)
rng = np.random.default_rng(0)
order = rng.permutation(len(y))
train, test = order[:1400], order[1400:]

tenth = y[train].copy()
tenth[rng.random(len(train)) >= 0.1] = -1  # 10% of the labels kept

settings = [
    ("no labels", 0.0, None),
    ("all labels, target_weight=0.5", 0.5, y[train]),
    ("10% of the labels, target_weight=0.5", 0.5, tenth),
]

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
for ax, (title, weight, labels) in zip(axes, settings):
    model = MDENeighbors(target_weight=weight, random_state=0)
    Z = model.fit_transform(X[train], labels)
    Z_test = model.transform(X[test])
    knn = KNeighborsClassifier(10).fit(Z, y[train])
    accuracy = knn.score(Z_test, y[test])
    ax.scatter(*Z.T, c=y[train], cmap="tab10", s=2, vmin=0, vmax=9)
    ax.scatter(
        *Z_test.T,
        c=y[test],
        cmap="tab10",
        s=14,
        vmin=0,
        vmax=9,
        edgecolors="k",
        linewidths=0.3,
    )
    ax.set_title(f"{title}\nheld-out 10-NN accuracy {accuracy:.3f}")
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    print(f"{title:>40}: held-out accuracy {accuracy:.3f}")
plt.tight_layout()
plt.show()
