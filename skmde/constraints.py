"""Constraints on the embedding: Centered, Standardized, Anchored, and a base class.

A constraint is a set of permissible embeddings. The solver needs three things
from it: a feasible starting point (:meth:`Constraint.initialization`), a map
that brings any matrix back onto the set (:meth:`Constraint.project_onto_constraint`,
applied to every trial point) and the projection of a gradient onto the tangent
space at a feasible point (:meth:`Constraint.project_onto_tangent_space`).
Subclass :class:`Constraint` and implement these three methods to add your own;
see the user guide for a worked example (embedding on a sphere).
"""

import inspect
import math

import torch

from ._inputs import as_float_tensor, as_index_tensor
from ._utils import randn

__all__ = ["Anchored", "Centered", "Constraint", "Standardized", "get"]


class Constraint:
    """Base class of constraints.

    Subclasses implement :meth:`initialization`, :meth:`project_onto_constraint`
    and :meth:`project_onto_tangent_space`; they may override :meth:`check` to
    reject problem sizes they cannot handle, :meth:`natural_length`, and
    :meth:`to` when they hold tensors.

    Examples
    --------
    A constraint that keeps every embedding vector on the unit sphere:

    >>> import torch
    >>> from skmde import Constraint
    >>> class Sphere(Constraint):
    ...     name = "sphere"
    ...     def initialization(self, n_items, embedding_dim, device=None,
    ...                        generator=None, dtype=None):
    ...         X = torch.randn(n_items, embedding_dim, generator=generator,
    ...                         dtype=dtype)
    ...         return self.project_onto_constraint(X.to(device))
    ...     def project_onto_constraint(self, X, inplace=False):
    ...         return X / X.norm(dim=1, keepdim=True)
    ...     def project_onto_tangent_space(self, X, G, inplace=False):
    ...         return G - (G * X).sum(dim=1, keepdim=True) * X
    >>> X = Sphere().initialization(5, 3)
    >>> torch.allclose(X.norm(dim=1), torch.ones(5))
    True
    """

    #: a short name, shown by ``repr(mde)``
    name = "constraint"

    def initialization(
        self, n_items, embedding_dim, device=None, generator=None, dtype=None
    ):
        """Return a random feasible ``(n_items, embedding_dim)`` embedding."""
        raise NotImplementedError

    def project_onto_constraint(self, X, inplace=False):
        """Return the point of the constraint set nearest (or close) to ``X``."""
        raise NotImplementedError

    def project_onto_tangent_space(self, X, G, inplace=False):
        """Project ``G`` onto the tangent space of the constraint set at ``X``."""
        raise NotImplementedError

    def check(self, n_items, embedding_dim):
        """Raise ValueError if the constraint cannot hold for this problem size."""

    def natural_length(self, n_items, embedding_dim):
        """The RMS embedding distance the constraint imposes, or None."""
        return None

    def to(self, device=None, dtype=None):
        """Return the constraint with its tensors on ``device`` (self if none)."""
        return self

    def is_feasible(self, X, rtol=1e-4):
        """Whether ``X`` lies on the constraint set, up to a relative tolerance."""
        projected = self.project_onto_constraint(X.clone())
        scale = max(float(torch.linalg.norm(X)), 1e-30)
        return float(torch.linalg.norm(projected - X)) <= rtol * scale

    def __repr__(self):
        return f"{type(self).__name__}()"


class Centered(Constraint):
    """Embeddings whose columns have mean zero: ``1^T X = 0``.

    The distortion depends only on distances, so centering loses nothing; it is
    the default constraint.
    """

    name = "centered"

    def initialization(
        self, n_items, embedding_dim, device=None, generator=None, dtype=None
    ):
        X = randn(
            (n_items, embedding_dim), generator=generator, device=device, dtype=dtype
        )
        return self.project_onto_constraint(X, inplace=True)

    def project_onto_constraint(self, X, inplace=False):
        mean = X.mean(dim=0)
        return X.sub_(mean) if inplace else X - mean

    def project_onto_tangent_space(self, X, G, inplace=False):
        # The objective is translation invariant, so its gradient already sums
        # to zero; removing the mean only cleans up rounding.
        mean = G.mean(dim=0)
        return G.sub_(mean) if inplace else G - mean


class Standardized(Constraint):
    """Centered embeddings with identity covariance: ``(1/n) X^T X = I``.

    The constraint forces the embedding to spread out, so it is needed when all
    weights are positive. It fixes the RMS distance between items to the
    natural length ``sqrt(2 n m / (n - 1))``.

    Projection uses the polar factor: center, take the thin SVD ``U S V^T`` and
    return ``sqrt(n) U V^T``. Tangent projection removes the column means and the
    symmetric part of ``X^T G / n`` along ``X``.
    """

    name = "standardized"

    def check(self, n_items, embedding_dim):
        if n_items <= embedding_dim:
            raise ValueError(
                "Standardized needs n_items > embedding_dim (a centered n x m "
                f"matrix has rank at most n - 1); got n_items={n_items}, "
                f"embedding_dim={embedding_dim}."
            )

    def natural_length(self, n_items, embedding_dim):
        return math.sqrt(2.0 * n_items * embedding_dim / (n_items - 1))

    def initialization(
        self, n_items, embedding_dim, device=None, generator=None, dtype=None
    ):
        self.check(n_items, embedding_dim)
        X = randn(
            (n_items, embedding_dim), generator=generator, device=device, dtype=dtype
        )
        return self.project_onto_constraint(X, inplace=True)

    def project_onto_constraint(self, X, inplace=False):
        n = X.shape[0]
        Xc = (X - X.mean(dim=0)).double()
        # The polar factor U V^T of Xc = U S V^T equals Xc (Xc^T Xc)^(-1/2): an
        # m x m eigenproblem instead of an n x m SVD, exact while Xc is well
        # conditioned (otherwise fall back to the SVD).
        evals, evecs = torch.linalg.eigh(Xc.T @ Xc)
        if bool(evals[0] > 1e-10 * evals[-1]) and bool(evals[-1] > 0):
            result = Xc @ ((evecs * evals.rsqrt()) @ evecs.T)
        else:
            U, _, Vh = torch.linalg.svd(Xc, full_matrices=False)
            result = U @ Vh
        result = result.mul_(math.sqrt(n)).to(X.dtype)
        return X.copy_(result) if inplace else result

    def project_onto_tangent_space(self, X, G, inplace=False):
        n = X.shape[0]
        Gc = G - G.mean(dim=0)
        A = X.T @ Gc
        result = Gc - X @ ((A + A.T) / (2.0 * n))
        return G.copy_(result) if inplace else result


