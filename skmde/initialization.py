"""Initial embeddings, all of them, and the choice between them.

Spectral (Laplacian eigenmap), PCA, classical MDS on landmarks, random,
anchored (harmonic extension from the anchors), the jitter that separates
coincident items, and the starts of new rows in ``transform``.
:func:`initial_embedding` is the one place that chooses among them.

All are deterministic for a given input (and seed): eigenvector signs are fixed
so that the entry of largest magnitude of each column is positive, and columns
come in order of eigenvalue.
"""

import math
import warnings

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
import torch

from ._inputs import check_init_array
from ._pairs import pair_distances
from ._utils import (
    on_accelerator,
    one_blas_thread,
    parallel_blocks,
    sparse_csr,
    tensor_on,
)
from .constraints import Anchored, Standardized

__all__ = ["initial_embedding", "landmark_mds", "pca", "spectral"]

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
    Y = torch.as_tensor(np.ascontiguousarray(Y, dtype=np.float64))
    return Standardized().project_onto_constraint(Y).numpy()


def spectral(
    n_items, embedding_dim, edges, weights, random_state=0, data=None, device=None
):
    """The Laplacian eigenmap of a weighted graph, standardized.

    Computes the ``embedding_dim`` eigenvectors of the random-walk Laplacian
    ``I - D^-1 W`` with the smallest eigenvalues after the constant one, as the
    largest eigenvectors of the normalized adjacency ``D^-1/2 W D^-1/2`` with the
    trivial one deflated (a fast, well-conditioned Lanczos problem).

    A disconnected graph's eigenmap would collapse each component to a point, so
    each component is embedded on its own and the components are placed at the
    principal coordinates of their centroids in ``data`` (or, without data, at
    seeded random positions), separated by several times their own size.

    With a GPU ``device`` the eigensolver's products with the graph run on
    it (its iterations stay on the CPU), which rounds them differently.

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
    # the eigensolver's BLAS on one thread: its products of a few dozen
    # vectors are too short for threads (a 50,000-item blob's eigenmap took
    # 0.88 s against 2.1 s on two), and the start no longer depends on the
    # machine's core count in its last bits
    with one_blas_thread():
        return _spectral(W, n_items, embedding_dim, random_state, data, device)


def _spectral(W, n_items, embedding_dim, random_state, data, device):
    """:func:`spectral` of the symmetric weight matrix ``W``."""
    count, labels = scipy.sparse.csgraph.connected_components(W, directed=False)
    if count == 1:
        return standardize(_eigenmap(W, embedding_dim, random_state, device))
    rng = np.random.default_rng(random_state)
    centers = _component_centers(labels, count, embedding_dim, data, rng)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(count + 1))
    members = [order[bounds[c] : bounds[c + 1]] for c in range(count)]
    large = [c for c in range(count) if len(members[c]) > 4 * (embedding_dim + 1)]
    maps = {}

    def eigenmaps(start, stop):  # each component's on its own: any order
        for c in large[start:stop]:
            sub = W[members[c]][:, members[c]]
            maps[c] = standardize(_eigenmap(sub, embedding_dim, random_state, device))

    if on_accelerator(device):  # the GPU's products one after another
        eigenmaps(0, len(large))
    else:  # SciPy's ARPACK in C (1.17 here) and sparse products release
        # the GIL; older releases serialize ARPACK's calls with a lock
        parallel_blocks(eigenmaps, len(large), 1)
    X = np.empty((n_items, embedding_dim))
    for c in range(count):
        if c in maps:
            local = maps[c]
        else:  # the seeded draws in the components' order
            local = rng.standard_normal((len(members[c]), embedding_dim))
        # components cover about a fifth of the spacing between their centers
        X[members[c]] = centers[c] + 0.2 * local
    return standardize(X)


def _eigenmap(W, k, random_state, device=None):
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
            N.shape, matvec=_deflated_product(N, trivial, device), dtype=np.float64
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


def _deflated_product(N, trivial, device=None):
    """``v -> N v - t (t . v)``: on the CPU, or on a GPU ``device`` (each
    product there and back: about half the CPU's time per product on the
    7,000-item components of ``benchmarks/gpu_check.py``'s graph)."""
    if not on_accelerator(device):
        return lambda v: N @ v - trivial * (trivial @ v)
    N = N.tocsr()
    matrix = sparse_csr(
        torch.from_numpy(N.indptr.astype(np.int64)).to(device),
        torch.from_numpy(N.indices.astype(np.int64)).to(device),
        torch.from_numpy(N.data).to(device),
        N.shape,
    )
    t = torch.from_numpy(trivial).to(device)

    def product(v):
        x = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64).ravel())
        x = x.to(device)
        return (matrix @ x - t * (t @ x)).cpu().numpy()

    return product


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
    if scipy.sparse.issparse(data) and min(n, d) - 1 < m:
        # too few columns for a truncated SVD of m components (ARPACK needs
        # k < min(n, d)): a few dense columns cost little
        data = data.toarray()
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
        X = np.array(data, dtype=np.float64)
        X -= X.mean(axis=0)
        # X^T X leaves float64's range for data near 1e-160 or 1e160: divide
        # by a power of two (exact), multiply the scores back
        top = float(np.abs(X).max()) if X.size else 0.0
        unit = 1.0
        if top > 0 and not 2.0**-100 <= top <= 2.0**100:
            unit = 2.0 ** round(np.log2(top))
            X /= unit
        # in NumPy, whose threads n_jobs does not set: torch's eigensolver
        # rounds differently on one and two threads
        if d <= 4096:
            _, vecs = np.linalg.eigh(X.T @ X)
            components = vecs[:, -m:][:, ::-1]
        else:
            _, _, vh = np.linalg.svd(X, full_matrices=False)
            components = vh[:m].T
        scores = (X @ components) * unit
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


