"""Parallel use: grid searches with processes and threads, concurrent fits."""

import threading

import numpy as np
import pytest
import torch
from joblib import parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skmde import MDEDistances, MDENeighbors

GRID = {"attractive_penalty": ["log1p", "huber"], "n_neighbors": [6, 9]}


@pytest.fixture(scope="module")
def X():
    return load_digits().data[:360]


def search(X, n_jobs, backend=None):
    grid = GridSearchCV(
        MDENeighbors(random_state=0, max_iter=40), GRID, cv=2, n_jobs=n_jobs
    )
    if backend is None:
        grid.fit(X)
    else:
        with parallel_backend(backend, n_jobs=n_jobs):
            grid.fit(X)
    return grid.cv_results_["mean_test_score"]


@pytest.mark.slow
def test_grid_search_with_processes_matches_sequential(X):
    # loky worker processes run torch with one thread each: the embeddings do
    # not depend on the thread count, so the scores are equal
    np.testing.assert_array_equal(search(X, 2), search(X, 1))


def test_grid_search_with_threads_matches_sequential(X):
    np.testing.assert_array_equal(search(X, 2, "threading"), search(X, 1))


def test_concurrent_fits_in_threads_match_sequential_fits(X):
    models = [
        MDENeighbors(random_state=0, max_iter=50),
        MDEDistances(random_state=0, max_iter=50),
    ]
    sequential = [type(m)(**m.get_params()).fit(X).embedding_ for m in models]
    before = torch.get_num_threads()
    threads = [threading.Thread(target=m.fit, args=(X,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for model, expected in zip(models, sequential):
        np.testing.assert_allclose(model.embedding_, expected, rtol=1e-4, atol=1e-4)
    assert torch.get_num_threads() == before


def test_n_jobs_sets_and_restores_torch_threads(X, monkeypatch):
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: seen.append(n) or real(n))
    before = torch.get_num_threads()
    model = MDENeighbors(n_jobs=1, random_state=0, max_iter=5).fit(X)
    model.transform(X[:5])
    assert seen[0] == 1 and seen[-1] == before
    assert torch.get_num_threads() == before
    seen.clear()
    MDENeighbors(random_state=0, max_iter=5).fit(X)  # n_jobs=None: adapted
    assert seen[0] == 1 and seen[-1] == before  # small data: one thread
    assert torch.get_num_threads() == before
