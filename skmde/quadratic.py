"""Classical embeddings that reduce to eigenproblems, at PyMDE's paths:
:func:`pca` (also ``skmde.pca``) and :func:`spectral`.

Both return standardized embeddings (centred, ``(1/n) X^T X = I``): the
solutions of quadratic MDE problems under the :class:`~skmde.Standardized`
constraint.
"""

import math

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from ._inputs import as_float_tensor, check_bool, check_edges, check_int
from .initialization import _fix_signs

__all__ = ["pca", "spectral"]


def pca(Y, embedding_dim):
    """The PCA embedding of a data matrix, standardized.

    The ``embedding_dim`` leading left singular vectors of the centred data,
    times ``sqrt(n)``: the leading eigenvectors of ``Y_c Y_c^T``, which solve
    the quadratic MDE problem of preserving the data's inner products under
    the standardization constraint. Signs are fixed (each column's largest
    entry in magnitude is positive), so the result is deterministic.

    Parameters
    ----------
    Y : array-like or torch.Tensor of shape (n, k)
        Data matrix.
    embedding_dim : int
        At most ``min(n, k)``.

    Returns
    -------
    torch.Tensor of shape (n, embedding_dim)

    Examples
    --------
    >>> import torch, skmde
    >>> Y = torch.randn(50, 5, generator=torch.Generator().manual_seed(0))
    >>> X = skmde.pca(Y, 2)
    >>> torch.allclose(X.T @ X / 50, torch.eye(2), atol=1e-5)
    True
    """
    Y = as_float_tensor(Y, "Y", ndim=2)
    n, k = Y.shape
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    if m > min(n, k):
        raise ValueError(
            f"embedding_dim must be at most min(n, k) = {min(n, k)} for Y of shape "
            f"{(n, k)}; got {m}."
        )
    centred = Y.double() - Y.double().mean(dim=0)
    U = torch.linalg.svd(centred, full_matrices=False)[0][:, :m]
    return (math.sqrt(n) * torch.from_numpy(_fix_signs(U.numpy()))).to(Y.dtype)


def spectral(
    n_items, embedding_dim, edges, weights, cg=False, max_iter=40, device="cpu"
):
    """A spectral embedding: the quadratic MDE problem solved as an eigenproblem.

    Minimizes ``sum_k w_k ||x_i - x_j||^2`` over the edges subject to
    ``(1/n) X^T X = I`` (and centring): its solutions are the eigenvectors of
    the graph Laplacian ``L = D - W`` with the smallest eigenvalues after the
    constant one, scaled by ``sqrt(n)``.

    Parameters
    ----------
    n_items : int
    embedding_dim : int
        At most ``n_items - 2``.
    edges : array-like of shape (n_edges, 2)
        Pairs of distinct items (each pair once; either order).
    weights : array-like of shape (n_edges,)
        Nonnegative weights.
    cg : bool, default=False
        False: a shift-invert Lanczos method (``scipy.sparse.linalg.eigsh``),
        accurate. True: LOBPCG (``torch.lobpcg``) for ``max_iter``
        iterations, cheaper on very large graphs, approximate.
    max_iter : int, default=40
        Iterations of LOBPCG (with ``cg=True``).
    device : str or torch.device, default="cpu"
        Device of the returned tensor.

    Returns
    -------
    torch.Tensor of shape (n_items, embedding_dim)
        In the dtype of ``weights`` when it is a floating tensor, else float32.
    """
    n = check_int(n_items, "n_items", min_value=3)
    m = check_int(embedding_dim, "embedding_dim", min_value=1)
    if m > n - 2:
        raise ValueError(
            f"embedding_dim must be at most n_items - 2 = {n - 2}; got {m}."
        )
    cg = check_bool(cg, "cg")
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    edges = check_edges(edges, n, "cpu").numpy()
    dtype = weights.dtype if isinstance(weights, torch.Tensor) else torch.float32
    w = as_float_tensor(weights, "weights", ndim=1, dtype=torch.float64).numpy()
    if w.shape != (len(edges),):
        raise ValueError(
            f"weights must have one entry per edge ({len(edges)}); got {w.shape[0]}."
        )
    if (w < 0).any():
        raise ValueError("weights must be nonnegative.")
    W = scipy.sparse.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(n, n))
    W = (W + W.T).tocsr()
    L = scipy.sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    if cg:
        vectors = _lobpcg(L, m, max_iter)
    else:
        # shift-invert just below 0: the smallest eigenvalues converge first
        shift = -1e-3 * max(float(L.diagonal().mean()), 1e-300)
        v0 = np.random.default_rng(0).uniform(0.5, 1.5, size=n)
        values, vectors = scipy.sparse.linalg.eigsh(
            L.tocsc(), k=m + 1, sigma=shift, which="LM", v0=v0
        )
        vectors = vectors[:, np.argsort(values)[1:]]
    vectors = vectors - vectors.mean(axis=0)
    # re-orthonormalize (centring and the iterative solver's rounding)
    U, _, Vt = np.linalg.svd(vectors, full_matrices=False)
    X = torch.from_numpy(math.sqrt(n) * _fix_signs(U @ Vt))
    return X.to(dtype=dtype, device=device)


def _lobpcg(L, m, max_iter):
    n = L.shape[0]
    coo = L.tocoo()
    A = torch.sparse_coo_tensor(
        np.vstack([coo.row, coo.col]), coo.data, (n, n), dtype=torch.float64
    )
    start = torch.randn(
        n, m + 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    values, vectors = torch.lobpcg(A, X=start, largest=False, niter=max_iter)
    return vectors[:, torch.argsort(values)[1:]].numpy()
