"""The base class shared by penalties and losses.

A distortion function maps the ``(p,)`` tensor of embedding distances of the
``p`` edges to their ``(p,)`` distortions. Built-in functions also know their
derivative, which the solver uses to assemble the gradient analytically; any
other callable is differentiated by autograd on the ``(p,)`` distances only.
"""

import copy
import difflib
import inspect
import warnings

import numpy as np
import torch

from ._inputs import as_float_tensor


def fixed_order_sum(values):
    """``values.sum()``, rounded the same whatever torch's thread count.

    torch splits a long CPU reduction among its threads, and the split
    changes the rounding of the result; the solver's line search compares
    such sums, so a different thread count would lead to another iterate.
    On the CPU the sum is NumPy's (pairwise, one thread).
    """
    if values.device.type != "cpu" or values.requires_grad:
        return values.sum()
    array = values.detach().numpy()
    return torch.from_numpy(np.asarray(array.sum(dtype=array.dtype)))


def safe_ratio(numerator, distances):
    """``numerator / distances``, set to 0 where a distance is 0.

    The gradient of an edge is ``f'(d)/d * (x_i - x_j)``; at ``d = 0`` the
    difference vanishes, so any finite ratio gives the right (zero) contribution.
    """
    return torch.where(distances > 0, numerator / distances, 0.0)


#: the protocol's names before 0.2, kept working for one release
_RENAMED = {
    "_value_and_derivative": "value_and_derivative",
    "_second_derivative": "second_derivative",
    "_derivatives": "derivatives",
    "_subset": "subset",
}


class DistortionFunction:
    """Base class of the vectorized distortion functions.

    A subclass stores one parameter per edge (``weights`` for penalties,
    ``deviations`` for losses). Instances are callables: ``f(distances)``
    returns the distortions.

    The protocol a subclass implements:

    - ``value_and_derivative(d)`` (required): ``(f(d), f'(d))`` elementwise,
      for the ``(n_edges,)`` tensor of distances ``d``;
    - ``second_derivative(d)`` (optional): ``f''(d)``, used by ``transform``'s
      Newton steps (autograd differentiates ``f'`` otherwise);
    - ``derivatives(d)`` (optional): the three at once, to share work;
    - ``subset(index)`` (inherited): a copy restricted to some edges; override
      it when the function holds per-edge tensors under other names.

    Subclasses written for skmde 0.1, with the private names
    ``_value_and_derivative``, ``_second_derivative``, ``_derivatives`` and
    ``_subset``, keep working in this release, with a DeprecationWarning.

    Parameters
    ----------
    values : array-like or torch.Tensor of shape (n_edges,)
        The per-edge parameter (weights or deviations).
    """

    #: name of the per-edge parameter ("weights" or "deviations")
    _values_name = "values"
    #: names of the scalar hyperparameters, shown by ``repr``
    _hyperparameters = ()

    def __init__(self, values):
        values = as_float_tensor(values, self._values_name, ndim=1)
        if values.numel() == 0:
            raise ValueError(f"{self._values_name} must not be empty.")
        self._check_values(values)
        setattr(self, self._values_name, values)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for old, new in _RENAMED.items():
            if old in vars(cls) and new not in vars(cls):
                warnings.warn(
                    f"{cls.__name__}.{old} is the protocol's name before skmde "
                    f"0.2; name it {new} (the old name stops working in 0.3).",
                    DeprecationWarning,
                    stacklevel=2,
                )
                setattr(cls, new, vars(cls)[old])

    def _check_values(self, values):
        """Validate the per-edge parameter; subclasses add their requirements."""

    # -- the interface a subclass implements ---------------------------------
    def value_and_derivative(self, distances):
        """Return ``(f(d), f'(d))`` elementwise."""
        raise NotImplementedError

    def second_derivative(self, distances):
        """Return ``f''(d)`` elementwise, or None when a subclass does not
        know it (callers then differentiate ``f'`` by autograd)."""
        return None

    def derivatives(self, distances):
        """Return ``(f(d), f'(d), f''(d))`` elementwise, or None when
        ``f''`` is not known. Subclasses override it to share the work of
        the three."""
        g2 = self.second_derivative(distances)
        if g2 is None:
            return None
        return (*self.value_and_derivative(distances), g2)

    def _value_and_ratio(self, distances, out=None):
        """Return ``(f(d), f'(d) / d)``, the ratio set to 0 where ``d == 0``.

        With ``out``, the ratio is written there (and returned).
        """
        value, derivative = self.value_and_derivative(distances)
        ratio = safe_ratio(derivative, distances)
        return value, (ratio if out is None else out.copy_(ratio))

    def subset(self, index):
        """A copy restricted to the edges ``index`` (an index tensor or a
        slice): every per-edge tensor attribute is indexed, without
        validation."""
        clone = copy.copy(self)
        n = self.n_edges
        for name, value in vars(self).items():
            if (
                isinstance(value, torch.Tensor)
                and value.dim() >= 1
                and value.shape[0] == n
            ):
                setattr(clone, name, value[index])
        return clone

    def _sliceable(self):
        """Whether :meth:`_slice` can restrict this function to a range of edges."""
        return True

    def _slice(self, start, stop):
        """A view restricted to the edges ``start:stop`` (no copy; internal)."""
        return self.subset(slice(start, stop))

    def _kernel_parts(self):
        """``[(start, stop, name, weights, exponent)]``: the ranges of edges
        that a compiled loop of :mod:`skmde._kernels` evaluates (the penalty
        ``name`` with those weights and exponent), covering all edges; None
        where torch evaluates the function."""
        return None

    def _sum_and_ratio(self, distances):
        """``(sum_k f(d_k), f'(d)/d)``: what the objective needs."""
        value, ratio = self._value_and_ratio(distances)
        return fixed_order_sum(value), ratio

    # -- public API ----------------------------------------------------------
    @property
    def _values(self):
        return getattr(self, self._values_name)

    @property
    def n_edges(self):
        """The number of edges (length of the per-edge parameter)."""
        return self._values.shape[0]

    def __len__(self):
        return self.n_edges

    @property
    def device(self):
        """The device of the per-edge parameter."""
        return self._values.device

    @property
    def dtype(self):
        """The floating dtype of the per-edge parameter."""
        return self._values.dtype

    def _check_distances(self, distances):
        if not isinstance(distances, torch.Tensor):
            distances = torch.as_tensor(distances, dtype=self.dtype)
        if distances.shape != (self.n_edges,):
            raise ValueError(
                f"distances must have shape ({self.n_edges},), one per edge; got "
                f"{tuple(distances.shape)}."
            )
        return distances

    def __call__(self, distances):
        """Distortions of the edges at the given embedding distances."""
        return self.value_and_derivative(self._check_distances(distances))[0]

    def derivative(self, distances):
        """The elementwise derivative ``f'(d)`` at the given distances."""
        return self.value_and_derivative(self._check_distances(distances))[1]

    def to(self, device=None, dtype=None):
        """Return a copy whose tensors live on ``device`` with dtype ``dtype``.

        Integer tensors keep their dtype. Returns ``self`` when nothing moves.
        """
        clone = copy.copy(self)
        changed = False
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                float_dtype = dtype if value.is_floating_point() else None
                moved = value.to(device=device, dtype=float_dtype)
            elif isinstance(value, DistortionFunction):
                moved = value.to(device=device, dtype=dtype)
            else:
                continue
            if moved is not value:
                setattr(clone, name, moved)
                changed = True
        return clone if changed else self

    def __repr__(self):
        params = [f"n_edges={self.n_edges}"]
        params += [f"{name}={getattr(self, name)!r}" for name in self._hyperparameters]
        return f"{type(self).__name__}({', '.join(params)})"


