"""Initial embeddings: spectral (Laplacian eigenmap), PCA, random.

All are deterministic for a given input (and seed): eigenvector signs are fixed
so that the entry of largest magnitude of each column is positive, and columns
come in order of eigenvalue.
"""

import warnings

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from ._graph import n_components

__all__ = ["pca", "spectral"]

#: ARPACK restarts allowed before the spectral init gives up (bounded time)
SPECTRAL_MAX_RESTARTS = 300


class SpectralInitError(RuntimeError):
    """The spectral initialization cannot be computed for this graph."""


def _fix_signs(vectors):
    """Flip columns so that each one's entry of largest magnitude is positive."""
    rows = np.argmax(np.abs(vectors), axis=0)
    signs = np.sign(vectors[rows, np.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return vectors * signs


def standardize(Y):
    """Center and rescale columns so that ``(1/n) Y^T Y = I`` (polar factor)."""
    from .constraints import Standardized

    Y = torch.as_tensor(np.ascontiguousarray(Y, dtype=np.float64))
    return Standardized().project_onto_constraint(Y).numpy()


def spectral(n_items, embedding_dim, edges, weights, random_state=0):
    """The Laplacian eigenmap of a weighted graph, standardized.

    Computes the ``embedding_dim`` eigenvectors of the random-walk Laplacian
    ``I - D^-1 W`` with the smallest eigenvalues after the constant one, as the
    largest eigenvectors of the normalized adjacency ``D^-1/2 W D^-1/2`` with the
    trivial one deflated (a fast, well-conditioned Lanczos problem).

    Raises
    ------
    SpectralInitError
        When the graph is disconnected (the eigenmap would collapse each
        component to a point) or the eigensolver does not converge within
        :data:`SPECTRAL_MAX_RESTARTS` restarts.
    """
    components = n_components(n_items, edges)
    if components > 1:
        raise SpectralInitError(f"the graph has {components} connected components")
    W = scipy.sparse.coo_matrix(
        (np.asarray(weights, dtype=np.float64), (edges[:, 0], edges[:, 1])),
        shape=(n_items, n_items),
    ).tocsr()
    W = (W + W.T).tocsr()
    degree = np.asarray(W.sum(axis=1)).ravel()
    scale = 1.0 / np.sqrt(degree)
    N = (scipy.sparse.diags(scale) @ W @ scipy.sparse.diags(scale)).tocsr()
    trivial = np.sqrt(degree) / np.linalg.norm(np.sqrt(degree))
    k = embedding_dim
    if n_items <= max(200, 4 * (k + 1)):
        dense = N.toarray() - np.outer(trivial, trivial)
        values, vectors = np.linalg.eigh(dense)
        values, vectors = values[::-1][:k], vectors[:, ::-1][:, :k]
    else:
        operator = scipy.sparse.linalg.LinearOperator(
            N.shape, matvec=lambda v: N @ v - trivial * (trivial @ v), dtype=np.float64
        )
        v0 = np.random.default_rng(random_state).uniform(0.5, 1.5, size=n_items)
        try:
            values, vectors = scipy.sparse.linalg.eigsh(
                operator,
                k=k,
                which="LA",
                v0=v0,
                tol=1e-6,
                ncv=min(n_items, max(2 * k + 1, 24)),
                maxiter=SPECTRAL_MAX_RESTARTS,
            )
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            raise SpectralInitError("the eigensolver did not converge") from exc
        order = np.argsort(values)[::-1]
        vectors = vectors[:, order]
    return standardize(_fix_signs(vectors * scale[:, None]))


def pca(data, embedding_dim):
    """Principal-component scores of ``data`` (dense or sparse), unscaled.

    Returns the ``(n, embedding_dim)`` projections of the centered data onto its
    leading principal axes: distances between rows approximate those of the
    data. Columns beyond the data's rank are filled by a deterministic
    orthogonal complement scaled like the last component.
    """
    n, d = data.shape
    m = embedding_dim
    if scipy.sparse.issparse(data):
        X = scipy.sparse.csr_matrix(data, dtype=np.float64)
        mean = np.asarray(X.mean(axis=0)).ravel()
        operator = scipy.sparse.linalg.LinearOperator(
            (n, d),
            dtype=np.float64,
            matvec=lambda v: X @ v - mean @ v,
            rmatvec=lambda u: X.T @ u - mean * u.sum(),
        )
        k = min(m, min(n, d) - 1)
        v0 = np.random.default_rng(0).uniform(0.5, 1.5, size=min(n, d))
        u, s, vt = scipy.sparse.linalg.svds(operator, k=k, v0=v0)
        order = np.argsort(s)[::-1]
        components = vt[order].T
        scores = (X @ components) - mean @ components
    else:
        X = torch.as_tensor(np.ascontiguousarray(data, dtype=np.float64))
        X = X - X.mean(dim=0)
        if d <= 4096:
            _, vecs = torch.linalg.eigh(X.T @ X)
            components = vecs[:, -m:].flip(1)
        else:
            _, _, vh = torch.linalg.svd(X, full_matrices=False)
            components = vh[:m].T
        scores = (X @ components).numpy()
    scores = _fix_signs(np.asarray(scores))
    if scores.shape[1] < m:
        scores = _pad(scores, m)
    return scores


def _pad(scores, m):
    """Add deterministic columns (a tiny spread) when the data has rank < m."""
    n = scores.shape[0]
    extra = m - scores.shape[1]
    rng = np.random.default_rng(0)
    spread = scores.std() if scores.size and scores.std() > 0 else 1.0
    fill = rng.normal(scale=1e-3 * spread, size=(n, extra))
    return np.column_stack([scores, fill])


def warn_fallback(reason, fallback):
    warnings.warn(
        f"spectral initialization unavailable ({reason}); using {fallback} "
        "initialization instead.",
        UserWarning,
        stacklevel=4,
    )
