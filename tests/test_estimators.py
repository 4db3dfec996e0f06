import functools
import io
import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import skmde
from skmde import MDEDistances, MDEEmbedder, MDENeighbors, neighbors, penalties


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:700], y[:700], X[700:800], y[700:800]


@pytest.fixture(scope="module")
def fitted(digits):
    X, _, _, _ = digits
    return {
        cls.__name__: cls(random_state=0).fit(X)
        for cls in (MDENeighbors, MDEDistances, MDEEmbedder)
    }


ESTIMATOR_NAMES = ["MDENeighbors", "MDEDistances", "MDEEmbedder"]


class TestTransform:
    @pytest.mark.parametrize("name", ESTIMATOR_NAMES)
    def test_rows_do_not_depend_on_the_batch(self, fitted, digits, name):
        model = fitted[name]
        new = digits[2]
        full = model.transform(new)
        alone = np.vstack([model.transform(new[i : i + 1]) for i in range(10)])
        np.testing.assert_allclose(alone, full[:10], rtol=0, atol=1e-7)
        other_batch = model.transform(np.vstack([new[:10], digits[0][:50]]))
        np.testing.assert_allclose(other_batch[:10], full[:10], rtol=0, atol=1e-7)
        perm = np.random.default_rng(0).permutation(len(new))
        np.testing.assert_allclose(
            model.transform(new[perm]), full[perm], rtol=0, atol=1e-7
        )

    @pytest.mark.parametrize("name", ESTIMATOR_NAMES)
    def test_nearly_equal_rows_land_nearly_together(self, fitted, digits, name):
        # a 1-ulp change of a row (or float32 input) moved it by up to the
        # embedding's radius when its partners came from a hash of its bytes
        model = fitted[name]
        new = digits[2].astype(np.float64)
        base = model.transform(new)
        nudged = model.transform(np.nextafter(new, np.inf))
        single = model.transform(new.astype(np.float32)).astype(np.float64)
        spread = np.ptp(model.embedding_, axis=0).max()
        assert np.abs(nudged - base).max() <= 1e-6 * spread
        assert np.abs(single - base).max() <= 1e-3 * spread

    @pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
    def test_duplicated_training_rows_map_to_the_embedding(self, estimator):
        # with every row twice, transform(X_train) differed from embedding_
        # on 200 of 240 rows: twins had different positions
        X = np.random.default_rng(0).normal(size=(120, 4))
        X = np.vstack([X, X[:60]])
        model = estimator(random_state=0).fit(X)
        np.testing.assert_array_equal(model.embedding_[120:], model.embedding_[:60])
        for i in range(len(X)):  # row by row, as the checks of scikit-learn do
            np.testing.assert_array_equal(
                model.transform(X[i : i + 1])[0], model.embedding_[i]
            )
        mde = model.problem()
        assert mde.average_distortion() == pytest.approx(
            model.average_distortion_, rel=1e-5
        )

    @pytest.mark.parametrize("name", ESTIMATOR_NAMES)
    def test_training_rows_map_to_the_embedding(self, fitted, digits, name):
        model = fitted[name]
        X = digits[0]
        np.testing.assert_array_equal(model.transform(X), model.embedding_)
        for i in (0, 17, 311):  # row by row
            np.testing.assert_array_equal(
                model.transform(X[i : i + 1])[0], model.embedding_[i]
            )

    @pytest.mark.parametrize("name", ESTIMATOR_NAMES)
    def test_transform_mutates_nothing(self, fitted, digits, name):
        model = fitted[name]
        new = digits[2].copy()
        state = pickle.dumps(model)
        embedding = model.embedding_.copy()
        model.transform(new)
        model.score(new)
        assert pickle.dumps(model) == state
        np.testing.assert_array_equal(model.embedding_, embedding)
        np.testing.assert_array_equal(new, digits[2])

    def test_one_row(self, fitted, digits):
        out = fitted["MDENeighbors"].transform(digits[2][:1])
        assert out.shape == (1, 2) and np.isfinite(out).all()

    def test_new_rows_land_among_their_class(self, digits):
        X, y, new, y_new = digits
        model = MDENeighbors(random_state=0).fit(X)
        knn = KNeighborsClassifier(10).fit(model.embedding_, y)
        assert knn.score(model.transform(new), y_new) > 0.9

    def test_distances_transform_preserves_distances(self):
        rng = np.random.default_rng(0)
        plane = rng.normal(size=(400, 2)) @ rng.normal(size=(2, 6))
        model = MDEDistances(loss="quadratic", random_state=0).fit(plane[:300])
        Z = model.transform(plane[300:])
        for i in range(5):
            original = np.linalg.norm(plane[:300] - plane[300 + i], axis=1)
            embedded = np.linalg.norm(model.embedding_ - Z[i], axis=1)
            np.testing.assert_allclose(embedded, original, rtol=0.05, atol=0.05)

    def test_precomputed(self, digits):
        X, y, new, y_new = digits
        D = np.linalg.norm(X[:, None] - X[None], axis=2)
        D_new = np.linalg.norm(new[:, None] - X[None], axis=2)
        model = MDENeighbors(metric="precomputed", random_state=0).fit(D)
        out = model.transform(D_new)
        assert out.shape == (100, 2)
        knn = KNeighborsClassifier(10).fit(model.embedding_, y)
        assert knn.score(out, y_new) > 0.85
        np.testing.assert_array_equal(model.transform(D[:20]), model.embedding_[:20])
        with pytest.raises(ValueError, match="700 features"):
            model.transform(D_new[:, :50])

    def test_sparse_input(self, digits):
        X, _, new, _ = digits
        model = MDENeighbors(random_state=0).fit(scipy.sparse.csr_matrix(X))
        out = model.transform(scipy.sparse.csr_matrix(new))
        assert np.isfinite(out).all()
        np.testing.assert_array_equal(
            model.transform(scipy.sparse.csr_matrix(X[:5])), model.embedding_[:5]
        )

    def test_fit_searches_with_one_index(self, digits, monkeypatch):
        # the index of the fit's kNN search is the one transform keeps, and it
        # answers new rows as a fresh index would

        built = []
        original = neighbors.NeighborIndex.__init__

        def counting(self, *args, **kwargs):
            built.append(self)
            original(self, *args, **kwargs)

        monkeypatch.setattr(neighbors.NeighborIndex, "__init__", counting)
        X, _, new, _ = digits
        model = MDENeighbors(random_state=0).fit(X)
        assert built == [model._index]
        fresh = neighbors.NeighborIndex(X, "euclidean", for_new_rows=True)
        for got, expected in zip(model._index.query(new, 12), fresh.query(new, 12)):
            np.testing.assert_array_equal(got, expected)

    def test_the_partition_for_new_rows_waits_for_new_rows(self, digits, monkeypatch):
        # fit (fit_transform) never searches new rows: the first transform
        # builds the partition, the same one an eagerly prepared index has,
        # also after pickling
        from skmde.neighbors import _clustered, _exact

        monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 32)
        monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 300)
        X, _, new, _ = digits
        model = MDENeighbors(random_state=0, max_iter=20).fit(X)
        assert model._index.partition is None
        restored = pickle.loads(pickle.dumps(model))
        Z = model.transform(new)
        eager = neighbors.NeighborIndex(X, "euclidean", for_new_rows=True)
        built = model._index.partition
        assert built is not None and eager.partition is not None
        for name in ("centers", "order", "starts", "probed"):
            np.testing.assert_array_equal(
                getattr(built, name), getattr(eager.partition, name)
            )
        np.testing.assert_array_equal(restored.transform(new), Z)
        model.transform(new)
        assert model._index.partition is built  # built once
        # a model given its training data back waits for new rows too
        compact = MDENeighbors(random_state=0, max_iter=20, store_training_data=False)
        compact.fit(X).attach_training_data(X)
        assert compact._index.partition is None
        np.testing.assert_array_equal(compact.transform(new), Z)
        assert compact._index.partition is not None