def resolve_function(spec, registry, kind):
    """Return a factory ``values -> DistortionFunction`` for ``spec``.

    ``spec`` is a lowercase name from ``registry`` (``"log1p"``), a subclass of
    :class:`DistortionFunction`, or any callable that builds one from the
    per-edge values (e.g. ``functools.partial(Log1p, exponent=2)``).
    """
    if isinstance(spec, str):
        key = spec.lower()
        if key not in registry:
            close = difflib.get_close_matches(key, registry, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown {kind} {spec!r}; expected one of {sorted(registry)}.{hint}"
            )
        cls = registry[key]
        needed = [
            p.name
            for p in list(inspect.signature(cls).parameters.values())[1:]
            if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        if needed:
            module = cls.__module__.replace("._", ".")
            raise ValueError(
                f"{kind}={spec!r} needs {', '.join(needed)}, which a name cannot "
                f"give: pass functools.partial({module}.{cls.__name__}, "
                f"{needed[0]}=...)."
            )
        return cls
    if isinstance(spec, DistortionFunction):
        raise TypeError(
            f"{kind} must be a class, a name or a factory taking the per-edge "
            f"values; got an instance {spec!r} that already holds its values."
        )
    if callable(spec):
        return spec
    raise TypeError(f"{kind} must be a name, a class or a callable; got {spec!r}.")


def build_function(factory, values, kind):
    """Call ``factory(values)`` and check that it made a distortion function."""
    function = factory(values)
    if not callable(function):
        raise TypeError(f"{kind} factory returned {function!r}, which is not callable.")
    return function
