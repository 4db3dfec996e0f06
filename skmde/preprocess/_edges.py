"""Edges built without data: uniform samples of pairs, pairs not among given
ones, and a de-duplicated copy of an edge list."""

import numpy as np
import torch

from .._inputs import as_index_tensor, check_int
from .._pairs import sample_non_edges
from .._utils import numpy_generator

__all__ = ["deduplicate_edges", "dissimilar_edges", "sample_edges"]


def _check_edge_list(edges, name, n_items=None):
    """``edges`` as a (p, 2) int64 numpy array of pairs ``i < j`` (and the
    tensor's device, or None for other input)."""
    device = edges.device if torch.is_tensor(edges) else None
    array = as_index_tensor(edges, name).cpu().numpy()
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n_edges, 2); got {array.shape}.")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must hold item indices >= 0; got {array.min()}.")
    if n_items is not None and array.size and array.max() >= n_items:
        raise ValueError(
            f"{name} must index items in [0, {n_items - 1}]; got {array.max()}."
        )
    if (array[:, 0] == array[:, 1]).any():
        raise ValueError(f"{name} must pair distinct items; it has a self-edge.")
    return np.sort(array, axis=1), device


def sample_edges(n, num_edges, exclude=None, seed=None):
    """``num_edges`` distinct pairs ``(i, j)``, ``i < j``, drawn uniformly.

    Parameters
    ----------
    n : int >= 2
        The number of items.
    num_edges : int >= 0
        How many pairs to draw; at most the number of pairs not excluded.
    exclude : array-like or torch.Tensor of shape (p, 2), optional
        Pairs not to draw (either orientation).
    seed : int, optional
        Seeds the draw; None draws from :func:`skmde.seed`'s generator when
        it was called, else fresh entropy.

    Returns
    -------
    torch.Tensor of shape (num_edges, 2), int64
        Sorted by ``i``, then ``j``. (PyMDE may return fewer rows than asked;
        skmde returns exactly ``num_edges``.)

    Examples
    --------
    >>> from skmde.preprocess import sample_edges
    >>> sample_edges(4, 5, exclude=[[1, 0]], seed=0).tolist()
    [[0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    """
    n = check_int(n, "n", min_value=2)
    num_edges = check_int(num_edges, "num_edges", min_value=0)
    if exclude is None:
        excluded = np.empty((0, 2), dtype=np.int64)
    else:
        excluded, _ = _check_edge_list(exclude, "exclude", n)
        excluded = np.unique(excluded, axis=0)
    available = n * (n - 1) // 2 - len(excluded)
    if num_edges > available:
        raise ValueError(
            f"num_edges must be at most the {available} pairs of {n} items not "
            f"excluded; got {num_edges}."
        )
    rng = numpy_generator(
        None if seed is None else check_int(seed, "seed", min_value=0)
    )
    return torch.from_numpy(sample_non_edges(n, num_edges, excluded, rng))


def dissimilar_edges(n_items, similar_edges, num_edges=None, seed=None):
    """Pairs drawn uniformly among those not in ``similar_edges``.

    The usual repulsive edges of a neighbour-preserving problem: as many
    pairs as ``similar_edges`` holds (or ``num_edges``), none of them similar.

    Parameters
    ----------
    n_items : int >= 2
    similar_edges : array-like or torch.Tensor of shape (p, 2)
        Pairs to leave out.
    num_edges : int, optional
        Default: ``len(similar_edges)``, capped at the pairs available.
    seed : int, optional

    Returns
    -------
    torch.Tensor of shape (num_edges, 2), int64

    Examples
    --------
    >>> from skmde.preprocess import dissimilar_edges
    >>> dissimilar_edges(3, [[0, 1], [1, 2]], seed=0).tolist()
    [[0, 2]]
    """
    n_items = check_int(n_items, "n_items", min_value=2)
    similar, _ = _check_edge_list(similar_edges, "similar_edges", n_items)
    if num_edges is None:
        unique = len(np.unique(similar, axis=0))
        num_edges = min(len(similar), n_items * (n_items - 1) // 2 - unique)
    return sample_edges(n_items, num_edges, exclude=similar, seed=seed)


def deduplicate_edges(edges):
    """Each edge once, as ``(i, j)`` with ``i < j``, sorted.

    ``(i, j)`` and ``(j, i)`` are the same edge. A tensor keeps its dtype and
    device; other input gives an int64 tensor.

    Examples
    --------
    >>> from skmde.preprocess import deduplicate_edges
    >>> deduplicate_edges([[2, 0], [0, 2], [1, 2]]).tolist()
    [[0, 2], [1, 2]]
    """
    dtype = edges.dtype if torch.is_tensor(edges) else torch.int64
    array, device = _check_edge_list(edges, "edges")
    unique = np.unique(array, axis=0).reshape(-1, 2)
    return torch.as_tensor(unique, dtype=dtype, device=device)
