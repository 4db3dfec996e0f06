"""transform's engine against reference computations: the per-row terms and
minimizers, the partner tables, the neighbour and distance rows, the score."""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from scipy.optimize import minimize

from skmde import MDEDistances, MDENeighbors, losses, penalties
from skmde import _row_solver as S
from skmde import _transform as T
from skmde.constraints import Centered, Constraint


def reference_objective(x, anchors, values, mask, parts):
    """A row's objective, written plainly: sum over its edges of f(|x - y|)."""
    total = 0.0
    d = torch.linalg.vector_norm(x.unsqueeze(0) - anchors, dim=1)
    for columns, factory in parts:
        f = factory(values[columns])
        part = f(d[columns]) if callable(f) else f
        total = total + torch.where(mask[columns], part, 0.0).sum()
    return total


def assert_no_lower_point_nearby(f, x, *, xatol, fatol, tol, maxiter=None):
    """Nelder-Mead started at ``x`` finds no point lower than ``f(x)`` by more
    than ``tol``: ``x`` is a (local) minimum of ``f``."""
    options = {"xatol": xatol, "fatol": fatol}
    if maxiter is not None:
        options["maxiter"] = maxiter
    best = minimize(f, x, method="Nelder-Mead", options=options)
    assert f(x) <= best.fun + tol


def stress_of(loss, targets, positions):
    """A new row's stress against fitted ``positions`` with ``targets``."""
    f = loss(torch.from_numpy(np.asarray(targets, dtype=np.float64)))

    def stress(z):
        z = torch.as_tensor(z, dtype=torch.float64)
        return float(f(torch.linalg.vector_norm(positions - z, dim=1)).sum())

    return stress


def row_problem(rng, parts, B=6, K=7, m=2, signs=None):
    anchors = torch.from_numpy(rng.normal(size=(B, K, m)))
    values = torch.from_numpy(rng.uniform(0.5, 2.0, size=(B, K)))
    if signs is not None:
        values = values * torch.tensor(signs, dtype=torch.float64)
    mask = torch.from_numpy(rng.random((B, K)) < 0.85)
    mask[:, 0] = True
    return S.RowProblem(anchors, values, mask, parts), anchors, values, mask


