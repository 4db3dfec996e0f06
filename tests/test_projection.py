"""Neighbours found in the data's first principal components
(``pca_components``): the projection, its index, the recipe's rule and the
estimator's fit, transform, inverse_transform, score and partial_fit."""

import copy
import pickle

import numpy as np
import pytest
import scipy.sparse
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import InvalidParameterError

import skmde
from skmde import recipes
from skmde._transform import neighborhood_score
from skmde.neighbors import (
    NeighborIndex,
    ProjectedIndex,
    Projection,
    index_for_new_rows,
)
from skmde.recipes._neighbors import (
    PCA_ABOVE,
    PCA_COMPONENTS,
    PCA_MIN_EXPLAINED,
    search_projection,
)

from ._checks import blas_threads, on_one_and_two_threads


def clusters(n=400, d=120, seed=0):
    """Five clusters in a low-dimensional subspace of ``d`` features, plus
    noise in every feature."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(5, 8))
    latent = centres[rng.integers(0, 5, n)] + rng.normal(size=(n, 8))
    mixing = rng.normal(size=(8, d))
    return (latent @ mixing + rng.normal(scale=2.0, size=(n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def X():
    return clusters()


# -- the projection ------------------------------------------------------------


def test_projection_gives_the_principal_components(X):
    projection = Projection.fit(X, 10)
    scores = projection(X)
    assert scores.dtype == np.float32 and scores.shape == (len(X), 10)
    reference = PCA(10, svd_solver="full").fit(X.astype(np.float64))
    np.testing.assert_allclose(projection.mean, X.mean(axis=0), rtol=1e-6, atol=1e-5)
    # the same axes up to sign, orthonormal, the largest entry of each positive
    cosines = np.abs(np.sum(projection.axes * reference.components_.T, axis=0))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-6)
    np.testing.assert_allclose(
        projection.axes.T @ projection.axes, np.eye(10), atol=1e-12
    )
    largest = np.abs(projection.axes).argmax(axis=0)
    assert (projection.axes[largest, np.arange(10)] > 0).all()
    expected_share = reference.explained_variance_ratio_.sum()
    assert projection.explained == pytest.approx(expected_share, rel=1e-5)
    signs = np.sign(np.sum(projection.axes * reference.components_.T, axis=0))
    expected = reference.transform(X.astype(np.float64)) * signs
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-3)


def test_the_axes_do_not_depend_on_torchs_thread_count():
    # n_jobs sets torch's threads; the fit's embedding must not depend on it
    # (the axes computed by torch differed in the 13th digit, 1 vs 2 threads)
    X = clusters(n=1000, d=400, seed=1)
    one, two = on_one_and_two_threads(lambda: Projection.fit(X, 50))
    np.testing.assert_array_equal(one.axes, two.axes)
    assert one.explained == two.explained


def test_the_axes_do_not_depend_on_numpys_blas_threads(monkeypatch):
    # NumPy's BLAS runs on as many threads as the machine has cores, which
    # n_jobs does not set: the axes are computed on one, so that they are the
    # same on any machine (two threads rounded MNIST-10k's differently)
    from threadpoolctl import threadpool_limits

    X = clusters(n=1000, d=400, seed=1)
    fits, seen = [], []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            fits.append(Projection.fit(X, 50))
    real = np.linalg.eigh

    def spying(a):
        seen.append(blas_threads())
        return real(a)

    monkeypatch.setattr(np.linalg, "eigh", spying)
    with threadpool_limits(2, user_api="blas"):
        Projection.fit(X, 50)
    assert seen and all(count == 1 for count in seen[0])
    np.testing.assert_array_equal(fits[0].axes, fits[1].axes)
    assert fits[0].explained == fits[1].explained


@pytest.mark.parametrize(
    "count, error, message",
    [
        (0, ValueError, "n_components must be >= 1"),
        (121, ValueError, "n_components must be at most 120"),
        (2.5, TypeError, "n_components must be an integer"),
    ],
)
def test_the_projection_refuses_a_bad_count(count, error, message):
    with pytest.raises(error, match=message):
        Projection.fit(clusters(n=300, d=120), count)


def test_a_row_projects_alike_in_any_batch(X):
    projection = Projection.fit(X, 50)
    whole = projection(X)
    one_by_one = np.vstack([projection(X[i : i + 1]) for i in range(60)])
    in_sevens = np.vstack([projection(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(one_by_one, whole[:60])
    np.testing.assert_array_equal(in_sevens, whole)
    np.testing.assert_array_equal(projection(scipy.sparse.csr_matrix(X[:9])), whole[:9])


# -- the recipe's rule -------------------------------------------------------------


def chosen(pca_components, data, kind="dense", metric="euclidean"):
    """The projection ``search_projection`` chooses (None: the features),
    checked against the index of the rows it returns beside it."""
    projection, full = search_projection(pca_components, data, kind, metric)
    if projection is None:
        assert full is None
    else:  # the index of the rows, which the projection was fitted from
        assert isinstance(full, NeighborIndex) and full.n_items == data.shape[0]
        np.testing.assert_array_equal(projection.mean, full.mean)
        spread = np.abs(data[:5]).max()  # rows rebuilt to float32 rounding
        np.testing.assert_allclose(
            full.rows(np.arange(5)), data[:5], atol=1e-6 * spread
        )
    return projection


def test_auto_projects_dense_euclidean_data_of_many_features():
    wide = clusters(d=PCA_ABOVE + 1)
    projection = chosen("auto", wide)
    assert projection.n_components == PCA_COMPONENTS
    assert chosen("auto", clusters(d=PCA_ABOVE)) is None
    assert chosen("auto", wide, metric="cosine") is None
    assert chosen("auto", wide[:PCA_COMPONENTS]) is None
    assert chosen("auto", scipy.sparse.csr_matrix(wide), kind="sparse") is None
    assert chosen(None, wide) is None
    assert chosen(7, wide).n_components == 7
    # data whose variance the components do not mostly hold keeps its features
    noise = np.random.default_rng(0).normal(size=(400, 300)).astype(np.float32)
    assert Projection.fit(noise, PCA_COMPONENTS).explained < PCA_MIN_EXPLAINED
    assert projection.explained >= PCA_MIN_EXPLAINED
    assert chosen("auto", noise) is None
    assert chosen(50, noise).n_components == 50


@pytest.mark.parametrize(
    "value, data, kind, metric, message",
    [
        (0, "dense", "dense", "euclidean", "pca_components"),
        (-3, "dense", "dense", "euclidean", "pca_components"),
        ("all", "dense", "dense", "euclidean", "pca_components"),
        (5, "sparse", "sparse", "euclidean", "needs dense data"),
        (5, "dense", "dense", "cosine", "metric='euclidean'"),
        (121, "dense", "dense", "euclidean", "at most the data's 120"),
    ],
)
def test_bad_pca_components_are_refused(X, value, data, kind, metric, message):
    data = scipy.sparse.csr_matrix(X) if data == "sparse" else X
    with pytest.raises((ValueError, TypeError), match=message):
        search_projection(value, data, kind, metric)


def test_the_recipe_refuses_a_number_with_precomputed_distances(X):
    D = np.linalg.norm(X[:50, None] - X[None, :50], axis=2)
    with pytest.raises(ValueError, match="pca_components=5 needs dense data"):
        skmde.preserve_neighbors(D, metric="precomputed", pca_components=5)
    # "auto" leaves given distances alone
    skmde.preserve_neighbors(D, metric="precomputed", random_state=0)


# -- the index ----------------------------------------------------------------------


def test_the_index_measures_scores_and_knows_equal_rows(X):
    projection = Projection.fit(X, 20)
    index = projected(X, projection)
    scores = projection(X)
    rows = X[:30] + 0.5
    found, distances = index.query(rows, 6)
    expected, expected_distances = NeighborIndex(scores, "euclidean").query(
        projection(rows), 6
    )
    np.testing.assert_array_equal(found, expected)
    np.testing.assert_array_equal(distances, expected_distances)
    # a training row is at 0 from itself; a row differing from it only
    # across the projection's axes has the same scores, but is not equal
    along = np.random.default_rng(1).normal(size=X.shape[1])
    along -= projection.axes @ (projection.axes.T @ along)
    twin = (X[3].astype(np.float64) + along).astype(np.float32)
    found, distances = index.query(np.vstack([X[3], twin]), 3)
    assert found[0, 0] == 3 and distances[0, 0] == 0.0
    assert found[1, 0] == 3 and distances[1, 0] > 0.0
    # unequal rows of equal scores (the search's distance 0) are not at 0
    indices = np.array([[3, 4], [3, 4]])
    zero = np.zeros((2, 2), dtype=np.float32)
    twins = np.vstack([X[3], twin])
    _, marked = index._exact_zeros(twins, projection(twins), indices, zero)
    assert marked[0, 0] == 0.0 and marked[1, 0] > 0.0
    assert (marked[:, 1] > 0.0).all()
    # rows and distances_to in the right spaces
    spread = np.abs(X).max()
    np.testing.assert_allclose(
        index.rows(np.array([0, 5])), X[[0, 5]], atol=1e-6 * spread
    )
    partners = np.array([[1, 2], [3, 4]])
    np.testing.assert_allclose(
        index.distances_to(rows[:2], partners),
        np.linalg.norm(scores[partners] - projection(rows[:2])[:, None], axis=2),
        rtol=1e-5,
    )


def projected(X, projection):
    index = index_for_new_rows(X, "euclidean", projection=projection)
    assert isinstance(index, ProjectedIndex)
    return index


def test_extending_the_index_leaves_the_old_one_alone(X):
    index = projected(X[:300], Projection.fit(X[:300], 20))
    before = index.query(X[300:310], 4)
    grown = copy.copy(index).extend(X[300:])
    assert grown.n_items == len(X) and index.n_items == 300
    np.testing.assert_array_equal(index.query(X[300:310], 4)[0], before[0])
    found, distances = grown.query(X[300:310], 1)
    np.testing.assert_array_equal(found[:, 0], np.arange(300, 310))
    assert (distances[:, 0] == 0).all()


@pytest.mark.parametrize("knn_method", ["exact", "approximate"])
def test_a_fit_keeps_the_index_it_built_for_new_rows(X, knn_method):
    # the fit reuses the index of the rows its projection was fitted from,
    # and the search's index of the scores (the approximate search keeps
    # none: the scores' index is built): the index a model would build anew
    _, plan = recipes.neighbor_problem(
        X,
        knn_method=knn_method,
        pca_components=20,
        store_training_data=True,
        random_state=0,
    )
    kept = plan.index
    assert isinstance(kept, ProjectedIndex)
    anew = projected(X, kept.projection)
    np.testing.assert_array_equal(kept.full.data, anew.full.data)
    np.testing.assert_array_equal(kept.inner.data, anew.inner.data)
    rows = X[:20] + 0.3
    for got, expected in zip(kept.query(rows, 5), anew.query(rows, 5)):
        np.testing.assert_array_equal(got, expected)
    # a compact fit keeps no index
    _, plan = recipes.neighbor_problem(X, pca_components=20, random_state=0)
    assert plan.index is None


# -- the estimator --------------------------------------------------------------


@pytest.mark.parametrize("value", [0, "none", 2.5])
def test_the_estimator_validates_pca_components(X, value):
    with pytest.raises(InvalidParameterError, match="pca_components"):
        skmde.MDENeighbors(pca_components=value).fit(X)


def test_a_fit_in_principal_components_is_a_fit_of_the_scores(X):
    model = skmde.MDENeighbors(pca_components=20, random_state=0).fit(X)
    scores = Projection.fit(X, 20)(X)
    plain = skmde.MDENeighbors(pca_components=None, random_state=0).fit(scores)
    np.testing.assert_array_equal(model.embedding_, plain.embedding_)
    full = skmde.MDENeighbors(pca_components=None, random_state=0).fit(X)
    assert not np.array_equal(model.embedding_, full.embedding_)


def test_auto_is_the_default_and_changes_nothing_on_narrow_data(X):
    narrow = X[:, :PCA_ABOVE]
    assert skmde.MDENeighbors().pca_components == "auto"
    a = skmde.MDENeighbors(random_state=0).fit(narrow).embedding_
    b = skmde.MDENeighbors(pca_components=None, random_state=0).fit(narrow).embedding_
    np.testing.assert_array_equal(a, b)
    wide = skmde.MDENeighbors(random_state=0).fit(X)
    assert isinstance(wide._index, ProjectedIndex)
    assert wide._transform_spec.projection.n_components == PCA_COMPONENTS


def test_new_rows_inverse_and_score_of_a_projected_fit(X):
    train, new = X[:300], X[300:340]
    model = skmde.MDENeighbors(pca_components=20, random_state=0).fit(train)
    np.testing.assert_array_equal(model.transform(train[:25]), model.embedding_[:25])
    rows = model.transform(new)
    one_by_one = np.vstack([model.transform(new[i : i + 1]) for i in range(len(new))])
    np.testing.assert_array_equal(rows, one_by_one)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.transform(new), rows)
    # inverse_transform decodes into all the features: a fitted position
    # gives its training row
    decoded = model.inverse_transform(model.embedding_[:4])
    assert decoded.shape == (4, X.shape[1])
    np.testing.assert_allclose(decoded, train[:4], rtol=1e-5, atol=1e-4)
    # score compares neighbours in all the features
    full = NeighborIndex(train, "euclidean")
    expected = neighborhood_score(full, model.embedding_, new, rows, 10)
    assert model.score(new) == pytest.approx(expected)


def test_a_compact_model_projects_the_attached_data(X):
    train, new = X[:300], X[300:320]
    model = skmde.MDENeighbors(pca_components=20, random_state=0).fit(train)
    compact = skmde.MDENeighbors(
        pca_components=20, random_state=0, store_training_data=False
    ).fit(train)
    compact.attach_training_data(train)
    assert isinstance(compact._index, ProjectedIndex)
    np.testing.assert_array_equal(compact.transform(new), model.transform(new))


def test_partial_fit_projects_the_new_batch(X):
    model = skmde.MDENeighbors(pca_components=20, random_state=0).fit(X[:300])
    projection = model._transform_spec.projection
    model.partial_fit(X[300:])
    assert model.embedding_.shape[0] == len(X)
    assert model._transform_spec.projection is projection
    np.testing.assert_array_equal(
        model.transform(X[350:360]), model.embedding_[350:360]
    )


def test_the_recipe_takes_pca_components(X):
    mde = skmde.preserve_neighbors(X, pca_components=10, random_state=0)
    plain = skmde.preserve_neighbors(
        Projection.fit(X, 10)(X), pca_components=None, random_state=0
    )
    np.testing.assert_array_equal(mde.edges.numpy(), plain.edges.numpy())
    _, plan = recipes.neighbor_problem(X, pca_components=None, random_state=0)
    assert plan.transform.projection is None
