"""The compiled gathers and scatters of the objective (``skmde._kernels``)
against the torch path they replace on large CPU problems."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import skmde
import skmde._compiled as compiled_module
import skmde._problem as problem_module
import skmde._utils as utils_module
from skmde import MDE, losses

from ._checks import (
    assert_objective_gradient_matches_finite_differences,
    blas_threads,
    on_one_and_two_threads,
)

pytest.importorskip("numba")


def problem(n, m, function, dtype, seed=0):
    rng = np.random.default_rng(seed)
    edges = np.sort(rng.integers(0, n, size=(6 * n, 2)), axis=1)
    edges = np.unique(edges[edges[:, 0] != edges[:, 1]], axis=0)
    # attractive pairs first, as the recipes build them (sliced into chunks)
    signs = np.where(np.arange(len(edges)) < 0.3 * len(edges), 1.0, -0.4)
    functions = {
        "pushpull": lambda: skmde.PushAndPull(torch.tensor(signs)),
        "loss": lambda: losses.Huber(torch.tensor(rng.uniform(0.5, 2, len(edges)))),
        "callable": lambda: lambda d: torch.log1p(d.square()),
    }
    return MDE(n, m, edges, functions[function](), dtype=dtype)


def with_kernels(monkeypatch, on):
    monkeypatch.setattr(problem_module, "KERNEL_MIN_WORK", 0 if on else 10**18)


@pytest.mark.parametrize("function", ["pushpull", "loss", "callable"])
@pytest.mark.parametrize("m", [1, 2, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernels_match_the_torch_path(monkeypatch, function, m, dtype):
    X = torch.randn(200, m, dtype=dtype, generator=torch.Generator().manual_seed(1))
    with_kernels(monkeypatch, False)
    reference = problem(200, m, function, dtype)
    value, grad = reference._objective(X)
    assert reference._incidences  # the torch path builds incidence matrices
    with_kernels(monkeypatch, True)
    monkeypatch.setattr(problem_module, "CHUNK_EDGES", 97)  # several chunks
    compiled = problem(200, m, function, dtype)
    kernel_value, kernel_grad = compiled._objective(X)
    assert not compiled._incidences  # ... which the loops do without
    if function != "callable":
        chunks = compiled._function_chunks(compiled=True)
        assert len(chunks) > 1 and max(b - a for a, b, _ in chunks) == 97
    tight = dtype == torch.float64
    torch.testing.assert_close(
        kernel_value, value, rtol=1e-12 if tight else 1e-5, atol=0
    )
    scale = float(grad.abs().max())
    torch.testing.assert_close(
        kernel_grad, grad, rtol=0, atol=(1e-12 if tight else 1e-5) * scale
    )


@pytest.mark.parametrize("m", [1, 2, 3])
def test_the_scatter_adds_each_pair_to_both_ends(m):
    # runs of pairs with the same tail are summed before they are added: the
    # sums of every pair's term, whatever the order of the tails
    from skmde import _kernels

    rng = np.random.default_rng(m)
    tail = np.sort(rng.integers(0, 30, 500))
    tail[200:260] = rng.integers(0, 30, 60)  # an unsorted stretch
    head = rng.integers(0, 30, 500)
    diff = rng.normal(size=(500, m))
    coefficients = rng.normal(size=500)
    G = torch.zeros(30, m, dtype=torch.float64)
    _kernels.accumulate(G, *map(torch.from_numpy, (diff, coefficients, tail, head)))
    expected = np.zeros((30, m))
    np.add.at(expected, tail, coefficients[:, None] * diff)
    np.add.at(expected, head, -coefficients[:, None] * diff)
    np.testing.assert_allclose(G.numpy(), expected, rtol=0, atol=1e-12)
    empty = torch.zeros(30, m, dtype=torch.float64)
    _kernels.accumulate(
        empty, *map(torch.from_numpy, (diff[:0], coefficients[:0], tail[:0], head[:0]))
    )
    assert not empty.any()


def test_kernel_gradient_matches_finite_differences(monkeypatch):
    with_kernels(monkeypatch, True)
    mde = problem(60, 3, "pushpull", torch.float64, seed=4)
    X = torch.randn(60, 3, dtype=torch.float64)
    assert_objective_gradient_matches_finite_differences(
        mde, X, [(0, 0), (11, 2), (30, 1), (59, 0)], rel=1e-6, abs=1e-10
    )
    assert not mde._incidences


def test_kernel_path_is_used_from_its_threshold_up(monkeypatch):
    mde = problem(100, 2, "pushpull", torch.float32)
    X = torch.randn(100, 2)
    # the threshold is on the edge evaluations of the solve
    monkeypatch.setattr(problem_module, "KERNEL_MIN_WORK", 30 * mde.n_edges + 1)
    assert mde._kernels(X, iterations=30) is None
    assert mde._kernels(X, iterations=31) is not None
    monkeypatch.setattr(problem_module, "KERNEL_MIN_WORK", mde.n_edges)
    assert mde._kernels(X) is not None
    # not for what the loops do not handle: tensors needing a gradient,
    # strided ones (both evaluated by torch, with the same result)
    assert mde._kernels(X.clone().requires_grad_(True)) is None
    strided = torch.randn(2, 100).T
    assert mde._kernels(strided) is None
    value, grad = mde._objective(strided)
    expected_value, expected_grad = mde._objective(strided.contiguous())
    torch.testing.assert_close(value, expected_value)
    torch.testing.assert_close(grad, expected_grad)


def test_without_numba_the_torch_path_serves(monkeypatch):
    with_kernels(monkeypatch, True)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba fails
    monkeypatch.delitem(sys.modules, "skmde._kernels", raising=False)
    monkeypatch.delattr(skmde, "_kernels", raising=False)
    utils_module.load_kernels.cache_clear()
    try:
        mde = problem(80, 2, "pushpull", torch.float64)
        X = torch.randn(80, 2, dtype=torch.float64)
        assert mde._kernels(X) is None
        _, grad = mde._objective(X)
        assert mde._incidences and torch.isfinite(grad).all()
    finally:
        utils_module.load_kernels.cache_clear()


def test_kernel_solves_do_not_depend_on_the_thread_count(monkeypatch):
    with_kernels(monkeypatch, True)
    threads = torch.get_num_threads()
    X = torch.randn(150, 2, generator=torch.Generator().manual_seed(0))
    embeddings = []
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            mde = problem(150, 2, "pushpull", torch.float32)
            embeddings.append(mde.embed(X=X - X.mean(0), max_iter=30).numpy())
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(embeddings[0], embeddings[1])


def test_solve_with_kernels_reaches_the_torch_solution(monkeypatch):
    # quadratic penalties under the standardization constraint: one minimum
    # (up to rotation), so both paths must reach the same average distortion
    rng = np.random.default_rng(3)
    edges = np.sort(rng.integers(0, 120, size=(700, 2)), axis=1)
    edges = np.unique(edges[edges[:, 0] != edges[:, 1]], axis=0)
    weights = torch.tensor(rng.uniform(0.5, 2.0, len(edges)))
    X = torch.randn(120, 2, dtype=torch.float64, generator=torch.Generator())
    X = skmde.Standardized().project_onto_constraint(X)
    solutions = {}
    for on in (False, True):
        with_kernels(monkeypatch, on)
        mde = MDE(120, 2, edges, skmde.penalties.Quadratic(weights), "standardized")
        mde.embed(X=X.clone(), max_iter=500, eps=1e-10)
        assert bool(mde._incidences) != on
        solutions[on] = float(mde.average_distortion())
    assert solutions[True] == pytest.approx(solutions[False], rel=1e-8)


def test_a_bad_distortion_is_still_named(monkeypatch):
    # a NaN distortion raises as on the torch path, naming an edge
    with_kernels(monkeypatch, True)
    mde = problem(50, 2, "callable", torch.float64)
    mde.distortion_function = lambda d: torch.log(d - 1.0)  # NaN below 1
    X = torch.randn(50, 2, dtype=torch.float64)
    with pytest.raises(FloatingPointError, match="edge"):
        mde._objective(X)


def test_importing_skmde_does_not_load_numba():
    code = "import sys, skmde; print('numba' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_without_a_writable_cache_the_loops_compile_in_each_process():
    # numba finds no place to cache (a read-only installation and home):
    # here simulated by allowing only its IPython locator, which serves no file
    import numba

    if not hasattr(numba.config, "CACHE_LOCATOR_CLASSES"):
        pytest.skip("this numba cannot restrict its cache locators")
    code = """
