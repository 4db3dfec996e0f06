"""Losses: distortion functions built from original deviations.

A loss compares each embedding distance ``d_k`` with a target deviation
``delta_k >= 0``; it is zero when ``d_k == delta_k`` and positive otherwise.

Examples
--------
>>> import torch
>>> from skmde import losses
>>> f = losses.Quadratic(torch.tensor([1.0, 2.0, 3.0]))
>>> f(torch.tensor([2.0, 5.0, 4.0]))
tensor([1., 9., 1.])
"""

import math

import torch

from ._distortion import DistortionFunction, resolve_function
from ._inputs import as_float_tensor, check_float

__all__ = [
    "Absolute",
    "Cubic",
    "Fractional",
    "Huber",
    "Logistic",
    "Loss",
    "Power",
    "Quadratic",
    "SoftFractional",
    "WeightedQuadratic",
    "get",
]


class Loss(DistortionFunction):
    """Base class of losses ``f_k(d) = l(d, delta_k)``.

    Parameters
    ----------
    deviations : array-like or torch.Tensor of shape (n_edges,)
        The target distances, finite and nonnegative.
    """

    _values_name = "deviations"
    #: whether the loss needs strictly positive deviations
    _positive = False

    def __init__(self, deviations):
        super().__init__(deviations)

    def _check_values(self, values):
        if self._positive and bool((values <= 0).any()):
            raise ValueError(
                f"deviations must be > 0 for {type(self).__name__}; got "
                f"{int((values <= 0).sum())} zero or negative values."
            )
        if bool((values < 0).any()):
            raise ValueError(
                f"deviations must be >= 0; got {int((values < 0).sum())} negative "
                "values."
            )


class Absolute(Loss):
    """``l(d, delta) = |d - delta|``."""

    def value_and_derivative(self, d):
        r = d - self.deviations
        return r.abs(), r.sign()


class Quadratic(Loss):
    """``l(d, delta) = (d - delta)**2``."""

    def value_and_derivative(self, d):
        r = d - self.deviations
        return r.square(), 2.0 * r

    def second_derivative(self, d):
        return torch.full_like(d, 2.0)


class WeightedQuadratic(Loss):
    """``l(d, delta) = w (d - delta)**2`` with ``w = 1 / delta**2`` by default.

    Parameters
    ----------
    deviations : array-like of shape (n_edges,)
        Target distances; must be > 0 when ``weights`` is None.
    weights : array-like of shape (n_edges,), optional
        Nonnegative per-edge weights.
    """

    def __init__(self, deviations, weights=None):
        super().__init__(deviations)
        if weights is None:
            if bool((self.deviations <= 0).any()):
                raise ValueError(
                    "deviations must be > 0 when weights is None (the default "
                    "weights are 1/deviations**2); pass weights explicitly."
                )
            weights = self.deviations.pow(-2)
        weights = as_float_tensor(
            weights, "weights", ndim=1, dtype=self.dtype, device=self.device
        )
        if weights.shape != self.deviations.shape:
            raise ValueError(
                f"weights must have one entry per deviation ({self.n_edges}); got "
                f"{weights.shape[0]}."
            )
        if bool((weights < 0).any()):
            raise ValueError("weights must be >= 0.")
        self.weights = weights

    def value_and_derivative(self, d):
        r = d - self.deviations
        return self.weights * r.square(), 2.0 * self.weights * r


class Cubic(Loss):
    """``l(d, delta) = |d - delta|**3``."""

    def value_and_derivative(self, d):
        r = d - self.deviations
        return r.abs().pow(3), 3.0 * r * r.abs()


class Power(Loss):
    """``l(d, delta) = |d - delta|**exponent``.

    Parameters
    ----------
    deviations : array-like of shape (n_edges,)
    exponent : float > 0
    """

    _hyperparameters = ("exponent",)

    def __init__(self, deviations, exponent):
        self.exponent = check_float(exponent, "exponent", low=0.0, low_open=True)
        super().__init__(deviations)

    def value_and_derivative(self, d):
        r = d - self.deviations
        e = self.exponent
        return r.abs().pow(e), e * r.sign() * r.abs().pow(e - 1.0)