class TestScore:
    def test_in_unit_interval_and_rewards_good_embeddings(self, digits):
        X, _, new, _ = digits
        good = MDENeighbors(random_state=0).fit(X)
        poor = MDENeighbors(random_state=0, max_iter=1, init="random").fit(X)
        assert 0 <= poor.score(new) < good.score(new) <= 1

    def test_independent_of_the_penalty(self, digits):
        X, _, new, _ = digits
        scores = [
            MDENeighbors(attractive_penalty=p, random_state=0).fit(X).score(new)
            for p in ("log1p", "huber")
        ]
        assert all(0.2 < s < 1 for s in scores)


class TestSklearnWorkflows:
    def test_pipeline(self, digits):
        X, _, new, _ = digits
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("pca", PCA(20)),
                ("embed", MDENeighbors(random_state=0)),
            ]
        )
        Z = pipe.fit_transform(X)
        bare = MDENeighbors(random_state=0).fit_transform(
            PCA(20).fit_transform(StandardScaler().fit_transform(X))
        )
        np.testing.assert_allclose(Z, bare)
        assert pipe.transform(new).shape == (100, 2)
        assert pipe.score(new) == pytest.approx(
            pipe[-1].score(pipe[:-1].transform(new))
        )

    def test_grid_search_default_score(self, digits):
        X, _, _, _ = digits
        grid = GridSearchCV(
            MDENeighbors(random_state=0, max_iter=60),
            {
                "attractive_penalty": [
                    "log1p",
                    penalties.Huber,
                    functools.partial(penalties.Log1p, exponent=2.0),
                ],
                "n_neighbors": [10, 15],
            },
            cv=2,
        )
        grid.fit(X[:400])
        assert len(grid.cv_results_["mean_test_score"]) == 6
        assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
        assert hasattr(grid.best_estimator_, "embedding_")

    def test_grid_search_downstream_classifier(self, digits):
        X, y, _, _ = digits
        pipe = Pipeline(
            [
                ("embed", MDENeighbors(random_state=0, max_iter=60)),
                ("knn", KNeighborsClassifier(5)),
            ]
        )
        grid = GridSearchCV(
            pipe, {"embed__repulsive_penalty": ["log", "logratio"]}, cv=2
        )
        grid.fit(X[:400], y[:400])
        assert grid.best_score_ > 0.8

    def test_cross_val_score_and_clone(self, digits):
        X, _, _, _ = digits
        model = MDENeighbors(n_neighbors=7, random_state=0, max_iter=50)
        scores = cross_val_score(model, X[:300], cv=3)
        assert scores.shape == (3,) and (scores > 0).all()
        copy = clone(model)
        assert copy.get_params() == model.get_params()
        assert not hasattr(copy, "embedding_")


