"""Rows of data as values: a hash per row, a fingerprint of a dataset, and the
groups of identical rows (which a fit gives one position, so that
``transform(X_train)`` returns ``embedding_`` row by row)."""

import hashlib

import numpy as np
import scipy.sparse

from ._utils import parallel_blocks


def merge_duplicates(X, embedding, hashes=None):
    """``embedding`` with each group of identical rows of ``X`` at one
    position, the mean of theirs (a copy; ``embedding`` itself when ``X`` has
    no repeated row).

    Identical training rows are the same point; ``transform`` of such a row
    returns the position of its group, so ``transform(X_train)`` equals
    ``embedding_`` row by row only if the group shares one. Rows are hashed
    (a vectorized sum of their bit patterns times per-column odd keys), then
    rows with equal hashes are compared value by value. ``hashes``: the rows'
    :func:`row_hashes`, when already computed.
    """
    groups = _duplicate_groups(X, row_hashes(X) if hashes is None else hashes)
    if not groups:
        return embedding
    out = np.array(embedding, copy=True)
    for members in groups:
        out[members] = embedding[members].mean(axis=0)
    return out


def row_hashes(X):
    """A 64-bit hash of each row of ``X`` (dense or CSR) from its values:
    equal rows (0.0 and -0.0 alike, a sparse row and its dense copy too) get
    equal hashes; a sum of the values' bit patterns times per-column odd
    keys, vectorized. Each pattern's high half is first folded into its low
    half: a product modulo 2**64 keeps only as many bits as the factor's
    trailing zeros leave, and whole numbers stored as floats (pixels, counts)
    have some 45 trailing zeros, which left 19 bits of hash (96 false
    matches among MNIST's 10,000 test images)."""
    n = X.shape[0]
    rng = np.random.default_rng(0)
    keys = rng.integers(1, 2**63, size=X.shape[1], dtype=np.uint64) | np.uint64(1)
    hashes = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        if scipy.sparse.issparse(X):
            X = scipy.sparse.csr_matrix(X)
            words = _fold((X.data.astype(np.float64) + 0.0).view(np.uint64))
            owner = np.repeat(np.arange(n), np.diff(X.indptr))
            np.add.at(hashes, owner, words * keys[X.indices])
        else:

            def hash_rows(start, stop):
                rows = np.asarray(X[start:stop], dtype=np.float64) + 0.0
                words = _fold(rows.view(np.uint64))
                with np.errstate(over="ignore"):
                    words *= keys
                    hashes[start:stop] = words.sum(1)

            block = max(1, (1 << 20) // max(1, X.shape[1]))
            parallel_blocks(hash_rows, n, block)
    return hashes


def _fold(words):
    """``words ^ (words >> 32)``: a one-to-one map of 64-bit words whose low
    bits depend on the high ones (a new array)."""
    return words ^ (words >> np.uint64(32))


def digest(hashes, blocks=None):
    """A short fingerprint of rows in their order, from their
    :func:`row_hashes` (see :meth:`attach_training_data`). ``blocks``: the
    sizes of the batches the rows came in (a fit, then each partial fit);
    each extends the fingerprint of the rows before it."""
    if blocks is None:
        return hashlib.sha256(hashes.tobytes()).hexdigest()[:32]
    result, start = "", 0
    for size in blocks:
        chunk = hashes[start : start + size]
        result = digest(chunk) if start == 0 else extend_digest(result, chunk)
        start += size
    return result


def extend_digest(fingerprint, hashes):
    """The fingerprint of rows with ``hashes`` appended (see :func:`digest`)."""
    return hashlib.sha256(fingerprint.encode() + hashes.tobytes()).hexdigest()[:32]


def _duplicate_groups(X, hashes):
    """Lists of the row indices of ``X`` (dense or CSR) that are identical."""
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    if counts.max(initial=0) < 2:
        return []
    groups = []
    for label in np.flatnonzero(counts > 1):
        candidates = np.flatnonzero(inverse == label)
        rows = X[candidates]
        rows = rows.toarray() if scipy.sparse.issparse(rows) else np.asarray(rows)
        _, which = np.unique(rows, axis=0, return_inverse=True)
        for value in np.unique(which):
            members = candidates[which.ravel() == value]
            if len(members) > 1:
                groups.append(members)
    return groups
