"""Penalties: distortion functions built from edge weights.

A penalty ``p`` and weights ``w_k`` give the distortions ``f_k(d) = w_k p(d)``.
Positive weights attract (small distances are cheap), negative weights repel.
Attractive penalties are zero at zero and increase; the repulsive ones (``Log``,
``LogRatio``, ``InvPower``) tend to minus infinity at zero and to zero at infinity,
so that with a negative weight the distortion blows up when two items collide.

Examples
--------
>>> import torch
>>> from skmde import penalties
>>> f = penalties.Quadratic(torch.tensor([1.0, 2.0, 3.0]))
>>> f(torch.tensor([2.0, 1.0, 4.0]))
tensor([ 4.,  2., 48.])
"""

import copy
import functools

import numpy as np
import torch

from ._distortion import (
    DistortionFunction,
    build_function,
    fixed_order_sum,
    resolve_function,
)
from ._inputs import check_float

__all__ = [
    "Cubic",
    "Huber",
    "InvPower",
    "Linear",
    "Log",
    "Log1p",
    "LogRatio",
    "Logistic",
    "Penalty",
    "Power",
    "PushAndPull",
    "Quadratic",
    "get",
]


def _power(d, e):
    """``d ** e``, with cheap special cases for the common exponents."""
    if e == 1.0:
        return d
    if e == 2.0:
        return d.square()
    if e == 1.5:
        return d * d.sqrt()
    if e == 1.25:  # the refined pull of MDENeighbors (skmde._refine)
        return d * d.sqrt().sqrt()
    if e == 0.5:
        return d.sqrt()
    return d.pow(e)


@functools.cache
def _numpy_is_faster(name, dtype):
    """Whether NumPy's ufunc ``name`` runs its AVX-512 loop for ``dtype`` here.

    With AVX-512, NumPy's float32 ``expm1`` and ``log`` ran 1.5 to 2 times
    faster than torch 2.13's CPU kernels (``expm1`` 10 times faster than
    that of torch 2.14.1's CUDA wheel). Without it (AVX2 only), NumPy's
    ``expm1`` falls back to a scalar loop: 7 times slower than torch's
    (4.9 against 0.67 ms for 240,000 float32 values), and its ``log`` 1.8
    times slower (0.87 against 0.47 ms). NumPy (2.0 and later) says which loop
    it chose; where it cannot, torch computes.
    """
    try:
        info = np.lib.introspect.opt_func_info(func_name=f"^{name}$", signature=dtype)
    except (AttributeError, TypeError, ValueError):  # NumPy < 2.0
        return False
    targets = [loop["current"] for loop in info.get(name, {}).values()]
    return bool(targets) and all("512" in t or "X86_V4" in t for t in targets)


def _apply(numpy_function, torch_function, x):
    """``torch_function(x)``, computed by ``numpy_function`` into a new
    tensor when ``x`` is on the CPU, outside autograd, and NumPy's loop for it
    is the faster one on this machine (see :func:`_numpy_is_faster`); the
    solver's objective evaluates them for every edge of the default penalties.
    """
    if (
        x.device.type != "cpu"
        or x.requires_grad
        or not _numpy_is_faster(numpy_function.__name__, str(x.dtype).split(".")[1])
    ):
        return torch_function(x)
    with np.errstate(all="ignore"):  # inf and NaN pass silently, as in torch
        return torch.from_numpy(numpy_function(x.numpy()))


def _finite_or_zero(ratio, out=None):
    """The ratio with inf/NaN (from d = 0) replaced by 0, in place or into out."""
    if out is None:
        return ratio.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
    return torch.nan_to_num(ratio, nan=0.0, posinf=0.0, neginf=0.0, out=out)


