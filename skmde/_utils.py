"""Shared plumbing: devices, generators, thread counts, sparse helpers and
``align``.

This module is part of the math core: it imports only numpy and torch.
"""

import concurrent.futures
import contextlib
import functools
import logging
import os
import statistics
import sys
import threading
import time
import warnings

import numpy as np
import torch

from ._inputs import as_float_tensor, check_int, check_n_jobs

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


#: ``fixed``: an explicit n_jobs is in force; ``governed``: a loop is being
#: timed; ``scope``: a fit with n_jobs=None is running, and ``choice`` is the
#: thread count its last governed loop chose (None before the first)
_THREADS = {"fixed": 0, "governed": False, "scope": False, "choice": None, "full": 1}


def thread_count(n_jobs):
    """The threads a fixed ``n_jobs`` asks for: itself when positive; -1 all
    cores, other negative values counting back from all cores, as in joblib
    (-2: all but one). 0 and non-integers raise, naming ``n_jobs``."""
    n_jobs = check_n_jobs(n_jobs)
    cores = os.cpu_count() or 1
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Run the block with torch using ``n_jobs`` threads, then restore.

    -1 means all cores; other negative values count back from all cores, as
    in joblib (-2: all but one). None opens an adaptive scope instead: the
    :class:`ThreadGovernor` loops inside choose the count (one thread on a
    busy machine), the choice carries over to the rest of the block, and
    torch's setting is restored at its end.
    """
    if n_jobs is None:
        if (
            _THREADS["scope"]
            or threading.current_thread() is not threading.main_thread()
        ):
            yield
            return
        before = torch.get_num_threads()
        _THREADS.update(scope=True, choice=None, full=before)
        try:
            yield
        finally:
            _THREADS.update(scope=False, choice=None)
            torch.set_num_threads(before)
        return
    before = torch.get_num_threads()
    torch.set_num_threads(thread_count(n_jobs))
    _THREADS["fixed"] += 1
    try:
        yield
    finally:
        _THREADS["fixed"] -= 1
        torch.set_num_threads(before)


#: data smaller than this (rows x features) is fitted on one thread by default
ONE_THREAD_DATA = 1_000_000


def prefer_one_thread(n_rows, n_features):
    """Inside an adaptive scope, run the rest of a fit of small data on one
    thread: its operations are too short for a second thread to pay off,
    and beside a busy process each one waits for it."""
    if (
        _THREADS["scope"]
        and not _THREADS["fixed"]
        and threading.current_thread() is threading.main_thread()
        and n_rows * max(n_features, 1) < ONE_THREAD_DATA
    ):
        _THREADS["choice"] = 1
        torch.set_num_threads(1)


@functools.cache
def load_kernels():
    """The module of compiled loops (:mod:`skmde._kernels`), or None where
    numba cannot be imported (imported on first use: numba takes a few tenths
    of a second to load)."""
    try:
        from . import _kernels
    except ImportError:
        return None
    return _kernels


def parallel_blocks(function, n, block, torch_inside=False, blas_inside=False):
    """Call ``function(start, stop)`` on blocks of ``block`` indices covering
    ``range(n)`` (rows or columns of an array), on torch's current number of
    threads, each thread taking the next block when done with its last (a
    thread slowed by a busy core takes fewer; see :func:`run_lanes`).

    For numpy work (numpy releases the GIL in its loops) or compiled loops
    whose blocks are independent: each block computes what a serial loop
    would, so the results do not depend on the thread count. With
    ``torch_inside`` the blocks run torch operations too: torch then runs
    them on one thread each (set from the main thread, restored after; from
    any other thread the blocks run one after another), so that torch's idle
    threads, which spin for a while after each operation, do not take the
    cores from the blocks. With ``blas_inside`` the blocks call NumPy's BLAS,
    which then runs on one thread too (from the main thread), whether or not
    the blocks run in parallel.
    """
    bounds = [(start, min(n, start + block)) for start in range(0, n, block)]
    workers = min(torch.get_num_threads(), len(bounds))
    main = threading.current_thread() is threading.main_thread()
    if torch_inside and not main:
        workers = 1
    with one_blas_thread() if blas_inside else contextlib.nullcontext():
        before = torch.get_num_threads()
        if torch_inside and workers > 1:
            torch.set_num_threads(1)
        try:
            run_lanes(lambda i: function(*bounds[i]), len(bounds), workers)
        finally:
            torch.set_num_threads(before)


_LANE_THREADS = "skmde-lane"


@functools.cache
def _lane_pool():
    """The threads that run lanes beside the calling thread (see
    :func:`run_lanes`), started once."""
    return concurrent.futures.ThreadPoolExecutor(
        max(1, (os.cpu_count() or 1) - 1), thread_name_prefix=_LANE_THREADS
    )


def run_lanes(function, n, threads):
    """Call ``function(lane)`` for ``lane`` in ``range(n)`` on up to
    ``threads`` threads: the calling thread and the threads of a pool kept
    between calls (no pool to start per call), each taking the next lane
    when done with its last, so that a thread slowed by a busy core takes
    fewer. For numpy work or compiled loops that release the GIL, lanes
    that write to memory of their own: the results do not depend on the
    thread count. A lane's error is raised once the other threads are done.
    From a thread of the pool itself the lanes run one after another (its
    helpers could wait in the queue behind the very thread waiting for them)."""
    threads = min(threads, n)
    if threads <= 1 or threading.current_thread().name.startswith(_LANE_THREADS):
        for lane in range(n):
            function(lane)
        return
    todo = iter(range(n))  # shared: each next() hands out one lane

    def work():
        for lane in todo:
            function(lane)

    helpers = [_lane_pool().submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        for helper in helpers:
            helper.result()


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread():
    """A context in which NumPy's BLAS runs on one thread: set from the main
    thread only, as torch's count (the setting is process-wide; from another
    thread, nothing changes). threadpoolctl comes with scikit-learn."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")


