"""scikit-learn estimators: MDENeighbors, MDEDistances and the generic MDEEmbedder.

They share one implementation (:class:`_BaseMDE`): ``fit`` asks a recipe for
the problem and its plan, solves the problem and keeps plain numpy state;
``transform`` hands new rows and the plan to ``_transform``, which places them
against the fitted embedding, which never moves. The estimators hold
parameters, docstrings and validation: every default lives in the recipes,
every computation below them.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import NotFittedError
from tqdm.auto import tqdm

from . import _transform, losses, penalties, recipes
from ._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    check_non_negative,
    check_random_state,
    validate_data,
)
from ._utils import logger, reporting, torch_threads
from .constraints import Constraint
from .neighbors import METRICS

__all__ = ["MDEDistances", "MDEEmbedder", "MDENeighbors"]

#: neighbourhood size of :meth:`_BaseMDE.score`
SCORE_NEIGHBORS = 10

_COMMON_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "constraint": [None, StrOptions({"centered", "standardized"}), Constraint],
    "metric": [StrOptions(set(METRICS))],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "eps": [Interval(Real, 0, None, closed="neither")],
    "memory_size": [Interval(Integral, 1, None, closed="left")],
    "device": [str, torch.device],
    "dtype": [StrOptions({"float32", "float64"})],
    "random_state": ["random_state"],
    "n_jobs": [None, Integral],
    "verbose": ["verbose"],
    "store_training_data": ["boolean"],
}
_PENALTY_NAMES = StrOptions(set(penalties.NAMES))
_LOSS_NAMES = StrOptions(set(losses.NAMES))


class _Progress:
    """A tqdm bar over solver iterations (a widget in notebooks), showing the
    average distortion; the solver's callback."""

    def __init__(self, total, name):
        self.bar = tqdm(total=total, desc=name, unit="it", leave=True)

    def __call__(self, iteration, X, stats):
        self.bar.update(iteration - self.bar.n)
        self.bar.set_postfix_str(
            f"average distortion {stats.average_distortions[-1]:.5g}", refresh=False
        )
        return False

    def close(self):
        self.bar.close()