import torch, skmde, skmde._problem as P
from skmde import _kernels as K
P.KERNEL_MIN_WORK = 0
print(type(K._differences_2d._cache).__name__)
edges = torch.tensor([[0, 1], [1, 2], [2, 3]])
mde = skmde.MDE(4, 2, edges, skmde.penalties.Quadratic(torch.ones(3)))
print(mde._kernels(torch.zeros(4, 2)) is K, tuple(mde.embed(max_iter=5).shape))
"""
    env = dict(os.environ, NUMBA_CACHE_LOCATOR_CLASSES="IPythonCacheLocator")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["NullCache", "True (4, 2)"]


# -- the neighbour search's selection --------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 5, 24, 99, 100])
def test_smallest_rows_finds_the_k_smallest_of_each_row(dtype, k):
    from skmde import _kernels

    rng = np.random.default_rng(k)
    scores = torch.from_numpy(rng.normal(size=(37, 100))).to(dtype)
    scores[3, 10:40] = float("inf")  # left-out entries (the row itself)
    scores[5] = 1.0  # all tied
    scores[6] = torch.from_numpy(rng.integers(0, 4, 100) * 1.0)  # many ties
    # the first k entries by value, ties by column
    expected = np.argsort(scores.numpy(), axis=1, kind="stable")[:, :k]
    values, indices = _kernels.smallest_rows(scores, k)
    assert values.dtype == dtype and indices.dtype == torch.int64
    np.testing.assert_array_equal(np.sort(indices.numpy(), 1), np.sort(expected, 1))
    np.testing.assert_array_equal(
        np.take_along_axis(scores.numpy(), indices.numpy(), 1), values.numpy()
    )
    empty = _kernels.smallest_rows(scores[:0], k)
    assert empty[0].shape == (0, k) and empty[1].shape == (0, k)


@pytest.mark.parametrize("width", [70, 1000])
def test_smallest_rows_adds_the_shift_as_it_reads(width):
    # the entries that enter late (past the scan's first chunks) are found,
    # and with a shift the values are those of scores + shift, bit for bit
    from skmde import _kernels

    rng = np.random.default_rng(width)
    scores = torch.from_numpy(rng.normal(size=(9, width)).astype(np.float32))
    scores[0, -3:] = -10.0  # the smallest entries last
    scores[1, : width // 2] = float("inf")
    scores[2] = torch.from_numpy(rng.integers(0, 3, width).astype(np.float32))
    shift = torch.from_numpy(rng.normal(size=width).astype(np.float32))
    shift[-1] = -20.0
    for given in (None, shift):
        total = scores if given is None else scores + given
        expected = np.argsort(total.numpy(), axis=1, kind="stable")[:, :7]
        values, indices = _kernels.smallest_rows(scores, 7, given)
        np.testing.assert_array_equal(np.sort(indices.numpy(), 1), np.sort(expected, 1))
        np.testing.assert_array_equal(
            np.take_along_axis(total.numpy(), indices.numpy(), 1), values.numpy()
        )


def test_nearest_scores_with_numpy_products_are_the_scores_selected():
    # NumPy's products of -2 Q, shifted inside the selection: the values of
    # the product scaled after, shifted, then selected, bit for bit
    from skmde.neighbors import _blocks

    rng = np.random.default_rng(8)
    R = torch.from_numpy(rng.normal(size=(500, 13)).astype(np.float32))
    Q = R[40:90]
    sq = (R * R).sum(dim=1)
    skip = torch.arange(40, 90)
    full = (Q.numpy() @ R.numpy().T) * np.float32(-2.0) + sq.numpy()
    scores = _blocks.scores_of(sq, Q, R, numpy=True)
    assert torch.equal(scores, torch.from_numpy(full))
    full[np.arange(50), skip.numpy()] = np.inf
    expected = _blocks.smallest(torch.from_numpy(full), 9, compiled=True)
    for numpy in (True, False):
        best, idx = _blocks.nearest_scores(sq, Q, R, 9, True, numpy, skip)
        assert not (idx == skip.unsqueeze(1)).any()
        if numpy:
            assert torch.equal(best, expected[0]) and torch.equal(idx, expected[1])
        else:  # torch's product rounds its own way: the same neighbours
            np.testing.assert_allclose(best.numpy(), expected[0].numpy(), atol=1e-4)


def test_smallest_uses_the_compiled_selection_only_when_asked(monkeypatch):
    from skmde import _kernels
    from skmde.neighbors import _blocks

    calls = []
    real = _kernels.smallest_rows
    monkeypatch.setattr(
        _kernels, "smallest_rows", lambda *a: calls.append(a[1]) or real(*a)
    )
    scores = torch.from_numpy(np.random.default_rng(1).normal(size=(6, 500)))
    plain = _blocks.smallest(scores, 4)
    compiled = _blocks.smallest(scores, 4, compiled=True)
    assert calls == [4]
    for best, _ in (plain, compiled):
        np.testing.assert_array_equal(
            np.sort(best.numpy(), 1), np.sort(scores.numpy(), 1)[:, :4]
        )
    monkeypatch.setitem(sys.modules, "numba", None)  # numba cannot load
    monkeypatch.delitem(sys.modules, "skmde._kernels", raising=False)
    monkeypatch.delattr(skmde, "_kernels", raising=False)
    utils_module.load_kernels.cache_clear()
    try:
        best, _ = _blocks.smallest(scores, 4, compiled=True)  # torch.topk serves
        assert calls == [4]
        np.testing.assert_array_equal(
            np.sort(best.numpy(), 1), np.sort(scores.numpy(), 1)[:, :4]
        )
    finally:
        utils_module.load_kernels.cache_clear()


def with_numpy_products(monkeypatch, on):
    """The compiled searches' products by NumPy's BLAS (on) or torch's."""
    from skmde.neighbors import _blocks, _clustered

    for module in (_blocks, _clustered):
        monkeypatch.setattr(module, "numpy_products", lambda: on)