def sorted_distinct(values, in_place=False):
    """The sorted distinct values of a 1-D integer array: numpy's sort and a
    mask. On integers numpy 2.4's plain ``np.unique`` (no ``return_*``) is 20
    to 80 times slower (0.91 s against 0.04 s for 2 million keys here), and
    ``torch.unique`` about 4 times. ``in_place`` sorts ``values`` itself
    instead of a copy."""
    if in_place:
        values.sort()
    else:
        values = np.sort(values)
    if len(values) < 2:
        return values
    return values[np.concatenate([[True], values[1:] != values[:-1]])]


def tensor_on(array, device=None):
    """A numpy ``array`` as a tensor on ``device`` (None: the CPU, sharing the
    array's memory where it is contiguous)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor if device is None else tensor.to(device)


def on_accelerator(device):
    """Whether ``device`` (None, a string or a torch.device) is not the CPU."""
    return device is not None and torch.device(device).type != "cpu"


class ThreadGovernor:
    """Chooses torch's thread count for a loop of similar steps by timing them.

    torch's threads wait for each other at the end of every operation; when
    another process keeps a core busy, a descheduled thread stalls its
    partners, and many short operations (a solver's iterations) run several
    times slower with two threads than with one. The governor times the
    steps of a loop per unit of ``work``: after a warm-up step it runs
    ``probe`` steps with the full thread count and ``probe`` with one, keeps
    the faster, and probes again every ``every`` steps or when two steps in
    a row take three times the chosen rate. Inside an adaptive scope
    (:func:`torch_threads` with None) a later loop starts from the count an
    earlier one chose, and the count stays chosen after the loop. It is
    inactive when ``n_jobs`` fixed the count, outside the main thread
    (torch's setting is process-wide), inside another governed loop, with
    one thread, or given ``prefer``, a count known to suit the loop (used
    unless ``n_jobs`` fixed another).

    Use it as a context manager and call :meth:`start` and :meth:`step`
    around each step, or run each step in :meth:`timed`. With ``between``
    (a thread count), the code between steps runs with that many threads:
    the solver keeps its bookkeeping on one thread, so that its results do
    not depend on the count its objective ran with (the objective's are
    the same for any count).
    """

    def __init__(self, probe=2, every=50, between=None, prefer=None):
        scope = _THREADS["scope"]
        self.full = _THREADS["full"] if scope else torch.get_num_threads()
        # torch's setting is process-wide: only the main thread changes it
        self.manage = threading.current_thread() is threading.main_thread()
        free = self.manage and not _THREADS["fixed"] and not _THREADS["governed"]
        self.active = free and self.full > 1 and prefer is None
        self.between = between if self.manage else None
        self.probe, self.every = probe, every
        self._interval = every  # doubles while probes confirm the choice
        inherited = _THREADS["choice"] if scope else None
        self.threads = inherited or torch.get_num_threads()
        if free and prefer is not None:  # a count known to suit the loop
            self.threads = prefer
        self._plan = []  # thread counts of the coming probe steps
        self._rates = {self.full: [], 1: []}
        self._rate = None  # the chosen count's rate (seconds per unit of work)
        self._since = 0  # steps since the last choice
        self._slow = 0  # consecutive slow steps
        self._warm = False  # past the warm-up step
        self._inherited = inherited is not None
        self._start = None

    def __enter__(self):
        # the counts are only touched when governing, or to run the code
        # between steps on ``between`` threads
        self._touch = self.active or self.between is not None
        if self._touch:
            self._outside = torch.get_num_threads()
            torch.set_num_threads(self.between or self.threads)
        if self.active:
            _THREADS["governed"] = True
        return self

    def __exit__(self, *exc):
        if self.active:
            _THREADS["governed"] = False
        if self.active and _THREADS["scope"]:
            _THREADS["choice"] = self.threads  # carried over; the scope restores
            torch.set_num_threads(self.threads)
        elif self._touch:
            torch.set_num_threads(self._outside)

    @contextlib.contextmanager
    def timed(self, work=1.0):
        """Run one step (the block) with the governed thread count."""
        if self.between is not None:
            torch.set_num_threads(self.threads)
        self.start()
        try:
            yield
        finally:
            self.step(work=work)
            if self.between is not None:
                torch.set_num_threads(self.between)

    def _set(self, threads):
        if threads != self.threads:
            if self.between is None:
                torch.set_num_threads(threads)
            self.threads = threads

    def _start_probe(self):
        self._before_probe = self.threads
        self._rates = {self.full: [], 1: []}
        self._plan = [self.full] * self.probe + [1] * self.probe
        self._set(self._plan[0])

    def start(self):
        """Mark the start of a step."""
        self._start = time.perf_counter()

    def step(self, seconds=None, work=1.0):
        """Record a step that took ``seconds`` (default: since :meth:`start`)
        for ``work`` units of work; may change the thread count."""
        if not self.active:
            return
        if seconds is None:
            seconds = time.perf_counter() - self._start
        rate = seconds / max(work, 1e-12)
        if not self._warm:  # the first step pays one-time costs
            self._warm = True
            if not self._inherited:
                self._start_probe()
            return
        if self._plan:
            self._rates[self._plan.pop(0)].append(rate)
            if self._plan:
                self._set(self._plan[0])
                return
            full, one = (statistics.median(self._rates[t]) for t in (self.full, 1))
            chosen = self.full if full <= one else 1
            same = chosen == self._before_probe
            self._interval = (
                min(16 * self.every, 2 * self._interval) if same else self.every
            )
            self._set(chosen)
            self._rate, self._since, self._slow = min(full, one), 0, 0
            if _THREADS["scope"]:
                _THREADS["choice"] = self.threads
            return
        if self._rate is None:  # an inherited choice: this step sets the pace
            self._rate = rate
        self._since += 1
        self._slow = self._slow + 1 if rate > 3.0 * self._rate else 0
        if self._since >= self._interval or self._slow >= 2:
            if self._slow >= 2:
                self._interval = self.every
            self._start_probe()


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
