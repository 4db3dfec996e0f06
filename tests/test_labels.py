"""Labels in fit(X, y): supervised and semi-supervised embeddings."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from skmde import MDEEmbedder, MDENeighbors, preserve_neighbors
from skmde._labels import encode, merge_pairs


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500], y[:500]


def class_separation(Z, y):
    """Mean distance between classes over mean distance within a class."""
    D = squareform(pdist(Z))
    same = y[:, None] == y[None, :]
    within = same & ~np.eye(len(y), dtype=bool)
    return D[~same].mean() / D[within].mean()


def test_weight_zero_ignores_y_bit_for_bit(digits):
    X, y = digits
    plain = MDENeighbors(random_state=0).fit(X).embedding_
    with_y = MDENeighbors(random_state=0).fit(X, y).embedding_
    np.testing.assert_array_equal(plain, with_y)
    # y is not even looked at: a y of the wrong length is ignored too
    ignored = MDENeighbors(random_state=0).fit_transform(X, y[:3])
    np.testing.assert_array_equal(plain, ignored)
    embedder = MDEEmbedder(random_state=0)
    np.testing.assert_array_equal(
        embedder.fit(X).embedding_, MDEEmbedder(random_state=0).fit(X, y).embedding_
    )


def test_full_weight_separates_classes(digits):
    X, y = digits
    plain = class_separation(MDENeighbors(random_state=0).fit_transform(X), y)
    half = class_separation(
        MDENeighbors(random_state=0, target_weight=0.5).fit_transform(X, y), y
    )
    full = class_separation(
        MDENeighbors(random_state=0, target_weight=1.0).fit_transform(X, y), y
    )
    assert plain < half < full
    assert full > 3 * plain
    # classes keep an inner structure: they do not collapse onto points
    Z = MDENeighbors(random_state=0, target_weight=1.0).fit_transform(X, y)
    for label in np.unique(y):
        assert Z[y == label].std(axis=0).min() > 1e-3 * np.abs(Z).max()


def test_all_unlabelled_equals_unsupervised(digits):
    X, y = digits
    plain = MDENeighbors(random_state=0).fit(X).embedding_
    none = MDENeighbors(random_state=0, target_weight=0.7).fit(X, np.full(len(y), -1))
    np.testing.assert_array_equal(plain, none.embedding_)
    nan = MDENeighbors(random_state=0, target_weight=0.7, target_metric="euclidean")
    np.testing.assert_array_equal(plain, nan.fit(X, np.full(len(y), np.nan)).embedding_)


def test_some_labels_pull_their_classes_apart(digits):
    X, y = digits
    partial = y.copy()
    partial[np.random.default_rng(0).random(len(y)) > 0.3] = -1
    plain = class_separation(MDENeighbors(random_state=0).fit_transform(X), y)
    semi = MDENeighbors(random_state=0, target_weight=1.0).fit_transform(X, partial)
    assert class_separation(semi, y) > 1.2 * plain


def test_string_and_categorical_labels_equal_integer_labels(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    ints = MDENeighbors(random_state=0, target_weight=0.5).fit(X, y).embedding_
    # an order-preserving renaming gives the same classes in the same order
    names = np.array([f"digit {v}" for v in y])
    strings = MDENeighbors(random_state=0, target_weight=0.5).fit(X, names)
    np.testing.assert_array_equal(ints, strings.embedding_)
    categorical = pd.Series(pd.Categorical(names))
    cat = MDENeighbors(random_state=0, target_weight=0.5).fit(X, categorical)
    np.testing.assert_array_equal(ints, cat.embedding_)
    # missing values in a categorical mark unlabelled rows, like -1
    partial = y.copy()
    partial[::3] = -1
    with_missing = pd.Series(pd.Categorical(np.where(partial == -1, None, names)))
    np.testing.assert_array_equal(
        MDENeighbors(random_state=0, target_weight=0.5).fit(X, partial).embedding_,
        MDENeighbors(random_state=0, target_weight=0.5).fit(X, with_missing).embedding_,
    )


def test_continuous_targets_order_the_embedding():
    rng = np.random.default_rng(0)
    # a 1-d manifold (t) hidden under four noisy dimensions of larger spread
    t = rng.uniform(0, 1, 400)
    X = np.column_stack([t, 0.9 * rng.normal(size=(400, 4))])
    plain = MDENeighbors(random_state=0).fit_transform(X)
    Z = MDENeighbors(random_state=0, target_weight=0.5).fit_transform(X, t)

    def order(Z, t):
        return max(abs(spearmanr(Z[:, c], t).statistic) for c in range(2))

    assert order(Z, t) > 0.9
    assert order(plain, t) < 0.3
    # NaN marks unlabelled rows: with half the targets known, the labelled
    # rows' embedding neighbours have much closer targets than without
    partial = t.copy()
    partial[::2] = np.nan
    known = ~np.isnan(partial)

    def neighbour_gap(Z):
        D = squareform(pdist(Z[known]))
        nearest = np.argsort(D, axis=1)[:, 1:11]
        return np.abs(t[known][nearest] - t[known][:, None]).mean()

    Z = MDENeighbors(random_state=0, target_weight=0.8).fit_transform(X, partial)
    assert neighbour_gap(Z) < 0.5 * neighbour_gap(plain)


def test_continuous_targets_make_neighbours_alike():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))  # no structure of its own
    y = rng.uniform(0, 10, size=400)  # unrelated to X

    def neighbour_gap(Z):
        D = squareform(pdist(Z))
        nearest = np.argsort(D, axis=1)[:, 1:11]
        return np.abs(y[nearest] - y[:, None]).mean()

    plain = neighbour_gap(MDENeighbors(random_state=0).fit_transform(X))
    model = MDENeighbors(random_state=0, target_weight=0.8, target_metric="euclidean")
    assert neighbour_gap(model.fit_transform(X, y)) < 0.1 * plain


def test_auto_target_metric():
    integral = encode(np.array([0.0, 1.0, -1.0, 1.0]), 4, "categorical", 2)
    assert integral.kind == "categorical"
    np.testing.assert_array_equal(integral.known, [True, True, False, True])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    whole = MDENeighbors(random_state=0, target_weight=0.5)
    # float labels with integer values are classes; with fractions, targets
    assert whole._labels(X, np.repeat([0.0, 1.0, 2.0], 20))["target_metric"] == (
        "categorical"
    )
    assert whole._labels(X, rng.normal(size=60))["target_metric"] == "euclidean"
    assert whole._labels(X, np.repeat([0, 1, 2], 20))["target_metric"] == (
        "categorical"
    )
    assert whole._labels(X, None) == {}


def test_transform_keeps_its_guarantees_with_labels(digits):
    X, y = digits
    model = MDENeighbors(random_state=0, target_weight=0.8).fit(X[:400], y[:400])
    np.testing.assert_array_equal(model.transform(X[:400]), model.embedding_)
    batch = model.transform(X[400:])
    one_by_one = np.vstack([model.transform(X[i : i + 1]) for i in range(400, 420)])
    np.testing.assert_allclose(batch[:20], one_by_one, rtol=0, atol=1e-6)
    assert 0 < model.score(X[400:]) <= 1


def test_grid_search_over_target_weight(digits):
    X, y = digits
    search = GridSearchCV(
        MDENeighbors(random_state=0, max_iter=50),
        {"target_weight": [0.0, 0.5]},
        cv=2,
    ).fit(X[:300], y[:300])
    assert search.best_params_["target_weight"] in (0.0, 0.5)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_recipe_accepts_labels(digits):
    X, y = digits
    plain = preserve_neighbors(X, random_state=0)
    labelled = preserve_neighbors(X, random_state=0, targets=y, target_weight=1.0)
    # cross-class neighbour pairs no longer attract; class partners are added
    pairs = labelled.edges.numpy()
    attract = labelled.distortion_function.weights.numpy() > 0
    a, b = pairs[attract].T
    assert (y[a] == y[b]).all()
    assert attract.sum() > (plain.distortion_function.weights.numpy() > 0).sum()


@pytest.mark.parametrize(
    "y, metric, error, match",
    [
        (np.zeros(7), "categorical", ValueError, "inconsistent numbers of samples"),
        (np.zeros((10, 2)), "categorical", ValueError, "y"),
        (np.array(["a"] * 10), "euclidean", TypeError, "numeric"),
        (np.array([1.0] * 9 + [np.inf]), "euclidean", ValueError, "finite"),
        (np.array([1, "a"] * 5, dtype=object), "categorical", TypeError, "one type"),
    ],
)
def test_bad_labels_are_refused(y, metric, error, match):
    X = np.random.default_rng(0).normal(size=(10, 3))
    model = MDENeighbors(random_state=0, target_weight=0.5, target_metric=metric)
    with pytest.raises(error, match=match):
        model.fit(X, y)
    assert not hasattr(model, "embedding_")


def test_bad_label_parameters_are_refused():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.repeat([0, 1], 10)
    with pytest.raises(InvalidParameterError, match="target_weight"):
        MDENeighbors(target_weight=1.5).fit(X, y)
    with pytest.raises(InvalidParameterError, match="target_metric"):
        MDENeighbors(target_weight=0.5, target_metric="hamming").fit(X, y)
    with pytest.raises(ValueError, match="relationships='neighbors'"):
        MDEEmbedder(relationships="distances", target_weight=0.5).fit(X, y)
    with pytest.raises(ValueError, match="target_weight must be <= 1"):
        preserve_neighbors(X, targets=y, target_weight=2.0)
    with pytest.raises(ValueError, match="target_metric"):
        encode(y, 20, "cosine", 5)


def test_merge_pairs_sums_repeats():
    edges = np.array([[0, 1], [1, 0], [2, 3], [0, 1]])
    pairs, weights = merge_pairs(edges, np.array([1.0, 2.0, 3.0, 4.0]), 4)
    np.testing.assert_array_equal(pairs, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(weights, [7.0, 3.0])
