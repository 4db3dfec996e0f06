"""pca, quadratic.spectral and laplacian_embedding against first principles."""

import math

import numpy as np
import pytest
import torch

import skmde
from skmde import quadratic


def standardized(X, atol=1e-6):
    n, m = X.shape
    X = X.double()
    return torch.allclose(
        X.T @ X / n, torch.eye(m, dtype=torch.float64), atol=atol
    ) and (torch.allclose(X.mean(0), torch.zeros(m, dtype=torch.float64), atol=atol))


def same_up_to_signs(A, B, atol):
    signs = torch.sign((A * B).sum(dim=0))
    torch.testing.assert_close(A * signs, B, rtol=0, atol=atol)


def test_pca_is_the_scaled_leading_singular_vectors():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(60, 5)) @ np.diag([5.0, 3.0, 1.0, 0.5, 0.1]) + 7.0
    X = skmde.pca(Y, 3)
    assert isinstance(X, torch.Tensor) and X.shape == (60, 3) and standardized(X)
    U = np.linalg.svd(Y - Y.mean(0), full_matrices=False)[0][:, :3]
    same_up_to_signs(X, torch.from_numpy(math.sqrt(60) * U), atol=1e-10)
    # deterministic signs, the input's dtype
    assert torch.equal(X, skmde.pca(Y, 3))
    assert skmde.pca(torch.from_numpy(Y).float(), 2).dtype == torch.float32
    with pytest.raises(ValueError, match="embedding_dim must be at most min"):
        skmde.pca(Y, 6)
    with pytest.raises(ValueError, match="embedding_dim must be >= 1"):
        skmde.pca(Y, 0)


def path_graph(n):
    edges = torch.tensor([[i, i + 1] for i in range(n - 1)])
    return edges, torch.ones(n - 1, dtype=torch.float64)


@pytest.mark.parametrize("cg", [False, True])
def test_spectral_embedding_of_a_path(cg):
    # the path's Laplacian has eigenvectors cos(pi k (i + 1/2) / n), k = 1, 2,
    # ... for its smallest nonzero eigenvalues
    n = 40
    edges, weights = path_graph(n)
    X = quadratic.spectral(n, 2, edges, weights, cg=cg, max_iter=500)
    assert X.dtype == torch.float64 and standardized(X, atol=1e-6)
    i = np.arange(n) + 0.5
    exact = np.column_stack([np.cos(np.pi * k * i / n) for k in (1, 2)])
    exact = math.sqrt(n) * exact / np.linalg.norm(exact, axis=0)
    same_up_to_signs(X, torch.from_numpy(exact), atol=1e-6 if not cg else 1e-3)
    # it solves the quadratic MDE problem: no standardized X does better
    mde = skmde.MDE(n, 2, edges, skmde.penalties.Quadratic(weights), "standardized")
    Z = mde.embed(random_state=0, eps=1e-10, max_iter=2000)
    assert mde.average_distortion(X) <= mde.average_distortion(Z) + 1e-6


def test_spectral_bad_input():
    edges, weights = path_graph(5)
    with pytest.raises(ValueError, match="embedding_dim must be at most n_items - 2"):
        quadratic.spectral(5, 4, edges, weights)
    with pytest.raises(ValueError, match="one entry per edge"):
        quadratic.spectral(5, 2, edges, weights[:2])
    with pytest.raises(ValueError, match="nonnegative"):
        quadratic.spectral(5, 2, edges, -weights)
    with pytest.raises(ValueError, match="edges"):
        quadratic.spectral(5, 2, edges + 10, weights)
    with pytest.raises(TypeError, match="cg must be True or False"):
        quadratic.spectral(5, 2, edges, weights, cg="yes")


def test_laplacian_embedding_is_a_standardized_quadratic_problem():
    X = np.random.default_rng(1).normal(size=(150, 4))
    mde = skmde.laplacian_embedding(X, embedding_dim=3, random_state=0)
    assert isinstance(mde.constraint, skmde.Standardized)
    assert isinstance(mde.distortion_function, skmde.penalties.Quadratic)
    assert (mde.distortion_function.weights > 0).all()  # no repulsion
    Z = mde.embed()
    assert Z.shape == (150, 3) and standardized(Z, atol=1e-4)
