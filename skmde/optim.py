"""The solver's statistics, at PyMDE's path: ``skmde.optim.SolveStats`` is
:class:`skmde.SolveStats`, what :meth:`skmde.MDE.embed` records (the solver
itself is private, ``skmde._lbfgs``)."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SolveStats"]


@dataclass
class SolveStats:
    """What :meth:`MDE.embed` recorded, one entry per iteration (0 = the start).

    Attributes
    ----------
    average_distortions : list of float
        Average distortion after each iteration.
    residual_norms : list of float
        Frobenius norm of the gradient of the average distortion, projected onto
        the tangent space of the constraint.
    step_sizes : list of float
        Line-search step length along the search direction (0 at the start).
    relative_steps : list of float
        ``||X_k - X_{k-1}||_F / ||X_{k-1} - mean||_F``: how much the embedding
        moved, relative to its size (NaN at the start).
    iteration_times : list of float
        Seconds spent in each iteration.
    iterations : int
        Number of iterations taken.
    evaluations : int
        Number of objective and gradient evaluations.
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    message : str
        Why the solver stopped.
    solve_time : float
        Total seconds in the solver.
    snapshots : list of torch.Tensor
        CPU copies of the iterates taken every ``snapshot_every`` iterations
        (and the final one), for :meth:`MDE.play`.
    snapshot_every : int or None
        The ``snapshot_every`` the solve was asked for.
    times, step_size_percents : list of float
        PyMDE's names for the elapsed time at each iteration and the relative
        steps in percent (see the properties).
    """

    average_distortions: list = field(default_factory=list)
    residual_norms: list = field(default_factory=list)
    step_sizes: list = field(default_factory=list)
    relative_steps: list = field(default_factory=list)
    iteration_times: list = field(default_factory=list)
    iterations: int = 0
    evaluations: int = 0
    converged: bool = False
    message: str = ""
    solve_time: float = 0.0
    snapshots: list = field(default_factory=list)
    snapshot_every: int | None = None

    @property
    def times(self):
        """Seconds elapsed at the end of each iteration, from the start of
        the solve (PyMDE's name; the running sum of ``iteration_times``)."""
        return np.cumsum(self.iteration_times).tolist()

    @property
    def step_size_percents(self):
        """How much each step moved the embedding, in percent of its size:
        ``100 * relative_steps`` (PyMDE's name; NaN at the start)."""
        return [100.0 * r for r in self.relative_steps]
