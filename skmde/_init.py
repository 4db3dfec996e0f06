"""Initial embeddings: spectral (Laplacian eigenmap), PCA, random.

All are deterministic for a given input (and seed): eigenvector signs are fixed
so that the entry of largest magnitude of each column is positive, and columns
come in order of eigenvalue.
"""

import warnings

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
import torch

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


def spectral(n_items, embedding_dim, edges, weights, random_state=0, data=None):
    """The Laplacian eigenmap of a weighted graph, standardized.

    Computes the ``embedding_dim`` eigenvectors of the random-walk Laplacian
    ``I - D^-1 W`` with the smallest eigenvalues after the constant one, as the
    largest eigenvectors of the normalized adjacency ``D^-1/2 W D^-1/2`` with the
    trivial one deflated (a fast, well-conditioned Lanczos problem).

    A disconnected graph's eigenmap would collapse each component to a point, so
    each component is embedded on its own and the components are placed at the
    principal coordinates of their centroids in ``data`` (or, without data, at
    seeded random positions), separated by several times their own size.

    Raises
    ------
    SpectralInitError
        When the eigensolver does not converge within
        :data:`SPECTRAL_MAX_RESTARTS` restarts.
    """
    W = scipy.sparse.coo_matrix(
        (np.asarray(weights, dtype=np.float64), (edges[:, 0], edges[:, 1])),
        shape=(n_items, n_items),
    ).tocsr()
    W = (W + W.T).tocsr()
    count, labels = scipy.sparse.csgraph.connected_components(W, directed=False)
    if count == 1:
        return standardize(_eigenmap(W, embedding_dim, random_state))
    rng = np.random.default_rng(random_state)
    centers = _component_centers(labels, count, embedding_dim, data, rng)
    X = np.empty((n_items, embedding_dim))
    for c in range(count):
        members = np.flatnonzero(labels == c)
        if len(members) > 4 * (embedding_dim + 1):
            sub = W[members][:, members]
            local = standardize(_eigenmap(sub, embedding_dim, random_state))
        else:
            local = rng.standard_normal((len(members), embedding_dim))
        # components cover about a fifth of the spacing between their centers
        X[members] = centers[c] + 0.2 * local
    return standardize(X)


def _eigenmap(W, k, random_state):
    """The k leading nontrivial eigenvectors of a connected graph (unscaled)."""
    n = W.shape[0]
    degree = np.asarray(W.sum(axis=1)).ravel()
    scale = 1.0 / np.sqrt(degree)
    N = (scipy.sparse.diags(scale) @ W @ scipy.sparse.diags(scale)).tocsr()
    trivial = np.sqrt(degree) / np.linalg.norm(np.sqrt(degree))
    if n <= max(200, 4 * (k + 1)):
        values, vectors = np.linalg.eigh(N.toarray() - np.outer(trivial, trivial))
        vectors = vectors[:, ::-1][:, :k]
    else:
        operator = scipy.sparse.linalg.LinearOperator(
            N.shape, matvec=lambda v: N @ v - trivial * (trivial @ v), dtype=np.float64
        )
        v0 = np.random.default_rng(random_state).uniform(0.5, 1.5, size=n)
        try:
            values, vectors = scipy.sparse.linalg.eigsh(
                operator,
                k=k,
                which="LA",
                v0=v0,
                tol=1e-5,
                ncv=min(n, max(2 * k + 1, 24)),
                maxiter=SPECTRAL_MAX_RESTARTS,
            )
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            raise SpectralInitError("the eigensolver did not converge") from exc
        vectors = vectors[:, np.argsort(values)[::-1]]
    return _fix_signs(vectors * scale[:, None])


def _component_centers(labels, count, m, data, rng):
    """Positions of the components with unit spacing: principal coordinates of
    their centroids in ``data``, else seeded random points."""
    if data is not None and count > 1:
        sizes = np.bincount(labels, minlength=count).astype(np.float64)
        # in the data's float dtype: a float64 matrix would make scipy copy
        # float32 data to float64 first (0.7 s of a 70,000 x 784 init)
        dtype = data.dtype if data.dtype in (np.float32, np.float64) else np.float64
        onehot = scipy.sparse.csr_matrix(
            ((1.0 / sizes[labels]).astype(dtype), (labels, np.arange(len(labels)))),
            shape=(count, len(labels)),
        )
        centroids = onehot @ data
        if scipy.sparse.issparse(centroids):
            centroids = centroids.toarray()
        centers = pca(centroids, m) if count > 1 else np.zeros((1, m))
    else:
        centers = rng.standard_normal((count, m))
    if count > 1:
        gaps = np.linalg.norm(centers[:, None] - centers[None], axis=2)
        spacing = np.median(gaps[np.triu_indices(count, 1)])
        centers = centers / (spacing if spacing > 0 else 1.0)
    return centers


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