@pytest.mark.parametrize("numpy_products", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_searches_find_the_same_neighbours(
    threads, numpy_products, monkeypatch
):
    """The exact and the clustered search give the same neighbours with the
    compiled selection (blocks in parallel) as without it, at the same
    distances but for their rounding, whichever library computes the
    compiled searches' products."""
    from skmde.neighbors import _blocks, _clustered

    with_numpy_products(monkeypatch, numpy_products)
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(10, 6)) * 5
    Z = torch.from_numpy(
        (centers[rng.integers(0, 10, 2500)] + rng.normal(size=(2500, 6))).astype(
            np.float32
        )
    )
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        found = {}
        for name, least in (("plain", 10**15), ("compiled", 0)):
            monkeypatch.setattr(_blocks, "COMPILED_MIN_SCORES", least)
            found[name] = (
                _blocks.block_topk(Z, Z, 7, exclude_self=True),
                _clustered.clustered_topk(Z, 7),
            )
            assert torch.get_num_threads() == threads  # restored
        for plain, compiled in zip(found["plain"], found["compiled"]):
            order_p = np.argsort(plain[1].numpy(), 1, kind="stable")
            order_c = np.argsort(compiled[1].numpy(), 1, kind="stable")
            np.testing.assert_array_equal(
                np.take_along_axis(plain[0].numpy(), order_p, 1),
                np.take_along_axis(compiled[0].numpy(), order_c, 1),
            )
            # the governed search computes its distances pair by pair, the
            # compiled one from its blocks' products: equal to their rounding
            # (a few float32 ulps of the largest squared norm)
            rounding = 8 * np.finfo(np.float32).eps * float((Z * Z).sum(1).max())
            np.testing.assert_allclose(
                np.sort(plain[1].numpy(), 1),
                np.sort(compiled[1].numpy(), 1),
                rtol=0,
                atol=rounding,
            )
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("numpy_products", [False, True])
def test_compiled_searches_are_the_same_on_any_thread_count(
    numpy_products, monkeypatch
):
    """With the compiled selection each block is scored on one thread (of
    torch, or of NumPy's BLAS): the same bits whatever torch's thread count
    (the blocks' threads)."""
    from skmde.neighbors import _blocks, _clustered

    with_numpy_products(monkeypatch, numpy_products)
    rng = np.random.default_rng(4)
    Z = torch.from_numpy(rng.normal(size=(3000, 12)).astype(np.float32))
    monkeypatch.setattr(_clustered, "CLUSTER_SIZE", 64)
    monkeypatch.setattr(_blocks, "COMPILED_MIN_SCORES", 0)
    before = torch.get_num_threads()
    found = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            found.append(
                [
                    *_blocks.block_topk(Z, Z, 9, exclude_self=True),
                    *_clustered.clustered_topk(Z, 9),
                ]
            )
    finally:
        torch.set_num_threads(before)
    for other in found[1:]:
        for a, b in zip(found[0], other):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("vendor", "mkl", "expected"),
    [
        ("GenuineIntel", True, False),  # MKL is fast on Intel's processors
        (None, True, False),  # unknown: torch's
        ("AuthenticAMD", False, False),  # torch's BLAS is not MKL
        ("AuthenticAMD", True, None),  # NumPy's, if it is OpenBLAS
    ],
)
def test_numpy_products_where_mkl_runs_on_another_processor(
    vendor, mkl, expected, monkeypatch
):
    from threadpoolctl import threadpool_info

    from skmde.neighbors import _blocks

    monkeypatch.setattr(_blocks, "_cpu_vendor", lambda: vendor)
    monkeypatch.setattr(torch.backends.mkl, "is_available", lambda: mkl)
    _blocks.numpy_products.cache_clear()
    try:
        got = _blocks.numpy_products()
    finally:
        _blocks.numpy_products.cache_clear()
    if expected is None:
        apis = {library.get("internal_api") for library in threadpool_info()}
        expected = "openblas" in apis and "mkl" not in apis
    assert got is expected