class _BaseMDE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared fit / transform / score of the MDE estimators."""

    _parameter_constraints: dict = dict(_COMMON_CONSTRAINTS)

    # -- to be provided by subclasses --------------------------------------------
    def _build_problem(self, X, **kwargs):
        """Return the recipe's ``(mde, plan)`` for X; ``kwargs`` are the
        arguments common to every recipe (see :meth:`_problem_kwargs`)."""
        raise NotImplementedError

    # -- fitting ---------------------------------------------------------------------
    def _validate(self, X, reset):
        if hasattr(X, "dtypes") and hasattr(X, "columns"):
            bad = recipes.non_numeric_columns(X)
            if bad:
                raise ValueError(
                    f"X must hold numbers; non-numeric columns: {bad[:5]}. Encode "
                    "or drop them first."
                )
        precomputed = self.metric == "precomputed"
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr"],
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if reset else 1,
        )
        if precomputed:
            check_non_negative(X, f"{type(self).__name__} (metric='precomputed')")
            if reset and X.shape[0] != X.shape[1]:
                raise ValueError(
                    "with metric='precomputed', X must be a square matrix of "
                    f"distances between samples; got shape {X.shape}."
                )
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the embedding of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, or with ``metric="precomputed"`` a square matrix of
            distances between samples.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and return the embedding of the training data (``embedding_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            A copy of ``embedding_``, in the dtype of X.
        """
        self._fit(X)
        return self.embedding_.copy()

    def _fit(self, X):
        # A fit is all or nothing: an error or KeyboardInterrupt restores the
        # attributes the estimator had before (unfitted stays unfitted).
        before = dict(self.__dict__)
        try:
            self._fit_unsafe(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_unsafe(self, X):
        X = self._validate(X, reset=True)
        seeds = check_random_state(self.random_state).randint(0, 2**31 - 1, size=2)
        verbose = bool(self.verbose)
        with torch_threads(self.n_jobs), reporting(verbose):
            mde, plan = self._build_problem(
                X,
                **self._problem_kwargs(),
                random_state=np.random.default_rng(seeds[0]),
                transform_seed=int(seeds[1]),
            )
            progress = (
                _Progress(self.max_iter, type(self).__name__) if verbose else None
            )
            try:
                Z = mde.embed(
                    eps=self.eps,
                    max_iter=self.max_iter,
                    memory_size=self.memory_size,
                    callback=progress,
                )
            finally:
                if progress is not None:
                    progress.close()
            stats = mde.solve_stats
            fitted = {
                "embedding_": Z.detach().cpu().numpy().astype(X.dtype),
                "n_iter_": stats.iterations,
                "average_distortion_": mde.average_distortion(),
                "_record": plan.record,
                "_n_features_out": self.n_components,
                "_transform_spec": plan.transform,
                "_index": plan.index,
            }
            if plan.kind == "neighbors" and plan.n_neighbors is not None:
                fitted["n_neighbors_"] = plan.n_neighbors
            logger.info(
                "%s: %s after %d iterations, %.2f s; average distortion %.5g",
                type(self).__name__,
                stats.message,
                stats.iterations,
                stats.solve_time,
                fitted["average_distortion_"],
            )
        self.__dict__.update(fitted)

    def _problem_kwargs(self):
        return {
            "embedding_dim": self.n_components,
            "constraint": self.constraint,
            "init": self.init,
            "metric": self.metric,
            "device": self.device,
            "n_jobs": self.n_jobs,
            "dtype": self.dtype,
            "store_training_data": self.store_training_data,
        }

    # -- transform -------------------------------------------------------------------
    def transform(self, X):
        """Embed new samples against the fitted embedding, which never moves.

        Each row is connected only to fitted samples (its nearest ones, and for
        neighbour embeddings as many repulsive partners, drawn from a hash of
        the row, each carrying the repulsion the fit spread over
        ``repulsive_fraction`` edges; for distance embeddings a hash-drawn
        sample of 256 fitted samples) and
        placed by minimizing its own distortion with the fitted samples held at
        ``embedding_``. A row's result therefore does not depend on the other
        rows passed with it; a row equal to a training sample gets that sample's
        row of ``embedding_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New samples, or with ``metric="precomputed"`` their distances to the
            training samples, shape (n_samples, n_training_samples).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self._transform_array(X).astype(X.dtype, copy=False)

    def _transform_array(self, X):
        if self._index is None:
            raise NotFittedError(
                f"This {type(self).__name__} was fitted with store_training_data="
                "False, so it cannot compare new samples with the training "
                "samples; call attach_training_data(X_train) first."
            )
        with torch_threads(self.n_jobs):
            return _transform.embed_rows(
                self._transform_spec, self._index, self.embedding_, X
            )

    def attach_training_data(self, X):
        """Give a model fitted with ``store_training_data=False`` its training data.

        ``transform`` compares new samples with the training samples; a compact
        model (``store_training_data=False``) does not keep them, and needs them
        back before transforming, unless ``metric="precomputed"``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training data the model was fitted on.

        Returns
        -------
        self : object
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        if X.shape[0] != self.embedding_.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} samples; the model was fitted on "
                f"{self.embedding_.shape[0]}."
            )
        if self.metric != "precomputed":
            self._index = _transform.training_index(X, self.metric)
        return self

    # -- score -----------------------------------------------------------------------
    def score(self, X, y=None):
        """Neighbourhood preservation of ``transform(X)`` at k = 10 (higher is better).

        For each sample, its 10 nearest training samples in the input space are
        compared with its 10 nearest training samples in the embedding (the
        fitted ``embedding_``); the score is the mean fraction they share, in
        [0, 1]. A sample equal to a training sample leaves that sample out of
        both lists. The measure does not depend on the penalty or on
        ``n_neighbors``, so it compares settings in a grid search.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        Z = self._transform_array(X)
        k = min(SCORE_NEIGHBORS, self.embedding_.shape[0] - 1)
        with torch_threads(self.n_jobs):
            return _transform.neighborhood_score(self._index, self.embedding_, X, Z, k)

    # -- tags --------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        precomputed = self.metric == "precomputed"
        tags.input_tags.pairwise = precomputed
        tags.input_tags.positive_only = precomputed
        tags.input_tags.sparse = True
        return tags

    # -- diagnostics -------------------------------------------------------------------
    def problem(self, device="cpu"):
        """The fitted MDE problem, rebuilt on ``device`` with ``X`` = ``embedding_``.

        Use it for the diagnostics of :class:`skmde.MDE`: ``distortions()``,
        ``high_distortion_pairs()``, ``distortions_cdf()``, ``plot()``.
        """
        check_is_fitted(self)
        if self._record is None:
            raise NotFittedError(
                "the problem is not kept by models fitted with "
                "store_training_data=False; refit with store_training_data=True."
            )
        return self._record.rebuild(self.embedding_, device)

    def plot(self, color_by=None, **kwargs):
        """Scatter plot of ``embedding_`` (1 to 3 components); see :func:`skmde.plot`.

        Returns the matplotlib Axes.
        """
        from .plotting import plot

        check_is_fitted(self)
        return plot(self.embedding_, color_by=color_by, **kwargs)

    def distortions_cdf(self, **kwargs):
        """Plot the CDF of the fitted problem's distortions; returns the Axes."""
        return self.problem().distortions_cdf(**kwargs)

    def high_distortion_pairs(self):
        """Pairs of training samples (row positions in X) and their distortions,
        from most to least distorted: numpy arrays of shape (n_edges, 2) and
        (n_edges,)."""
        pairs, distortions = self.problem().high_distortion_pairs()
        return pairs.numpy(), distortions.numpy()


