"""Pictures of embeddings: scatter plots (static or interactive), density
shading for large embeddings, the CDF of distortions, GIFs of a solve.

matplotlib and pillow are the ``skmde[plot]`` extra, plotly the
``skmde[interactive]`` extra; they are imported when a function here is
called, never when skmde is imported.
"""

import pathlib

import numpy as np

from ._style import (
    DENSITY_THRESHOLD,
    as_embedding,
    coloring,
    edge_array,
    hover_columns,
    to_numpy,
)
from ._style import marker_size as default_marker_size

__all__ = ["DENSITY_THRESHOLD", "distortions_cdf", "play", "plot"]


def _density_flag(density, n):
    if density == "auto":
        return n > DENSITY_THRESHOLD
    if not isinstance(density, (bool, np.bool_)):
        raise ValueError(f"density must be 'auto', True or False; got {density!r}.")
    return bool(density)


def plot(
    X,
    color_by=None,
    color_map=None,
    colors=None,
    edges=None,
    axis_limits=None,
    background_color=None,
    marker_size=None,
    figsize_inches=(8.0, 8.0),
    savepath=None,
    *,
    ax=None,
    interactive=False,
    hover=None,
    title=None,
    density="auto",
):
    """Plot an embedding in one, two or three dimensions.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_points, 1 to 3)
        The embedding.
    color_by : array-like of shape (n_points,), optional
        Labels (strings, booleans, or at most 30 distinct integers) get one
        colour each and a legend; numbers get a colour map and a colour bar.
        NaN values are refused.
    color_map : str, optional
        A matplotlib colour map. Default: tab10 (up to 10 classes), Kelly's
        contrast colours (up to 20) or evenly spaced hues for labels;
        ``"viridis"`` for numbers.
    colors : array-like of shape (n_points,) or (n_points, 3 or 4), optional
        Explicit colours, instead of ``color_by``.
    edges : array-like of shape (n_edges, 2) or Graph, optional
        Pairs to draw as lines beneath the points, fainter the more there are.
    axis_limits : (low, high), optional
        Limits of every axis (static plots).
    background_color : str, optional
    marker_size : float, optional
        Marker area in points^2; default by the number of points, from 25 (a
        few hundred) down to 0.5.
    figsize_inches : (width, height), default=(8, 8)
        Interactive figures are 100 pixels per inch.
    savepath : str or path, optional
        Static: an image file (format from the suffix, e.g. ``.png``).
        Interactive: an ``.html`` file that opens without network access.
    ax : matplotlib Axes, optional
        Draw into these axes (static, 3-d axes for 3 columns), e.g. a panel
        of a side-by-side figure.
    interactive : bool, default=False
        Return a plotly figure instead (the ``skmde[interactive]`` extra):
        hover shows each point's row, label and ``hover`` columns; zoom, pan,
        click a legend entry to hide a class. It shows inline in a notebook.
    hover : DataFrame or dict of arrays, optional
        Extra columns to show on hover (interactive), one value per point.
    title : str, optional
        The title of the legend or colour bar (and of the label on hover).
    density : "auto" or bool, default="auto"
        Shade 2-d embeddings by density instead of drawing each point:
        automatically above 100,000 points. Each pixel takes the mean colour
        of its points and an opacity that grows with their number (log
        scale). Interactive figures then draw the shading beneath a sample of
        20,000 points that answer the hover.

    Returns
    -------
    matplotlib.axes.Axes, or plotly.graph_objects.Figure when interactive

    Examples
    --------
    >>> import numpy as np
    >>> import skmde
    >>> X = np.random.default_rng(0).normal(size=(100, 2))
    >>> ax = skmde.plot(X, color_by=np.repeat(["a", "b"], 50))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['a', 'b']
    """
    X = as_embedding(X)
    n, m = X.shape
    col = coloring(n, color_by, colors, color_map, title=title)
    edges = edge_array(edges, n)
    shaded = _density_flag(density, n)
    size = default_marker_size(n) if marker_size is None else float(marker_size)
    if interactive:
        from . import _interactive

        if ax is not None:
            raise ValueError("ax is for static plots; interactive=True makes its own.")
        fig = _interactive.figure(
            X,
            col,
            hover_columns(hover, n),
            edges,
            size,
            int(figsize_inches[0] * 100),
            int(figsize_inches[1] * 100),
            shaded,
        )
        if background_color is not None:
            fig.update_layout(plot_bgcolor=background_color)
        if savepath is not None:
            if pathlib.Path(savepath).suffix.lower() not in (".html", ".htm"):
                raise ValueError(
                    "savepath of an interactive plot must end in .html; got "
                    f"{savepath}."
                )
            _interactive.save(fig, savepath)
        return fig
    if hover is not None:
        raise ValueError("hover columns need interactive=True.")
    from . import _static

    fig, ax, created = _static.axes(m, figsize_inches, background_color, ax)
    try:
        _static.draw(ax, X, col, edges, size, shaded)
        _static.limits(ax, m, axis_limits)
        if savepath is not None:
            fig.savefig(savepath, bbox_inches="tight", dpi=100)
    except BaseException:
        if created:  # leave no blank figure behind
            _static.pyplot().close(fig)
        raise
    return ax