class TestOutputAndMetadata:
    def test_feature_names_and_pandas_output(self, digits):
        pd = pytest.importorskip("pandas")
        X, _, new, _ = digits
        frame = pd.DataFrame(
            X,
            columns=[f"px{i}" for i in range(64)],
            index=[f"img{i}" for i in range(700)],
        )
        model = MDENeighbors(random_state=0).set_output(transform="pandas")
        out = model.fit_transform(frame)
        assert list(out.columns) == ["mdeneighbors0", "mdeneighbors1"]
        assert list(out.index) == list(frame.index)
        assert list(model.feature_names_in_) == list(frame.columns)
        new_frame = pd.DataFrame(new, columns=frame.columns, index=range(100, 200))
        assert list(model.transform(new_frame).index) == list(range(100, 200))
        assert list(MDEDistances().get_params()) and list(
            MDEDistances(n_components=3, random_state=0)
            .fit(X[:100])
            .get_feature_names_out()
        ) == ["mdedistances0", "mdedistances1", "mdedistances2"]

    def test_polars_output(self, digits):
        pl = pytest.importorskip("polars")
        X, _, _, _ = digits
        out = (
            MDENeighbors(random_state=0)
            .set_output(transform="polars")
            .fit_transform(X[:200])
        )
        assert isinstance(out, pl.DataFrame) and out.columns == [
            "mdeneighbors0",
            "mdeneighbors1",
        ]

    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_dtype_preserved(self, digits, dtype):
        X, _, new, _ = digits
        model = MDENeighbors(random_state=0)
        assert model.fit_transform(X.astype(dtype)).dtype == dtype
        assert model.transform(new.astype(dtype)).dtype == dtype

    def test_fitted_attributes(self, fitted):
        model = fitted["MDENeighbors"]
        assert model.n_iter_ >= 1
        assert model.n_neighbors_ == 10  # max(min(12, 0.005 * 699), 10)
        assert model.n_features_in_ == 64
        assert np.isfinite(model.average_distortion_)
        mde = model.problem()
        assert isinstance(mde, skmde.MDE)
        assert mde.average_distortion() == pytest.approx(
            model.average_distortion_, rel=1e-4
        )
        pairs, distortions = mde.high_distortion_pairs()
        assert (np.diff(distortions.numpy()) <= 0).all()

    def test_problem_rebuilds_any_distortion_with_its_arguments(self, digits):
        X = digits[0][:150]
        chain = np.column_stack([np.arange(149), np.arange(1, 150)])

        def plain(weights):  # a factory of a plain function of the distances
            return lambda d: weights * d**2

        hinge = functools.partial(penalties.Huber, threshold=0.25)
        for factory in (plain, hinge):
            model = MDEEmbedder(
                relationships=lambda X: (chain, np.ones(149)),
                distortion=factory,
                constraint="standardized",
                random_state=0,
                max_iter=30,
            ).fit(X)
            mde = model.problem()
            assert mde.average_distortion() == pytest.approx(
                model.average_distortion_, rel=1e-5
            )
            assert np.isfinite(model.transform(X[:3] + 0.1)).all()
        assert mde.distortion_function.threshold == 0.25  # kept from the partial

    def test_random_state_reproducible(self, digits):
        X, _, new, _ = digits
        a = MDENeighbors(random_state=3).fit(X)
        b = MDENeighbors(random_state=3).fit(X)
        np.testing.assert_array_equal(a.embedding_, b.embedding_)
        np.testing.assert_array_equal(a.transform(new), b.transform(new))
        c = MDENeighbors(random_state=np.random.RandomState(3)).fit(X)
        assert c.embedding_.shape == a.embedding_.shape

    def test_n_jobs_not_rewritten_and_threads_restored(self, digits):
        X, _, new, _ = digits
        before = torch.get_num_threads()
        model = MDENeighbors(n_jobs=1, random_state=0).fit(X[:200])
        model.transform(new)
        assert model.n_jobs == 1 and torch.get_num_threads() == before

    def test_verbosity(self, digits, capsys):
        X = digits[0][:200]
        MDENeighbors(random_state=0, max_iter=20).fit(X)
        assert capsys.readouterr() == ("", "")
        MDENeighbors(random_state=0, max_iter=20, verbose=1).fit(X)
        err = capsys.readouterr().err
        # stages through the "skmde" logger, iterations in a tqdm bar
        assert "skmde: computing" in err and "nearest neighbors" in err
        assert "MDENeighbors" in err and "/20 [" in err and "average distortion" in err


