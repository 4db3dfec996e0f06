"""The MDE problem: items, edges, a distortion function and a constraint."""

import math
import time

import numpy as np
import torch

from . import _compiled, constraints
from ._diagnostics import Diagnostics
from ._distortion import DistortionFunction, safe_ratio
from ._inputs import (
    as_float_tensor,
    check_dtype,
    check_edges,
    check_float,
    check_int,
)
from ._lbfgs import LBFGS
from ._utils import (
    ThreadGovernor,
    load_kernels,
    logger,
    make_generator,
    reporting,
    resolve_device,
    sparse_csr,
)
from .constraints import Centered
from .optim import SolveStats

__all__ = ["MDE", "SolveStats"]

#: edges evaluated together by the objective (see MDE._chunks); the torch
#: path's chunks hold at least n_items, since every chunk's sparse product
#: visits all the rows (the compiled loops' need no such floor)
CHUNK_EDGES = 1 << 18
#: CPU solves of at least this many edge evaluations (edges times the
#: solve's ``max_iter``) gather and scatter with the compiled loops of
#: ``_kernels`` (numba): they save about 7 ns per edge and evaluation (0.3 s
#: of a 200-iteration solve of 200,000 edges on one machine; on another, an
#: evaluation of MNIST-10k's 358,180 edges took 7.4 ms against torch's
#: 11.6 ms). Loading numba costs a process 0.7 s once: the break-even of a
#: single fit in a fresh process is near 100 million, and every later fit
#: in the process gains. MDENeighbors' phases of 100 iterations use them
#: from 200,000 edges
KERNEL_MIN_WORK = 20_000_000