def distortions_cdf(
    distortions, figsize_inches=(8.0, 3.0), savepath=None, *, attractive=None, ax=None
):
    """Plot the cumulative distribution of distortions.

    Parameters
    ----------
    distortions : array-like or torch.Tensor of shape (n_edges,)
    figsize_inches : (width, height), default=(8, 3)
    savepath : str or path, optional
    attractive : array-like of bool, shape (n_edges,), optional
        Which pairs attract. Given, attractive and repulsive pairs get a curve
        each: repulsive distortions are small by design, and one curve of
        both would be a vertical line near 0. :meth:`skmde.MDE.distortions_cdf`
        passes it for penalties (positive weights attract).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    distortions = to_numpy(distortions)
    values = np.asarray(distortions, dtype=np.float64).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("distortions must be a non-empty array of finite values.")
    groups = {"all pairs": values}
    if attractive is not None:
        attractive = np.asarray(to_numpy(attractive))
        if attractive.shape != values.shape or attractive.dtype != bool:
            raise ValueError(
                f"attractive must be a boolean array of shape {values.shape}."
            )
        if attractive.any() and not attractive.all():
            groups = {
                "attractive pairs": values[attractive],
                "repulsive pairs": values[~attractive],
            }
    from . import _static

    ax = _static.cdf(groups, figsize_inches, ax)
    if savepath is not None:
        ax.figure.savefig(savepath, bbox_inches="tight")
    return ax


def play(
    snapshots,
    color_by=None,
    color_map=None,
    colors=None,
    edges=None,
    axis_limits=None,
    background_color=None,
    marker_size=None,
    figsize_inches=(8.0, 8.0),
    fps=None,
    savepath=None,
    *,
    iterations=None,
    title=None,
):
    """An animated GIF of a sequence of embeddings (one frame per snapshot).

    Parameters
    ----------
    snapshots : sequence of arrays or tensors of shape (n_points, 1 to 3)
        For instance ``mde.solve_stats.snapshots`` after
        ``mde.embed(snapshot_every=k)``.
    color_by, color_map, colors, edges, axis_limits, background_color, \
marker_size, figsize_inches, title
        As in :func:`plot`; labels get a legend on every frame. Without
        ``axis_limits`` every frame uses the limits that hold all snapshots.
    fps : float, optional
        Frames per second (default: the animation lasts about 3 seconds).
    savepath : str or path, optional
        Where to write the GIF; by default a new temporary file.
    iterations : sequence of int, optional
        The solver iteration of each snapshot, for the frame titles
        (:meth:`skmde.MDE.play` passes them); otherwise frames are numbered.

    Returns
    -------
    str
        The path of the GIF.
    """
    from . import _static

    frames = [as_embedding(s, "snapshots") for s in snapshots]
    if not frames:
        raise ValueError("snapshots is empty.")
    if len({f.shape for f in frames}) > 1:
        raise ValueError("snapshots must all have the same shape.")
    n, m = frames[0].shape
    col = coloring(n, color_by, colors, color_map, title=title)
    edges = edge_array(edges, n)
    if iterations is not None:
        iterations = [int(i) for i in iterations]
        if len(iterations) != len(frames):
            raise ValueError(
                f"iterations must have one entry per snapshot ({len(frames)}); "
                f"got {len(iterations)}."
            )
        titles = [f"iteration {i}" for i in iterations]
    else:
        titles = [f"frame {i + 1} of {len(frames)}" for i in range(len(frames))]
    if axis_limits is None:
        stacked = np.concatenate(frames)
        pad = 0.05 * (stacked.max() - stacked.min() + 1e-12)
        axis_limits = (stacked.min() - pad, stacked.max() + pad)
    size = default_marker_size(n) if marker_size is None else float(marker_size)
    fps = fps if fps is not None else max(1.0, len(frames) / 3.0)
    return _static.gif(
        frames,
        titles,
        col,
        edges,
        size,
        axis_limits,
        background_color,
        figsize_inches,
        fps,
        savepath,
    )
