"""PyMDE's path to the solver's statistics: ``skmde.optim.SolveStats`` is
:class:`skmde.SolveStats` (the solver itself is private, ``skmde._lbfgs``)."""

from ._problem import SolveStats

__all__ = ["SolveStats"]
