"""Degenerate data: each case embeds sensibly or raises a clear error.

What happens in each case is documented in doc/user_guide/reliability.rst.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from sklearn.datasets import load_digits

import skmde
from skmde import MDEDistances, MDENeighbors


def finite(Z):
    return np.isfinite(Z).all()


@pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
def test_all_rows_identical(estimator):
    X = np.ones((40, 3))
    Z = estimator(random_state=0).fit_transform(X)
    assert Z.shape == (40, 2) and finite(Z)
    # nothing distinguishes the rows: they stay close together
    assert np.ptp(Z, axis=0).max() < 1e3


def test_two_points_repeated():
    X = np.repeat([[0.0, 0.0], [10.0, 10.0]], 25, axis=0)
    Z = MDENeighbors(random_state=0).fit_transform(X)
    assert finite(Z)
    gap = np.linalg.norm(Z[:25].mean(0) - Z[25:].mean(0))
    assert gap > 2 * max(Z[:25].std(0).max(), Z[25:].std(0).max())


def test_one_feature():
    X = np.linspace(0, 1, 60)[:, None]
    for estimator in (MDENeighbors, MDEDistances):
        Z = estimator(n_components=1, random_state=0).fit_transform(X)
        assert finite(Z)
    Z = MDEDistances(n_components=1, loss="quadratic", random_state=0).fit_transform(X)
    assert abs(np.corrcoef(Z[:, 0], X[:, 0])[0, 1]) > 0.99  # the line is kept


@pytest.mark.parametrize("scale", [1e-20, 1e20])
def test_huge_and_tiny_scales(scale):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(30, 4)), 10 + rng.normal(size=(30, 4))])
    reference = MDENeighbors(random_state=0).fit(X)
    scaled = MDENeighbors(random_state=0).fit(X * scale)
    assert finite(scaled.embedding_)
    # the neighbour graph does not depend on the units
    np.testing.assert_array_equal(scaled.problem().edges, reference.problem().edges)
    distances = MDEDistances(random_state=0).fit_transform(X * scale)
    assert finite(distances)
    assert np.ptp(distances) > 0


def test_common_offset_changes_nothing():
    # float64 data far from the origin: the neighbour search centres in
    # float64 before rounding to float32 (it kept 1% of the neighbours, and
    # score was 0.0, before)
    X = load_digits().data[:600]
    plain = MDENeighbors(random_state=0).fit(X)
    shifted = MDENeighbors(random_state=0).fit(X + 1e8)
    np.testing.assert_array_equal(shifted.problem().edges, plain.problem().edges)
    assert shifted.score(X[:100] + 1e8) == pytest.approx(plain.score(X[:100]), abs=0.02)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float16])
def test_integer_boolean_and_half_input(dtype):
    rng = np.random.default_rng(0)
    X = (rng.random((50, 6)) * 10).astype(dtype)
    Z = MDENeighbors(random_state=0).fit_transform(X)
    assert Z.dtype in (np.float64, np.float32) and finite(Z)


def test_non_contiguous_and_read_only_memmap(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 10))
    path = tmp_path / "x.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    model = MDENeighbors(random_state=0)
    a = model.fit_transform(mapped[:, ::2])  # strided and read-only
    b = MDENeighbors(random_state=0).fit_transform(np.ascontiguousarray(X[:, ::2]))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.transform(mapped[:5, ::2]), a[:5])


def test_pandas_with_mixed_dtypes():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "a": np.arange(20.0),
            "b": np.arange(20) % 3,
            "flag": np.arange(20) % 2 == 0,
            "name": [f"n{i}" for i in range(20)],
        }
    )
    with pytest.raises(ValueError, match=r"non-numeric columns: \['name'\]"):
        MDENeighbors().fit(frame)
    with pytest.raises(TypeError, match=r"non-numeric columns: \['name'\]"):
        skmde.preserve_neighbors(frame)
    Z = MDENeighbors(random_state=0).fit_transform(frame[["a", "b", "flag"]])
    assert finite(np.asarray(Z))


def test_sparse_input_with_empty_rows():
    rng = np.random.default_rng(0)
    X = rng.random((60, 20)) * (rng.random((60, 20)) < 0.2)
    X[:5] = 0.0  # empty rows
    for metric in ("euclidean", "cosine"):
        model = MDENeighbors(metric=metric, random_state=0)
        Z = model.fit_transform(scipy.sparse.csr_matrix(X))
        assert finite(Z)
        assert finite(model.transform(scipy.sparse.csr_matrix(X[:3])))


def test_disconnected_neighbour_graph():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 3)) + 100 * i for i in range(3)])
    Z = MDENeighbors(n_neighbors=5, random_state=0).fit_transform(X)
    assert finite(Z)
    centers = np.array([Z[40 * i : 40 * (i + 1)].mean(0) for i in range(3)])
    spread = max(Z[40 * i : 40 * (i + 1)].std(0).max() for i in range(3))
    gaps = [np.linalg.norm(centers[i] - centers[j]) for i in range(3) for j in range(i)]
    assert min(gaps) > 2 * spread


def test_memory_requests_refused_up_front(monkeypatch):
    monkeypatch.setattr(skmde._inputs, "physical_memory", lambda: 2**30)  # 1 GiB
    X = np.random.default_rng(0).normal(size=(10000, 3))  # 5e7 pairs: ~3 GiB
    with pytest.raises(MemoryError, match=r"lower max_distances"):
        skmde.preserve_distances(X, max_distances=1e9)
    with pytest.raises(MemoryError, match="n_neighbors or repulsive_fraction"):
        skmde.preserve_neighbors(X, n_neighbors=50, repulsive_fraction=1000)
    # a request that fits goes through
    assert skmde.preserve_distances(X, max_distances=1e5).n_edges == 100000


def test_nan_mid_solve_stops_with_an_error_naming_the_edge():
    calls = []

    def flaky(d):
        calls.append(1)
        return (
            torch.where(d > 0.5, torch.nan, d.square())
            if len(calls) > 2
            else d.square()
        )

    mde = skmde.MDE(4, 2, [[0, 1], [1, 2], [2, 3]], flaky, skmde.Standardized())
    with pytest.raises(FloatingPointError, match=r"NaN .* edge \d+, items"):
        mde.embed(random_state=0)
    assert mde.X is not None and torch.isfinite(mde.X).all()


@pytest.mark.parametrize(
    ("n_samples", "n_neighbors"), [(4, None), (6, None), (40, 50), (30, 29)]
)
def test_complete_neighbour_graph_does_not_collapse(n_samples, n_neighbors):
    # <= 6 rows, or n_neighbors >= n_samples: every pair is a neighbour pair
    # and none is left to repel; centred, every point went to one spot (1e-26)
    X = np.random.default_rng(0).normal(size=(n_samples, 4))
    model = MDENeighbors(n_neighbors=n_neighbors, random_state=0)
    with pytest.warns(UserWarning, match="standardized instead of centered"):
        Z = model.fit_transform(X)
    np.testing.assert_allclose(Z.T @ Z / n_samples, np.eye(2), atol=1e-4)
    assert np.isfinite(model.transform(X[:2] + 0.1)).all()
    with pytest.raises(ValueError, match="every item would collapse"):
        skmde.preserve_neighbors(X, n_neighbors=n_neighbors, constraint="centered")


@pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
@pytest.mark.parametrize("n_components", [40, 41, 5000])
def test_n_components_at_least_n_samples_refused(estimator, n_components):
    # the spectral start gave n columns, transform crashed, and 5000 on 500
    # rows fitted for 105 s before asking torch for 40 GB
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match=f"n_components={n_components} must be"):
        estimator(n_components=n_components).fit(X)
    with pytest.raises(ValueError, match="embedding_dim=40 must be less"):
        skmde.preserve_distances(X, embedding_dim=40)
    Z = estimator(n_components=39, random_state=0, max_iter=5).fit_transform(X)
    assert Z.shape == (40, 39)


@pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
@pytest.mark.parametrize("far", [1e10, 1e20, -1e20, 1e300, -1e200])
def test_far_new_rows_are_placed_finitely(estimator, far):
    # [[1e20, 0, 0, 0, 0]] came back NaN (float32 squares overflowed)
    X = np.random.default_rng(0).normal(size=(200, 5))
    model = estimator(random_state=0).fit(X)
    row = np.array([[far, 0.0, 0.0, 0.0, 0.0]])
    assert np.isfinite(model.transform(row)).all()
    if estimator is MDENeighbors:
        # its neighbours are the fitted rows farthest out in its direction
        found, _ = model._index.query(row, 5)
        expected = np.argsort(-np.sign(far) * X[:, 0], kind="stable")[:5]
        assert set(found[0]) == set(expected)


@pytest.fixture
def float64_default():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def test_transform_and_score_with_float64_as_torch_default(float64_default):
    # sampled_addmm raised a dtype mismatch for every transform and score
    X = load_digits().data[:400]
    torch.set_default_dtype(torch.float32)
    model = MDENeighbors(random_state=0).fit(X)
    expected = model.transform(X[300:])
    pickled = pickle.dumps(model)
    torch.set_default_dtype(torch.float64)
    np.testing.assert_array_equal(model.transform(X[300:]), expected)
    loaded = pickle.loads(pickled)
    np.testing.assert_array_equal(loaded.transform(X[300:]), expected)
    assert 0 < loaded.score(X[300:]) <= 1
    refitted = MDEDistances(random_state=0).fit(X[:200])
    assert np.isfinite(refitted.transform(X[300:])).all()


@pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
def test_sparse_rows_for_a_model_fitted_on_dense_data(estimator):
    # "setting an array element with a sequence"
    X = np.random.default_rng(0).normal(size=(300, 5))
    model = estimator(random_state=0).fit(X)
    new = X[:30] + 0.1
    np.testing.assert_array_equal(
        model.transform(scipy.sparse.csr_matrix(new)), model.transform(new)
    )


@pytest.mark.parametrize("metric", ["manhattan", "l1", "l2", "linf", "taxicab"])
@pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
def test_metric_aliases_fit_and_transform(estimator, metric):
    # the aliases fitted but transform said "Unknown Distance Metric"
    X = np.random.default_rng(0).normal(size=(120, 4))
    model = estimator(metric=metric, random_state=0, max_iter=20).fit(X)
    np.testing.assert_array_equal(model.transform(X[:5]), model.embedding_[:5])
    assert np.isfinite(model.transform(X[:5] + 0.1)).all()


@pytest.mark.parametrize("n_columns", [1, 2])
def test_sparse_data_with_few_columns(n_columns):
    # ArpackError: the PCA start asked for a truncated SVD of k = 0 components
    X = scipy.sparse.random(200, n_columns, density=0.5, random_state=0, format="csr")
    X[5] = 0.0  # an all-zero row too
    X.eliminate_zeros()
    for estimator in (MDEDistances, MDENeighbors):
        Z = estimator(random_state=0).fit_transform(X)
        assert Z.shape == (200, 2) and finite(Z)
    if n_columns == 1:  # the line is kept
        Z = MDEDistances(random_state=0).fit_transform(X)
        assert abs(np.corrcoef(Z[:, 0], X.toarray()[:, 0])[0, 1]) > 0.99


@pytest.mark.parametrize("scale", [1e-200, 1e-100, 1e-20, 1e20, 1e200])
def test_distance_embedding_at_extreme_scales(scale):
    # 1e-200 gave all zeros (the CLI exited 0), 1e200 raised _LinAlgError:
    # squares of the lengths left float64's range
    X = np.random.default_rng(0).normal(size=(200, 5))
    reference = MDEDistances(random_state=0).fit(X)
    scaled = MDEDistances(random_state=0).fit(X * scale)
    aligned = skmde.align(scaled.embedding_ / scale, reference.embedding_)
    np.testing.assert_allclose(aligned, reference.embedding_, atol=2e-3)
    new = scaled.transform(X[:5] * scale * 1.01) / scale
    np.testing.assert_allclose(
        skmde.align(
            np.vstack([scaled.embedding_ / scale, new]),
            np.vstack([reference.embedding_, reference.transform(X[:5] * 1.01)]),
        )[-5:],
        reference.transform(X[:5] * 1.01),
        atol=2e-3,
    )
    assert scaled.problem().average_distortion().item() == pytest.approx(
        scaled.average_distortion_, rel=1e-5
    )


@pytest.mark.parametrize("scale", [1e-200, 1e-50, 1e39, 1e250])
def test_neighbour_graph_at_extreme_scales(scale):
    # float32 distances vanished at 1e-50 (35% of the graph kept) and
    # overflowed at 1e39 ("no edges ... max_distance"); the weighting's
    # squares underflowed at 1e-200
    X = np.random.default_rng(0).normal(size=(300, 5))
    reference = MDENeighbors(random_state=0).fit(X)
    scaled = MDENeighbors(random_state=0).fit(X * scale)
    np.testing.assert_array_equal(scaled.problem().edges, reference.problem().edges)
    assert finite(scaled.embedding_)
    assert finite(scaled.transform(X[:5] * scale * 1.01))


def test_read_only_input_without_torch_warnings():
    # torch's "NumPy array is not writable" warning at every fit on read-only
    # arrays (pandas 3 gives read-only views)
    X = np.random.default_rng(0).normal(size=(300, 10))
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MDEDistances(random_state=0, max_iter=5).fit(X)
        MDENeighbors(random_state=0, max_iter=5).fit(X).transform(X[:5])
    assert not X.flags.writeable  # the input is left as it was


def test_distance_model_pickle_keeps_no_edge_list():
    # 3,000 x 10 pickled to 52 MB: every pair's edge was stored
    X = np.random.default_rng(0).normal(size=(3000, 10))
    model = MDEDistances(random_state=0, max_iter=5).fit(X)
    size = len(pickle.dumps(model))
    assert size < 20e6  # the 4.5 million float32 deviations, 18 MB
    mde = model.problem()
    assert mde.n_edges == 3000 * 2999 // 2
    assert float(mde.average_distortion()) == pytest.approx(
        model.average_distortion_, rel=1e-6
    )