def anchored(n, edges, weights, constraint, base):
    """Harmonic extension: free items at the weighted mean of their neighbours.

    Solves ``L_ff X_f = -L_fa X_a (+ eps D_ff X_base)``; the small pull towards
    ``base`` places items in components without anchors.
    """
    anchors = constraint.anchors.cpu().numpy()
    values = constraint.values.cpu().numpy().astype(np.float64)
    W = scipy.sparse.coo_matrix(
        (np.abs(weights).astype(np.float64), (edges[:, 0], edges[:, 1])), shape=(n, n)
    ).tocsr()
    W = (W + W.T).tocsr()
    degree = np.asarray(W.sum(axis=1)).ravel()
    free = np.setdiff1d(np.arange(n), anchors)
    X = np.array(base, dtype=np.float64)
    X[anchors] = values
    if len(free) == 0:
        return X
    eps = 1e-3
    L_ff = (
        scipy.sparse.diags(degree[free] * (1 + eps) + 1e-12) - W[free][:, free]
    ).tocsc()
    rhs = W[free][:, anchors] @ values + eps * degree[free, None] * base[free]
    solve = scipy.sparse.linalg.factorized(L_ff) if len(free) <= 20000 else None
    for col in range(X.shape[1]):
        if solve is not None:
            X[free, col] = solve(rhs[:, col])
        else:
            X[free, col], _ = scipy.sparse.linalg.cg(
                L_ff, rhs[:, col], x0=base[free, col], maxiter=200
            )
    return X


def anchor_spread(constraint, n, m, rng):
    """Random positions with the mean and spread of the anchors' values: where
    the harmonic init puts items that no path links to an anchor."""
    values = constraint.values.cpu().numpy().astype(np.float64)
    spread = values.std(axis=0) if len(values) > 1 else np.ones(values.shape[1])
    return values.mean(axis=0) + np.maximum(spread, 1e-3) * rng.standard_normal((n, m))