class TestPersistence:
    @pytest.mark.parametrize("name", ESTIMATOR_NAMES)
    def test_pickle_and_joblib_round_trips(self, fitted, digits, name):
        model = fitted[name]
        new = digits[2]
        expected = model.transform(new)
        np.testing.assert_array_equal(
            pickle.loads(pickle.dumps(model)).transform(new), expected
        )
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        buffer.seek(0)
        np.testing.assert_array_equal(joblib.load(buffer).transform(new), expected)

    def test_fitted_state_is_numpy_on_the_cpu(self, fitted):
        def tensors(obj, seen=None):
            seen = set() if seen is None else seen
            if id(obj) in seen:
                return []
            seen.add(id(obj))
            if isinstance(obj, torch.Tensor):
                return [obj]
            items = (
                obj.values()
                if isinstance(obj, dict)
                else obj
                if isinstance(obj, list | tuple)
                else vars(obj).values()
                if hasattr(obj, "__dict__")
                else []
            )
            return [t for item in items for t in tensors(item, seen)]

        for model in fitted.values():
            found = tensors(model.__dict__)
            assert all(t.device.type == "cpu" for t in found)
            assert not any(isinstance(v, torch.Tensor) for v in vars(model).values())

    def test_compact_models(self, digits):
        X, _, new, _ = digits
        full = MDENeighbors(random_state=0).fit(X)
        compact = MDENeighbors(random_state=0, store_training_data=False).fit(X)
        assert len(pickle.dumps(compact)) < len(pickle.dumps(full)) / 2
        with pytest.raises(NotFittedError, match="attach_training_data"):
            compact.transform(new)
        compact.attach_training_data(X)
        np.testing.assert_array_equal(compact.transform(new), full.transform(new))
        with pytest.raises(ValueError, match="fitted on 700"):
            compact.attach_training_data(X[:10])
        # shuffled or unrelated data of the right shape was accepted
        shuffled = X[np.random.default_rng(0).permutation(len(X))]
        with pytest.raises(ValueError, match="not the data the model was fitted"):
            compact.attach_training_data(shuffled)
        with pytest.raises(ValueError, match="not the data the model was fitted"):
            compact.attach_training_data(X + 1e-9)
        compact.attach_training_data(X.astype(np.float32).astype(X.dtype))


