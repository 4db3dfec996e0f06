"""The per-row Newton solver behind ``transform``, on problems with known
minimizers."""

import functools

import numpy as np
import pytest
import scipy.sparse
import torch

from skmde import penalties
from skmde._row_solver import (
    RowProblem,
    _newton_step_2d,
    _newton_step_eigh,
    _row_terms,
    solve_rows,
)
from skmde.initialization import best_start


def _problem(rng, factory, B=50, K=6, m=3):
    anchors = torch.from_numpy(rng.normal(size=(B, K, m)))
    weights = torch.from_numpy(rng.uniform(0.5, 2.0, size=(B, K)))
    mask = torch.ones((B, K), dtype=torch.bool)
    mask[:, -1] = torch.from_numpy(rng.random(B) < 0.5)  # some rows lack an edge
    return (
        RowProblem(anchors, weights, mask, [(slice(0, K), factory)]),
        anchors,
        weights,
    )


def test_quadratic_attraction_lands_on_the_weighted_mean(rng):
    problem, anchors, weights = _problem(rng, penalties.Quadratic)
    w = torch.where(problem.mask, weights, 0.0)
    expected = (w.unsqueeze(2) * anchors).sum(1) / w.sum(1, keepdim=True)
    x = solve_rows(torch.zeros_like(expected), problem)
    np.testing.assert_allclose(x.numpy(), expected.numpy(), atol=1e-8)


def test_closed_form_and_autograd_second_derivatives_agree(rng):
    # Log1p has a closed-form second derivative; the same penalty written as
    # a plain callable is differentiated twice by autograd
    built_in, anchors, _ = _problem(rng, penalties.Log1p)
    by_autograd = RowProblem(
        built_in.anchors,
        built_in.values,
        built_in.mask,
        [(slice(0, 6), lambda w: lambda d: w * torch.log1p(d.pow(1.5)))],
    )
    x0 = anchors.mean(1) + 0.3
    np.testing.assert_allclose(
        solve_rows(x0, built_in).numpy(), solve_rows(x0, by_autograd).numpy(), atol=1e-7
    )


def test_rows_do_not_depend_on_their_batch(rng):
    problem, anchors, _ = _problem(rng, penalties.Log1p)
    x0 = anchors.mean(1) + 0.5
    whole = solve_rows(x0, problem)
    rows = torch.arange(10, 30)
    part = RowProblem(
        problem.anchors[rows],
        problem.values[rows],
        problem.mask[rows],
        [(slice(0, 6), penalties.Log1p)],
    )
    np.testing.assert_array_equal(
        solve_rows(x0[rows], part).numpy(), whole[rows].numpy()
    )


@pytest.mark.parametrize("factory", [penalties.Log1p, penalties.Log])
def test_rows_of_large_batches_do_not_depend_on_their_batch(rng, factory):
    # 3,001 rows of 13 edges: torch splits the penalties' 39,013 elements
    # between threads, and computes pow for the last few of each thread's
    # range without vector instructions (rounded differently): a row's
    # terms must round alike in any batch all the same
    B, K = 3_001, 13
    anchors = torch.from_numpy(rng.normal(size=(B, K, 2)))
    weights = torch.from_numpy(rng.uniform(0.5, 2.0, size=(B, K)))
    if factory is penalties.Log:
        weights = -weights
    mask = torch.ones((B, K), dtype=torch.bool)
    pull = functools.partial(factory, exponent=1.3)  # torch.pow, not sqrt
    whole_problem = RowProblem(anchors, weights, mask, [(slice(0, K), pull)])
    x = anchors.mean(1) + torch.from_numpy(rng.normal(scale=0.5, size=(B, 2)))
    whole = _row_terms(x, whole_problem, None, 2)
    for start in range(0, B, 7):  # batches of 7 rows (the last of 5)
        rows = torch.arange(start, min(B, start + 7))
        part = RowProblem(
            anchors[rows], weights[rows], mask[rows], [(slice(0, K), pull)]
        )
        for got, expected in zip(_row_terms(x[rows], part, None, 2), whole):
            np.testing.assert_array_equal(got.numpy(), expected[rows].numpy())


def test_a_row_at_its_minimum_stays_there(rng):
    problem, anchors, weights = _problem(rng, penalties.Quadratic)
    w = torch.where(problem.mask, weights, 0.0)
    optimum = (w.unsqueeze(2) * anchors).sum(1) / w.sum(1, keepdim=True)
    np.testing.assert_allclose(
        solve_rows(optimum, problem).numpy(), optimum.numpy(), atol=1e-12
    )


