"""inverse_transform (from the map back to the data) and partial_fit (growing
a fitted map)."""

import pickle

import numpy as np
import pytest
import scipy.sparse
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier

from skmde import MDEDistances, MDEEmbedder, MDENeighbors, penalties
from skmde._inverse import kernel_weights


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def fitted(digits):
    X, _ = digits
    return MDENeighbors(random_state=0).fit(X[:600])


# -- inverse_transform -----------------------------------------------------------
def test_inverse_of_fitted_positions_is_the_training_rows(fitted, digits):
    X, _ = digits
    decoded = fitted.inverse_transform(fitted.embedding_)
    # rebuilt from the float32 copy the model keeps: within float32 rounding
    # of the data's spread (16 for digits), here 1e-6 of it
    spread = np.abs(X[:600] - X[:600].mean(0)).max()
    assert np.abs(decoded - X[:600]).max() <= 1e-6 * spread


def test_inverse_is_per_row_and_leaves_the_model_alone(fitted, digits):
    X, _ = digits
    Z = fitted.transform(X[600:700])
    state = pickle.dumps(fitted)
    batch = fitted.inverse_transform(Z)
    assert pickle.dumps(fitted) == state
    alone = np.vstack(
        [fitted.inverse_transform(Z[i : i + 1]) for i in range(0, 100, 7)]
    )
    np.testing.assert_allclose(alone, batch[::7], rtol=0, atol=1e-7)
    reversed_ = fitted.inverse_transform(Z[::-1])
    np.testing.assert_allclose(reversed_[::-1], batch, rtol=0, atol=1e-7)
    assert batch.shape == (100, 64) and batch.dtype == np.float64


def test_inverse_is_close_to_the_true_rows(fitted, digits):
    X, _ = digits
    decoded = fitted.inverse_transform(fitted.transform(X[600:900]))
    error = ((decoded - X[600:900]) ** 2).mean()
    mean_image = ((X[:600].mean(0) - X[600:900]) ** 2).mean()
    assert error < 0.5 * mean_image


def test_inverse_dtype_pandas_and_sparse(digits):
    pd = pytest.importorskip("pandas")
    X, _ = digits
    frame = pd.DataFrame(
        X[:300].astype(np.float32), columns=[f"p{i}" for i in range(64)]
    )
    model = MDENeighbors(random_state=0).fit(frame)
    decoded = model.inverse_transform(model.embedding_[:5])
    assert decoded.dtype == np.float32
    model.set_output(transform="pandas")
    out = model.inverse_transform(model.embedding_[:5])
    assert list(out.columns) == list(frame.columns)
    sparse = MDENeighbors(random_state=0).fit(scipy.sparse.csr_matrix(X[:300]))
    rows = sparse.inverse_transform(sparse.embedding_[:3])
    assert isinstance(rows, np.ndarray)
    np.testing.assert_allclose(rows, X[:3], atol=1e-5 * 16)
    cosine = MDENeighbors(metric="cosine", random_state=0).fit(X[:300] + 1.0)
    np.testing.assert_allclose(
        cosine.inverse_transform(cosine.embedding_[:3]), X[:3] + 1.0, atol=1e-5 * 17
    )


@pytest.mark.parametrize(
    "make", [lambda: MDEDistances(random_state=0), lambda: MDEEmbedder(random_state=0)]
)
def test_inverse_for_every_estimator(make, digits):
    X, _ = digits
    model = make().fit(X[:200])
    decoded = model.inverse_transform(model.embedding_[:4])
    np.testing.assert_allclose(decoded, X[:4], atol=1e-5 * 16)


def test_kernel_weights():
    weights = kernel_weights(
        np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    )
    np.testing.assert_array_equal(weights[0], [1.0, 0.0, 0.0])
    expected = np.exp(-2.0 * np.array([0.25, 0.25, 1.0]))
    np.testing.assert_allclose(weights[1], expected / expected.sum())
    np.testing.assert_array_equal(weights[2], [1.0, 0.0, 0.0])


def test_inverse_bad_input(fitted, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="inverse_transform expects points of the 2"):
        fitted.inverse_transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.inverse_transform(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="infinity"):
        fitted.inverse_transform(np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match="minimum of 1 is required"):
        fitted.inverse_transform(np.zeros((0, 2)))
    with pytest.raises(NotFittedError):
        MDENeighbors().inverse_transform(np.zeros((1, 2)))
    compact = MDENeighbors(random_state=0, store_training_data=False).fit(X[:100])
    with pytest.raises(NotFittedError, match="attach_training_data"):
        compact.inverse_transform(compact.embedding_[:2])
    compact.attach_training_data(X[:100])
    assert compact.inverse_transform(compact.embedding_[:2]).shape == (2, 64)
    D = np.linalg.norm(X[:50, None] - X[None, :50], axis=2)
    given = MDENeighbors(metric="precomputed", random_state=0).fit(D)
    with pytest.raises(ValueError, match="has none"):
        given.inverse_transform(given.embedding_[:2])