class TestBadInput:
    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_non_finite(self, digits, bad):
        X = digits[0][:50].copy()
        X[3, 4] = bad
        with pytest.raises(ValueError, match=r"NaN|infinity"):
            MDENeighbors().fit(X)

    def test_wrong_feature_count_at_transform(self, fitted, digits):
        with pytest.raises(ValueError, match="64 features"):
            fitted["MDENeighbors"].transform(digits[2][:, :10])

    def test_transform_before_fit(self, digits):
        with pytest.raises(NotFittedError):
            MDENeighbors().transform(digits[2])

    @pytest.mark.parametrize(
        ("params", "match"),
        [
            ({"n_components": 0}, "n_components"),
            ({"n_neighbors": 0}, "n_neighbors"),
            ({"attractive_penalty": "nope"}, "attractive_penalty"),
            ({"repulsive_fraction": -1.0}, "repulsive_fraction"),
            ({"edge_weights": "heavy"}, "edge_weights"),
            ({"constraint": "round"}, "constraint"),
            ({"init": "magic"}, "init"),
            ({"metric": "nope"}, "metric"),
            ({"max_iter": 0}, "max_iter"),
            ({"eps": -1.0}, "eps"),
            ({"dtype": "float16"}, "dtype"),
            ({"n_jobs": "all"}, "n_jobs"),
            ({"n_jobs": 0}, "n_jobs"),
        ],
    )
    def test_invalid_parameters_name_themselves(self, digits, params, match):
        with pytest.raises(ValueError, match=f"'{match}' parameter"):
            MDENeighbors(**params).fit(digits[0][:50])

    def test_one_sample(self):
        with pytest.raises(ValueError, match="1 sample"):
            MDENeighbors().fit(np.ones((1, 3)))

    def test_precomputed_must_be_square_and_nonnegative(self):
        with pytest.raises(ValueError, match="square"):
            MDENeighbors(metric="precomputed").fit(np.ones((5, 4)))
        D = np.ones((5, 5))
        D[0, 1] = -1
        with pytest.raises(ValueError, match="Negative values"):
            MDENeighbors(metric="precomputed").fit(D)

    def test_ambiguous_distortion_name(self):
        with pytest.raises(ValueError, match="names both a penalty and a loss"):
            MDEEmbedder(
                relationships=lambda X: (np.array([[0, 1]]), np.ones(1)),
                distortion="quadratic",
            ).fit(np.ones((3, 2)))

    def test_metric_without_new_row_search_refused_before_the_solve(
        self, digits, monkeypatch
    ):
        # hellinger: pynndescent finds the fit's neighbours, but nothing
        # searches new rows exactly; the fit must say so before solving
        def no_solve(*args, **kwargs):
            raise AssertionError("the solve ran")

        def euclidean_search(data, k, metric, **kwargs):  # no numba compilation
            indices, distances, _ = neighbors.nearest_neighbors(data, k)
            return indices, distances, None  # as pynndescent: no exact index

        monkeypatch.setattr(skmde.MDE, "embed", no_solve)
        monkeypatch.setattr(skmde.graphs, "nearest_neighbors", euclidean_search)
        X = np.abs(digits[0][:300])
        with pytest.raises(ValueError, match=r"metric='hellinger' .* no exact search"):
            MDENeighbors(metric="hellinger", random_state=0).fit(X)
        # distance embeddings need the metric for pairs: refused at once too
        with pytest.raises(ValueError, match="'hellinger' is known to pynndescent"):
            MDEDistances(metric="hellinger", random_state=0).fit(X)


