"""
Quickstart: embed handwritten digits with MDENeighbors
======================================================

:class:`skmde.MDENeighbors` is a scikit-learn transformer: ``fit_transform``
embeds the training samples, ``transform`` places new samples against that
embedding without moving it. Here it embeds 1,500 of scikit-learn's 8 x 8
digits and then 297 held-out ones.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from skmde import MDENeighbors

X, y = load_digits(return_X_y=True)
X_train, y_train, X_new, y_new = X[:1500], y[:1500], X[1500:], y[1500:]

model = MDENeighbors(random_state=0)
embedding = model.fit_transform(X_train)
new_points = model.transform(X_new)
print(f"{model.n_iter_} iterations, {model.n_neighbors_} neighbours per sample")

# %%
# Held-out digits land among training digits of their class: a 10-NN
# classifier trained on the embedding scores them.
knn = KNeighborsClassifier(10).fit(embedding, y_train)
print(f"10-NN accuracy of the transformed digits: {knn.score(new_points, y_new):.3f}")
print(f"neighbourhood preservation (score): {model.score(X_new):.3f}")

# %%
ax = model.plot(
    color_by=y_train, color_map="tab10", marker_size=4, figsize_inches=(7, 7)
)
ax.scatter(
    new_points[:, 0], new_points[:, 1], c="k", marker="x", s=12, label="transformed"
)
ax.set_title("digits: 1,500 fitted (colour) and 297 transformed (black)")
plt.show()