class MDENeighbors(_BaseMDE):
    """Embed samples so that nearest neighbours stay close (MDE).

    Builds :func:`skmde.preserve_neighbors`' problem from X (neighbour pairs
    attract, a sample of other pairs repels), solves it by projected L-BFGS, and
    embeds new samples with ``transform`` against the fixed fitted embedding.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding.
    n_neighbors : int, default=None
        Neighbours per sample; None uses ``max(min(12, 0.005 (n - 1)), 5)``.
        Clipped to ``n_samples - 1`` with a warning.
    attractive_penalty : str or callable, default="log1p"
        Penalty of the neighbour pairs: a name from :mod:`skmde.penalties`
        ("log1p", "quadratic", "huber", ...), a penalty class, or a factory
        taking the weights (e.g. ``functools.partial(Log1p, exponent=2)``).
    repulsive_penalty : str, callable or None, default="log"
        Penalty of the repulsive pairs; None: no repulsion (then the default
        constraint is "standardized").
    repulsive_fraction : float, default=None
        Repulsive pairs per neighbour pair (4 by default, 1 when standardized).
    repulsive_weight : float, default=None
        Magnitude of the repulsive weights (0.5 by default).
    local_scaling : bool, default=True
        Choose neighbours by locally scaled distance (see
        :func:`skmde.preserve_neighbors`).
    edge_weights : {"fuzzy", "binary"}, default="fuzzy"
        Weights of the neighbour pairs.
    constraint : {"centered", "standardized"} or Constraint, default=None
        None: "centered" with repulsion, "standardized" without.
    init : {"spectral", "pca", "random"} or array-like, default="spectral"
        Initial embedding.
    metric : str, default="euclidean"
        Distance between samples; "precomputed" takes a distance matrix (fit)
        and distances to the training samples (transform).
    max_iter : int, default=200
        Maximum number of solver iterations. Measured with
        ``benchmarks/bench_iterations.py`` on digits, MNIST-10k (3 seeds each)
        and a 70,000-item mixture: trustworthiness at 200 iterations is within
        0.001 of that at 300, 10-NN accuracy within 0.001 on MNIST-10k and the
        mixture (on digits, from 0.007 lower to equal), in two thirds of the
        solve time.
    eps : float, default=1e-5
        Relative tolerance of the solver (see :meth:`skmde.MDE.embed`).
    memory_size : int, default=10
        L-BFGS memory.
    device : str or torch.device, default="cpu"
        Where to solve: "cpu", "cuda", "cuda:N" or "auto". Fitted state is
        numpy on the CPU whatever the device.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the solver. Outputs have the dtype of the input.
    random_state : int, RandomState instance or None, default=None
        Seeds the repulsive sample, the initialization and the per-row
        randomness of ``transform``. Equal seeds give equal results.
    n_jobs : int, default=None
        Threads torch may use during ``fit``/``transform`` (-1: all cores);
        None leaves torch's setting (all cores unless changed) as it is. The
        previous setting is restored afterwards.
    verbose : int, default=0
        0 is silent; 1 or more reports the stages and shows a progress bar.
    store_training_data : bool, default=True
        Keep (a prepared copy of) the training data, which ``transform`` and
        ``score`` compare new samples with, and the fitted problem (see
        :meth:`problem`). False keeps only what placing new samples needs
        besides the data (``embedding_`` and a few per-sample scales), so the
        model and its pickle are small; call :meth:`attach_training_data`
        before transforming (not needed with ``metric="precomputed"``).

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedding of the training data.
    n_neighbors_ : int
        The number of neighbours used.
    n_iter_ : int
        Solver iterations.
    average_distortion_ : float
        Average distortion of ``embedding_`` (its meaning depends on the
        penalties; use :meth:`score` to compare settings).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when X has feature names that are all strings.

    See Also
    --------
    MDEDistances : Preserve distances instead of neighbourhoods.
    skmde.preserve_neighbors : The recipe, returning the MDE problem.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmde import MDENeighbors
    >>> X, _ = load_digits(return_X_y=True)
    >>> model = MDENeighbors(random_state=0)
    >>> model.fit_transform(X[:1000]).shape
    (1000, 2)
    >>> model.transform(X[1000:1010]).shape
    (10, 2)
    """

    _parameter_constraints: dict = {
        **_BaseMDE._parameter_constraints,
        "n_neighbors": [None, Interval(Integral, 1, None, closed="left")],
        "attractive_penalty": [_PENALTY_NAMES, callable],
        "repulsive_penalty": [None, _PENALTY_NAMES, callable],
        "repulsive_fraction": [None, Interval(Real, 0, None, closed="left")],
        "repulsive_weight": [None, Interval(Real, 0, None, closed="neither")],
        "local_scaling": ["boolean"],
        "edge_weights": [StrOptions({"fuzzy", "binary"})],
        "init": [StrOptions({"spectral", "quadratic", "pca", "random"}), "array-like"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        n_neighbors=None,
        attractive_penalty="log1p",
        repulsive_penalty="log",
        repulsive_fraction=None,
        repulsive_weight=None,
        local_scaling=True,
        edge_weights="fuzzy",
        constraint=None,
        init="spectral",
        metric="euclidean",
        max_iter=200,
        eps=1e-5,
        memory_size=10,
        device="cpu",
        dtype="float32",
        random_state=None,
        n_jobs=None,
        verbose=0,
        store_training_data=True,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.attractive_penalty = attractive_penalty
        self.repulsive_penalty = repulsive_penalty
        self.repulsive_fraction = repulsive_fraction
        self.repulsive_weight = repulsive_weight
        self.local_scaling = local_scaling
        self.edge_weights = edge_weights
        self.constraint = constraint
        self.init = init
        self.metric = metric
        self.max_iter = max_iter
        self.eps = eps
        self.memory_size = memory_size
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.store_training_data = store_training_data

    def _build_problem(self, X, **kwargs):
        return recipes.neighbor_problem(
            X,
            attractive_penalty=self.attractive_penalty,
            repulsive_penalty=self.repulsive_penalty,
            n_neighbors=self.n_neighbors,
            repulsive_fraction=self.repulsive_fraction,
            repulsive_weight=self.repulsive_weight,
            local_scaling=self.local_scaling,
            edge_weights=self.edge_weights,
            **kwargs,
        )


class MDEDistances(_BaseMDE):
    """Embed samples so that their pairwise distances are preserved (MDE).

    Builds :func:`skmde.preserve_distances`' problem (all pairs when there are
    at most ``max_distances``, else a uniform sample), solves it, and embeds new
    samples with ``transform`` by matching their distances to 256 fitted
    samples, drawn from a hash of each row.

    Parameters
    ----------
    n_components : int, default=2
    loss : str or callable, default="quadratic"
        A name from :mod:`skmde.losses` ("quadratic", "absolute", "huber", ...),
        a loss class, or a factory taking the deviations.
    max_distances : float, default=None
        The most pairs used to fit; None: all pairs up to 5 million, beyond that
        150 per sample (see :func:`skmde.preserve_distances`).
    constraint : {"centered", "standardized"} or Constraint, default=None
        None: "centered", which keeps the data's units.
    init : {"auto", "pca", "mds", "random"} or array-like, default="auto"
    metric : str, default="euclidean"
    max_iter : int, default=300
    eps : float, default=1e-5
    memory_size : int, default=10
    device : str or torch.device, default="cpu"
    dtype : {"float32", "float64"}, default="float32"
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
    verbose : int, default=0
    store_training_data : bool, default=True
        See :class:`MDENeighbors`.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
    n_iter_ : int
    average_distortion_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    See Also
    --------
    MDENeighbors : Preserve neighbourhoods instead of distances.
    skmde.preserve_distances : The recipe, returning the MDE problem.

    Examples
    --------
    >>> import numpy as np
    >>> from skmde import MDEDistances
    >>> X = np.random.default_rng(0).normal(size=(200, 5))
    >>> model = MDEDistances(random_state=0).fit(X)
    >>> model.embedding_.shape
    (200, 2)
    """

    _parameter_constraints: dict = {
        **_BaseMDE._parameter_constraints,
        "loss": [_LOSS_NAMES, callable],
        "max_distances": [None, Interval(Real, 1, None, closed="left")],
        "init": [StrOptions({"auto", "pca", "mds", "random"}), "array-like"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        loss="quadratic",
        max_distances=None,
        constraint=None,
        init="auto",
        metric="euclidean",
        max_iter=300,
        eps=1e-5,
        memory_size=10,
        device="cpu",
        dtype="float32",
        random_state=None,
        n_jobs=None,
        verbose=0,
        store_training_data=True,
    ):
        self.n_components = n_components
        self.loss = loss
        self.max_distances = max_distances
        self.constraint = constraint
        self.init = init
        self.metric = metric
        self.max_iter = max_iter
        self.eps = eps
        self.memory_size = memory_size
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.store_training_data = store_training_data

    def _build_problem(self, X, **kwargs):
        return recipes.distance_problem(
            X, loss=self.loss, max_distances=self.max_distances, **kwargs
        )


class MDEEmbedder(_BaseMDE):
    """A Minimum-Distortion Embedding estimator with the problem of your choice.

    The samples' relationships are their nearest neighbours
    (``relationships="neighbors"``, weighted pairs handled by penalties), their
    pairwise distances (``"distances"``, handled by a loss), or any function of
    X returning pairs and their weights or distances. The distortion, the
    constraint and the initialization are yours to choose. :class:`MDENeighbors`
    and :class:`MDEDistances` are this estimator with flat, grid-searchable
    parameters for the two common cases.

    Parameters
    ----------
    n_components : int, default=2
    relationships : {"neighbors", "distances"} or callable, default="neighbors"
        A callable is called as ``relationships(X)`` and returns ``(edges,
        values)``: a (n_edges, 2) integer array of pairs and one weight (for a
        penalty) or distance (for a loss) per pair.
    distortion : str or callable, default=None
        The distortion of the relationship pairs: for "neighbors" a penalty
        (default "log1p"), for "distances" a loss (default "quadratic"); a name,
        a class of :mod:`skmde.penalties` or :mod:`skmde.losses`, or a factory
        taking the per-pair values. With a callable ``relationships``, a class
        or factory tells whether values are weights (penalty) or distances
        (loss); names found in both modules (e.g. "quadratic") are ambiguous.
    repulsive_penalty : str, callable or None, default="log"
        With "neighbors": the penalty of the repulsive pairs (None: none).
    n_neighbors : int, default=None
        With "neighbors" (and for ``transform`` with a callable and a penalty).
    repulsive_fraction : float, default=None
        With "neighbors": repulsive pairs per neighbour pair.
    max_distances : float, default=None
        With "distances": the most pairs used to fit (see
        :class:`MDEDistances`).
    constraint : {"centered", "standardized"} or Constraint, default=None
    init : str or array-like, default="auto"
        "auto" is "spectral" for neighbours and "auto" for distances (see
        :class:`MDEDistances`); with a callable, "random" or an array.
    metric : str, default="euclidean"
    max_iter : int, default=300
    eps : float, default=1e-5
    memory_size : int, default=10
    device : str or torch.device, default="cpu"
    dtype : {"float32", "float64"}, default="float32"
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
    verbose : int, default=0
    store_training_data : bool, default=True

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
    n_iter_ : int
    average_distortion_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Examples
    --------
    >>> import numpy as np
    >>> from skmde import MDEEmbedder, penalties
    >>> X = np.random.default_rng(0).normal(size=(100, 4))
    >>> chain = np.column_stack([np.arange(99), np.arange(1, 100)])
    >>> model = MDEEmbedder(relationships=lambda X: (chain, np.ones(99)),
    ...                     distortion=penalties.Quadratic,
    ...                     constraint="standardized", random_state=0)
    >>> model.fit_transform(X).shape
    (100, 2)
    """

    _parameter_constraints: dict = {
        **_BaseMDE._parameter_constraints,
        "relationships": [StrOptions({"neighbors", "distances"}), callable],
        "distortion": [
            None,
            StrOptions(set(penalties.NAMES) | set(losses.NAMES)),
            callable,
        ],
        "repulsive_penalty": [None, _PENALTY_NAMES, callable],
        "n_neighbors": [None, Interval(Integral, 1, None, closed="left")],
        "repulsive_fraction": [None, Interval(Real, 0, None, closed="left")],
        "max_distances": [None, Interval(Real, 1, None, closed="left")],
        "init": [
            StrOptions({"auto", "spectral", "quadratic", "pca", "mds", "random"}),
            "array-like",
        ],
    }

    def __init__(
        self,
        n_components=2,
        *,
        relationships="neighbors",
        distortion=None,
        repulsive_penalty="log",
        n_neighbors=None,
        repulsive_fraction=None,
        max_distances=None,
        constraint=None,
        init="auto",
        metric="euclidean",
        max_iter=300,
        eps=1e-5,
        memory_size=10,
        device="cpu",
        dtype="float32",
        random_state=None,
        n_jobs=None,
        verbose=0,
        store_training_data=True,
    ):
        self.n_components = n_components
        self.relationships = relationships
        self.distortion = distortion
        self.repulsive_penalty = repulsive_penalty
        self.n_neighbors = n_neighbors
        self.repulsive_fraction = repulsive_fraction
        self.max_distances = max_distances
        self.constraint = constraint
        self.init = init
        self.metric = metric
        self.max_iter = max_iter
        self.eps = eps
        self.memory_size = memory_size
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.store_training_data = store_training_data

    def _distortion(self):
        """The factory of the distortion: a penalty for "neighbors", a loss
        for "distances"; with a callable ``relationships``, a name must be
        unambiguous."""
        spec = self.distortion
        if self.relationships == "neighbors":
            return penalties.get(spec or "log1p", "distortion")
        if self.relationships == "distances":
            return losses.get(spec or "quadratic", "distortion")
        if spec is None:
            raise ValueError(
                "with a callable relationships, pass distortion= a penalty or a loss."
            )
        if isinstance(spec, str):
            key = spec.lower()
            if key in penalties.NAMES and key in losses.NAMES:
                name = penalties.get(key).__name__
                raise ValueError(
                    f"distortion={spec!r} names both a penalty and a loss; pass "
                    f"skmde.penalties.{name} or skmde.losses.{name}."
                )
            module = penalties if key in penalties.NAMES else losses
            return module.get(key, "distortion")
        return spec

    def _init_for(self, default):
        if not isinstance(self.init, str) or self.init != "auto":
            return self.init
        return default

    def _build_problem(self, X, **kwargs):
        factory = self._distortion()
        if self.relationships == "neighbors":
            return recipes.neighbor_problem(
                X,
                attractive_penalty=factory,
                repulsive_penalty=self.repulsive_penalty,
                n_neighbors=self.n_neighbors,
                repulsive_fraction=self.repulsive_fraction,
                **(kwargs | {"init": self._init_for("spectral")}),
            )
        if self.relationships == "distances":
            return recipes.distance_problem(
                X,
                loss=factory,
                max_distances=self.max_distances,
                **(kwargs | {"init": self._init_for("auto")}),
            )
        del kwargs["n_jobs"]
        return recipes.custom_problem(
            X,
            relationships=self.relationships,
            factory=factory,
            n_neighbors=self.n_neighbors,
            **(kwargs | {"init": self._init_for("random")}),
        )