class Penalty(DistortionFunction):
    """Base class of penalties: ``f_k(d) = w_k p(d)``.

    Parameters
    ----------
    weights : array-like or torch.Tensor of shape (n_edges,)
        One finite weight per edge; positive attracts, negative repels.
    """

    _values_name = "weights"

    def __init__(self, weights):
        super().__init__(weights)
        w = self.weights
        # a single repeated weight is applied as a scalar (one array read less)
        self._uniform = float(w[0]) if bool((w == w[0]).all()) else None

    @property
    def _w(self):
        return self.weights if self._uniform is None else self._uniform

    def _kernel_parts(self):
        # the classes with a compiled loop name it in their own _kernel (a
        # subclass, which may change the formula, does not inherit it)
        name = type(self).__dict__.get("_kernel")
        w = self.weights
        if name is None or w.device.type != "cpu" or not w.is_contiguous():
            return None
        return [(0, self.n_edges, name, w, self.exponent)]


class Linear(Penalty):
    """``p(d) = d``."""

    def value_and_derivative(self, d):
        return self.weights * d, self.weights.expand_as(d)

    def second_derivative(self, d):
        return torch.zeros_like(d)


class Quadratic(Penalty):
    """``p(d) = d**2``."""

    def value_and_derivative(self, d):
        return self.weights * d.square(), 2.0 * self.weights * d

    def second_derivative(self, d):
        return (2.0 * self.weights).expand_as(d)

    def _value_and_ratio(self, d, out=None):
        ratio = 2.0 * self.weights.expand_as(d)
        return self.weights * d.square(), (ratio if out is None else out.copy_(ratio))


class Cubic(Penalty):
    """``p(d) = d**3``."""

    def value_and_derivative(self, d):
        d2 = d.square()
        return self.weights * d2 * d, 3.0 * self.weights * d2

    def second_derivative(self, d):
        return 6.0 * self.weights * d

    def _value_and_ratio(self, d, out=None):
        ratio = 3.0 * self.weights * d
        return self.weights * d.pow(3), (ratio if out is None else out.copy_(ratio))


class Power(Penalty):
    """``p(d) = d**exponent``.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    exponent : float > 0
    """

    _hyperparameters = ("exponent",)

    def __init__(self, weights, exponent):
        self.exponent = check_float(exponent, "exponent", low=0.0, low_open=True)
        super().__init__(weights)

    def value_and_derivative(self, d):
        e = self.exponent
        return self.weights * d.pow(e), e * self.weights * d.pow(e - 1.0)

    def second_derivative(self, d):
        e = self.exponent
        return e * (e - 1.0) * self.weights * d.pow(e - 2.0)


class Huber(Penalty):
    """``p(d) = d**2 / 2`` below ``threshold``, ``threshold (d - threshold/2)`` above.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    threshold : float >= 0, default=0.5
    """

    _hyperparameters = ("threshold",)

    def __init__(self, weights, threshold=0.5):
        self.threshold = check_float(threshold, "threshold", low=0.0)
        super().__init__(weights)

    def value_and_derivative(self, d):
        t = self.threshold
        small = d < t
        value = torch.where(small, 0.5 * d.square(), t * (d - 0.5 * t))
        derivative = torch.where(small, d, torch.full_like(d, t))
        return self.weights * value, self.weights * derivative


class Logistic(Penalty):
    """``p(d) = log(1 + exp(alpha (d - threshold)))``.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    threshold : float, default=0.0
    alpha : float > 0, default=3.0
    """

    _hyperparameters = ("threshold", "alpha")

    def __init__(self, weights, threshold=0.0, alpha=3.0):
        self.threshold = check_float(threshold, "threshold")
        self.alpha = check_float(alpha, "alpha", low=0.0, low_open=True)
        super().__init__(weights)

    def value_and_derivative(self, d):
        z = self.alpha * (d - self.threshold)
        value = torch.nn.functional.softplus(z)
        return self.weights * value, self.alpha * self.weights * torch.sigmoid(z)