def jitter_coincident(X, edges, rng, constraint):
    """Perturb the init slightly if two items of an edge coincide, in float32:
    items a millionth of the embedding's scale apart (duplicates of the
    data, given nearly equal coordinates by the spectral init) may round to
    one point, where a repulsive penalty is infinite."""
    scale = float(np.sqrt((X**2).sum(axis=1).mean())) or 1.0
    Y, pairs = tensor_on(X), tensor_on(edges)
    step = 1 << 22  # in chunks: no (edges x dim) array for large problems
    # index_select copies whole rows: several times faster than Y[chunk[:, 0]]
    coincide = any(
        float(
            (Y.index_select(0, chunk[:, 0]) - Y.index_select(0, chunk[:, 1]))
            .abs_()
            .amax(dim=1)
            .min()
        )
        <= 1e-6 * scale
        for chunk in pairs.split(step)
        if len(chunk)
    )
    if not coincide:
        return X
    X = X + 1e-4 * scale * rng.standard_normal(X.shape)
    if isinstance(constraint, Anchored):
        anchors = constraint.anchors.cpu().numpy()
        X[anchors] = constraint.values.cpu().numpy()
    return X


def landmark_mds(data, kind, n, m, metric, rng, n_landmarks=400):
    """Classical MDS on landmarks, the other items placed by triangulation."""
    L = min(n, max(n_landmarks, 2 * m + 2))
    landmarks = np.sort(rng.choice(n, size=L, replace=False))
    if kind == "graph":
        D = scipy.sparse.csgraph.dijkstra(data.A, directed=False, indices=landmarks)
        finite = np.isfinite(D)
        D[~finite] = D[finite].max() * 2 if finite.any() else 1.0
    elif kind == "precomputed":
        D = (
            data[landmarks].toarray()
            if scipy.sparse.issparse(data)
            else np.asarray(data[landmarks], dtype=np.float64)
        )
    else:
        pairs = np.column_stack([np.repeat(landmarks, n), np.tile(np.arange(n), L)])
        D = pair_distances(data, pairs, metric).reshape(L, n)
    D2 = D**2
    D2_LL = D2[:, landmarks]
    J = np.eye(L) - 1.0 / L
    B = -0.5 * J @ D2_LL @ J
    values, vectors = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(values)[::-1][:m]
    values = np.maximum(values[order], 1e-12)
    vectors = vectors[:, order]
    # triangulation (de Silva & Tenenbaum): y = -1/2 L^-1/2 V^T (d^2 - mean d^2)
    pseudo = vectors / np.sqrt(values)
    X = -0.5 * (D2 - D2_LL.mean(axis=1, keepdims=True)).T @ pseudo
    return _fix_signs(X)


# -- the choice ------------------------------------------------------------------
#: the names of each problem's initializations ("auto": the problem's default)
NAMES = {
    "neighbors": ("spectral", "quadratic", "pca", "random"),
    "distances": ("auto", "pca", "mds", "random"),
    "custom": ("random",),
}


def initial_embedding(
    init,
    problem,
    *,
    data,
    kind,
    n_items,
    embedding_dim,
    edges,
    values,
    constraint,
    metric,
    rng,
    device=None,
):
    """The starting embedding of a recipe's problem, an (n, m) float64 array.

    Parameters
    ----------
    init : str or array-like of shape (n_items, embedding_dim)
        A name from ``NAMES[problem]`` or a given start.
    problem : {"neighbors", "distances", "custom"}
        Which recipe: ``values`` are the attractive weights of the neighbour
        pairs, the deviations of the distance pairs, or (custom) unused.
    data, kind : the recipe's data and its kind ("dense", "sparse",
        "precomputed" or "graph").
    constraint : Constraint
        With :class:`Anchored` and a named init, free items start at the
        weighted mean of their neighbours (:func:`anchored`).
    rng : numpy Generator
        Seeds the random choices (consumed in a fixed order).
    device : torch.device, optional
        A GPU computes the spectral start's products with the graph.
    """
    n, m = n_items, embedding_dim
    named = isinstance(init, str)
    if named and init.lower() not in NAMES[problem]:
        expected = ", ".join(repr(name) for name in NAMES[problem])
        raise ValueError(
            f"unknown init {init!r}; expected one of {expected} or an array of "
            "shape (n_items, embedding_dim)."
        )
    if isinstance(constraint, Anchored) and named and problem != "custom":
        weights = values if problem == "neighbors" else 1.0 / np.maximum(values, 1e-12)
        return anchored(
            n, edges, weights, constraint, anchor_spread(constraint, n, m, rng)
        )
    if problem == "neighbors":
        if not named:
            return check_init_array(init, n, m)
        return _neighbor_start(
            init.lower(), data, kind, n, m, edges, values, rng, device
        )
    if not named:
        X = check_init_array(init, n, m)
    elif problem == "custom":
        X = rng.standard_normal((n, m))
    else:
        X = _distance_start(init.lower(), data, kind, n, m, metric, rng)
    if isinstance(constraint, Standardized):
        return standardize(X)
    if problem == "custom":
        return X
    # match the scale of the deviations: least-squares factor over the edges
    # (X divided by its largest entry first, so that no square leaves
    # float64's range at scales near 1e-160 or 1e160)
    X = X - X.mean(axis=0)
    top = float(np.abs(X).max()) if X.size else 0.0
    if top > 0 and np.isfinite(top):
        X = X / top
        d = np.linalg.norm(X[edges[:, 0]] - X[edges[:, 1]], axis=1)
        denominator = float(d @ d)
        X = X * (float(d @ values) / denominator if denominator > 0 else top)
    return X