class MDE(Diagnostics):
    """A Minimum-Distortion Embedding problem.

    Embeds ``n_items`` items in ``embedding_dim`` dimensions by minimizing the
    average distortion ``(1/p) sum_k f_k(||x_i - x_j||)`` over the ``p`` edges
    ``(i, j)``, subject to a constraint.

    Parameters
    ----------
    n_items : int >= 2
        Number of items; item ``i`` is row ``i`` of the embedding.
    embedding_dim : int >= 1
        Embedding dimension ``m``.
    edges : array-like or torch.Tensor of shape (n_edges, 2)
        Pairs of distinct item indices. Order and duplicates are kept.
    distortion_function : callable
        Maps the ``(n_edges,)`` tensor of embedding distances to the
        ``(n_edges,)`` tensor of distortions: a penalty from
        :mod:`skmde.penalties`, a loss from :mod:`skmde.losses`, or any function
        written with differentiable torch operations.
    constraint : Constraint, default=Centered()
        :class:`~skmde.Centered`, :class:`~skmde.Standardized`,
        :class:`~skmde.Anchored` or a user subclass of :class:`~skmde.Constraint`.
    device : str or torch.device, optional
        Where to compute: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        Defaults to the device of ``edges`` when it is a tensor, else the CPU.
    dtype : torch.dtype, optional
        Floating dtype of the embedding. Defaults to the dtype of the built-in
        distortion function's weights or deviations, else torch's default
        (float32).

    Attributes
    ----------
    X : torch.Tensor of shape (n_items, embedding_dim) or None
        The embedding computed by the last call to :meth:`embed`.
    X_init : torch.Tensor of shape (n_items, embedding_dim) or None
        The initial embedding :meth:`embed` starts from when called without
        ``X`` (the recipes set it); None means a random feasible start.
    solve_stats : SolveStats or None
        Statistics of the last call to :meth:`embed`.

    Examples
    --------
    >>> import torch
    >>> import skmde
    >>> edges = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3]])
    >>> f = skmde.penalties.Quadratic(torch.tensor([1.0, 2.0, 5.0, 6.0]))
    >>> mde = skmde.MDE(5, 2, edges, f, skmde.Standardized())
    >>> X = mde.embed(random_state=0)
    >>> X.shape
    torch.Size([5, 2])
    >>> torch.allclose(X.T @ X / 5, torch.eye(2), atol=1e-4)
    True
    """

    def __init__(
        self,
        n_items,
        embedding_dim,
        edges,
        distortion_function,
        constraint=None,
        device=None,
        dtype=None,
    ):
        self.n_items = check_int(n_items, "n_items", min_value=2)
        self.embedding_dim = check_int(embedding_dim, "embedding_dim", min_value=1)
        if device is None and isinstance(edges, torch.Tensor):
            device = edges.device
        self.device = resolve_device(device)
        edges = check_edges(edges, self.n_items, self.device)
        # the pairs as two index columns, int32 where they fit: half the index
        # traffic of the gathers, and a quarter of the memory of the (p, 2)
        # int64 pairs, which :attr:`edges` rebuilds on demand
        index_dtype = torch.int32 if self.n_items < 2**31 else torch.int64
        self._tail = edges[:, 0].to(index_dtype).contiguous()
        self._head = edges[:, 1].to(index_dtype).contiguous()
        del edges
        constraint = constraints.get(constraint, Centered())
        constraint.check(self.n_items, self.embedding_dim)
        self.dtype = check_dtype(
            dtype,
            distortion_function.dtype
            if isinstance(distortion_function, DistortionFunction)
            else torch.get_default_dtype(),
        )
        self._slices = {}  # see _function_chunks
        self._chunk_cache = None
        self._incidences = {}  # (start, stop) -> incidence, across functions
        self._ones = None  # the values of every incidence matrix (views)
        self._operand = None  # scratch for the objective (see _scratch)
        self._lane_buffers = None  # ... and the compiled loops' (see _compiled)
        self.distortion_function = distortion_function
        self.constraint = constraint.to(self.device, self.dtype)
        self.X = None
        self.X_init = None
        self.solve_stats = None

    @property
    def edges(self):
        """The pairs, an (n_edges, 2) int64 tensor on the problem's device
        (built on each access: the problem keeps them in a compact form)."""
        return self._compact_edges().long()

    def _compact_edges(self):
        """The pairs as an (n_edges, 2) tensor of the problem's index type
        (int32 below 2**31 items)."""
        return torch.stack([self._tail, self._head], dim=1)

    @property
    def distortion_function(self):
        """The distortion function of the edges.

        Assigning another one (callable, of as many edges) changes the problem
        in place: the solver's per-edge structures are kept, so a schedule of
        functions on one edge set costs nothing to set up.
        """
        return self._distortion_function

    @distortion_function.setter
    def distortion_function(self, function):
        if not callable(function):
            raise TypeError(
                "distortion_function must be callable (a penalty, a loss or a "
                f"function of the distances); got {type(function).__name__}."
            )
        if isinstance(function, DistortionFunction):
            if function.n_edges != self.n_edges:
                raise ValueError(
                    f"the distortion function holds {function.n_edges} "
                    f"{function._values_name}, but there are "
                    f"{self.n_edges} edges; they must match one to one."
                )
            function = function.to(self.device, self.dtype)
        self._distortion_function = function
        self._checked_callable = isinstance(function, DistortionFunction)
        # re-sliced at the next evaluation; incidence matrices of unchanged
        # chunk bounds are reused (see _chunks)
        self._slices, self._chunk_cache = {}, None

    @property
    def n_edges(self):
        """The number of edges."""
        return self._tail.shape[0]

    def __repr__(self):
        return (
            f"MDE(n_items={self.n_items}, embedding_dim={self.embedding_dim}, "
            f"n_edges={self.n_edges}, distortion_function="
            f"{_describe(self.distortion_function)}, constraint={self.constraint!r}, "
            f"device='{self.device}', dtype={self.dtype})"
        )

    # -- evaluation ----------------------------------------------------------
    def _check_X(self, X, name="X"):
        if X is None:
            if self.X is None:
                raise ValueError(
                    f"no embedding: call embed() first or pass {name} explicitly."
                )
            return self.X
        X = as_float_tensor(X, name, ndim=2, dtype=self.dtype, device=self.device)
        if tuple(X.shape) != (self.n_items, self.embedding_dim):
            raise ValueError(
                f"{name} must have shape ({self.n_items}, {self.embedding_dim}); got "
                f"{tuple(X.shape)}."
            )
        return X

    def _differences(self, X, start=None, stop=None):
        """Per-edge differences ``x_i - x_j`` and their norms.

        For 2-D embeddings the rows are gathered as complex numbers: one 1-D
        gather per end, and the squared norm from the real and imaginary parts,
        several times faster on the CPU than row gathers and ``hypot``.
        Returns ``(diff, distances)``, ``diff`` real ``(p, m)`` or, in 2-D,
        complex ``(p,)``.
        """
        tail, head = self._tail[start:stop], self._head[start:stop]
        if X.shape[1] == 2 and X.is_contiguous():
            Z = torch.view_as_complex(X)
            diff = Z.index_select(0, tail) - Z.index_select(0, head)
            if diff.device.type == "cpu" and not diff.requires_grad:
                # NumPy's complex modulus: about twice as fast as the squares
                return diff, torch.from_numpy(np.abs(diff.numpy()))
            return diff, (diff.real.square() + diff.imag.square()).sqrt_()
        diff = _gather_rows(X, tail) - _gather_rows(X, head)
        return diff, torch.linalg.vector_norm(diff, dim=1)

    def differences(self, X=None):
        """``x_i - x_j`` for each edge ``(i, j)``, a ``(n_edges,
        embedding_dim)`` tensor (PyMDE's method); ``X`` defaults to the last
        embedding computed by :meth:`embed`."""
        X = self._check_X(X)
        return _gather_rows(X, self._tail) - _gather_rows(X, self._head)

    def to(self, device):
        """Move the problem (edges, distortion function, constraint, ``X``
        and ``X_init``) to ``device``, in place; returns the problem."""
        device = resolve_device(device)
        self.device = device
        self._tail, self._head = self._tail.to(device), self._head.to(device)
        if isinstance(self.distortion_function, DistortionFunction):
            self.distortion_function = self.distortion_function.to(device)
        self.constraint = self.constraint.to(device)
        self.X = None if self.X is None else self.X.to(device)
        self.X_init = None if self.X_init is None else self.X_init.to(device)
        self._slices, self._chunk_cache, self._incidences = {}, None, {}
        self._ones = self._operand = self._lane_buffers = None
        return self

    def distances(self, X=None):
        """Embedding distances of the edges, a ``(n_edges,)`` tensor.

        ``X`` defaults to the last embedding computed by :meth:`embed`.
        """
        return self._differences(self._check_X(X))[1]

    def distortions(self, X=None):
        """Distortions of the edges, a ``(n_edges,)`` tensor; differentiable
        with respect to an ``X`` that requires grad (as in PyMDE)."""
        if isinstance(X, torch.Tensor) and X.requires_grad:
            diff = X[self._tail.long()] - X[self._head.long()]
            return self._call(torch.linalg.vector_norm(diff, dim=1))
        with torch.no_grad():
            return self._call(self.distances(X))

    def average_distortion(self, X=None):
        """The average distortion ``(1/n_edges) sum_k f_k(d_k)``, a 0-d tensor
        (as in PyMDE; ``float(...)`` gives the number)."""
        differentiable = isinstance(X, torch.Tensor) and X.requires_grad
        if differentiable or not isinstance(
            self.distortion_function, DistortionFunction
        ):
            return self.distortions(X).mean()
        # chunk by chunk, as the solver does: no temporaries over all edges
        X = self._check_X(X)
        total = 0.0
        with torch.no_grad():
            for start, stop, function in self._function_chunks():
                distances = self._differences(X, start, stop)[1]
                total += float(function(distances).sum(dtype=torch.float64))
        return torch.tensor(total / self.n_edges, dtype=self.dtype, device=self.device)

    def high_distortion_pairs(self, X=None):
        """Edges and their distortions, sorted from most to least distorted.

        Returns
        -------
        pairs : torch.Tensor of shape (n_edges, 2)
        distortions : torch.Tensor of shape (n_edges,)
        """
        distortions = self.distortions(X)
        order = torch.argsort(distortions, descending=True, stable=True)
        return self.edges[order], distortions[order]

    def _call(self, distances):
        """Evaluate the distortion function, checking a user callable once."""
        f = self.distortion_function(distances)
        if not self._checked_callable:
            if not isinstance(f, torch.Tensor) or tuple(f.shape) != (self.n_edges,):
                shape = tuple(f.shape) if isinstance(f, torch.Tensor) else type(f)
                raise ValueError(
                    "distortion_function must return a tensor of shape "
                    f"({self.n_edges},), one distortion per edge; got {shape}."
                )
            self._checked_callable = True
        return f

    def _sum_and_ratio(self, function, distances):
        """Total distortion and ``f'(d)/d``: analytic for built-ins, else autograd."""
        if isinstance(function, DistortionFunction):
            return function._sum_and_ratio(distances)
        d = distances.detach().requires_grad_(True)
        with torch.enable_grad():
            f = self._call(d)
            if not f.requires_grad:
                raise TypeError(
                    "distortion_function must be built from differentiable torch "
                    "operations on the distances; its output does not depend on "
                    "them through autograd."
                )
            total = f.sum()
            (derivative,) = torch.autograd.grad(total, d)
        return total.detach(), safe_ratio(derivative, distances)

    def _chunks(self):
        """``[(start, stop, function, incidence)]`` covering the edges, built once.

        Long edge lists are evaluated :data:`CHUNK_EDGES` at a time (or
        ``n_items``, if more): the temporaries of a chunk stay in cache and small
        enough to be reused by the allocator (large ones are mapped and
        unmapped, page fault by page fault, at every evaluation). On 70,000
        items with 3.7 million edges this made an evaluation 2.8 times faster
        than one pass over all edges. On a GPU, all edges form one chunk.
        ``incidence`` is the chunk's (n_items, 2 chunk) incidence matrix in
        CSR, of ones: row ``i`` holds column ``e`` for the edges ``e`` whose
        tail is ``i`` and column ``chunk + e`` for those whose head is ``i``,
        so the gradient rows are ``S @ [w; -w]`` with ``w = c (x_i - x_j)``,
        one sparse product (the signs ride in the operand, so every chunk's
        values are views of one tensor of ones: a third less memory).
        """
        if self._chunk_cache is None:
            bounds = self._function_chunks()
            # a replaced function with the same bounds reuses the matrices;
            # those of other bounds are freed before new ones are built
            wanted = {(a, b) for a, b, _ in bounds}
            kept = {key: S for key, S in self._incidences.items() if key in wanted}
            self._incidences = kept
            for a, b, _ in bounds:
                if (a, b) not in kept:
                    kept[a, b] = self._incidence(a, b)
            self._chunk_cache = [
                (a, b, function, self._incidences[a, b]) for a, b, function in bounds
            ]
        return self._chunk_cache

    def _function_chunks(self, compiled=False):
        """``[(start, stop, function)]``: the chunks of :meth:`_chunks` without
        their incidence matrices, built once; with ``compiled``, those of the
        compiled loops, :data:`CHUNK_EDGES` long whatever ``n_items`` (the
        floor is for the sparse products, which visit every row: without it
        a million-item problem's evaluation took 0.84 times as long), and at
        least :data:`~skmde._compiled.LANES` of them (a chunk a lane)."""
        if compiled not in self._slices:
            p = self.n_edges
            f = self.distortion_function
            sliceable = isinstance(f, DistortionFunction) and f._sliceable()
            # on a GPU the caching allocator reuses large buffers and each
            # chunk costs kernel launches: one pass over all edges is faster
            step = p
            if sliceable and self.device.type == "cpu" and compiled:
                step = min(CHUNK_EDGES, max(1, -(-p // _compiled.LANES)))
            elif sliceable and self.device.type == "cpu":
                step = max(CHUNK_EDGES, self.n_items)
            self._slices[compiled] = [
                (start, min(p, start + step), f._slice(start, min(p, start + step)))
                if step < p
                else (start, p, f)
                for start in range(0, p, step)
            ]
        return self._slices[compiled]

    def _incidence(self, start, stop):
        n, p = self.n_items, stop - start
        index_dtype = torch.int32 if 2 * p < 2**31 else torch.int64
        rows = torch.cat([self._tail[start:stop], self._head[start:stop]]).long()
        order = torch.argsort(rows, stable=True)
        counts = torch.bincount(rows, minlength=n)
        crow = torch.zeros(n + 1, dtype=torch.int64, device=self.device)
        torch.cumsum(counts, 0, out=crow[1:])
        del rows, counts
        ones = self._ones
        if ones is None or ones.numel() < 2 * p:
            ones = self._ones = torch.ones(2 * p, dtype=self.dtype, device=self.device)
        return sparse_csr(
            crow.to(index_dtype), order.to(index_dtype), ones[: 2 * p], (n, 2 * p)
        )

    def _objective(self, X, iterations=1):
        """Average distortion and its Euclidean gradient with respect to X,
        evaluated for a solve of ``iterations`` iterations (see
        :data:`KERNEL_MIN_WORK`)."""
        p = self.n_edges
        total = torch.zeros((), dtype=X.dtype, device=X.device)
        G = torch.zeros_like(X)
        kernels = self._kernels(X, iterations)
        if kernels is None:
            for start, stop, function, incidence in self._chunks():
                diff, distances = self._differences(X, start, stop)
                chunk_total, ratio = self._sum_and_ratio(function, distances)
                total += chunk_total
                G += incidence @ self._signed(diff, ratio.mul_(1.0 / p))
        else:
            total, G = _compiled.objective(self, X, kernels)
        value = total / p
        v = float(value)
        if math.isnan(v) or v == -math.inf:
            distances = self.distances(X)
            f = self._call(distances)
            raise FloatingPointError(self._describe_bad(distances, f, "distortion"))
        if v == math.inf:
            return value, None
        if not bool(torch.isfinite(G.sum())):  # a NaN or inf anywhere shows here
            distances = self.distances(X)
            ratio = self._sum_and_ratio(self.distortion_function, distances)[1]
            raise FloatingPointError(
                self._describe_bad(distances, ratio, "derivative of the distortion")
            )
        return value, G

    def _kernels(self, X, iterations=1):
        """The compiled loops of ``_kernels`` if they serve ``X`` in a solve of
        ``iterations`` iterations, else None."""
        if (
            self.n_edges * iterations < KERNEL_MIN_WORK
            or X.device.type != "cpu"
            or X.dtype not in (torch.float32, torch.float64)
            or not X.is_contiguous()
            or X.requires_grad
        ):
            return None
        return load_kernels()

    def _scratch(self, rows, m, dtype, device):
        """A buffer of at least ``rows`` rows of ``m`` values, kept between
        evaluations (a new one per chunk is mapped and unmapped, page fault
        by page fault, each time)."""
        buffer = self._operand
        if (
            buffer is None
            or buffer.shape[0] < rows
            or buffer.shape[1] != m
            or buffer.dtype != dtype
            or buffer.device != device
        ):
            buffer = self._operand = torch.empty((rows, m), dtype=dtype, device=device)
        return buffer

    def _signed(self, diff, coefficients):
        """``[w; -w]``, ``w = coefficients * diff``, a chunk's operand, in the
        scratch buffer. A complex ``diff`` is multiplied as complex: its real
        view times a column was 10% slower."""
        p = diff.shape[0]
        m = 2 if diff.is_complex() else diff.shape[1]
        buffer = self._scratch(2 * p, m, coefficients.dtype, diff.device)
        if diff.is_complex():
            torch.mul(diff, coefficients, out=torch.view_as_complex(buffer[:p]))
        else:
            torch.mul(diff, coefficients.unsqueeze(1), out=buffer[:p])
        torch.neg(buffer[:p], out=buffer[p : 2 * p])
        return buffer[: 2 * p]

    def _describe_bad(self, distances, values, what):
        bad = (~torch.isfinite(values)).nonzero().squeeze(1)
        if bad.numel() == 0:  # -inf sum of finite terms cannot happen; be safe
            return f"the average {what} is not finite."
        k = int(bad[0])
        i, j = int(self._tail[k]), int(self._head[k])
        shown = "NaN" if math.isnan(float(values[k])) else str(float(values[k]))
        return (
            f"the {what} is {shown} for {bad.numel()} of {self.n_edges} "
            f"edges (first: edge {k}, items ({i}, {j}), at distance "
            f"{float(distances[k]):.6g})."
        )

    # -- solving -------------------------------------------------------------
    def embed(
        self,
        X=None,
        eps=1e-5,
        max_iter=300,
        memory_size=10,
        verbose=False,
        print_every=None,
        snapshot_every=None,
        random_state=None,
        callback=None,
    ):
        """Compute an embedding by projected L-BFGS; store it as ``self.X``.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_items, embedding_dim), optional
            Initial embedding; it must satisfy the constraint. When None, the
            problem's ``X_init`` is used if set (the recipes set it), else a
            random feasible embedding from ``constraint.initialization``.
        eps : float > 0, default=1e-5
            Relative tolerance. The solver stops when the quasi-Newton step (its
            estimate of the remaining displacement to the minimizer) is smaller
            than ``eps`` times the Frobenius norm of the centered embedding. The
            rule does not depend on the number of items or the units of the
            embedding.
        max_iter : int >= 0, default=300
            Maximum number of iterations.
        memory_size : int >= 1, default=10
            Number of L-BFGS curvature pairs.
        verbose : bool, default=False
            Print progress to standard error.
        print_every : int, optional
            With ``verbose``, report every ``print_every`` iterations (default:
            about ten reports per solve).
        snapshot_every : int, optional
            Keep a CPU copy of the iterate every ``snapshot_every`` iterations in
            ``solve_stats.snapshots`` (for :meth:`play`).
        random_state : int, numpy or torch generator, optional
            Seeds the random initial embedding when ``X`` is None.
        callback : callable, optional
            ``callback(iteration, X, stats)`` after each iteration; returning
            True stops the solve.

        Returns
        -------
        X : torch.Tensor of shape (n_items, embedding_dim)
            The embedding, also stored in ``self.X``.

        Raises
        ------
        FloatingPointError
            If the distortion function returns NaN (or minus infinity) at some
            iterate; the message names the first bad edge and ``self.X`` keeps
            the last finite iterate.
        """
        with reporting(verbose):
            eps = check_float(eps, "eps", low=0.0, low_open=True)
            max_iter = check_int(max_iter, "max_iter", min_value=0)
            memory_size = check_int(memory_size, "memory_size", min_value=1)
            if print_every is not None:
                print_every = check_int(print_every, "print_every", min_value=1)
            if snapshot_every is not None:
                snapshot_every = check_int(
                    snapshot_every, "snapshot_every", min_value=1
                )
            if X is None and self.X_init is not None:
                X = self.X_init.clone()
            elif X is None:
                X = constraints.initialize(
                    self.constraint,
                    self.n_items,
                    self.embedding_dim,
                    device=self.device,
                    generator=make_generator(random_state),
                    dtype=self.dtype,
                )
            else:
                X = self._check_X(X).clone()
                if not self.constraint.is_feasible(X, rtol=1e-3):
                    raise ValueError(
                        f"X does not satisfy the constraint {self.constraint!r}; "
                        "project it first with constraint.project_onto_constraint(X)."
                    )
            if print_every is None:
                print_every = max(1, max_iter // 10)
            stats = SolveStats(snapshot_every=snapshot_every)
            if verbose:
                logger.info("solving %r", self)

            # the objective runs with the governed thread count (its results
            # are the same for any count), the rest of the solver on one
            # thread: the iterates do not depend on the count. Below
            # ONE_THREAD_BELOW edges a second thread gains little and, beside
            # a busy process, loses much: one thread unless n_jobs says (but
            # the compiled loops' lanes are handed out to free threads, and
            # the governor's timing decides)
            small = self.n_edges < ONE_THREAD_BELOW and self.device.type == "cpu"
            small = small and not _compiled.runs_in_parallel(self, X, max_iter)
            governor = ThreadGovernor(between=1, prefer=1 if small else None)

            def objective(Y):
                with governor.timed():
                    return self._objective(Y, iterations=max_iter)

            def record(iteration, iterate, info):
                stats.average_distortions.append(iterate.value)
                stats.residual_norms.append(info["residual_norm"])
                stats.step_sizes.append(info["step_size"])
                stats.relative_steps.append(info["relative_step"])
                stats.iteration_times.append(info["time"])
                if snapshot_every is not None and iteration % snapshot_every == 0:
                    stats.snapshots.append(iterate.x.detach().cpu().clone())
                if verbose and (iteration % print_every == 0):
                    logger.info(
                        f"iteration {iteration:5d} | distortion {iterate.value:.6g} | "
                        f"residual {stats.residual_norms[-1]:.3e} | step "
                        f"{info['step_size']:.2e} | {1e3 * info['time']:.2f} ms"
                    )
                return (
                    bool(callback(iteration, iterate.x, stats)) if callback else False
                )

            solver = LBFGS(
                objective,
                lambda Y: self.constraint.project_onto_constraint(Y, inplace=True),
                lambda X_, G: self.constraint.project_onto_tangent_space(X_, G),
                memory_size=memory_size,
            )
            start = time.perf_counter()
            try:
                with torch.no_grad(), governor:
                    final, iterations, converged, message = solver.minimize(
                        X, tol=eps, max_iter=max_iter, callback=record
                    )
            except FloatingPointError as exc:
                if solver.current is not None:
                    self.X = solver.current.x
                if solver.current is None:
                    raise FloatingPointError(
                        f"{exc} (at the initial embedding)"
                    ) from None
                raise FloatingPointError(
                    f"{exc} The solve stopped at iteration {len(stats.step_sizes)}; "
                    "mde.X holds the last finite iterate."
                ) from None
            stats.iterations = iterations
            stats.evaluations = solver.evaluations
            stats.converged = converged
            stats.message = message
            stats.solve_time = time.perf_counter() - start
            if snapshot_every is not None and iterations % snapshot_every != 0:
                stats.snapshots.append(final.x.detach().cpu().clone())
            self.X = final.x
            self.solve_stats = stats
            if verbose:
                logger.info(
                    f"{message} after {iterations} iterations in "
                    f"{stats.solve_time:.3f} s; average distortion {final.value:.6g}"
                )
            return self.X

    # -- pictures (matplotlib imported lazily) ------------------------------


#: problems with fewer edges are solved on one thread by default: measured
#: on 2 cores, a second thread makes an evaluation at most 1.2 times faster
#: below a million edges, and 2 to 5 times slower beside a busy process
ONE_THREAD_BELOW = 1_000_000


def _gather_rows(X, index):
    """``X[index]`` for an (n, m) tensor, fast for rows of 4 or 8 bytes.

    A row of two float32 (the common 2-D embedding) is moved as one int64: a
    1-D gather of machine words is several times faster than a 2-D row gather
    on the CPU, and bit-exact.
    """
    row_bytes = X.shape[1] * X.element_size()
    if X.is_contiguous() and row_bytes in (4, 8):
        word = torch.int32 if row_bytes == 4 else torch.int64
        words = X.view(word).view(-1).index_select(0, index)
        return words.view(X.dtype).view(-1, X.shape[1])
    # torch.gather needs int64 indices (int32 ones are misread, silently)
    return torch.gather(X, 0, index.long().unsqueeze(1).expand(-1, X.shape[1]))


def _describe(function):
    if isinstance(function, DistortionFunction):
        return repr(function)
    return getattr(function, "__qualname__", type(function).__name__)
