"""The compiled gathers and scatters of the objective (``skmde._kernels``)
against the torch path they replace on large CPU problems."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import skmde
import skmde._problem as problem_module
from skmde import MDE, losses

from ._checks import assert_objective_gradient_matches_finite_differences

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
    monkeypatch.setattr(problem_module, "KERNEL_MIN_EDGES", 0 if on else 10**12)


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
    monkeypatch.setattr(problem_module, "KERNEL_MIN_EDGES", mde.n_edges + 1)
    assert mde._kernels(X) is None
    monkeypatch.setattr(problem_module, "KERNEL_MIN_EDGES", mde.n_edges)
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
    problem_module._load_kernels.cache_clear()
    try:
        mde = problem(80, 2, "pushpull", torch.float64)
        X = torch.randn(80, 2, dtype=torch.float64)
        assert mde._kernels(X) is None
        _, grad = mde._objective(X)
        assert mde._incidences and torch.isfinite(grad).all()
    finally:
        problem_module._load_kernels.cache_clear()


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
P.KERNEL_MIN_EDGES = 0
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
