"""The shared implementation of the MDE estimators (:class:`_BaseMDE`).

``fit`` asks the subclass's recipe for the problem and its plan, solves the
problem and keeps plain numpy state; ``transform`` and ``score`` hand new rows
and the plan to ``_transform``, which places them against the fitted
embedding, which never moves. No tensor math and no neighbour search here.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from tqdm.auto import tqdm

from . import _duplicates, _growth, _inverse, _refine, _transform, recipes
from ._inputs import check_dimension, check_dtype, non_numeric_columns
from ._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    check_is_fitted,
    check_non_negative,
    check_random_state,
    validate_data,
    wrap_like_input,
)
from ._utils import logger, reporting, resolve_device, torch_threads
from .constraints import Constraint

#: neighbourhood size of :meth:`_BaseMDE.score`
SCORE_NEIGHBORS = 10

_COMMON_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "constraint": [None, StrOptions({"centered", "standardized"}), Constraint],
    "metric": [StrOptions(set(recipes.METRICS))],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "eps": [Interval(Real, 0, None, closed="neither")],
    "memory_size": [Interval(Integral, 1, None, closed="left")],
    "device": [str, torch.device],
    "dtype": [StrOptions({"float32", "float64"})],
    "random_state": ["random_state"],
    # joblib's convention: 0 means nothing
    "n_jobs": [
        None,
        Interval(Integral, 1, None, closed="left"),
        Interval(Integral, None, -1, closed="right"),
    ],
    "verbose": ["verbose"],
    "store_training_data": ["boolean"],
}


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


def _grows(estimator):
    """partial_fit needs the samples' features: not with given distances."""
    if estimator.metric == "precomputed":
        raise AttributeError(
            "partial_fit is not available with metric='precomputed': growing "
            "the embedding needs the new samples' distances to each other. "
            "Refit on the whole distance matrix."
        )
    return True


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
            bad = non_numeric_columns(X)
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
        y : array-like of shape (n_samples,), default=None
            Labels or target values that shape the embedding when the
            estimator has a positive ``target_weight`` (see the user guide's
            section on labels); ignored otherwise.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and return the embedding of the training data (``embedding_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Labels or targets, as in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            A copy of ``embedding_``, in the dtype of X.
        """
        self._fit(X, y)
        return self.embedding_.copy()

    def _fit(self, X, y=None):
        self._all_or_nothing(self._fit_unsafe, X, y)

    def _all_or_nothing(self, step, *args):
        """Run ``step(*args)``; an error or KeyboardInterrupt restores the
        attributes the estimator had before (unfitted stays unfitted)."""
        before = dict(self.__dict__)
        try:
            step(*args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_unsafe(self, X, y):
        X = self._validate(X, reset=True)
        check_dimension(self.n_components, X.shape[0], "n_components", "samples")
        labels = self._labels(X, y)
        seeds = check_random_state(self.random_state).randint(0, 2**31 - 1, size=2)
        verbose = bool(self.verbose)
        with torch_threads(self.n_jobs), reporting(verbose):
            mde, plan = self._build_problem(
                X,
                **self._problem_kwargs(),
                random_state=np.random.default_rng(seeds[0]),
                transform_seed=int(seeds[1]),
                **labels,
            )
            progress = (
                _Progress(self.max_iter, type(self).__name__) if verbose else None
            )
            try:
                Z, iterations = _refine.solve(
                    mde,
                    plan.refined,
                    eps=self.eps,
                    max_iter=self.max_iter,
                    memory_size=self.memory_size,
                    callback=progress,
                )
            finally:
                if progress is not None:
                    progress.close()
            stats = mde.solve_stats
            # identical rows share one position, so that transform(X_train)
            # returns embedding_ row by row
            hashes = _duplicates.row_hashes(X)
            Z = _duplicates.merge_duplicates(X, Z.detach().cpu().numpy(), hashes)
            fitted = {
                # in the data's units (the recipe may solve in others)
                "embedding_": (Z.astype(np.float64) * plan.units).astype(X.dtype),
                "n_iter_": iterations,
                "average_distortion_": float(mde.average_distortion(Z)),
                "_record": plan.record,
                "_n_features_out": self.n_components,
                "_transform_spec": plan.transform,
                "_index": plan.index,
                "_training_digest": _duplicates.digest(hashes),
                "_training_blocks": [X.shape[0]],
            }
            if plan.kind == "neighbors" and plan.n_neighbors is not None:
                fitted["n_neighbors_"] = plan.n_neighbors
            logger.info(
                "%s: %s after %d iterations; average distortion %.5g",
                type(self).__name__,
                stats.message,
                iterations,
                fitted["average_distortion_"],
            )
        self.__dict__.update(fitted)

    @available_if(_grows)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Grow the fitted embedding by the samples of X.

        On an unfitted estimator this is :meth:`fit`. On a fitted one, the
        samples of X are added to ``embedding_`` while the fitted samples stay
        exactly where they are: the new samples are solved together, connected
        to their nearest samples among the fitted ones *and among
        themselves*, so a group absent from the fit can form its own cluster
        (``transform`` places each sample alone, next to fitted samples).
        The training data grows too, so later ``transform`` calls see the new
        samples. The cost grows with the number of new samples, not with a
        re-solve of all of them. Not available with ``metric="precomputed"``
        (the new samples' distances to each other would be needed).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Used as in :meth:`fit` when the estimator is not fitted yet; a
            fitted estimator places new samples by their features only (with
            a warning when labels would have been used).

        Returns
        -------
        self : object
        """
        if not hasattr(self, "embedding_"):
            self._fit(X, y)
            return self
        if y is not None and getattr(self, "target_weight", 0) > 0:
            warnings.warn(
                "partial_fit on a fitted estimator places new samples by their "
                "features only: y is not used. Refit with all labelled samples "
                "for the labels to shape them.",
                UserWarning,
                stacklevel=2,
            )
        self._require_training_data()
        self._all_or_nothing(self._grow, self._validate(X, reset=False))
        return self

    def _grow(self, X):
        n = self.embedding_.shape[0]
        seed = check_random_state(self.random_state).randint(0, 2**31 - 1)
        rng = np.random.default_rng([seed, n])  # another draw for each growth

        def solve(mde):
            Z = mde.embed(
                eps=self.eps, max_iter=self.max_iter, memory_size=self.memory_size
            )
            return Z.detach().cpu().numpy(), mde.solve_stats.iterations

        with torch_threads(self.n_jobs), reporting(bool(self.verbose)):
            growth = _growth.grow(
                self._transform_spec,
                self._index,
                self.embedding_,
                X,
                self._index.metric,
                rng,
                solve,
                check_dtype(self.dtype),
                self.device,
            )
        hashes = _duplicates.row_hashes(X)
        new = _duplicates.merge_duplicates(X, growth.embedding, hashes)
        embedding = np.vstack([self.embedding_, new.astype(self.embedding_.dtype)])
        record = self._record
        if record is not None:
            record = record.grown(X.shape[0], growth.edges, growth.values)
        self.__dict__.update(
            embedding_=embedding,
            n_iter_=growth.n_iter,
            _index=copy.copy(self._index).extend(X),
            _transform_spec=growth.spec,
            _record=record,
            _training_digest=_duplicates.extend_digest(self._training_digest, hashes),
            _training_blocks=[*self._training_blocks, X.shape[0]],
        )
        if record is not None:
            mde = record.rebuild(embedding)
            self.average_distortion_ = float(mde.average_distortion())
        logger.info(
            "%s: %d samples added after %d iterations",
            type(self).__name__,
            X.shape[0],
            growth.n_iter,
        )

    def _labels(self, X, y):
        """The recipe's label arguments: none unless y is given and the
        estimator has a positive ``target_weight`` (then y is checked)."""
        weight = getattr(self, "target_weight", 0.0)
        if y is None or weight == 0:
            return {}
        y = column_or_1d(y, dtype=None)
        check_consistent_length(X, y)
        metric = self.target_metric
        if metric == "auto":
            metric = "categorical"
            if y.dtype.kind == "f":
                known = y[~np.isnan(y)]
                if known.size and type_of_target(known) == "continuous":
                    metric = "euclidean"
        return {"targets": y, "target_weight": weight, "target_metric": metric}

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
        neighbour embeddings as many repulsive partners, the partners drawn
        at fit time for those nearest samples, each carrying the repulsion the
        fit spread over ``repulsive_fraction`` edges; for distance embeddings
        a sample of 256 fitted samples drawn at fit time) and placed by
        minimizing its own distortion with the fitted samples held at
        ``embedding_``. A row's result therefore does not depend on the other
        rows passed with it, nearly equal rows land nearly together, and a row
        equal to a training sample gets that sample's row of ``embedding_``.

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
        self._require_training_data()
        with torch_threads(self.n_jobs):
            return _transform.embed_rows(
                self._transform_spec,
                self._index,
                self.embedding_,
                X,
                self._rows_device(),
            )

    def _prepare_for_new_rows(self):
        """Build what the CPU search of new rows needs now rather than at the
        first ``transform`` (a model about to be copied to many workers)."""
        if self._index is not None and self._rows_device() is None:
            with torch_threads(self.n_jobs):
                self._index.prepare_for_new_rows()

    def _rows_device(self):
        """Where ``transform`` works: the estimator's ``device``; None (the
        CPU) for the CPU, or for a GPU this machine lacks (a model fitted on
        a GPU machine and loaded on another)."""
        device = self.device
        name = device.type if isinstance(device, torch.device) else str(device)
        if name.startswith("cuda") and not torch.cuda.is_available():
            return None
        device = resolve_device(device)
        return None if device.type == "cpu" else device

    def inverse_transform(self, X):
        """Map points of the embedding back to the data space.

        Each row of ``X`` (a point of the embedding space) becomes the
        weighted mean of the training samples whose embeddings are nearest to
        it (its 10 nearest fitted positions, weighted by a Gaussian kernel of
        their distances, the width being the 10th distance); a point on a
        fitted position gives that training sample. Each row is decoded on
        its own: the result does not depend on the other rows passed with it.
        The estimator is not changed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Points of the embedding space, e.g. ``transform``'s output or a
            grid over ``embedding_``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Dense rows in the training data's dtype (a DataFrame with the
            input's feature names under ``set_output(transform="pandas")``).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} columns; inverse_transform expects points "
                f"of the {self.n_components}-dimensional embedding."
            )
        if self.metric == "precomputed":
            raise ValueError(
                "inverse_transform needs the training samples' features; a model "
                "fitted on distances (metric='precomputed') has none."
            )
        self._require_training_data()
        with torch_threads(self.n_jobs):
            rows = _inverse.decode_rows(self._index, self.embedding_, Z)
        return wrap_like_input(self, rows.astype(self.embedding_.dtype), X)

    def _require_training_data(self):
        if self._index is None:
            raise NotFittedError(
                f"This {type(self).__name__} was fitted with store_training_data="
                "False, so it does not hold the training samples; call "
                "attach_training_data(X_train) first."
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
        hashes = _duplicates.row_hashes(X)
        if _duplicates.digest(hashes, self._training_blocks) != self._training_digest:
            raise ValueError(
                "X is not the data the model was fitted on: its rows differ, or "
                "are in another order."
            )
        if self.metric != "precomputed":
            self._index = _transform.training_index(
                X, self.metric, getattr(self._transform_spec, "projection", None)
            )
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

    def plot(self, color_by=None, edges=None, **kwargs):
        """Plot ``embedding_`` (1 to 3 components); see :func:`skmde.plot`.

        ``color_by="distortion"`` colours each training sample by its mean
        distortion and ``edges="problem"`` draws the neighbour pairs, both
        from the fitted problem (:meth:`skmde.MDE.plot`). Returns the
        matplotlib Axes, or a plotly figure with ``interactive=True``.
        """
        check_is_fitted(self)
        if isinstance(color_by, str) or isinstance(edges, str):
            return self.problem().plot(color_by=color_by, edges=edges, **kwargs)
        from .plotting import plot

        return plot(self.embedding_, color_by=color_by, edges=edges, **kwargs)

    def distortions_cdf(self, **kwargs):
        """Plot the CDF of the fitted problem's distortions; returns the Axes."""
        return self.problem().distortions_cdf(**kwargs)

    def high_distortion_pairs(self):
        """Pairs of training samples (row positions in X) and their distortions,
        from most to least distorted: numpy arrays of shape (n_edges, 2) and
        (n_edges,)."""
        pairs, distortions = self.problem().high_distortion_pairs()
        return pairs.numpy(), distortions.numpy()