def test_the_processor_vendor_is_read_where_linux_tells_it():
    from skmde.neighbors import _blocks

    vendor = _blocks._cpu_vendor()
    if not os.path.exists("/proc/cpuinfo"):
        assert vendor is None
    else:
        with open("/proc/cpuinfo") as info:
            listed = [line for line in info if line.startswith("vendor_id")]
        assert vendor == (listed[0].split(":", 1)[1].strip() if listed else None)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numpy_scores_match_torchs(dtype):
    from skmde.neighbors._blocks import scores_of

    generator = torch.Generator().manual_seed(5)
    Q = torch.randn(7, 5, dtype=dtype, generator=generator)
    R = torch.randn(40, 5, dtype=dtype, generator=generator)
    sq = (R * R).sum(dim=1)
    by_numpy, by_torch = scores_of(sq, Q, R, True), scores_of(sq, Q, R)
    assert by_numpy.dtype == dtype and by_numpy.shape == (7, 40)
    expected = torch.cdist(Q, R).square() - (Q * Q).sum(dim=1, keepdim=True)
    torch.testing.assert_close(by_numpy, by_torch)
    torch.testing.assert_close(by_numpy, expected)


def test_numpy_blas_runs_on_one_thread_inside_the_blocks():
    from skmde._utils import parallel_blocks

    seen = []
    outside = blas_threads()
    parallel_blocks(lambda a, b: seen.append(blas_threads()), 4, 1, True, True)
    assert seen and all(counts == [1] * len(counts) for counts in seen)
    assert blas_threads() == outside  # restored