class Log1p(Penalty):
    """``p(d) = log(1 + d**exponent)``: an attractive penalty that grows slowly.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    exponent : float > 0, default=1.5
    """

    _hyperparameters = ("exponent",)
    _kernel = "log1p"  # see Penalty._kernel_parts

    def __init__(self, weights, exponent=1.5):
        self.exponent = check_float(exponent, "exponent", low=0.0, low_open=True)
        super().__init__(weights)

    def value_and_derivative(self, d):
        e = self.exponent
        de = _power(d, e)
        derivative = e * self.weights * d.pow(e - 1.0) / (1.0 + de)
        return self.weights * torch.log1p(de), derivative

    def second_derivative(self, d):
        return self.derivatives(d)[2]

    def derivatives(self, d):
        e, w = self.exponent, self._w
        # with u = d^e: f = w log(1 + u), f' = w e d^(e-1) / (1 + u) and
        # f'' = f' (e - 1 - u) / (d (1 + u))
        u = _power(d, e)
        inverse = (u + 1.0).reciprocal_()
        first = _power(d, e - 1.0) * inverse * (e * w)
        second = first * (e - 1.0 - u) * inverse / d
        return torch.log1p(u).mul_(w), first, second

    def _value_and_ratio(self, d, out=None):
        e, w = self.exponent, self._w
        de = _power(d, e)
        one_de = de + 1.0
        value = _apply(np.log, torch.log, one_de).mul_(w)
        # f'(d)/d = w e d^(e-2) / (1 + d^e); 0 (not inf/nan) at d = 0
        if e == 1.5:
            ratio = d.sqrt().mul_(one_de).reciprocal_()
        elif e == 1.25:  # d^-0.75 = 1 / (d^0.5 d^0.25)
            root = d.sqrt()
            ratio = (root * root.sqrt()).mul_(one_de).reciprocal_()
        else:  # d^e / d^2, not (1 + d^e - 1) / d^2: no cancellation at small d
            ratio = de.div(d.square().mul_(one_de))
        ratio.mul_(e * w)
        return value, _finite_or_zero(ratio, out)


class Log(Penalty):
    """``p(d) = log(1 - exp(-d**exponent))``: a repulsive penalty (use with w < 0).

    Tends to minus infinity at 0 and to 0 at infinity.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    exponent : float > 0, default=1.0
    """

    _hyperparameters = ("exponent",)
    _kernel = "log"  # see Penalty._kernel_parts

    def __init__(self, weights, exponent=1.0):
        self.exponent = check_float(exponent, "exponent", low=0.0, low_open=True)
        super().__init__(weights)

    def value_and_derivative(self, d):
        e = self.exponent
        de = _power(d, e)
        value = self.weights * torch.log(-torch.expm1(-de))
        derivative = e * self.weights * d.pow(e - 1.0) / torch.expm1(de)
        return value, derivative

    def second_derivative(self, d):
        return self.derivatives(d)[2]

    def derivatives(self, d):
        e, w = self.exponent, self._w
        u = _power(d, e)
        em = torch.expm1(-u).neg_()  # 1 - exp(-u)
        q = torch.exp(-u).div_(em)  # 1 / (exp(u) - 1), accurate at both ends
        # f' = w e d^(e-1) q, f'' = f' (e - 1 - e u (1 + q)) / d
        first = _power(d, e - 1.0) * q * (e * w) if e != 1.0 else q * (e * w)
        second = first * (e - 1.0 - e * u * (1.0 + q)) / d
        return torch.log(em).mul_(w), first, second

    def _value_and_ratio(self, d, out=None):
        e, w = self.exponent, self._w
        de = _power(d, e)
        # 1 - exp(-d^e), accurate for small and large d
        em = _apply(np.expm1, torch.expm1, -de).neg_()
        value = _apply(np.log, torch.log, em).mul_(w)
        # f'(d)/d = w e d^(e-2) exp(-d^e) / (1 - exp(-d^e)); 0 (not inf/nan) at d = 0
        if e == 1.0:
            ratio = torch.rsub(em, 1.0).div_(em.mul_(d))
        else:
            ratio = torch.rsub(em, 1.0).mul_(de).div_(em.mul_(d.square()))
        ratio.mul_(e * w)
        return value, _finite_or_zero(ratio, out)