def _has_features(kind):
    return kind in ("dense", "sparse")


def _neighbor_start(name, data, kind, n, m, edges, weights, rng, device):
    if name in ("spectral", "quadratic"):
        try:
            return spectral(
                n,
                m,
                edges,
                weights,
                random_state=int(rng.integers(2**31 - 1)),
                data=data if _has_features(kind) else None,
                device=device,
            )
        except SpectralInitError as exc:
            name = "pca" if _has_features(kind) else "random"
            warn_fallback(str(exc), name)
    if name == "pca":
        if not _has_features(kind):
            raise ValueError(
                "init='pca' needs a data matrix (not a graph or precomputed distances)."
            )
        return standardize(pca(data, m))
    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return (
        Standardized()
        .initialization(n, m, generator=generator, dtype=torch.float64)
        .numpy()
    )


def _distance_start(name, data, kind, n, m, metric, rng):
    if name == "auto":
        name = "pca" if _has_features(kind) and metric == "euclidean" else "mds"
    if name == "pca":
        if not _has_features(kind):
            raise ValueError("init='pca' needs a data matrix.")
        return pca(data, m)
    if name == "mds":
        return landmark_mds(data, kind, n, m, metric, rng)
    return rng.standard_normal((n, m))


# -- starts of new rows (transform) -----------------------------------------------
def weighted_mean(weights, Y, indices):
    """Each new row's weighted mean of the positions ``Y`` of its fitted
    items ``indices`` ((B, k) each; zero weights for missing items)."""
    w = torch.as_tensor(weights)
    near = Y[tensor_on(indices, Y.device)]
    return (w.unsqueeze(2) * near).sum(1) / w.sum(1, keepdim=True)


def best_start(mean, Y, nearest, valid, objective, count):
    """Each row's start: of its weighted ``mean`` of neighbours and the
    positions of its ``count`` nearest fitted items (columns of ``nearest``
    where ``valid``), the one where ``objective`` ((B, m) points -> (B,)
    values) is smallest (the first on ties).

    The mean of neighbours that lie in two clusters falls between them, far
    from where the row ends; starting at the best of a few neighbours cut
    the Newton iterations by about a quarter on MNIST. Each item's position
    is moved a thousandth of the way to the mean: exactly on an item, an
    attractive penalty like ``d^1.5`` has unbounded curvature and the first
    Newton steps would be tiny.
    """
    count = min(count, nearest.shape[1])
    near = tensor_on(nearest[:, :count], Y.device)
    starts = 0.999 * Y[near] + 0.001 * mean.unsqueeze(1)
    starts = torch.where(
        tensor_on(valid[:, :count], Y.device).unsqueeze(2),
        starts,
        mean.unsqueeze(1),
    )
    starts = torch.cat([mean.unsqueeze(1), starts], dim=1)  # (B, 1 + count, m)
    values = torch.stack([objective(starts[:, j]) for j in range(count + 1)], 1)
    values = torch.where(torch.isnan(values), math.inf, values)
    return starts[torch.arange(len(starts), device=Y.device), values.argmin(dim=1)]