def test_new_rows_never_use_the_compiled_selection(monkeypatch):
    # a new row's candidates must not depend on the size of its batch
    from skmde import _kernels
    from skmde.neighbors import _blocks

    calls = []
    real = _kernels.smallest_rows
    monkeypatch.setattr(
        _kernels, "smallest_rows", lambda *a: calls.append(1) or real(*a)
    )
    monkeypatch.setattr(_blocks, "COMPILED_MIN_SCORES", 0)
    Z = torch.from_numpy(np.random.default_rng(5).normal(size=(300, 4)))
    _blocks.block_topk(Z[:40], Z, 6, exclude_self=False)
    assert calls == []
    _blocks.block_topk(Z, Z, 6, exclude_self=True)
    assert calls


def test_the_compiled_assignment_to_centres_is_argmins(monkeypatch):
    """k-means' assignment with the compiled selection (blocks in parallel)
    gives each row the centre ``argmin`` gives it, ties to the first centre,
    on one thread as on two."""
    from skmde import _kernels
    from skmde.neighbors import _blocks, _clustered

    rng = np.random.default_rng(6)
    Z = torch.from_numpy(rng.integers(-3, 4, size=(5000, 3)).astype(np.float32))
    centers = torch.cat([Z[:40], Z[:40]])  # each centre twice: ties
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", 4 * 80 * 64)  # 64 rows a block
    monkeypatch.setattr(_blocks, "COMPILED_MIN_SCORES", 10**15)
    plain = _clustered._nearest_center(Z, centers)
    monkeypatch.setattr(_blocks, "COMPILED_MIN_SCORES", 0)
    calls = []
    real = _kernels.smallest_rows
    monkeypatch.setattr(
        _kernels, "smallest_rows", lambda *a: calls.append(1) or real(*a)
    )
    one, two = on_one_and_two_threads(lambda: _clustered._nearest_center(Z, centers))
    assert len(calls) >= 2 * 5000 // 64  # the compiled selection, block by block
    assert int(plain.max()) < 40  # the first of two equal centres
    assert torch.equal(one, plain) and torch.equal(two, plain)


