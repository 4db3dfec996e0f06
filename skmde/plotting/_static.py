"""Static pictures with matplotlib: scatter plots (density-shaded when large),
edges, the CDF of distortions and GIFs of a solve."""

import os
import tempfile

import numpy as np

from . import _density
from ._style import edge_alpha, to_hex


def pyplot():
    try:
        import matplotlib

        if os.environ.get("MPLBACKEND") is None and not _in_notebook():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            'skmde\'s plots need matplotlib; install it with pip install "skmde[plot]".'
        ) from None
    return plt


def _in_notebook():
    try:
        from IPython import get_ipython

        return get_ipython() is not None
    except ImportError:
        return False


def axes(m, figsize_inches, background_color, ax=None):
    """``(figure, axes, created)``: the given axes (checked against ``m``) or
    a new figure with one axes (3-d for ``m == 3``)."""
    if ax is not None:
        if (m == 3) != (getattr(ax, "name", "") == "3d"):
            raise ValueError(
                f"ax must be {'a 3-d' if m == 3 else 'a 2-d'} Axes for a "
                f"{m}-column embedding."
            )
        fig, created = ax.figure, False
    else:
        fig = pyplot().figure(figsize=figsize_inches)
        ax = fig.add_subplot(projection="3d" if m == 3 else None)
        created = True
    if background_color is not None:
        ax.set_facecolor(background_color)
    return fig, ax, created


def _coords(X):
    n, m = X.shape
    return [X[:, j] for j in range(m)] if m > 1 else [X[:, 0], np.zeros(n)]


def _edges(ax, coords, edges):
    segments = np.stack(
        [
            np.column_stack([c[edges[:, 0]] for c in coords]),
            np.column_stack([c[edges[:, 1]] for c in coords]),
        ],
        axis=1,
    )
    style = {
        "colors": "0.35",
        "linewidths": 0.6,
        "alpha": edge_alpha(len(edges)),
        "zorder": 1,
    }
    if len(coords) == 3:
        from mpl_toolkits.mplot3d.art3d import Line3DCollection

        lines = Line3DCollection(segments, **style)
        ax.add_collection3d(lines)
    else:
        from matplotlib.collections import LineCollection

        lines = LineCollection(segments, **style)
        ax.add_collection(lines)
    return lines


def _legend(ax, col):
    import matplotlib.lines

    handles = [
        matplotlib.lines.Line2D(
            [], [], marker="o", linestyle="", markersize=6, color=rgb, label=str(c)
        )
        for c, rgb in zip(col.categories, col.colors)
    ]
    return ax.legend(
        handles=handles,
        title=col.title,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize="small",
        ncol=2 if len(handles) > 15 else 1,
    )


def _cmap(name):
    import matplotlib

    return matplotlib.colormaps.get_cmap(name)


