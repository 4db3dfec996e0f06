"""Shared plumbing: devices, generators, thread counts, sparse helpers and
``align``.

This module is part of the math core: it imports only numpy and torch.
"""

import contextlib
import logging
import os
import sys
import warnings

import numpy as np
import torch

from ._inputs import as_float_tensor, check_int

__all__ = ["align"]

#: skmde reports its stages here (INFO); ``verbose`` shows them on stderr
logger = logging.getLogger("skmde")


@contextlib.contextmanager
def reporting(verbose):
    """Show skmde's INFO messages on stderr while the block runs, if ``verbose``.

    Where the application configured the "skmde" logger (gave it a handler),
    it is left alone: its records go where the application sends them.
    Otherwise a stderr handler is attached for the duration, and the records
    do not propagate further (no duplicates through a root handler).
    """
    if not verbose or logger.handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("skmde: %(message)s"))
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def resolve_device(device, name="device"):
    """Return the :class:`torch.device` that ``device`` names.

    Accepts None (the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"``
    (CUDA when available, else the CPU) or a :class:`torch.device`.
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            resolved = torch.device(device)
        except RuntimeError:
            raise ValueError(
                f"{name} must be 'cpu', 'cuda', 'cuda:N', 'auto' or a torch.device; "
                f"got {device!r}."
            ) from None
    else:
        raise TypeError(
            f"{name} must be None, a string or a torch.device; "
            f"got {type(device).__name__}."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{name}={device!r} asks for CUDA, but torch reports no CUDA device; "
            "use device='cpu' or 'auto'."
        )
    return resolved


def make_generator(random_state, device=None):
    """Return a seeded local :class:`torch.Generator`, or None for global RNG.

    ``random_state`` may be None, an int, a numpy Generator/RandomState (a seed is
    drawn from it) or a torch.Generator (returned as is).
    """
    if random_state is None:
        return None
    if isinstance(random_state, torch.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState | np.random.Generator):
        seed = int(
            random_state.integers(0, 2**63 - 1)
            if isinstance(random_state, np.random.Generator)
            else random_state.randint(0, 2**31 - 1)
        )
    else:
        seed = check_int(random_state, "random_state", min_value=0)
    generator = torch.Generator(device=resolve_device(device))
    generator.manual_seed(seed)
    return generator


#: the generator :func:`seed` set, from which ``random_state=None`` draws
_SEEDED = {"numpy": None}


def seed(value):
    """Seed what ``random_state=None`` draws from, as ``pymde.seed`` does.

    After ``skmde.seed(0)``, the recipes, ``MDE.embed`` and the estimators
    called without a ``random_state`` give the same results in every run of a
    notebook or script: skmde's own generator, NumPy's and torch's global
    generators are seeded. Passing ``random_state=`` explicitly stays the
    recommended way: it does not depend on what else drew random numbers.

    Parameters
    ----------
    value : int >= 0

    Examples
    --------
    >>> import numpy as np
    >>> import skmde
    >>> X = np.random.default_rng(1).normal(size=(60, 4))
    >>> skmde.seed(0)
    >>> a = skmde.preserve_neighbors(X).embed()
    >>> skmde.seed(0)
    >>> bool((skmde.preserve_neighbors(X).embed() == a).all())
    True
    """
    value = check_int(value, "seed", min_value=0)
    if value >= 2**32:
        raise ValueError(f"seed must be < 2**32 (NumPy's limit); got {value}.")
    _SEEDED["numpy"] = np.random.default_rng(value)
    np.random.seed(value)  # noqa: NPY002 (scikit-learn draws random_state=None from it)
    torch.manual_seed(value)


def numpy_generator(random_state):
    """A numpy Generator from None, an int, a RandomState or a Generator
    (None: a fresh one, drawn from the generator :func:`seed` set if any)."""
    if random_state is None and _SEEDED["numpy"] is not None:
        return np.random.default_rng(int(_SEEDED["numpy"].integers(2**63 - 1)))
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(check_int(random_state, "random_state", min_value=0))


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Run the block with torch using ``n_jobs`` threads, then restore.

    None leaves the setting alone; -1 means all cores; other negative values
    count back from all cores, as in joblib (-2: all but one).
    """
    if n_jobs is None:
        yield
        return
    before = torch.get_num_threads()
    cores = os.cpu_count() or 1
    threads = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sparse_csr(crow_indices, col_indices, values, size):
    """A torch CSR tensor, without torch's "beta"/"invariant checks" warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow_indices, col_indices, values, size)


def sampled_dots(pattern, A, B):
    """``(A @ B.T)`` at the stored positions of the sparse CSR ``pattern``, as
    a 1-D tensor of values (torch's sampled dense-dense product, without its
    "beta" warning): the dot products of chosen pairs of rows, without
    gathering the rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse.sampled_addmm(pattern, A, B.T).values()


def randn(shape, *, generator=None, device=None, dtype=None):
    """Standard normal samples drawn on the CPU (reproducible across devices)."""
    if generator is not None and generator.device.type != "cpu":
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)
    sample = torch.randn(shape, generator=generator, dtype=dtype)
    return sample.to(device) if device is not None else sample


def align(source, target):
    """Rotate and reflect ``source`` to best match ``target``.

    Both embeddings are centered, the orthogonal matrix ``Q`` minimizing
    ``||(source - mean(source)) Q - (target - mean(target))||_F`` is found by
    orthogonal Procrustes, and the rotated ``source`` is translated to the mean of
    ``target``. The result is an isometry of ``source``: all its pairwise
    distances are unchanged.

    Parameters
    ----------
    source : array-like or torch.Tensor of shape (n_items, embedding_dim)
        The embedding to move.
    target : array-like or torch.Tensor of shape (n_items, embedding_dim)
        The embedding to match.

    Returns
    -------
    aligned : same type as ``source``, shape (n_items, embedding_dim)
        ``source`` rotated/reflected onto ``target``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmde import align
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> flipped = X * [-1.0, 1.0]
    >>> np.allclose(align(flipped, X), X)
    True
    """
    is_tensor = isinstance(source, torch.Tensor)
    src = as_float_tensor(source, "source", ndim=2)
    tgt = as_float_tensor(target, "target", ndim=2, device=src.device)
    if src.shape != tgt.shape:
        raise ValueError(
            f"source and target must have the same shape; got {tuple(src.shape)} "
            f"and {tuple(tgt.shape)}."
        )
    src64, tgt64 = src.to(torch.float64), tgt.to(torch.float64)
    src_c = src64 - src64.mean(dim=0)
    tgt_mean = tgt64.mean(dim=0)
    u, _, vh = torch.linalg.svd(src_c.T @ (tgt64 - tgt_mean))
    aligned = src_c @ (u @ vh) + tgt_mean
    aligned = aligned.to(src.dtype)
    return aligned if is_tensor else aligned.numpy()