def _elementwise(function):
    """A compiled loop applying one of the kernels' inline functions."""
    import numba

    @numba.njit
    def loop(x, out):
        for k in range(x.shape[0]):
            out[k] = function(x[k])

    def apply(x):
        out = np.empty_like(x)
        loop(x, out)
        return out

    return apply


def compiled_penalty(name, d, w, exponent, scale=1.0):
    """``(values, ratios, sum)`` of the penalty ``name`` at the distances
    ``d`` by the compiled loops (one chunk of ``_kernels.evaluate``, pairs
    from item 0 at 0 to items at ``d`` on a line)."""
    from skmde import _kernels

    n = len(d)
    X = np.concatenate([[0.0], np.asarray(d, dtype=np.float32)])[:, None]
    X = X.astype(np.float32)
    parts = np.array([[0, n, _kernels.PENALTIES.index(name)]])
    buffers = np.full((4, n + 3), np.nan, dtype=np.float32)
    total = _kernels.evaluate(
        X,
        np.zeros(n, dtype=np.int64),
        np.arange(1, n + 1),
        parts,
        np.asarray(w, dtype=np.float32),
        np.array([exponent], dtype=np.float32),
        scale,
        np.zeros_like(X),
        np.empty((n, 1), dtype=np.float32),
        buffers,
    )
    return torch.from_numpy(buffers[1, :n]), torch.from_numpy(buffers[2, :n]), total


def test_the_compiled_exp_and_log_are_within_a_few_ulps():
    from skmde import _kernels

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-86, 88.7, 20000), [-86.0, 0.0, 88.7]])
    x = x.astype(np.float32)
    found = _elementwise(_kernels._exp)(x)
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(found - exact) / exact) < 3e-7
    # outside the range: clamped below, inf above, NaN kept
    edges = np.array([-1e30, 89.0, np.inf, -np.inf, np.nan], dtype=np.float32)
    out = _elementwise(_kernels._exp)(edges)
    assert out[0] == pytest.approx(np.exp(-86.0), rel=1e-6)
    assert np.isinf(out[1:3]).all() and out[3] == pytest.approx(np.exp(-86.0), rel=1e-6)
    assert np.isnan(out[4])
    y = np.concatenate(
        [10.0 ** rng.uniform(-45, 38.5, 20000), rng.uniform(0.5, 2.0, 5000)]
    ).astype(np.float32)
    y = y[y > 0]
    found = _elementwise(_kernels._log)(y)
    exact = np.log(y.astype(np.float64))
    assert np.max(np.abs(found - exact) / np.maximum(np.abs(exact), 1.0)) < 3e-7
    special = np.array([0.0, np.inf, np.nan, 1.0], dtype=np.float32)
    out = _elementwise(_kernels._log)(special)
    assert out[0] == -np.inf and out[1] == np.inf and np.isnan(out[2]) and out[3] == 0


