"""Small embedding utilities with PyMDE's names: :func:`center`,
:func:`rotate` and :func:`all_edges` (:func:`~skmde.align` is in ``_utils``)."""

import math

import numpy as np
import torch

from ._inputs import as_float_tensor, check_int
from ._pairs import all_pairs


def all_edges(n_items):
    """Every pair ``(i, j)``, ``i < j``, of ``n_items`` items, in order.

    Parameters
    ----------
    n_items : int >= 1

    Returns
    -------
    torch.Tensor of shape (n_items (n_items - 1) / 2, 2), int64

    Examples
    --------
    >>> import skmde
    >>> skmde.all_edges(4).tolist()
    [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    """
    n_items = check_int(n_items, "n_items", min_value=1)
    return torch.from_numpy(all_pairs(n_items))


def center(X):
    """``X`` minus the mean of its rows (a new tensor or array, same type).

    Examples
    --------
    >>> import torch, skmde
    >>> skmde.center(torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    tensor([[-1., -1.],
            [ 1.,  1.]])
    """
    is_tensor = isinstance(X, torch.Tensor)
    Y = as_float_tensor(X, "X", ndim=2)
    out = Y - Y.mean(dim=0)
    return out if is_tensor else out.numpy()


def rotate(X, degrees):
    """Rotate a 2-d or 3-d embedding about the origin.

    For a 2-d embedding, ``degrees`` is one angle; a positive angle turns the
    points clockwise (as ``pymde.rotate`` does). For a 3-d embedding it is
    three angles, about the x, then the y, then the z axis, with PyMDE's
    conventions. Distances between points are unchanged.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_items, 2 or 3)
    degrees : float, or a sequence of 3 floats for a 3-d embedding

    Returns
    -------
    Same type as ``X``: the rotated embedding.

    Examples
    --------
    >>> import torch, skmde
    >>> skmde.rotate(torch.tensor([[1.0, 0.0]], dtype=torch.float64), 90).round()
    tensor([[ 0., -1.]], dtype=torch.float64)
    """
    is_tensor = isinstance(X, torch.Tensor)
    Y = as_float_tensor(X, "X", ndim=2)
    m = Y.shape[1]
    angles = np.atleast_1d(np.asarray(degrees, dtype=np.float64))
    if m not in (2, 3):
        raise ValueError(f"rotate needs a 2-d or 3-d embedding; X has {m} columns.")
    if (
        angles.ndim != 1
        or angles.size != (1 if m == 2 else 3)
        or not np.isfinite(angles).all()
    ):
        expected = "one finite angle" if m == 2 else "three finite angles"
        raise ValueError(
            f"degrees must be {expected} for a {m}-d embedding; got {degrees!r}."
        )
    R = _rotation(np.deg2rad(angles))
    out = Y @ torch.as_tensor(R, dtype=Y.dtype, device=Y.device)
    return out if is_tensor else out.numpy()


def _rotation(radians):
    """The matrix that ``rotate`` multiplies rows by."""
    if radians.size == 1:
        c, s = math.cos(radians[0]), math.sin(radians[0])
        return np.array([[c, -s], [s, c]])
    (ca, cb, cg), (sa, sb, sg) = np.cos(radians), np.sin(radians)
    about_x = np.array([[1.0, 0.0, 0.0], [0.0, ca, sa], [0.0, -sa, ca]])
    about_y = np.array([[cb, 0.0, -sb], [0.0, 1.0, 0.0], [sb, 0.0, cb]])
    about_z = np.array([[cg, sg, 0.0], [-sg, cg, 0.0], [0.0, 0.0, 1.0]])
    return about_x @ about_y @ about_z