class LogRatio(Penalty):
    """``p(d) = log(d**exponent / (1 + d**exponent))``: repulsive (use with w < 0).

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    exponent : float > 0, default=2.0
    """

    _hyperparameters = ("exponent",)

    def __init__(self, weights, exponent=2.0):
        self.exponent = check_float(exponent, "exponent", low=0.0, low_open=True)
        super().__init__(weights)

    def value_and_derivative(self, d):
        e = self.exponent
        value = -self.weights * torch.log1p(d.pow(-e))
        derivative = e * self.weights / (d * (1.0 + d.pow(e)))
        return value, derivative


class InvPower(Penalty):
    """``f(d) = |w| / d**exponent``: repulsive whatever the sign of the weight.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
    exponent : float > 0, default=1.0
    """

    _hyperparameters = ("exponent",)

    def __init__(self, weights, exponent=1.0):
        self.exponent = check_float(exponent, "exponent", low=0.0, low_open=True)
        super().__init__(weights)

    def value_and_derivative(self, d):
        e = self.exponent
        w = self.weights.abs()
        return w * d.pow(-e), -e * w * d.pow(-e - 1.0)


_REGISTRY = {
    cls.__name__.lower(): cls
    for cls in (
        Linear,
        Quadratic,
        Cubic,
        Power,
        Huber,
        Logistic,
        Log1p,
        Log,
        LogRatio,
        InvPower,
    )
}

#: the names :func:`get` knows (lowercase class names)
NAMES = tuple(sorted(_REGISTRY))


def get(spec, name="penalty"):
    """The penalty factory that ``spec`` stands for.

    Parameters
    ----------
    spec : str, class or callable
        A name from :data:`NAMES` (any case, e.g. ``"huber"``), a penalty class,
        or any callable that builds a distortion function from the per-edge
        values (e.g. ``functools.partial(Huber, threshold=2.0)``).
    name : str, default="penalty"
        The name of the argument, for error messages.

    Returns
    -------
    callable
        Called with the per-edge values, it returns the distortion function.

    Examples
    --------
    >>> from skmde import penalties
    >>> penalties.get("huber") is penalties.Huber
    True
    """
    return resolve_function(spec, _REGISTRY, name)