@pytest.mark.parametrize(
    "cls, exponent, weight",
    [
        (skmde.penalties.Log, 1.0, -0.5),
        (skmde.penalties.Log, 1.5, -1.0),
        (skmde.penalties.Log, 0.7, -2.0),
        (skmde.penalties.Log1p, 1.5, 1.0),
        (skmde.penalties.Log1p, 1.25, 0.3),
        (skmde.penalties.Log1p, 2.0, 1.0),
        (skmde.penalties.Log1p, 3.0, 2.0),
    ],
)
def test_the_compiled_penalties_match_torch(cls, exponent, weight):
    rng = np.random.default_rng(1)
    d = np.concatenate([rng.uniform(0, 8, 3000), 10.0 ** rng.uniform(-6, 1.5, 3000)])
    d = torch.tensor(d, dtype=torch.float32)
    w = torch.full_like(d, weight)
    function = cls(w, exponent=exponent)
    assert function._kernel_parts() == [(0, len(d), cls._kernel, w, exponent)]
    values, ratio, total = compiled_penalty(cls._kernel, d, w, exponent, 0.25)
    assert total == pytest.approx(float(values.double().sum()), rel=1e-12)
    # against float64 torch: as close as float32 torch gets, or closer
    exact = cls(w.double(), exponent=exponent)
    exact_values, exact_ratio = exact._value_and_ratio(d.double())
    ours = (values.double() - exact_values).abs()
    theirs = (function(d).double() - exact_values).abs()
    assert float(ours.max()) <= 4 * float(theirs.max()) + 1e-6
    # the ratio to float32's precision, but where it is below 1e-9 (there
    # torch's float64 reference, 1 - (1 - e^-d), loses digits itself)
    large = exact_ratio.abs() > 1e-9
    torch.testing.assert_close(
        ratio.double()[large], 0.25 * exact_ratio[large], rtol=1e-5, atol=0
    )
    assert bool(((ratio.double() - 0.25 * exact_ratio)[~large].abs() < 1e-11).all())
    torch.testing.assert_close(
        values.double().sum(), exact_values.sum(), rtol=1e-6, atol=0
    )


def test_the_compiled_penalties_at_zero_inf_and_nan():
    d = torch.tensor([0.0, 1e-30, 1e20, float("inf"), float("nan")])
    w = torch.tensor([-1.0, -1.0, -1.0, -1.0, -1.0])
    values, ratio, _ = compiled_penalty("log", d.numpy(), w.numpy(), 1.0)
    reference, _ = skmde.penalties.Log(w)._value_and_ratio(d)
    # +inf where two repelled items coincide, 0 far away, NaN kept; the
    # ratio 0 where not finite (as the torch path's)
    assert values[0] == math.inf and values[2] == 0 and torch.isnan(values[4])
    torch.testing.assert_close(values[:4], reference[:4])
    assert ratio[0] == 0 and ratio[3] == 0 and ratio[4] == 0
    values, ratio, _ = compiled_penalty("log1p", d.numpy(), -w.numpy(), 1.5)
    assert values[0] == 0 and values[3] == math.inf and torch.isnan(values[4])
    assert ratio[0] == 0 and bool(torch.isfinite(ratio).all())


def test_the_compiled_penalties_serve_float32_default_penalties_only(monkeypatch):
    with_kernels(monkeypatch, True)
    mde = problem(200, 2, "pushpull", torch.float32)
    f = mde.distortion_function
    parts = f._kernel_parts()
    # the pull's block, then the push's, in edge order with their weights
    pull, push = f._parts["attractive"], f._parts["repulsive"]
    assert [p[:3] for p in parts] == [
        (pull[0].start, pull[0].stop, "log1p"),
        (push[0].start, push[0].stop, "log"),
    ]
    plan = compiled_module.plan(mde, torch.float32)
    assert len(plan) >= compiled_module.LANES
    # every chunk in one call; each chunk's table: the pull's part before the
    # push's, as the function's
    names = [[skmde._kernels.PENALTIES[row[2]] for row in chunk[2]] for chunk in plan]
    assert names[0][0] == "log1p" and names[-1][-1] == "log"
    calls = []
    real = skmde._kernels.evaluate
    monkeypatch.setattr(
        skmde._kernels, "evaluate", lambda *a: calls.append(a[3]) or real(*a)
    )
    mde._objective(torch.randn(200, 2))
    assert len(calls) == len(plan)
    # float64, a subclass (its formula may differ), a loss: torch computes

    class Softer(skmde.penalties.Log):
        pass

    assert Softer(torch.tensor([-1.0]))._kernel_parts() is None
    assert losses.Huber(torch.tensor([1.0]))._kernel_parts() is None
    calls.clear()
    double = problem(200, 2, "pushpull", torch.float64)
    double._objective(torch.randn(200, 2, dtype=torch.float64))
    assert calls == [] and set(compiled_module.plan(double, torch.float64)) == {None}


