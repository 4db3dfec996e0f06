"""Pictures of embeddings: scatter plots, the CDF of distortions, GIFs.

matplotlib (and pillow, for GIFs) are an optional extra, ``skmde[plot]``; they
are imported when a function here is called, never when skmde is imported.
"""

import os
import tempfile

import numpy as np
import torch

__all__ = ["distortions_cdf", "play", "plot"]


def _pyplot():
    try:
        import matplotlib

        if os.environ.get("MPLBACKEND") is None and not _interactive():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            'skmde\'s plots need matplotlib; install it with pip install "skmde[plot]".'
        ) from None
    return plt


def _interactive():
    try:
        from IPython import get_ipython

        return get_ipython() is not None
    except ImportError:
        return False


def _as_array(X, name):
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or not 1 <= X.shape[1] <= 3:
        raise ValueError(
            f"{name} must have 1, 2 or 3 columns to be plotted; got shape {X.shape}."
        )
    return X


def _is_categorical(values):
    values = np.asarray(values)
    if values.dtype.kind in "OUSb":
        return True
    if values.dtype.kind in "iu":
        return len(np.unique(values)) <= 30
    return False


def _draw(ax, X, color_by, color_map, colors, edges, marker_size, legend=True):
    """Scatter X (n, 1-3) on ax, edges underneath; returns the artists."""
    n, m = X.shape
    coords = [X[:, j] for j in range(m)] if m > 1 else [X[:, 0], np.zeros(n)]
    artists = {}
    if edges is not None:
        edges = np.asarray(edges.cpu() if isinstance(edges, torch.Tensor) else edges)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"edges must have shape (n_edges, 2); got {edges.shape}.")
        segments = np.stack(
            [
                np.column_stack([c[edges[:, 0]] for c in coords]),
                np.column_stack([c[edges[:, 1]] for c in coords]),
            ],
            axis=1,
        )
        if m == 3:
            from mpl_toolkits.mplot3d.art3d import Line3DCollection as Collection
        else:
            from matplotlib.collections import LineCollection as Collection
        lines = Collection(segments, colors="0.6", linewidths=0.5, alpha=0.5, zorder=1)
        if m == 3:
            ax.add_collection3d(lines)
        else:
            ax.add_collection(lines)
        artists["edges"] = lines
    kwargs = {"s": marker_size, "zorder": 2}
    if colors is not None:
        colors = np.asarray(colors)
        if len(colors) != n:
            raise ValueError(
                f"colors must have one entry per item ({n}); got {len(colors)}."
            )
        artists["points"] = ax.scatter(*coords, c=colors, **kwargs)
    elif color_by is not None:
        color_by = np.asarray(
            color_by.cpu() if isinstance(color_by, torch.Tensor) else color_by
        )
        if len(color_by) != n:
            raise ValueError(
                f"color_by must have one value per item ({n}); got {len(color_by)}."
            )
        if _is_categorical(color_by):
            import matplotlib

            categories, codes = np.unique(color_by, return_inverse=True)
            cmap = matplotlib.colormaps.get_cmap(color_map).resampled(len(categories))
            artists["points"] = ax.scatter(
                *coords,
                c=codes,
                cmap=cmap,
                vmin=-0.5,
                vmax=len(categories) - 0.5,
                **kwargs,
            )
            if legend:
                handles = [
                    matplotlib.lines.Line2D(
                        [], [], marker="o", linestyle="", color=cmap(i), label=str(c)
                    )
                    for i, c in enumerate(categories)
                ]
                artists["legend"] = ax.legend(
                    handles=handles, loc="best", markerscale=1.0, fontsize="small"
                )
        else:
            artists["points"] = ax.scatter(
                *coords, c=color_by, cmap=color_map, **kwargs
            )
            if legend:
                artists["colorbar"] = ax.figure.colorbar(artists["points"], ax=ax)
    else:
        artists["points"] = ax.scatter(*coords, **kwargs)
    if m == 1:
        ax.set_yticks([])
    return artists


def _figure(m, figsize_inches, background_color):
    plt = _pyplot()
    fig = plt.figure(figsize=figsize_inches)
    ax = fig.add_subplot(projection="3d" if m == 3 else None)
    if background_color is not None:
        ax.set_facecolor(background_color)
    return fig, ax


def _limits(ax, m, axis_limits):
    if axis_limits is None:
        return
    low, high = axis_limits
    ax.set_xlim(low, high)
    if m >= 2:
        ax.set_ylim(low, high)
    if m == 3:
        ax.set_zlim(low, high)


