"""Embedding data that does not fit one process, with Dask (optional).

Fit a model on a representative sample on one machine, then transform
everything else partition by partition on a Dask cluster (a laptop's processes
or many machines). Because ``transform`` places each row on its own against
the fitted embedding, the result does not depend on how the rows are
partitioned: it equals the single-process ``transform`` of the same rows,
exactly.

Needs ``pip install "skmde[dask]"``; nothing else in skmde imports Dask.

See the large-data guide of the documentation for the whole recipe.
"""

import numpy as np

__all__ = ["sample_rows", "transform"]


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise ImportError(
            'skmde.dask needs Dask; install it with pip install "skmde[dask]".'
        ) from None
    return dask, da


def transform(model, X):
    """Transform a Dask array or DataFrame partition by partition.

    Parameters
    ----------
    model : fitted MDENeighbors, MDEDistances or MDEEmbedder
        It is put in the task graph once (one key), so each worker receives it
        once, whatever the number of partitions.
    X : dask.array.Array or dask.dataframe.DataFrame
        Rows to embed, chunked along rows. An array chunked along columns is
        rechunked to whole rows first.

    Returns
    -------
    dask.array.Array or dask.dataframe.DataFrame
        Lazy; ``.compute()`` it, or write it out partition by partition
        (``to_parquet``, ``to_npy_stack``). A DataFrame keeps the index of
        ``X`` and gets the columns of ``model.get_feature_names_out()``.

    Raises
    ------
    ValueError
        If ``X`` does not have the model's number of features, or (a
        DataFrame) not its feature names in the fitted order, before any task
        runs; or the model is not fitted.
    TypeError
        If ``X`` is not a Dask array or DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> import skmde
    >>> from skmde.dask import transform
    >>> X = np.random.default_rng(0).normal(size=(600, 5))
    >>> model = skmde.MDENeighbors(random_state=0).fit(X[:300])
    >>> lazy = transform(model, da.from_array(X, chunks=(100, 5)))
    >>> np.array_equal(lazy.compute(), model.transform(X))
    True
    """
    dask, da = _dask()
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    n_features = model.n_features_in_
    is_frame = hasattr(X, "map_partitions") and hasattr(X, "columns")
    if not is_frame and not isinstance(X, da.Array):
        raise TypeError(
            "X must be a dask.array.Array or a dask.dataframe.DataFrame; got "
            f"{type(X).__name__} (use model.transform for in-memory data)."
        )
    model._prepare_for_new_rows()  # once here, not in each worker
    shared = dask.delayed(model, pure=True)  # one key: sent to each worker once
    names = list(model.get_feature_names_out())
    if is_frame:
        if len(X.columns) != n_features:
            raise ValueError(
                f"X has {len(X.columns)} features, but the model was fitted on "
                f"{n_features}."
            )
        fitted = getattr(model, "feature_names_in_", None)
        if fitted is not None and list(X.columns) != list(fitted):
            raise ValueError(
                "The feature names should match those that were passed during "
                f"fit, in the same order: the model was fitted on {list(fitted)}; "
                f"X has {list(X.columns)}."
            )
        import pandas as pd

        meta = pd.DataFrame({name: np.array([], dtype=np.float64) for name in names})
        return X.map_partitions(_transform_frame, shared, names, meta=meta)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"X must have shape (n_samples, {n_features}) to match the model; got "
            f"{X.shape}."
        )
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # each block must hold whole rows
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    return X.map_blocks(
        _transform_block, shared, dtype=dtype, chunks=(X.chunks[0], (len(names),))
    )


def _transform_block(block, model):
    if block.shape[0] == 0:
        return np.empty((0, model.n_components), dtype=block.dtype)
    return np.asarray(model.transform(block))


def _transform_frame(frame, model, names):
    import pandas as pd

    # the frame itself: transform checks its feature names as in memory
    values = (
        np.asarray(model.transform(frame)) if len(frame) else np.empty((0, len(names)))
    )
    return pd.DataFrame(values, index=frame.index, columns=names)


def sample_rows(X, n_samples, y=None, random_state=None):
    """Indices of a reproducible sample of rows, stratified when ``y`` is given.

    Use it to choose the rows a model is fitted on before the rest is
    transformed. With labels, each class keeps its share of the rows (rounded,
    at least one row per class that has any).

    Parameters
    ----------
    X : array-like, Dask array or DataFrame with a length
        Only its number of rows is used.
    n_samples : int
    y : array-like of shape (n_rows,), optional
        Labels (in memory).
    random_state : int, numpy Generator or RandomState, optional

    Returns
    -------
    ndarray of int64, sorted
        Row positions; ``X[idx]`` (or ``X.loc``/``iloc`` for frames) selects them.

    Examples
    --------
    >>> import numpy as np
    >>> from skmde.dask import sample_rows
    >>> sample_rows(np.zeros((1000, 3)), 4, random_state=0).shape
    (4,)
    >>> y = np.repeat([0, 1], [900, 100])
    >>> np.bincount(y[sample_rows(y, 100, y=y, random_state=0)])
    array([90, 10])
    """
    from ._inputs import check_int
    from ._utils import numpy_generator

    n_rows = (
        int(X.shape[0]) if hasattr(X, "shape") and not _is_nan(X.shape[0]) else len(X)
    )
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    if n_samples > n_rows:
        raise ValueError(f"n_samples={n_samples} is more than the {n_rows} rows.")
    rng = numpy_generator(random_state)
    if y is None:
        return np.sort(rng.choice(n_rows, n_samples, replace=False))
    y = np.asarray(y)
    if len(y) != n_rows:
        raise ValueError(f"y has {len(y)} labels for {n_rows} rows.")
    classes, codes = np.unique(y, return_inverse=True)
    counts = np.bincount(codes)
    share = np.maximum(1, np.round(counts * n_samples / n_rows)).astype(int)
    chosen = [
        rng.choice(np.flatnonzero(codes == c), min(share[c], counts[c]), replace=False)
        for c in range(len(classes))
    ]
    return np.sort(np.concatenate(chosen))


def _is_nan(value):
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False