class PushAndPull(Penalty):
    """An attractive penalty for positive weights and a repulsive one for negative.

    ``f_k(d) = w_k p_attractive(d)`` when ``w_k > 0`` and ``w_k p_repulsive(d)``
    when ``w_k < 0``; edges of weight zero have zero distortion.

    Parameters
    ----------
    weights : array-like of shape (n_edges,)
        Edge weights of either sign.
    attractive_penalty : str, Penalty subclass or callable, default=Log1p
        Built from the positive weights. A name (``"log1p"``), a class, or a
        factory such as ``functools.partial(Log1p, exponent=2)``.
    repulsive_penalty : str, Penalty subclass or callable, default=Log
        Built from the negative weights.

    Examples
    --------
    >>> import torch
    >>> from skmde import PushAndPull, penalties
    >>> f = PushAndPull(torch.tensor([1.0, -1.0]), penalties.Quadratic, penalties.Log)
    >>> f(torch.tensor([2.0, 1.0]))
    tensor([4.0000, 0.4587])
    """

    def __init__(self, weights, attractive_penalty=Log1p, repulsive_penalty=Log):
        super().__init__(weights)
        w = self.weights
        self._parts = {}
        for kind, spec, mask in (
            ("attractive", attractive_penalty, w > 0),
            ("repulsive", repulsive_penalty, w < 0),
        ):
            factory = resolve_function(spec, _REGISTRY, f"{kind}_penalty")
            index = mask.nonzero().squeeze(1)
            if index.numel() == 0:
                continue
            start, stop = int(index[0]), int(index[-1]) + 1
            if stop - start == index.numel() or (
                # zero weights inside the attractive block (a fuzzy weight
                # that underflowed) join it: zero distortion under a finite
                # penalty, and the block stays a slice the solver can chunk
                kind == "attractive" and not bool((w[start:stop] < 0).any())
            ):
                index = slice(start, stop)
            self._parts[kind] = (index, build_function(factory, w[index], kind))
        covered = sum(_length(index) for index, _ in self._parts.values())
        self._contiguous = covered == w.numel() and all(
            isinstance(index, slice) for index, _ in self._parts.values()
        )
        if self._contiguous:  # the blocks in edge order, whichever comes first
            self._parts = dict(
                sorted(self._parts.items(), key=lambda part: part[1][0].start)
            )

    @property
    def attractive_penalty(self):
        """The penalty built from the positive weights (None if there are none)."""
        return self._parts.get("attractive", (None, None))[1]

    @property
    def repulsive_penalty(self):
        """The penalty built from the negative weights (None if there are none)."""
        return self._parts.get("repulsive", (None, None))[1]

    def _combine(self, d, method):
        pieces = [
            (index, getattr(f, method)(d[index])) for index, f in self._parts.values()
        ]
        if self._contiguous:
            return tuple(torch.cat(parts) for parts in zip(*(p for _, p in pieces)))
        outputs = (torch.zeros_like(d), torch.zeros_like(d))
        for index, parts in pieces:
            for out, part in zip(outputs, parts):
                out[index] = part
        return outputs

    def value_and_derivative(self, d):
        return self._combine(d, "value_and_derivative")

    def subset(self, index):
        raise TypeError("PushAndPull cannot be restricted to a subset of edges.")

    def _sliceable(self):
        return all(isinstance(index, slice) for index, _ in self._parts.values())

    def _slice(self, start, stop):
        clone = copy.copy(self)
        clone.weights = self.weights[start:stop]
        clone._parts = {}
        for kind, (index, function) in self._parts.items():
            lo, hi = max(index.start, start), min(index.stop, stop)
            if lo < hi:
                clone._parts[kind] = (
                    slice(lo - start, hi - start),
                    function._slice(lo - index.start, hi - index.start),
                )
        covered = sum(_length(index) for index, _ in clone._parts.values())
        clone._contiguous = covered == stop - start
        return clone

    def _value_and_ratio(self, d, out=None):
        value, ratio = self._combine(d, "_value_and_ratio")
        return value, (ratio if out is None else out.copy_(ratio))

    def _kernel_parts(self):
        if not self._contiguous:
            return None
        parts = []
        for index, function in self._parts.values():
            inner = function._kernel_parts()
            if inner is None:
                return None
            parts += [(index.start + a, index.start + b, *f) for a, b, *f in inner]
        return parts

    def _sum_and_ratio(self, d):
        if not self._contiguous:
            return super()._sum_and_ratio(d)
        total, ratio = 0.0, torch.empty_like(d)
        for index, function in self._parts.values():
            value, _ = function._value_and_ratio(d[index], out=ratio[index])
            total = total + fixed_order_sum(value)
        return total, ratio

    def to(self, device=None, dtype=None):
        weights = self.weights.to(device=device, dtype=dtype)
        parts = {
            kind: (
                index.to(device) if isinstance(index, torch.Tensor) else index,
                function.to(device=device, dtype=dtype),
            )
            for kind, (index, function) in self._parts.items()
        }
        unchanged = weights is self.weights and all(
            parts[k][0] is self._parts[k][0] and parts[k][1] is self._parts[k][1]
            for k in parts
        )
        if unchanged:
            return self
        clone = copy.copy(self)
        clone.weights, clone._parts = weights, parts
        return clone

    def __repr__(self):
        parts = "".join(f", {kind}={f!r}" for kind, (_, f) in self._parts.items())
        return f"PushAndPull(n_edges={self.n_edges}{parts})"


def _length(index):
    return index.stop - index.start if isinstance(index, slice) else index.numel()