def plot(
    X,
    color_by=None,
    color_map="Spectral",
    colors=None,
    edges=None,
    axis_limits=None,
    background_color=None,
    marker_size=1.0,
    figsize_inches=(8.0, 8.0),
    savepath=None,
):
    """Scatter plot of an embedding in one, two or three dimensions.

    Parameters
    ----------
    X : array-like or torch.Tensor of shape (n_items, 1 to 3)
        The embedding.
    color_by : array-like of shape (n_items,), optional
        Values to colour the items by: categorical (strings, booleans, or at
        most 30 distinct integers) get a legend, continuous ones a colorbar.
    color_map : str or matplotlib colormap, default="Spectral"
    colors : array-like of shape (n_items,) or (n_items, 3 or 4), optional
        Explicit colours, instead of ``color_by``.
    edges : array-like of shape (n_edges, 2), optional
        Pairs to draw as lines under the points.
    axis_limits : (low, high), optional
        Limits of every axis.
    background_color : str, optional
    marker_size : float, default=1.0
    figsize_inches : (width, height), default=(8, 8)
    savepath : str or path, optional
        Where to save the figure (format from the suffix, e.g. ``.png``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    X = _as_array(X, "X")
    if color_by is not None and colors is not None:
        raise ValueError("pass color_by or colors, not both.")
    fig, ax = _figure(X.shape[1], figsize_inches, background_color)
    _draw(ax, X, color_by, color_map, colors, edges, marker_size)
    _limits(ax, X.shape[1], axis_limits)
    if X.shape[1] == 2:
        ax.set_aspect("equal", adjustable="datalim")
    if savepath is not None:
        fig.savefig(savepath, bbox_inches="tight")
    return ax


def distortions_cdf(distortions, figsize_inches=(8.0, 3.0), savepath=None):
    """Plot the cumulative distribution of distortions.

    The x-axis is logarithmic when all distortions are positive.

    Parameters
    ----------
    distortions : array-like or torch.Tensor of shape (n_edges,)
    figsize_inches : (width, height), default=(8, 3)
    savepath : str or path, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    plt = _pyplot()
    if isinstance(distortions, torch.Tensor):
        distortions = distortions.detach().cpu().numpy()
    values = np.sort(np.asarray(distortions, dtype=np.float64).ravel())
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("distortions must be a non-empty array of finite values.")
    fig, ax = plt.subplots(figsize=figsize_inches)
    ax.plot(values, np.arange(1, len(values) + 1) / len(values))
    if values[0] > 0:
        ax.set_xscale("log")
    ax.set_xlabel("distortion")
    ax.set_ylabel("fraction of edges")
    ax.set_ylim(0, 1.01)
    ax.grid(True, alpha=0.3)
    if savepath is not None:
        fig.savefig(savepath, bbox_inches="tight")
    return ax


def play(
    snapshots,
    color_by=None,
    color_map="Spectral",
    colors=None,
    edges=None,
    axis_limits=None,
    background_color=None,
    marker_size=1.0,
    figsize_inches=(8.0, 8.0),
    fps=None,
    savepath=None,
):
    """An animated GIF of a sequence of embeddings (one frame per snapshot).

    Parameters
    ----------
    snapshots : sequence of arrays or tensors of shape (n_items, 1 to 3)
        For instance ``mde.solve_stats.snapshots`` after
        ``mde.embed(snapshot_every=k)``.
    color_by, color_map, colors, edges, axis_limits, background_color, \
marker_size, figsize_inches
        As in :func:`plot`. Without ``axis_limits`` every frame uses the limits
        that hold all snapshots.
    fps : float, optional
        Frames per second (default: the animation lasts about 3 seconds).
    savepath : str or path, optional
        Where to write the GIF; by default a new temporary file.

    Returns
    -------
    str
        The path of the GIF.
    """
    plt = _pyplot()
    try:
        import PIL  # noqa: F401
        from matplotlib.animation import FuncAnimation, PillowWriter
    except ImportError:
        raise ImportError(
            'skmde.play needs pillow; install it with pip install "skmde[plot]".'
        ) from None
    frames = [_as_array(s, "snapshots") for s in snapshots]
    if not frames:
        raise ValueError("snapshots is empty.")
    m = frames[0].shape[1]
    if axis_limits is None:
        stacked = np.concatenate(frames)
        pad = 0.05 * (stacked.max() - stacked.min() + 1e-12)
        axis_limits = (stacked.min() - pad, stacked.max() + pad)
    fig, ax = _figure(m, figsize_inches, background_color)

    def draw(i):
        ax.clear()
        if background_color is not None:
            ax.set_facecolor(background_color)
        _draw(
            ax, frames[i], color_by, color_map, colors, edges, marker_size, legend=False
        )
        _limits(ax, m, axis_limits)
        ax.set_title(f"frame {i + 1} of {len(frames)}")

    fps = fps if fps is not None else max(1.0, len(frames) / 3.0)
    animation = FuncAnimation(fig, draw, frames=len(frames))
    if savepath is None:
        handle, savepath = tempfile.mkstemp(suffix=".gif", prefix="skmde-")
        os.close(handle)
    animation.save(str(savepath), writer=PillowWriter(fps=fps))
    plt.close(fig)
    return str(savepath)