class Huber(Loss):
    """``(d - delta)**2`` when ``|d - delta| < threshold``, else linear.

    Above the threshold the loss is ``threshold (2 |d - delta| - threshold)``,
    which continues the quadratic with the same slope.

    Parameters
    ----------
    deviations : array-like of shape (n_edges,)
    threshold : float > 0, default=1.0
    """

    _hyperparameters = ("threshold",)

    def __init__(self, deviations, threshold=1.0):
        self.threshold = check_float(threshold, "threshold", low=0.0, low_open=True)
        super().__init__(deviations)

    def value_and_derivative(self, d):
        r = d - self.deviations
        t = self.threshold
        small = r.abs() < t
        value = torch.where(small, r.square(), t * (2.0 * r.abs() - t))
        derivative = torch.where(small, 2.0 * r, 2.0 * t * r.sign())
        return value, derivative


class Logistic(Loss):
    """``l(d, delta) = log(1 + exp(|d - delta|)) - log(2)``.

    PyMDE's version omits the constant, so its minimum is ``log 2``; both have
    the same gradient and minimizers.
    """

    def value_and_derivative(self, d):
        r = d - self.deviations
        value = torch.nn.functional.softplus(r.abs()) - math.log(2.0)
        return value, r.sign() * torch.sigmoid(r.abs())


class Fractional(Loss):
    """``l(d, delta) = max(delta / d, d / delta) - 1``; needs ``delta > 0``."""

    _positive = True

    def value_and_derivative(self, d):
        delta = self.deviations
        above = d >= delta
        value = torch.where(above, d / delta, delta / d) - 1.0
        derivative = torch.where(above, 1.0 / delta, -delta / d.square())
        return value, derivative


class SoftFractional(Loss):
    """A smooth version of :class:`Fractional`.

    ``l(d, delta) = (1/gamma) (logsumexp(gamma delta/d, gamma d/delta) - log 2)
    - 1``, which tends to :class:`Fractional` as ``gamma`` grows.

    Parameters
    ----------
    deviations : array-like of shape (n_edges,), all > 0
    gamma : float > 0, default=10.0
    """

    _positive = True
    _hyperparameters = ("gamma",)

    def __init__(self, deviations, gamma=10.0):
        self.gamma = check_float(gamma, "gamma", low=0.0, low_open=True)
        super().__init__(deviations)

    def value_and_derivative(self, d):
        delta, g = self.deviations, self.gamma
        stacked = torch.stack((delta / d, d / delta), dim=1)
        value = (torch.logsumexp(g * stacked, dim=1) - math.log(2.0)) / g - 1.0
        share = torch.softmax(g * stacked, dim=1)
        derivative = share[:, 0] * (-delta / d.square()) + share[:, 1] / delta
        return value, derivative


_REGISTRY = {
    cls.__name__.lower(): cls
    for cls in (
        Absolute,
        Quadratic,
        WeightedQuadratic,
        Cubic,
        Power,
        Huber,
        Logistic,
        Fractional,
        SoftFractional,
    )
}

#: the names :func:`get` knows (lowercase class names)
NAMES = tuple(sorted(_REGISTRY))


def get(spec, name="loss"):
    """The loss factory that ``spec`` stands for.

    Parameters
    ----------
    spec : str, class or callable
        A name from :data:`NAMES` (any case, e.g. ``"huber"``), a loss class,
        or any callable that builds a distortion function from the per-edge
        values (e.g. ``functools.partial(Huber, threshold=2.0)``).
    name : str, default="loss"
        The name of the argument, for error messages.

    Returns
    -------
    callable
        Called with the per-edge values, it returns the distortion function.

    Examples
    --------
    >>> from skmde import losses
    >>> losses.get("huber") is losses.Huber
    True
    """
    return resolve_function(spec, _REGISTRY, name)