class Anchored(Constraint):
    """Pin the rows ``anchors`` of the embedding to ``values``.

    Parameters
    ----------
    anchors : array-like of int, shape (n_anchors,)
        Distinct item indices (integral floats are accepted).
    values : array-like of shape (n_anchors, embedding_dim)
        The fixed embedding vectors, one row per anchor.

    Examples
    --------
    >>> import torch
    >>> from skmde import Anchored
    >>> c = Anchored(torch.tensor([0, 2]), torch.tensor([[0.0, 0.0], [1.0, 2.0]]))
    >>> c.initialization(4, 2)[[0, 2]]
    tensor([[0., 0.],
            [1., 2.]])
    """

    name = "anchored"

    def __init__(self, anchors, values):
        anchors = as_index_tensor(anchors, "anchors")
        if anchors.dim() != 1 or anchors.numel() == 0:
            raise ValueError(
                f"anchors must be a non-empty 1-D array; got shape "
                f"{tuple(anchors.shape)}."
            )
        if bool((anchors < 0).any()):
            raise ValueError("anchors must be nonnegative item indices.")
        if torch.unique(anchors).numel() != anchors.numel():
            raise ValueError("anchors must not contain duplicates.")
        values = as_float_tensor(values, "values", ndim=2, device=anchors.device)
        if values.shape[0] != anchors.numel():
            raise ValueError(
                f"values must have one row per anchor ({anchors.numel()}); got "
                f"{values.shape[0]} rows."
            )
        self.anchors = anchors
        self.values = values

    def check(self, n_items, embedding_dim):
        if int(self.anchors.max()) >= n_items:
            raise ValueError(
                f"anchors must be < n_items={n_items}; got {int(self.anchors.max())}."
            )
        if self.values.shape[1] != embedding_dim:
            raise ValueError(
                f"values must have embedding_dim={embedding_dim} columns; got "
                f"{self.values.shape[1]}."
            )

    def to(self, device=None, dtype=None):
        anchors = self.anchors.to(device)
        values = self.values.to(device=device, dtype=dtype)
        if anchors is self.anchors and values is self.values:
            return self
        clone = Anchored.__new__(Anchored)
        clone.anchors, clone.values = anchors, values
        return clone

    def initialization(
        self, n_items, embedding_dim, device=None, generator=None, dtype=None
    ):
        self.check(n_items, embedding_dim)
        X = randn(
            (n_items, embedding_dim),
            generator=generator,
            device=device,
            dtype=dtype if dtype is not None else self.values.dtype,
        )
        return self.project_onto_constraint(X, inplace=True)

    def project_onto_constraint(self, X, inplace=False):
        if not inplace:
            X = X.clone()
        X[self.anchors.to(X.device)] = self.values.to(device=X.device, dtype=X.dtype)
        return X

    def project_onto_tangent_space(self, X, G, inplace=False):
        if not inplace:
            G = G.clone()
        G[self.anchors.to(G.device)] = 0.0
        return G

    def __repr__(self):
        return f"Anchored(n_anchors={self.anchors.numel()})"


def initialize(constraint, n_items, embedding_dim, device, generator, dtype):
    """``constraint.initialization(...)``, passing ``generator`` and ``dtype``
    only to constraints whose signature accepts them. A constraint written to
    PyMDE's interface, ``initialization(n_items, embedding_dim, device=None)``,
    draws from torch's global generator: it is seeded from ``generator`` for
    the call (and restored after), so seeded starts stay reproducible."""
    accepted = inspect.signature(constraint.initialization).parameters
    flexible = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    if flexible or {"generator", "dtype"} <= set(accepted):
        return constraint.initialization(
            n_items, embedding_dim, device=device, generator=generator, dtype=dtype
        )
    with torch.random.fork_rng(devices=[]):
        if generator is not None:
            torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        X = constraint.initialization(n_items, embedding_dim, device=device)
    return torch.as_tensor(X).to(device=device, dtype=dtype)


def get(constraint, default=None):
    """The constraint that ``constraint`` stands for.

    Parameters
    ----------
    constraint : None, "centered", "standardized" or Constraint
        A name (any case) makes a new instance; a :class:`Constraint` is
        returned as it is.
    default : Constraint, optional
        What None stands for.

    Examples
    --------
    >>> from skmde import constraints
    >>> constraints.get("standardized")
    Standardized()
    """
    if constraint is None:
        return default
    if isinstance(constraint, str):
        named = {"centered": Centered, "standardized": Standardized}
        key = constraint.lower()
        if key not in named:
            raise ValueError(
                f"unknown constraint {constraint!r}; expected 'centered', "
                "'standardized' or a Constraint instance."
            )
        return named[key]()
    if not isinstance(constraint, Constraint):
        raise TypeError(
            "constraint must be None, 'centered', 'standardized' or a Constraint; "
            f"got {type(constraint).__name__}."
        )
    return constraint
