"""Shared plumbing: input conversion, devices, dtypes, generators and ``align``.

This module is part of the math core: it imports only numpy and torch.
"""

import contextlib
import numbers
import os
import warnings

import numpy as np
import torch

__all__ = ["align"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


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


def check_int(value, name, *, min_value=None):
    """Return ``value`` as an int, raising TypeError/ValueError naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}; got {value}.")
    return value


def check_float(value, name, *, low=None, high=None, low_open=False):
    """Return ``value`` as a finite float within bounds, else raise naming ``name``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}.")
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be {bound}; got {value}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value}.")
    return value


def _to_tensor(value, name):
    """Convert arrays, tensors and (nested) lists to a tensor without copying."""
    if isinstance(value, torch.Tensor):
        return value
    if hasattr(value, "toarray") or hasattr(value, "tocsr"):
        raise TypeError(f"{name} must be dense; got a sparse {type(value).__name__}.")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be array-like; got {type(value).__name__}."
        ) from exc
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"{name} must be numeric; got an array of dtype {array.dtype}.")
    # (np.ascontiguousarray would turn a scalar into a 1-D array)
    tensor = torch.from_numpy(
        array.copy() if array.ndim == 0 else np.ascontiguousarray(array)
    )
    if tensor.dtype == torch.float16 or (
        tensor.dtype == torch.float64 and not isinstance(value, np.ndarray)
    ):
        # like torch.tensor: Python floats become torch's default dtype
        tensor = tensor.to(torch.get_default_dtype())
    return tensor


def as_float_tensor(value, name, *, ndim=None, dtype=None, device=None):
    """Convert ``value`` to a floating tensor, checking dimensionality and finiteness.

    Integer input becomes ``dtype`` (default: torch's default dtype); floating input
    keeps its dtype unless ``dtype`` is given. NaN and inf raise ValueError.
    """
    tensor = _to_tensor(value, name)
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must be real-valued; got dtype {tensor.dtype}.")
    if dtype is None and tensor.dtype not in _FLOAT_DTYPES:
        dtype = torch.get_default_dtype()
    if dtype is None and tensor.dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32
    tensor = tensor.to(device=device, dtype=dtype)
    if ndim is not None and tensor.dim() != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array; got shape {tuple(tensor.shape)}."
        )
    if not bool(torch.isfinite(tensor).all()):
        bad = "NaN" if bool(torch.isnan(tensor).any()) else "inf"
        raise ValueError(f"{name} must be finite; it contains {bad}.")
    return tensor


def as_index_tensor(value, name, *, device=None):
    """Convert ``value`` to an int64 tensor; integral floats are accepted."""
    tensor = _to_tensor(value, name)
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must hold integers; got dtype {tensor.dtype}.")
    if tensor.is_floating_point() and not bool((tensor == tensor.round()).all()):
        raise TypeError(
            f"{name} must hold integers; got non-integral values of dtype "
            f"{tensor.dtype}."
        )
    return tensor.to(device=device, dtype=torch.int64)


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


def numpy_generator(random_state):
    """A numpy Generator from None, an int, a RandomState or a Generator."""
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


def physical_memory():
    """The machine's physical memory in bytes, or None where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def sparse_csr(crow_indices, col_indices, values, size):
    """A torch CSR tensor, without torch's "beta"/"invariant checks" warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow_indices, col_indices, values, size)


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