class TestAtomicFit:
    def test_interrupted_fit_leaves_the_estimator_unfitted(self, digits, monkeypatch):
        model = MDENeighbors(random_state=0)

        def interrupt(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(skmde.MDE, "embed", interrupt)
        with pytest.raises(KeyboardInterrupt):
            model.fit(digits[0])
        assert not hasattr(model, "n_features_in_")
        with pytest.raises(NotFittedError):
            model.transform(digits[2])
        monkeypatch.undo()
        assert model.fit(digits[0]).embedding_.shape == (700, 2)


class TestUserConstraintInTransform:
    class Sphere(skmde.Constraint):
        """Rows on the unit sphere (a constraint that acts row by row)."""

        def initialization(
            self, n_items, embedding_dim, device=None, generator=None, dtype=None
        ):
            X = torch.randn(n_items, embedding_dim, generator=generator, dtype=dtype)
            return self.project_onto_constraint(X)

        def project_onto_constraint(self, X, inplace=False):
            return X / X.norm(dim=1, keepdim=True)

        def project_onto_tangent_space(self, X, G, inplace=False):
            return G - (G * X).sum(dim=1, keepdim=True) * X

    @pytest.mark.parametrize("estimator", [MDENeighbors, MDEDistances])
    def test_new_rows_satisfy_a_row_wise_constraint(self, digits, estimator):
        # rows fitted on a sphere came back off it
        X, _, new, _ = digits
        model = estimator(
            n_components=3, constraint=self.Sphere(), random_state=0, max_iter=50
        ).fit(X[:300])
        np.testing.assert_allclose(np.linalg.norm(model.embedding_, axis=1), 1, 1e-4)
        np.testing.assert_allclose(
            np.linalg.norm(model.transform(new), axis=1), 1, rtol=1e-6
        )
        np.testing.assert_array_equal(model.transform(X[:5]), model.embedding_[:5])

    def test_set_constraints_leave_new_rows_free(self, fitted, digits):
        # centred: projecting new rows alone would centre them (wrong)
        model = fitted["MDENeighbors"]
        new = model.transform(digits[2])
        assert np.abs(new.mean(axis=0)).max() > 1e-3
