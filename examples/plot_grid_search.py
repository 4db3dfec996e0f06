"""
Choosing penalties with GridSearchCV
====================================

:meth:`MDENeighbors.score` measures how well ``transform`` keeps each held-out
sample's 10 nearest training samples; it does not depend on the penalty, so
``GridSearchCV`` can compare penalties and their hyperparameters without a
scoring argument. Penalties are given by name, class, or factory.
"""

import functools

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skmde import MDENeighbors, penalties

X, _ = load_digits(return_X_y=True)
grid = GridSearchCV(
    MDENeighbors(random_state=0, max_iter=150),
    {
        "attractive_penalty": [
            "log1p",
            penalties.Huber,
            functools.partial(penalties.Log1p, exponent=1.2),
        ],
        "n_neighbors": [10, 15],
    },
    cv=3,
)
grid.fit(X[:900])
for params, mean in zip(
    grid.cv_results_["params"], grid.cv_results_["mean_test_score"]
):
    penalty = params["attractive_penalty"]
    label = getattr(penalty, "__name__", None) or repr(penalty)
    print(f"{label[:40]:<40} k={params['n_neighbors']:<3} score {mean:.3f}")
print("best:", grid.best_params_)
