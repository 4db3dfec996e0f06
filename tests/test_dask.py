"""Distributed transform on a real dask.distributed LocalCluster (loopback)."""

import os
import signal
import time

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402

import skmde  # noqa: E402
from skmde.dask import sample_rows, transform  # noqa: E402


def _local_cluster():
    """Two single-threaded worker processes on loopback, no dashboard port."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        silence_logs=50,
    )


@pytest.fixture(scope="module")
def client():
    cluster = _local_cluster()
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=5, size=(4, 6))
    X = centers[rng.integers(0, 4, 1500)] + rng.normal(size=(1500, 6))
    return X


@pytest.fixture(scope="module")
def model(data):
    return skmde.MDENeighbors(random_state=0).fit(data[:400])


@pytest.mark.parametrize("chunks", [(100, 6), (333, 6), (1500, 6), (7, 6)])
def test_any_chunking_equals_the_in_memory_transform(client, model, data, chunks):
    expected = model.transform(data)
    lazy = transform(model, da.from_array(data, chunks=chunks))
    assert lazy.shape == (1500, 2)
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_the_model_is_prepared_once_before_it_is_shipped(model, data, monkeypatch):
    # the partition for new rows is built here, not in each worker
    from skmde.neighbors import _clustered, _exact

    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 32)
    monkeypatch.setattr(_exact, "CLUSTERED_QUERIES_ABOVE", 300)
    fitted = skmde.MDENeighbors(random_state=0, max_iter=20).fit(data[:400])
    assert fitted._index.partition is None
    transform(fitted, da.from_array(data, chunks=(500, 6)))
    assert fitted._index.partition is not None


def test_precomputed_model(client, data):
    from scipy.spatial.distance import cdist

    D = cdist(data, data[:300])
    model = skmde.MDENeighbors(metric="precomputed", random_state=0, max_iter=30)
    model.fit(D[:300])
    lazy = transform(model, da.from_array(D[300:700], chunks=(128, 300)))
    np.testing.assert_array_equal(lazy.compute(), model.transform(D[300:700]))


def test_distances_model(client, data):
    model = skmde.MDEDistances(random_state=0, max_iter=50).fit(data[:300])
    lazy = transform(model, da.from_array(data[300:700], chunks=(64, 6)))
    np.testing.assert_array_equal(lazy.compute(), model.transform(data[300:700]))


def test_dataframe_keeps_index_and_names_columns(client, model, data):
    frame = pd.DataFrame(
        data, columns=list("abcdef"), index=pd.Index([f"row{i}" for i in range(1500)])
    )
    out = transform(model, dd.from_pandas(frame, npartitions=5, sort=False)).compute()
    assert list(out.columns) == ["mdeneighbors0", "mdeneighbors1"]
    assert list(out.index) == list(frame.index)
    np.testing.assert_array_equal(out.to_numpy(), model.transform(data))


def test_dataframe_feature_names_checked_as_in_memory(client, data):
    # reordered columns were accepted (wrong rows); pandas transform raises
    frame = pd.DataFrame(data, columns=list("abcdef"))
    named = skmde.MDENeighbors(random_state=0).fit(frame[:300])
    lazy = transform(named, dd.from_pandas(frame, npartitions=3, sort=False))
    np.testing.assert_array_equal(lazy.compute().to_numpy(), named.transform(frame))
    shuffled = dd.from_pandas(frame[list("bacdef")], npartitions=3, sort=False)
    with pytest.raises(ValueError, match="feature names should match"):
        transform(named, shuffled)
    with pytest.raises(ValueError, match="feature names should match"):
        named.transform(frame[list("bacdef")])


def test_model_is_one_key_in_the_graph(model, data):
    lazy = transform(model, da.from_array(data, chunks=(100, 6)))
    graph = dict(lazy.__dask_graph__())
    holding = [
        k for k, v in graph.items() if v is model or getattr(v, "value", None) is model
    ]
    assert len(holding) == 1


def test_column_chunks_are_rechunked(client, model, data):
    lazy = transform(model, da.from_array(data, chunks=(300, 2)))
    np.testing.assert_array_equal(lazy.compute(), model.transform(data))


def test_wrong_feature_count_raises_before_any_task(model, data):
    with pytest.raises(ValueError, match="shape \\(n_samples, 6\\)"):
        transform(model, da.from_array(data[:, :4], chunks=(100, 4)))
    with pytest.raises(TypeError, match=r"dask\.array\.Array or a dask\.dataframe"):
        transform(model, data)


def test_parallel_post_fit_in_a_pipeline(client, data):
    pytest.importorskip("dask_ml")
    from dask_ml.wrappers import ParallelPostFit
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    def pipeline(embed):
        return Pipeline([("scale", StandardScaler()), ("embed", embed)])

    reference = pipeline(skmde.MDENeighbors(random_state=0)).fit(data[:400])
    expected = reference.transform(data)
    lazy_input = da.from_array(data, chunks=(250, 6))
    # the whole pipeline wrapped: transform stays lazy, block by block
    wrapped = ParallelPostFit(pipeline(skmde.MDENeighbors(random_state=0)))
    out = wrapped.fit(data[:400]).transform(lazy_input)
    assert isinstance(out, da.Array)
    np.testing.assert_array_equal(out.compute(), expected)
    # the embedding step wrapped inside a pipeline
    inner = pipeline(ParallelPostFit(skmde.MDENeighbors(random_state=0)))
    np.testing.assert_array_equal(inner.fit(data[:400]).transform(data), expected)


def test_a_killed_worker_does_not_change_the_result(model, data):
    cluster = _local_cluster()
    with distributed.Client(cluster) as client:
        big = np.tile(data, (8, 1))
        expected = model.transform(big)
        future = client.compute(transform(model, da.from_array(big, chunks=(200, 6))))
        time.sleep(0.5)
        victim = next(iter(client.scheduler_info()["workers"]))
        pid = client.run(os.getpid, workers=[victim])[victim]
        # killed mid-computation: the nanny restarts the worker and Dask
        # recomputes the tasks it had
        os.kill(pid, signal.SIGKILL)
        result = future.result(timeout=300)
        np.testing.assert_array_equal(result, expected)
    cluster.close()


def test_sample_rows():
    X = np.zeros((1000, 2))
    y = np.repeat([0, 1, 2], [800, 150, 50])
    a = sample_rows(X, 100, y=y, random_state=0)
    b = sample_rows(X, 100, y=y, random_state=0)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(y[a]).tolist() == [80, 15, 5]  # stratified
    plain = sample_rows(da.zeros((1000, 2), chunks=100), 10, random_state=1)
    assert len(plain) == 10 and len(set(plain)) == 10
    with pytest.raises(ValueError, match="more than the 1000 rows"):
        sample_rows(X, 2000)
