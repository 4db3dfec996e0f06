"""The metrics the neighbour search knows, by canonical name, and their aliases."""

#: metrics computed by the exact torch path
TORCH_METRICS = ("euclidean", "cosine")
#: metrics computed exactly by scipy's cdist (blocked), by canonical name
SCIPY_METRICS = (
    "braycurtis",
    "canberra",
    "chebyshev",
    "cityblock",
    "correlation",
    "dice",
    "hamming",
    "jaccard",
    "jensenshannon",
    "minkowski",
    "rogerstanimoto",
    "russellrao",
    "sokalmichener",
    "sokalsneath",
    "sqeuclidean",
    "yule",
)
#: metrics only pynndescent computes (always approximate)
PYNNDESCENT_METRICS = (
    "haversine",
    "hellinger",
    "wasserstein",
    "kantorovich",
    "symmetric_kl",
    "spearmanr",
    "tsss",
    "true_angular",
    "circular_kantorovich",
    "sinkhorn",
)
ALIASES = {
    "l2": "euclidean",
    "manhattan": "cityblock",
    "l1": "cityblock",
    "taxicab": "cityblock",
    "linf": "chebyshev",
    "linfinity": "chebyshev",
    "linfty": "chebyshev",
    "jensen_shannon": "jensenshannon",
    "jensen-shannon": "jensenshannon",
}
METRICS = (
    *TORCH_METRICS,
    *SCIPY_METRICS,
    *PYNNDESCENT_METRICS,
    *ALIASES,
    "precomputed",
)


def check_metric(metric):
    """Return the canonical name of ``metric`` or raise ValueError."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string; got {type(metric).__name__}.")
    name = ALIASES.get(metric.lower(), metric.lower())
    if name not in METRICS:
        raise ValueError(
            f"unknown metric {metric!r}; expected one of {sorted(METRICS)}."
        )
    return name
