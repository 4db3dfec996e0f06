"""Input checks shared by the estimators, the recipes and the core, with one
wording per mistake, and the conversion of user data (arrays, frames, sparse
matrices, tensors) to what the layers below expect.

Imports only numpy, scipy and torch.
"""

import numbers
import os
import warnings

import numpy as np
import scipy.sparse
import torch

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_int(value, name, *, min_value=None):
    """Return ``value`` as an int, raising TypeError/ValueError naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}; got {value}.")
    return value


def check_n_jobs(n_jobs):
    """Return ``n_jobs`` (None or a nonzero integer, joblib's convention: -1
    all cores, -2 all but one), else raise naming it."""
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise ValueError(
            "n_jobs must be None, a positive number of threads, or negative "
            "(-1: all cores, -2: all but one); got 0."
        )
    return n_jobs


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


def check_edges(edges, n_items, device=None):
    """``edges`` as a contiguous (p, 2) int64 tensor of distinct items in
    ``[0, n_items)``, on ``device``; at least one edge."""
    edges = as_index_tensor(edges, "edges", device=device)
    if edges.dim() != 2 or edges.shape[1] != 2:
        raise ValueError(
            f"edges must have shape (n_edges, 2); got {tuple(edges.shape)}."
        )
    if edges.shape[0] == 0:
        raise ValueError("edges must not be empty: an MDE problem needs >= 1 edge.")
    low, high = int(edges.min()), int(edges.max())
    if low < 0 or high >= n_items:
        raise ValueError(
            f"edges must index items in [0, {n_items - 1}]; got values from {low} "
            f"to {high}."
        )
    loops = edges[:, 0] == edges[:, 1]
    if bool(loops.any()):
        k = int(loops.nonzero()[0])
        raise ValueError(
            f"edges must pair distinct items; edge {k} is the self-loop "
            f"({int(edges[k, 0])}, {int(edges[k, 0])})."
        )
    return edges.contiguous()


def check_dimension(embedding_dim, n_items, name="embedding_dim", noun="items"):
    """Refuse an embedding dimension of at least the number of items: ``n``
    points span at most ``n - 1`` dimensions."""
    if embedding_dim >= n_items:
        raise ValueError(
            f"{name}={embedding_dim} must be less than the number of {noun} "
            f"({n_items}): {n_items} points span at most {n_items - 1} dimensions."
        )


def check_n_neighbors(n_neighbors, n_items):
    """Validate ``n_neighbors`` and clip it to ``n_items - 1`` with a warning."""
    k = check_int(n_neighbors, "n_neighbors", min_value=1)
    if k >= n_items:
        warnings.warn(
            f"n_neighbors={k} >= n_samples={n_items}; using n_neighbors={n_items - 1}.",
            UserWarning,
            stacklevel=3,
        )
        k = n_items - 1
    return k


def check_dtype(dtype, default=torch.float32):
    """The solver dtype: "float32"/"float64" or the torch dtypes; None is
    ``default``."""
    if dtype is None:
        return default
    table = {
        "float32": torch.float32,
        "float64": torch.float64,
        torch.float32: torch.float32,
        torch.float64: torch.float64,
    }
    if dtype not in table:
        raise ValueError(
            "dtype must be 'float32', 'float64', torch.float32 or torch.float64; "
            f"got {dtype!r}."
        )
    return table[dtype]


def check_choice(value, name, options):
    """``value`` if it is one of ``options`` (strings), else ValueError."""
    if not isinstance(value, str) or value not in options:
        expected = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {expected}; got {value!r}.")
    return value


def check_bool(value, name):
    """``value`` as a bool if it is True or False (numpy's too), else TypeError."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def check_init_array(init, n, m):
    try:
        array = np.asarray(
            init.detach().cpu().numpy() if isinstance(init, torch.Tensor) else init,
            dtype=np.float64,
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "init must be a name or a numeric array of shape (n_items, "
            f"embedding_dim); got {type(init).__name__}."
        ) from exc
    if array.shape != (n, m):
        raise ValueError(f"init must have shape ({n}, {m}); got {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError("init must be finite.")
    return array


def as_data(data, metric):
    """Validate a data matrix (or, with ``metric="precomputed"``, a square
    distance matrix); return ``(kind, array)`` with kind one of "dense",
    "sparse" or "precomputed"."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    elif hasattr(data, "to_numpy") and hasattr(data, "dtypes"):  # pandas, polars
        data = frame_to_numpy(data)
    if scipy.sparse.issparse(data):
        data = scipy.sparse.csr_matrix(data)
        if data.dtype.kind not in "biuf":
            raise TypeError(f"data must be numeric; got sparse dtype {data.dtype}.")
        data = data.astype(np.float64 if data.dtype == np.float64 else np.float32)
        values = data.data
    else:
        try:
            data = np.asarray(data)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"data must be array-like: {exc}") from exc
        if data.dtype.kind not in "biuf":
            raise TypeError(
                f"data must be numeric; got an array of dtype {data.dtype}."
            )
        if data.ndim != 2:
            raise ValueError(f"data must be a 2-D array; got shape {data.shape}.")
        data = data.astype(
            np.float64 if data.dtype == np.float64 else np.float32, copy=False
        )
        values = data
    if not scipy.sparse.issparse(data) and not data.flags.writeable:
        # torch cannot wrap a read-only array (it warns at every call): copy
        data = data.copy()
    if data.shape[0] < 2:
        raise ValueError(
            f"data must have at least 2 rows (items); got {data.shape[0]}."
        )
    if data.shape[1] < 1:
        raise ValueError("data must have at least 1 column (feature).")
    if not np.isfinite(values).all():
        raise ValueError("data must not contain NaN or infinity.")
    if metric == "precomputed":
        if data.shape[0] != data.shape[1]:
            raise ValueError(
                "with metric='precomputed', data must be a square (n, n) distance "
                f"matrix; got shape {data.shape}."
            )
        if (values < 0).any():
            raise ValueError("with metric='precomputed', distances must be >= 0.")
        return "precomputed", data
    return ("sparse" if scipy.sparse.issparse(data) else "dense"), data


def non_numeric_columns(frame):
    """Names of the columns of a pandas/polars frame that are not numbers."""
    kinds = ("int", "uint", "float", "bool", "i", "u", "f")
    return [
        str(c)
        for c, t in zip(frame.columns, frame.dtypes)
        if not any(str(t).lower().startswith(p) for p in kinds)
    ]


def frame_to_numpy(frame):
    bad = non_numeric_columns(frame)
    if bad:
        raise TypeError(f"data must be numeric; non-numeric columns: {bad[:5]}.")
    return frame.to_numpy()


#: bytes an edge costs while a problem is built and solved (indices, values,
#: incidence matrix, the recipes' temporaries), as measured by
#: benchmarks/bench_scaling.py
BYTES_PER_EDGE = 88


def check_memory(n_edges, what, parameter):
    """Refuse, before allocating, a problem that cannot fit in memory."""
    total = physical_memory()
    needed = n_edges * BYTES_PER_EDGE
    if total is not None and needed > total:
        raise MemoryError(
            f"{what} would use about {needed / 2**30:.1f} GiB for {n_edges:.3g} "
            f"edges, more than this machine's {total / 2**30:.1f} GiB; lower "
            f"{parameter}."
        )


def physical_memory():
    """The machine's physical memory in bytes, or None where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
