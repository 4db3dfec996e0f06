"""scikit-learn estimators: MDENeighbors, MDEDistances and the generic MDEEmbedder.

Parameters, docstrings and their validation; they share one implementation
(:class:`~skmde._base._BaseMDE`), and every default lives in the recipes.
"""

from numbers import Integral, Real

from . import _custom, losses, penalties, recipes
from ._base import _BaseMDE
from ._sklearn_compat import Interval, NameOptions, StrOptions

__all__ = ["MDEDistances", "MDEEmbedder", "MDENeighbors"]

_PENALTY_NAMES = NameOptions(set(penalties.NAMES))
_LOSS_NAMES = NameOptions(set(losses.NAMES))


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
        Neighbours per sample; None uses ``max(min(12, 0.005 (n - 1)), 10)``.
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
        The default's repulsion is spread, with the same total weight, over
        at least 50,000 pairs (every pair that is not a neighbour pair on
        fewer than about 320 samples) and, when solved in two phases (see
        ``refine``), over 1.5 times as many pairs (6 per neighbour pair under
        the centered constraint) up to 2,000,000: many light pairs stand for
        the repulsion of all pairs better than few heavy ones
        (trustworthiness on digits 0.9872 to 0.9889, MNIST-10k 0.9667 to
        0.9683). A value given here is sampled as given.
    repulsive_weight : float, default=None
        Magnitude of the repulsive weights: 0.5 by default, 1 where the
        default problem is solved in one phase (see ``refine``) under the
        centered constraint, whose log1p pull (at its default exponent) then
        has exponent 1.6 instead of 1.5: more trustworthy on every small
        dataset measured.
    local_scaling : bool, default=True
        Choose neighbours by locally scaled distance (see
        :func:`skmde.preserve_neighbors`).
    edge_weights : {"fuzzy", "binary"}, default="fuzzy"
        Weights of the neighbour pairs.
    pca_components : int, "auto" or None, default="auto"
        Find the neighbours by the distances of the samples' first
        ``pca_components`` principal components (their PCA scores) rather
        than of all their features. The directions of least variance, left
        out, hold much of the noise of pixel or expression data, so more of
        each sample's neighbours are of its kind: on MNIST-10k the 10-NN
        accuracy of the embedding rose from 0.950 to 0.956 at the same
        trustworthiness (measured in all the pixels). "auto": 50 for dense
        data of more than 100 features under ``metric="euclidean"`` when they
        hold at least 60% of its variance (MNIST: 83%; where the variance is
        spread more evenly, what they leave out is not noise), else all the
        features; None: always all the features. A number needs
        dense data and the euclidean metric. ``transform`` projects new
        samples the same way; ``inverse_transform`` and :meth:`score` work
        in all the features.
    refine : bool or "auto", default="auto"
        Solve in two phases: the first half of ``max_iter`` iterations solves
        the problem above, whose log1p pull (exponent 1.5) gathers each
        cluster; the second half solves a sharper problem on the same pairs,
        the pull's exponent lowered by a sixth (1.25: nearly linear, so each
        sample's nearest neighbours end up nearest) and the repulsion tripled
        (each cluster spreads enough for its inner arrangement to show). Like
        t-SNE's early exaggeration before its plain objective: the clusters
        keep their places, their insides sharpen. On MNIST-10k it raised
        trustworthiness from 0.958 to 0.967 at the same cost and 10-NN
        accuracy; on data of a few hundred samples it lowered it, so "auto"
        refines from 1,500 samples on. Only with a log1p attractive penalty
        and repulsion; other penalties are solved as given. The refined
        problem is the fitted one (:meth:`problem`, ``transform``).
    target_weight : float in [0, 1], default=0.0
        How much the labels passed to ``fit(X, y)`` shape the embedding: 0
        ignores them exactly; 1 stops attraction between different classes
        and doubles their repulsion. Labels reweight the neighbour pairs and
        add pairs of samples with equal (or close) targets; ``transform``
        never needs labels. See the user guide's section on labels.
    target_metric : {"auto", "categorical", "euclidean"}, default="auto"
        How y is read: "categorical" (classes: ints, strings or a pandas
        categorical; -1 or a missing value marks an unlabelled sample) or
        "euclidean" (numbers, NaN unlabelled). "auto" is "euclidean" for
        floating-point y whose known values are not all integers, else
        "categorical".
    constraint : {"centered", "standardized"} or Constraint, default=None
        None: "centered" with repulsion, "standardized" without.
    init : {"spectral", "quadratic", "pca", "random"} or array-like, \
            default="spectral"
        Initial embedding: "spectral" (PyMDE's name: "quadratic") is the
        Laplacian eigenmap of the neighbour graph; an array of shape
        (n_samples, n_components) is used as given.
    metric : str, default="euclidean"
        Distance between samples; "precomputed" takes a distance matrix (fit)
        and distances to the training samples (transform).
    max_iter : int, default=150
        Maximum number of solver iterations. 150 pays for the default's
        larger repulsive sample (see ``repulsive_fraction``): on MNIST-10k
        it solves in about the time 200 iterations of the drawn sample took,
        more trustworthy than either (``benchmarks/bench_iterations.py``
        scores the iterates of longer solves).
    eps : float, default=1e-5
        Relative tolerance of the solver (see :meth:`skmde.MDE.embed`).
    memory_size : int, default=10
        L-BFGS memory.
    device : str or torch.device, default="cpu"
        Where to work: "cpu", "cuda", "cuda:N" or "auto". On a GPU the solve,
        ``transform``'s solves and the neighbour search of dense data
        ("euclidean" or "cosine", exact there) run on it. Fitted state is
        numpy on the CPU whatever the device: a model fitted on a GPU loads
        and transforms on a machine without one.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the solver. Outputs have the dtype of the input.
    random_state : int, RandomState instance or None, default=None
        Seeds the repulsive sample, the initialization and the per-row
        randomness of ``transform``. Equal seeds give equal results.
    n_jobs : int, default=None
        Threads torch may use during ``fit``/``transform`` (-1: all cores).
        None adapts to the machine: small data and problems under a million
        pairs run on one thread (a second gains little), larger ones time
        their steps and drop to one thread when another process keeps a
        core busy. torch's setting is restored afterwards. The embedding does
        not depend on it: the same for every ``n_jobs``, bit for bit, except
        where pynndescent finds the neighbours (above 200,000 samples, when
        the clustered search misses its quality target): it runs on
        ``n_jobs`` threads, by default on all cores, and its neighbours
        depend on the count.
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
        "pca_components": [
            None,
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "refine": ["boolean", StrOptions({"auto"})],
        "target_weight": [Interval(Real, 0, 1, closed="both")],
        "target_metric": [StrOptions({"auto", "categorical", "euclidean"})],
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
        pca_components="auto",
        refine="auto",
        target_weight=0.0,
        target_metric="auto",
        constraint=None,
        init="spectral",
        metric="euclidean",
        max_iter=150,
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
        self.pca_components = pca_components
        self.refine = refine
        self.target_weight = target_weight
        self.target_metric = target_metric
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
            pca_components=self.pca_components,
            refine=self.refine,
            **kwargs,
        )


class MDEDistances(_BaseMDE):
    """Embed samples so that their pairwise distances are preserved (MDE).

    Builds :func:`skmde.preserve_distances`' problem (all pairs when there are
    at most ``max_distances``, else a uniform sample), solves it, and embeds new
    samples with ``transform`` by matching their distances to 256 fitted
    samples drawn at fit time.

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
        "precomputed": X is a square matrix of distances (fit) or the
        distances to the training samples (transform). In a sparse matrix the
        unstored entries are unknown: the fit preserves shortest-path lengths
        through the stored distances, and a new sample is placed by its stored
        distances.
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
        "target_weight": [Interval(Real, 0, 1, closed="both")],
        "target_metric": [StrOptions({"auto", "categorical", "euclidean"})],
        "init": [StrOptions({"auto", "pca", "mds", "random"}), "array-like"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        loss="quadratic",
        max_distances=None,
        target_weight=0.0,
        target_metric="auto",
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
        self.target_weight = target_weight
        self.target_metric = target_metric
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
        "neighbors" finds them as :class:`MDENeighbors` does by default: in
        the first 50 principal components of dense data of more than 100
        features, when they hold 60% of its variance (see its
        ``pca_components``).
    repulsive_fraction : float, default=None
        With "neighbors": repulsive pairs per neighbour pair (the default's
        repulsion spread over at least 50,000 pairs, as in
        :class:`MDENeighbors`; this problem is solved in one phase).
    target_weight : float in [0, 1], default=0.0
        With "neighbors": as in :class:`MDENeighbors` (labels reshape
        neighbour pairs; other relationships refuse them).
    target_metric : {"auto", "categorical", "euclidean"}, default="auto"
        As in :class:`MDENeighbors`.
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
            NameOptions(set(penalties.NAMES) | set(losses.NAMES)),
            callable,
        ],
        "repulsive_penalty": [None, _PENALTY_NAMES, callable],
        "n_neighbors": [None, Interval(Integral, 1, None, closed="left")],
        "repulsive_fraction": [None, Interval(Real, 0, None, closed="left")],
        "max_distances": [None, Interval(Real, 1, None, closed="left")],
        "target_weight": [Interval(Real, 0, 1, closed="both")],
        "target_metric": [StrOptions({"auto", "categorical", "euclidean"})],
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
        target_weight=0.0,
        target_metric="auto",
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
        self.target_weight = target_weight
        self.target_metric = target_metric
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
        if self.relationships != "neighbors" and "targets" in kwargs:
            raise ValueError(
                "labels (fit(X, y) with target_weight > 0) reshape neighbour "
                f"pairs; relationships={self.relationships!r} has none. Use "
                "relationships='neighbors' or target_weight=0."
            )
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
        return _custom.custom_problem(
            X,
            relationships=self.relationships,
            factory=factory,
            n_neighbors=self.n_neighbors,
            **(kwargs | {"init": self._init_for("random")}),
        )