# -- partial_fit -----------------------------------------------------------------
def test_partial_fit_on_an_unfitted_estimator_is_fit(digits):
    X, _ = digits
    a = MDENeighbors(random_state=0).partial_fit(X[:300])
    b = MDENeighbors(random_state=0).fit(X[:300])
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_new_group_forms_its_own_cluster(digits):
    X, y = digits
    old, nines = X[y != 9][:900], X[y == 9]
    model = MDENeighbors(random_state=0).fit(old)
    fitted = model.embedding_.copy()
    placed = model.transform(nines)
    model.partial_fit(nines)
    assert model.embedding_.shape == (900 + len(nines), 2)
    np.testing.assert_array_equal(model.embedding_[:900], fitted)  # never moved
    grown = model.embedding_[900:]

    def own_neighbours(Z):
        points = np.vstack([fitted, Z])
        is_new = np.r_[np.zeros(900), np.ones(len(Z))]
        return (
            KNeighborsClassifier(10).fit(points, is_new).predict_proba(Z)[:, 1].mean()
        )

    assert own_neighbours(grown) > 0.85
    assert own_neighbours(grown) > own_neighbours(placed) + 0.3
    # the index grew: transform sees the new samples
    np.testing.assert_array_equal(model.transform(nines[:5]), grown[:5])
    assert model.n_features_in_ == 64


def test_partial_fit_twice_keeps_the_first_batch(digits):
    # two batches are not one: the first batch is anchored when the second
    # arrives, so it cannot move towards it (documented)
    X, _ = digits
    model = MDENeighbors(random_state=0).fit(X[:500])
    model.partial_fit(X[500:600])
    first = model.embedding_.copy()
    model.partial_fit(X[600:700])
    np.testing.assert_array_equal(model.embedding_[:600], first)
    once = MDENeighbors(random_state=0).fit(X[:500]).partial_fit(X[500:700])
    assert once.embedding_.shape == model.embedding_.shape
    # both place the new samples among their classes: 10-NN accuracy against
    # the first 500, averaged over three seeds (one draw of 200 samples
    # varies by +-0.05)
    y = load_digits().target
    scores = []
    for seed in range(3):
        twice = MDENeighbors(random_state=seed).fit(X[:500])
        twice.partial_fit(X[500:600]).partial_fit(X[600:700])
        once = MDENeighbors(random_state=seed).fit(X[:500]).partial_fit(X[500:700])
        knn = KNeighborsClassifier(10).fit(twice.embedding_[:500], y[:500])
        scores.append(
            [knn.score(Z.embedding_[500:700], y[500:700]) for Z in (twice, once)]
        )
    assert (np.mean(scores, axis=0) > 0.8).all()
    # the training data is the three batches, in order
    model.attach_training_data(X[:700])
    with pytest.raises(ValueError, match="not the data"):
        model.attach_training_data(np.vstack([X[:500], X[600:700], X[500:600]]))


def test_partial_fit_pickles_and_transforms(digits, tmp_path):
    X, _ = digits
    model = MDENeighbors(random_state=0).fit(X[:400]).partial_fit(X[400:500])
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        again.transform(X[500:520]), model.transform(X[500:520])
    )
    np.testing.assert_array_equal(again.transform(X[:500]), model.embedding_)
    problem = model.problem()
    assert problem.n_items == 500
    assert np.isfinite(model.average_distortion_)


def test_partial_fit_of_duplicates_and_of_distance_models(digits):
    X, _ = digits
    model = MDENeighbors(random_state=0).fit(X[:300])
    batch = np.vstack([X[10:12], X[400:402], X[400:401]])
    model.partial_fit(batch)
    new = model.embedding_[300:]
    np.testing.assert_array_equal(new[:2], model.embedding_[10:12])  # equal rows
    np.testing.assert_array_equal(new[2], new[4])  # duplicates share a position
    distances = MDEDistances(random_state=0).fit(X[:300])
    before = distances.embedding_.copy()
    distances.partial_fit(X[300:360])
    np.testing.assert_array_equal(distances.embedding_[:300], before)
    Z = distances.embedding_

    def fidelity(rows, others):
        D = np.linalg.norm(X[rows, None] - X[None, others], axis=2)
        E = np.linalg.norm(Z[rows, None] - Z[None, others], axis=2)
        return np.corrcoef(D.ravel(), E.ravel())[0, 1]

    # the new rows' distances are kept about as well as the fit kept its own
    fitted = fidelity(slice(0, 300), slice(0, 300))
    assert fidelity(slice(300, 360), slice(0, 360)) > 0.95 * fitted


def test_partial_fit_bad_input(digits):
    X, y = digits
    model = MDENeighbors(random_state=0).fit(X[:200])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[200:210, :10])
    with pytest.raises(ValueError, match="minimum of 1 is required"):
        model.partial_fit(X[:0])
    assert model.embedding_.shape == (200, 2)  # a failed call changes nothing
    labelled = MDENeighbors(random_state=0, target_weight=0.5).fit(X[:200], y[:200])
    with pytest.warns(UserWarning, match="y is not used"):
        labelled.partial_fit(X[200:210], y[200:210])
    labelled.partial_fit(X[210:220])
    compact = MDENeighbors(random_state=0, store_training_data=False).fit(X[:100])
    with pytest.raises(NotFittedError, match="attach_training_data"):
        compact.partial_fit(X[100:110])
    D = np.linalg.norm(X[:50, None] - X[None, :50], axis=2)
    given = MDENeighbors(metric="precomputed", random_state=0).fit(D)
    assert not hasattr(given, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):
        given.partial_fit(D[:5])


def test_partial_fit_with_a_custom_penalty_and_no_repulsion(digits):
    X, _ = digits
    model = MDENeighbors(
        attractive_penalty=penalties.Quadratic, repulsive_penalty=None, random_state=0
    ).fit(X[:300])
    before = model.embedding_.copy()
    model.partial_fit(X[300:330])
    np.testing.assert_array_equal(model.embedding_[:300], before)
    assert np.isfinite(model.embedding_).all()