def _shaded(ax, X, col):
    """Draw the 2-d ``X`` as a density-shaded image; returns the image."""
    image, extent = _density.picture(X, col, _cmap)
    artist = ax.imshow(
        image, extent=extent, origin="lower", interpolation="nearest", zorder=2
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    return artist


def draw(ax, X, col, edges, marker_size, density, legend=True):
    """Scatter (or shade) ``X`` on ``ax`` with ``edges`` beneath; returns a
    dict of the artists."""
    m = X.shape[1]
    coords = _coords(X)
    artists = {}
    if edges is not None and len(edges):
        artists["edges"] = _edges(ax, coords, edges)
    kwargs = {"s": marker_size, "zorder": 2, "linewidths": 0}
    if density and m == 2:
        artists["image"] = _shaded(ax, X, col)
        if col.kind == "continuous" and legend:
            import matplotlib.cm
            import matplotlib.colors

            mappable = matplotlib.cm.ScalarMappable(
                matplotlib.colors.Normalize(
                    np.nanmin(col.values), np.nanmax(col.values)
                ),
                _cmap(col.color_map),
            )
            artists["colorbar"] = ax.figure.colorbar(mappable, ax=ax, label=col.title)
    elif col.kind == "explicit":
        artists["points"] = ax.scatter(*coords, c=col.colors, **kwargs)
    elif col.kind == "categorical":
        colors = np.array([to_hex(c) for c in col.colors])[col.codes]
        artists["points"] = ax.scatter(*coords, c=colors, **kwargs)
    elif col.kind == "continuous":
        artists["points"] = ax.scatter(
            *coords, c=col.values, cmap=col.color_map, **kwargs
        )
        if legend:
            artists["colorbar"] = ax.figure.colorbar(
                artists["points"], ax=ax, label=col.title, shrink=0.8
            )
    else:
        artists["points"] = ax.scatter(*coords, **kwargs)
    if col.kind == "categorical" and legend:
        artists["legend"] = _legend(ax, col)
    _style_axes(ax, X, fixed_limits="image" in artists)
    return artists


def _style_axes(ax, X, fixed_limits=False):
    """No ticks (coordinates have no units), light frame, equal aspect."""
    m = X.shape[1]
    ax.set_xticks([])
    ax.set_yticks([])
    if m == 3:
        ax.set_zticks([])
        span = np.ptp(X, axis=0)
        ax.set_box_aspect(np.maximum(span, 1e-3 * span.max() + 1e-12))
    else:
        for spine in ax.spines.values():
            spine.set_color("0.8")
        if m == 2:  # shaded images fix the limits: the box adjusts instead
            ax.set_aspect("equal", adjustable="box" if fixed_limits else "datalim")


def limits(ax, m, axis_limits):
    if axis_limits is None:
        return
    low, high = axis_limits
    ax.set_xlim(low, high)
    if m >= 2:
        ax.set_ylim(low, high)
    if m == 3:
        ax.set_zlim(low, high)


def cdf(groups, figsize_inches, ax=None):
    """Plot one CDF per group ``{label: values}``; returns the Axes."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize_inches)
    positive = all((v > 0).all() for v in groups.values())
    for label, values in groups.items():
        values = np.sort(values)
        ax.plot(
            values,
            np.arange(1, len(values) + 1) / len(values),
            label=f"{label} ({len(values)})" if len(groups) > 1 else None,
        )
    if positive:
        ax.set_xscale("log")
    else:
        smallest = min(
            (np.abs(v[v != 0]).min() for v in groups.values() if (v != 0).any()),
            default=1.0,
        )
        ax.set_xscale("symlog", linthresh=smallest)
    ax.set_xlabel("distortion")
    ax.set_ylabel("fraction of pairs")
    ax.set_ylim(0, 1.01)
    ax.grid(True, alpha=0.3)
    if len(groups) > 1:
        ax.legend(loc="lower right", frameon=False)
    return ax


def gif(
    frames,
    titles,
    col,
    edges,
    marker_size,
    axis_limits,
    background_color,
    figsize_inches,
    fps,
    savepath,
):
    """Write the frames (arrays of one shape) as a GIF; returns its path."""
    plt = pyplot()
    try:
        import PIL  # noqa: F401
        from matplotlib.animation import FuncAnimation, PillowWriter
    except ImportError:
        raise ImportError(
            'skmde.play needs pillow; install it with pip install "skmde[plot]".'
        ) from None
    m = frames[0].shape[1]
    fig, ax, _ = axes(m, figsize_inches, background_color)
    try:

        def frame(i):
            ax.clear()
            if background_color is not None:
                ax.set_facecolor(background_color)
            draw(
                ax,
                frames[i],
                col,
                edges,
                marker_size,
                density=False,
                legend=col.kind == "categorical",
            )
            limits(ax, m, axis_limits)
            ax.set_title(titles[i])

        animation = FuncAnimation(fig, frame, frames=len(frames))
        if savepath is None:
            handle, savepath = tempfile.mkstemp(suffix=".gif", prefix="skmde-")
            os.close(handle)
        animation.save(str(savepath), writer=PillowWriter(fps=fps))
    finally:
        plt.close(fig)
    return str(savepath)