def test_closed_form_2d_step_matches_the_eigendecomposition(rng):
    # indefinite, definite, diagonal, multiples of I, tiny and huge scales
    hess = torch.from_numpy(rng.normal(size=(600, 2, 2)))
    hess = hess + hess.transpose(1, 2)
    hess[:100] *= 1e-9
    hess[100:200] *= 1e9
    hess[200:250, 0, 1] = hess[200:250, 1, 0] = 0.0
    hess[250:300] = 3.0 * torch.eye(2, dtype=hess.dtype)
    hess[300:320] = 0.0
    hess[300:320, 0, 0] = 1.0  # singular: floored eigenvalue
    grad = torch.from_numpy(rng.normal(size=(600, 2)))
    expected = _newton_step_eigh(grad, hess)
    got = _newton_step_2d(grad, hess)
    scale = expected.abs().amax(dim=1, keepdim=True)
    assert torch.all((got - expected).abs() <= 1e-9 * scale)


def test_best_start_is_the_row_s_lowest_candidate(rng):
    problem, anchors, _ = _problem(rng, penalties.Log1p, m=2)
    Y = anchors.reshape(-1, 2)  # fitted items: every anchor of every row
    B, K = anchors.shape[:2]
    nearest = (np.arange(B)[:, None] * K + np.arange(K)[None, :])[:, :4]
    valid = np.ones(nearest.shape, dtype=bool)
    valid[::3, 0] = False  # an invalid neighbour is replaced by the mean
    mean = torch.from_numpy(rng.normal(size=(B, 2)))

    def objective_of(rows_problem):
        return lambda x: _row_terms(x, rows_problem, None, 0)[0]

    start = best_start(mean, Y, nearest, valid, objective_of(problem), count=3)
    rows = torch.arange(B)
    candidates = [mean] + [
        torch.where(
            torch.from_numpy(valid[:, j : j + 1]),
            0.999 * Y[torch.from_numpy(nearest[:, j])] + 0.001 * mean,
            mean,
        )
        for j in range(3)
    ]
    values = torch.stack([_row_terms(c, problem, rows, 0)[0] for c in candidates], 1)
    expected = torch.stack(candidates, 1)[rows, values.argmin(dim=1)]
    torch.testing.assert_close(start, expected, rtol=0, atol=0)
    assert (values.argmin(dim=1) > 0).any()  # some rows start on a neighbour
    # a row's start does not depend on its batch
    half = problem.take(torch.arange(0, B, 2))
    alone = best_start(
        mean[::2], Y, nearest[::2], valid[::2], objective_of(half), count=3
    )
    torch.testing.assert_close(alone, start[::2], rtol=0, atol=0)


def test_row_terms_of_repeated_rows(rng):
    # rows may repeat (the backtracking ladder evaluates several trial points
    # of a row at once), even when there are as many as the problem has rows
    problem, _, _ = _problem(rng, penalties.Log1p, B=8, m=2)
    rows = torch.tensor([1, 1, 1, 1, 5, 5, 5, 5])
    x = torch.from_numpy(rng.normal(size=(8, 2)))
    value, grad, hess = _row_terms(x, problem, rows, 2)
    for r in (1, 5):
        alone = problem.take(torch.tensor([r]))
        for i in torch.nonzero(rows == r).squeeze(1).tolist():
            v, g, h = _row_terms(x[i : i + 1], alone, None, 2)
            torch.testing.assert_close(value[i : i + 1], v)
            torch.testing.assert_close(grad[i : i + 1], g)
            torch.testing.assert_close(hess[i : i + 1], h)


@pytest.mark.parametrize("sparse", [False, True])
def test_duplicate_groups_are_exact(rng, sparse):
    from skmde._duplicates import _duplicate_groups, merge_duplicates, row_hashes

    X = rng.normal(size=(50, 6))
    X[:, :3] = 0.0  # sparse rows with explicit structure
    X[10] = X[3]
    X[20] = X[3]
    X[30] = X[7]
    X[40] = -0.0 * X[41] + X[41]  # equal values (0.0 and -0.0 compare equal)
    X[41, 0] = -0.0
    near = X[5].copy()
    near[4] = np.nextafter(near[4], np.inf)  # one ulp apart: not a duplicate
    X[6] = near
    data = scipy.sparse.csr_matrix(X) if sparse else X
    groups = sorted(
        sorted(g.tolist()) for g in _duplicate_groups(data, row_hashes(data))
    )
    assert groups == [[3, 10, 20], [7, 30], [40, 41]]
    Y = rng.normal(size=(50, 2))
    merged = merge_duplicates(data, Y)
    np.testing.assert_allclose(merged[3], Y[[3, 10, 20]].mean(axis=0))
    np.testing.assert_array_equal(merged[6], Y[6])
    head = Y[:5]
    assert merge_duplicates(rng.normal(size=(5, 2)), head) is head  # no copy


@pytest.mark.parametrize("sparse", [False, True])
def test_row_hashes_of_whole_numbers_do_not_collide(rng, sparse):
    # pixels and counts stored as floats have ~45 trailing zero bits; a hash
    # that multiplied them unfolded kept ~19 bits and matched ~200 of these
    # distinct rows with another
    from skmde._duplicates import row_hashes

    X = rng.integers(0, 256, size=(20_000, 40)).astype(np.float32)
    assert len(np.unique(X, axis=0)) == len(X)
    data = scipy.sparse.csr_matrix(X) if sparse else X
    assert len(np.unique(row_hashes(data))) == len(X)