PART_SETS = {
    "log1p": [(slice(0, 7), penalties.Log1p)],
    "push and pull": [
        (slice(0, 4), penalties.Log1p),
        (slice(4, 7), penalties.Log),
    ],
    "huber loss": [(slice(0, 7), losses.Huber)],
    "logistic (autograd f'')": [(slice(0, 7), penalties.Logistic)],
    "plain callable": [(slice(0, 7), lambda w: lambda d: w * d.pow(3) / 3.0)],
}
SIGNS = {"push and pull": [1, 1, 1, 1, -1, -1, -1]}


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("name", PART_SETS)
def test_row_terms_are_the_objective_and_its_derivatives(name, m):
    rng = np.random.default_rng(0)
    parts = PART_SETS[name]
    problem, anchors, values, mask = row_problem(rng, parts, m=m, signs=SIGNS.get(name))
    x = torch.from_numpy(rng.normal(size=(6, m))) * 2.0
    value, grad, hess = S._row_terms(x, problem, None, order=2)
    only_value, none, _ = S._row_terms(x, problem, None, order=0)
    assert none is None
    torch.testing.assert_close(only_value, value, rtol=1e-12, atol=1e-12)
    for b in range(6):

        def f(z, b=b):
            return reference_objective(z, anchors[b], values[b], mask[b], parts)

        torch.testing.assert_close(value[b], f(x[b]), rtol=1e-10, atol=1e-12)
        g = torch.autograd.functional.jacobian(f, x[b])
        h = torch.autograd.functional.hessian(f, x[b])
        torch.testing.assert_close(grad[b], g, rtol=1e-7, atol=1e-8)
        torch.testing.assert_close(hess[b], h, rtol=1e-6, atol=1e-8)
    # a subset of rows, some repeated, gives those rows' terms
    rows = torch.tensor([4, 1, 1])
    sub = S._row_terms(x[rows], problem, rows, order=2)
    for got, whole in zip(sub, (value, grad, hess)):
        torch.testing.assert_close(got, whole[rows], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("name", ["log1p", "push and pull", "huber loss"])
def test_solve_rows_finds_each_rows_minimum(name, m):
    rng = np.random.default_rng(1)
    parts = PART_SETS[name]
    problem, anchors, values, mask = row_problem(
        rng, parts, B=8, m=m, signs=SIGNS.get(name)
    )
    x0 = anchors.mean(dim=1) + torch.from_numpy(rng.normal(size=(8, m)))
    x = S.solve_rows(x0, problem)
    for b in range(8):

        def f(z, b=b):
            z = torch.from_numpy(z)
            return float(reference_objective(z, anchors[b], values[b], mask[b], parts))

        assert_no_lower_point_nearby(
            f, x[b].numpy(), xatol=1e-10, fatol=1e-14, tol=1e-9, maxiter=4000
        )
        start = minimize(f, x0[b].numpy(), method="BFGS", options={"gtol": 1e-10})
        assert f(x[b].numpy()) <= start.fun + 1e-9


def test_solve_rows_stops_at_tol_and_max_iter():
    rng = np.random.default_rng(2)
    problem, anchors, _, _ = row_problem(rng, PART_SETS["log1p"], B=5)
    x0 = anchors.mean(dim=1) + 3.0
    exact = S.solve_rows(x0, problem)
    one = S.solve_rows(x0, problem, max_iter=1)
    assert not torch.allclose(one, exact, atol=1e-6)
    assert torch.equal(S.solve_rows(x0, problem, max_iter=0), x0)
    loose = S.solve_rows(x0, problem, tol=1e-2)
    assert (loose - exact).abs().max() < 1e-1
    # from the minimum, it stays there
    torch.testing.assert_close(S.solve_rows(exact, problem), exact, rtol=0, atol=1e-12)


def test_newton_steps_use_absolute_curvature():
    grad = torch.tensor([[1.0, 2.0, -1.0], [0.5, 0.0, 1.0]], dtype=torch.float64)
    A = torch.tensor([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    indefinite = torch.diag(torch.tensor([2.0, -4.0, 1e-30]))
    hess = torch.stack([A, indefinite]).double()
    step = S._newton_step(grad, hess)
    torch.testing.assert_close(step[0], -torch.linalg.solve(A.double(), grad[0]))
    # |H| = diag(2, 4, floor): the floor is 1e-10 of the largest, 4
    expected = -grad[1] / torch.tensor([2.0, 4.0, 4e-10], dtype=torch.float64)
    torch.testing.assert_close(step[1], expected)
    # an asymmetric Hessian (rounding) is symmetrized first
    skew = A.double().clone()
    skew[0, 1] += 0.2
    skew[1, 0] -= 0.2
    torch.testing.assert_close(
        S._newton_step(grad[:1], skew.unsqueeze(0)), step[:1], rtol=1e-12, atol=0
    )
    two = S._newton_step(grad[:, :2], hess[:, :2, :2])
    torch.testing.assert_close(
        two[0], -torch.linalg.solve(A[:2, :2].double(), grad[0, :2])
    )
    torch.testing.assert_close(two[1], torch.tensor([-0.25, 0.0], dtype=torch.float64))


def test_floored_sizes():
    size = torch.tensor([[4.0, 1e-20], [0.0, 0.0]], dtype=torch.float64)
    floored = S._floored(size)
    torch.testing.assert_close(
        floored[0], torch.tensor([4.0, 4e-10], dtype=torch.float64)
    )
    assert (floored[1] > 0).all()


def test_backtracking_finds_the_largest_good_halving():
    # f(x) = x^2 from x = 1 along the step -4 (too long): t = 1/2 gives f = 1,
    # not a sufficient decrease; t = 1/4 gives 0; the largest good t is 1/4
    problem = S.RowProblem(
        torch.zeros(1, 1, 1, dtype=torch.float64),
        torch.ones(1, 1, dtype=torch.float64),
        torch.ones(1, 1, dtype=torch.bool),
        [(slice(0, 1), penalties.Quadratic)],
    )
    xa = torch.tensor([[1.0]], dtype=torch.float64)
    step = torch.tensor([[-4.0]], dtype=torch.float64)
    t = S._backtrack(
        xa,
        torch.tensor([1.0]).double(),
        step,
        torch.tensor([-8.0]).double(),
        problem,
        torch.tensor([0]),
    )
    assert t.tolist() == [0.25]
    # an ascent direction: no step
    t = S._backtrack(
        xa,
        torch.tensor([1.0]).double(),
        -step,
        torch.tensor([8.0]).double(),
        problem,
        torch.tensor([0]),
    )
    assert t.tolist() == [0.0]
    # a very long step: found after more than one ladder (4 halvings each)
    t = S._backtrack(
        xa,
        torch.tensor([1.0]).double(),
        1000 * step,
        torch.tensor([-8000.0]).double(),
        problem,
        torch.tensor([0]),
    )
    assert t.item() == 2.0**-11  # in the third ladder (halvings 9 to 12)


# -- partner tables ----------------------------------------------------------------
def test_partner_table_and_fixed_sample():
    table = T.partner_table(500, 3)
    assert table.dtype == np.int32 and table.shape == (500,)
    assert table.min() >= 0 and table.max() < 500 and len(np.unique(table)) > 250
    np.testing.assert_array_equal(table, T.partner_table(500, 3))
    assert not np.array_equal(table, T.partner_table(500, 4))
    sample = T.fixed_sample(1000, 256, 5)
    assert sample.shape == (256,) and len(np.unique(sample)) == 256
    assert (np.diff(sample) > 0).all() and sample.max() < 1000
    np.testing.assert_array_equal(sample, T.fixed_sample(1000, 256, 5))
    assert not np.array_equal(sample, T.fixed_sample(1000, 256, 6))
    np.testing.assert_array_equal(T.fixed_sample(10, 256, 0), np.arange(10))


def test_neighbor_partners_drop_neighbours_repeats_and_missing():
    table = np.array([5, 0, 7, 7, 1, 2, 9, 3, 4, 6])
    indices = np.array([[1, 2, 3, 4], [6, 7, 8, 9]])
    valid = np.array([[True, True, True, False], [True, True, True, True]])
    partners, mask = T.neighbor_partners(table, indices, valid)
    np.testing.assert_array_equal(partners, [[0, 7, 7, 1], [9, 3, 4, 6]])
    # row 0: 0 kept; 7 kept once; 1 is a neighbour; its 4th item is missing
    # row 1: 9 and 6 are its own neighbours; 3 and 4 kept
    np.testing.assert_array_equal(
        mask, [[True, True, False, False], [False, True, True, False]]
    )
    assert partners.dtype == np.int64


# -- neighbour and distance rows ----------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(60, 4)), rng.normal(size=(60, 4)) + 5.0])
    return X, MDENeighbors(random_state=0, n_neighbors=6).fit(X)


def row_objective_of(spec, embedding, candidates, distances):
    """Each new row's own problem, rebuilt from the spec by hand."""
    from skmde.graphs import fuzzy_memberships, scaled_neighbors

    if spec.local_scaling:
        idx, dist, _ = scaled_neighbors(
            candidates, distances, spec.n_neighbors, reference_scales=spec.scales
        )
    else:
        idx, dist = candidates[:, : spec.n_neighbors], distances[:, : spec.n_neighbors]
    w = fuzzy_memberships(dist) / spec.weight_scale
    partners, keep = T.neighbor_partners(spec.partners, idx, np.isfinite(dist))
    Y = torch.from_numpy(embedding)

    def objective(b, z):
        z = torch.as_tensor(z, dtype=torch.float64)
        d = torch.linalg.vector_norm(Y[idx[b]] - z, dim=1)
        total = spec.attractive(torch.from_numpy(w[b]).double())(d).sum()
        p = partners[b][keep[b]]
        if len(p):
            d = torch.linalg.vector_norm(Y[p] - z, dim=1)
            weights = torch.full((len(p),), -spec.repulsive_weight, dtype=torch.float64)
            total = total + spec.repulsive(weights)(d).sum()
        return float(total)

    return objective


def test_transform_neighbors_minimizes_each_rows_problem(fitted):
    X, model = fitted
    rng = np.random.default_rng(4)
    rows = X[[3, 70, 100]] + 0.4 * rng.normal(size=(3, 4))
    spec, embedding = model._transform_spec, model.embedding_.astype(np.float64)
    k = spec.n_neighbors + 20
    candidates, distances = model._index.query(rows, k)
    placed = T.transform_neighbors(spec, embedding, candidates, distances)
    objective = row_objective_of(spec, embedding, candidates, distances)
    for b in range(3):
        assert_no_lower_point_nearby(
            lambda z, b=b: objective(b, z), placed[b], xatol=1e-9, fatol=1e-13, tol=1e-8
        )
    np.testing.assert_allclose(model.transform(rows), placed.astype(rows.dtype))
    # without local scaling: the first n_neighbors candidates
    plain = T.NeighborSpec(**{**vars(spec), "local_scaling": False})
    placed = T.transform_neighbors(plain, embedding, candidates, distances)
    objective = row_objective_of(plain, embedding, candidates, distances)
    assert_no_lower_point_nearby(
        lambda z: objective(0, z), placed[0], xatol=1e-9, fatol=1e-13, tol=1e-8
    )


def test_rows_equal_to_items_land_on_them_and_chunks_do_not_matter(fitted, monkeypatch):
    X, model = fitted
    rows = np.vstack([X[:5], X[60:65] + 0.3])
    whole = model.transform(rows)
    np.testing.assert_array_equal(whole[:5], model.embedding_[:5])
    monkeypatch.setattr(T, "CHUNK_ROWS", 3)
    np.testing.assert_allclose(model.transform(rows), whole, rtol=0, atol=1e-12)
    assert T.chunks(7, 3) == [slice(0, 3), slice(3, 6), slice(6, 7)]
    assert T.chunks(0) == []


def test_embed_rows_in_other_units(fitted):
    X, model = fitted
    spec, index = model._transform_spec, model._index
    rows = X[60:63] + 0.2
    base = T.embed_rows(spec, index, model.embedding_, rows)
    scaled_spec = T.NeighborSpec(**vars(spec))
    scaled_spec.units = 4.0  # the embedding is 4 of the solver's units
    scaled = T.embed_rows(scaled_spec, index, 4.0 * model.embedding_, rows)
    np.testing.assert_allclose(scaled, 4.0 * base, rtol=1e-9)


class Box(Constraint):
    """Every coordinate in [-1, 1], row by row."""

    def project_onto_constraint(self, X, inplace=False):
        return X.clamp(-1.0, 1.0)


def test_row_wise_constraints_hold_for_new_rows(fitted):
    X, model = fitted
    embedding = np.clip(model.embedding_.astype(np.float64), -1, 1)
    assert T._acts_row_by_row(Box(), embedding)
    assert not T._acts_row_by_row(Centered(), embedding + 3.0)
    assert T._acts_row_by_row(Box(), np.zeros((4, 2)))  # all zero: no scale
    spec = T.NeighborSpec(**{**vars(model._transform_spec), "constraint": Box()})
    out = T.embed_rows(spec, model._index, embedding, X[:10] + 3.0)
    assert np.abs(out).max() <= 1.0
    # a constraint on the whole set is not imposed on new rows
    spec.constraint = Centered()
    free = T.embed_rows(spec, model._index, embedding, X[60:61] + 0.5)
    plain = T.embed_rows(model._transform_spec, model._index, embedding, X[60:61] + 0.5)
    np.testing.assert_array_equal(free, plain)


def test_finish_keeps_starts_of_lost_rows_with_a_warning():
    x = torch.tensor([[1.0, 2.0], [np.nan, 0.0], [3.0, np.inf]], dtype=torch.float64)
    x0 = torch.tensor([[0.0, 0.0], [5.0, 5.0], [6.0, 6.0]], dtype=torch.float64)
    embedding = np.array([[9.0, 9.0], [8.0, 8.0]])
    candidates = np.array([[1, 0], [0, 1], [0, 1]])
    distances = np.array([[0.0, 1.0], [2.0, 3.0], [2.0, 3.0]])
    with pytest.warns(UserWarning, match=r"^2 row\(s\) too far .* \(e\.g\. row 1\)"):
        out = T._finish(x, x0, embedding, candidates, distances, None)
    np.testing.assert_array_equal(out, [[8.0, 8.0], [5.0, 5.0], [6.0, 6.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = T._finish(x0.clone(), x0, embedding, candidates, distances + 1, Box())
    np.testing.assert_array_equal(fine, [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])


@pytest.fixture(scope="module")
def distance_model():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    return X, MDEDistances(random_state=0).fit(X)


def test_transform_distances_minimizes_the_stress_to_the_sample(distance_model):
    X, model = distance_model
    spec, index = model._transform_spec, model._index
    embedding = model.embedding_.astype(np.float64)
    rows = X[:3] + 0.3
    placed = model.transform(rows)
    Y = torch.from_numpy(embedding[spec.partners])
    for b in range(3):
        target = (
            np.linalg.norm(X[spec.partners] - rows[b], axis=1) * spec.deviation_scale
        )
        assert_no_lower_point_nearby(
            stress_of(spec.loss, target, Y),
            placed[b],
            xatol=1e-10,
            fatol=1e-12,
            tol=1e-8,
        )
    np.testing.assert_array_equal(model.transform(X[4:6]), model.embedding_[4:6])
    assert index is not None


def test_stored_entries_of_sparse_rows():
    rows = scipy.sparse.csr_matrix(
        np.array([[0.0, 2.0, 0.0, 3.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    )
    columns, values, mask = T._stored_entries(rows)
    np.testing.assert_array_equal(columns, [[1, 3], [0, 0], [0, 0]])
    np.testing.assert_array_equal(values, [[2.0, 3.0], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(mask, [[True, True], [True, False], [False, False]])
    columns, _, mask = T._stored_entries(scipy.sparse.csr_matrix((2, 5)))
    assert columns.shape == (2, 1) and not mask.any()


def test_sparse_precomputed_rows_use_their_stored_distances():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    D = np.linalg.norm(X[:, None] - X[None], axis=2)
    model = MDEDistances(metric="precomputed", random_state=0).fit(D)
    new = X[:2] + 0.2
    full = np.linalg.norm(new[:, None] - X[None], axis=2)
    known = np.where(full < np.sort(full, 1)[:, [12]], full, 0.0)
    placed = model.transform(scipy.sparse.csr_matrix(known))
    Y = torch.from_numpy(model.embedding_.astype(np.float64))
    spec = model._transform_spec
    for b in range(2):
        stored = np.flatnonzero(known[b])
        assert_no_lower_point_nearby(
            stress_of(spec.loss, known[b, stored] * spec.deviation_scale, Y[stored]),
            placed[b],
            xatol=1e-10,
            fatol=1e-12,
            tol=1e-8,
        )
    empty = scipy.sparse.csr_matrix(np.vstack([known[0], np.zeros(40)]))
    with pytest.raises(ValueError, match=r"^row 1 of X stores no distance"):
        model.transform(empty)


# -- the score --------------------------------------------------------------------
def test_neighborhood_score_by_hand(fitted):
    X, model = fitted
    rng = np.random.default_rng(7)
    rows = np.vstack([X[:4], X[60:64] + 0.5 * rng.normal(size=(4, 4))])
    Z = model.transform(rows)
    k = 5
    score = T.neighborhood_score(model._index, model.embedding_, rows, Z, k)
    total = 0.0
    for b in range(len(rows)):
        data_order = np.argsort(np.linalg.norm(X - rows[b], axis=1), kind="stable")
        emb_order = np.argsort(
            np.linalg.norm(model.embedding_ - Z[b], axis=1), kind="stable"
        )
        itself = data_order[0] if b < 4 else -1
        a = [i for i in data_order if i != itself][:k]
        e = [i for i in emb_order if i != itself][:k]
        total += len(set(a) & set(e)) / k
    assert score == pytest.approx(total / len(rows))
    assert T._drop(np.array([3, 1, 4, 1, 5]), 1, 2) == {3, 4}


@pytest.mark.parametrize("which", ["neighbors", "distances"])
def test_rows_solved_with_a_device_match_the_cpu_path(
    fitted, distance_model, which, monkeypatch
):
    """``embed_rows(..., device)`` moves the rows' tensors to the device and
    searches there (exercised here with the CPU as the device, the search
    routed through the device path): the same placements."""
    from skmde.neighbors import _exact

    X, model = fitted if which == "neighbors" else distance_model
    rows = np.vstack([X[:3], X[40:50] + 0.2])
    spec, index = model._transform_spec, model._index
    plain = T.embed_rows(spec, index, model.embedding_, rows)
    monkeypatch.setattr(_exact, "on_accelerator", lambda device: device is not None)
    routed = T.embed_rows(spec, index, model.embedding_, rows, torch.device("cpu"))
    np.testing.assert_allclose(routed, plain, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(routed[:3], model.embedding_[:3])


def test_transform_of_a_model_whose_gpu_this_machine_lacks(fitted, monkeypatch):
    """A model fitted on a GPU and loaded on a machine without one still
    transforms, on the CPU; a CPU device means the CPU path."""
    X, model = fitted
    model = copy.deepcopy(model)
    rows = X[50:55] + 0.1
    expected = model.transform(rows)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:1", torch.device("cuda"), "cpu", None, "auto"):
        model.set_params(device=device)
        assert model._rows_device() is None
        np.testing.assert_array_equal(model.transform(rows), expected)