def test_coincident_repelled_items_give_an_infinite_objective(monkeypatch):
    # as on the torch path: the line search reads inf as "too far"
    X = torch.randn(50, 2)
    results = []
    for on in (False, True):
        with_kernels(monkeypatch, on)
        mde = problem(50, 2, "pushpull", torch.float32)
        push = mde.distortion_function._parts["repulsive"][0].start
        i, j = (int(v) for v in mde.edges[push])
        Y = X.clone()
        Y[j] = Y[i]
        results.append(mde._objective(Y))
    assert results[0][0] == results[1][0] == math.inf
    assert results[0][1] is None and results[1][1] is None


def test_lanes_split_the_chunks_in_order():
    assert compiled_module.lanes(1) == [[0]]
    assert compiled_module.lanes(3) == [[0], [1], [2]]
    lanes = compiled_module.lanes(10)
    assert len(lanes) == compiled_module.LANES
    assert [c for lane in lanes for c in lane] == list(range(10))
    assert max(map(len, lanes)) - min(map(len, lanes)) <= 1


@pytest.mark.parametrize("threads", [1, 2])
def test_run_lanes_runs_each_lane_once_and_raises_an_error(threads):
    seen = []
    utils_module.run_lanes(seen.append, 7, threads)
    assert sorted(seen) == list(range(7))

    def fails(lane):
        if lane == 3:
            raise ValueError("lane 3")
        seen.append(lane)

    seen.clear()
    with pytest.raises(ValueError, match="lane 3"):
        utils_module.run_lanes(fails, 7, threads)
    assert 3 not in seen


def test_run_lanes_inside_a_lane_runs_them_in_turn():
    # lanes of lanes (parallel_blocks inside a lane) finish: from a thread
    # of the pool, the inner lanes do not wait for helpers queued behind it
    seen = []

    def outer(lane):
        utils_module.run_lanes(lambda inner: seen.append((lane, inner)), 3, 2)

    utils_module.run_lanes(outer, 4, 2)
    assert sorted(seen) == [(a, b) for a in range(4) for b in range(3)]


def test_the_lanes_run_in_parallel_with_the_compiled_penalties_only(monkeypatch):
    with_kernels(monkeypatch, True)
    X = torch.randn(200, 2)
    names = []
    real = utils_module.run_lanes

    def spy(function, n, threads):
        names.append((n, threads))
        return real(function, n, threads)

    monkeypatch.setattr(compiled_module, "run_lanes", spy)
    compiled = problem(200, 2, "pushpull", torch.float32)
    assert compiled_module.runs_in_parallel(compiled, X, iterations=1)
    loss = problem(200, 2, "loss", torch.float32)
    assert not compiled_module.runs_in_parallel(loss, X, iterations=1)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        compiled._objective(X)
        loss._objective(X)
        assert names == [(compiled_module.LANES, 2), (compiled_module.LANES, 1)]
        # the lanes' gradients and values are added in order: one thread or
        # two, the same numbers
        results = []
        for count in (1, 2):
            torch.set_num_threads(count)
            results.append(compiled._objective(X))
    finally:
        torch.set_num_threads(threads)
    assert results[0][0] == results[1][0]
    assert torch.equal(results[0][1], results[1][1])


@pytest.mark.parametrize("m", [1, 2, 3])
def test_compiled_distances_square_in_float64(m):
    # float32 squares vanish below ~1e-19 and overflow above ~1.8e19
    from skmde import _kernels

    lengths = [1e-30, 1e-20, 3.0, 3e19, 1e30]
    X = torch.zeros((len(lengths) + 1, m))
    X[1:, 0] = torch.tensor(lengths)
    tail = torch.zeros(len(lengths), dtype=torch.int64)
    head = torch.arange(1, len(lengths) + 1)
    _, distances = _kernels.differences(X, tail, head, torch.empty((len(lengths), m)))
    torch.testing.assert_close(distances, X[1:, 0], rtol=1e-7, atol=0)
