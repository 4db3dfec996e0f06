"""What rebuilds a fitted problem (:class:`ProblemRecord`): the estimators
keep one, so that ``model.problem()`` works after pickling and after
``partial_fit``."""

import numpy as np
import torch

from ._problem import MDE


class ProblemRecord:
    """What rebuilds a problem: its edges, per-edge values, the factory that
    made its distortion function from them, and its constraint, as numpy
    arrays and picklable objects on the CPU (fitted estimators keep one).

    The factory is whatever built the function (a class, a
    ``functools.partial`` holding hyperparameters, any callable returning a
    distortion function, built-in or a plain function of the distances), so
    the rebuilt problem has the same constructor arguments.
    """

    def __init__(
        self, n_items, embedding_dim, edges, values, factory, constraint, units=1.0
    ):
        self.n_items, self.embedding_dim = n_items, embedding_dim
        self.edges, self.values = edges, values
        self.factory, self.constraint = factory, constraint
        self.units = units

    @classmethod
    def from_problem(cls, mde, values, factory, units=1.0, all_pairs=False):
        """The record of ``mde``, whose function is ``factory(values)`` and
        whose embeddings are in ``units`` of the data's (see the recipes).
        With ``all_pairs`` (its edges are every pair ``i < j`` in order) the
        edges are not stored: two thirds of a distance model's pickle."""
        # int32 pairs below 2**31 items
        edges = None if all_pairs else mde._compact_edges().cpu().numpy()
        values = torch.as_tensor(values).detach().to(mde.dtype).cpu().numpy()
        constraint = mde.constraint.to("cpu")
        return cls(
            mde.n_items, mde.embedding_dim, edges, values, factory, constraint, units
        )

    def grown(self, n_new, edges, values):
        """The record of the problem with ``n_new`` more items and the
        ``edges`` (global indices) and ``values`` added (see partial_fit)."""
        old = self.edges
        if old is None:
            old = np.column_stack(np.triu_indices(self.n_items, k=1))
        n = self.n_items + n_new
        dtype = np.int32 if n < 2**31 else np.int64
        return ProblemRecord(
            n,
            self.embedding_dim,
            np.concatenate([old, edges]).astype(dtype),
            np.concatenate([self.values, values.astype(self.values.dtype)]),
            self.factory,
            self.constraint,
            self.units,
        )

    def rebuild(self, X=None, device="cpu"):
        """The problem on ``device``, with ``mde.X = X`` (in the data's units)
        when given."""
        function = self.factory(torch.from_numpy(self.values))
        edges = self.edges
        if edges is None:  # every pair i < j, in order
            edges = np.column_stack(np.triu_indices(self.n_items, k=1))
        mde = MDE(
            self.n_items,
            self.embedding_dim,
            edges,
            function,
            self.constraint,
            device=device,
        )
        if X is not None:
            X = np.asarray(X) / self.units
            mde.X = torch.as_tensor(X, dtype=mde.dtype).to(mde.device)
        return mde
