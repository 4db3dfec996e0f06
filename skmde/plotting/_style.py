"""What every picture shares: the checked embedding, colours (a palette that
tells classes apart, a colour map for values), marker sizes, hover columns and
edges. No plotting library is imported here."""

from dataclasses import dataclass

import numpy as np

#: matplotlib's tab10: ten well-separated hues, for up to 10 classes
TAB10 = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
#: Kelly's colours of maximum contrast (without white, black and the two
#: palest), for 11 to 20 classes
KELLY = [
    "#875692",
    "#f38400",
    "#0067a5",
    "#be0032",
    "#008856",
    "#848482",
    "#e68fac",
    "#a1caf1",
    "#604e97",
    "#f6a600",
    "#b3446c",
    "#c2b280",
    "#882d17",
    "#8db600",
    "#654522",
    "#e25822",
    "#2b3d26",
    "#f99379",
    "#dcd300",
    "#f3c300",
]
#: colour map for continuous values: perceptually uniform, no pale middle
CONTINUOUS_MAP = "viridis"
#: above this many points, static plots shade by density instead of scattering
DENSITY_THRESHOLD = 100_000
#: categorical: strings, booleans, or integers with at most this many values
MAX_CATEGORIES = 30


def to_numpy(x):
    """A torch tensor (without importing torch) or a pandas/polars series as
    a numpy array; anything else as it is."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    return x


def as_embedding(X, name="X"):
    """``X`` as a float64 (n, 1 to 3) array with at least one row, finite."""
    X = to_numpy(X)
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array or tensor: {exc}") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or not 1 <= X.shape[1] <= 3:
        raise ValueError(
            f"{name} must have 1, 2 or 3 columns to be plotted; got shape {X.shape}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: there are no points to plot.")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} must be finite to be plotted.")
    return X


def marker_size(n):
    """Marker area in points^2 for ``n`` points: large for a few, 0.5 for many."""
    return float(np.clip(300.0 / np.sqrt(n), 0.5, 25.0))


def edge_alpha(n_edges):
    """Opacity of edges: faint when there are many, so 10k edges stay readable."""
    return float(np.clip(6.0 / np.sqrt(n_edges), 0.03, 0.6))


def _hex_to_rgb(code):
    return tuple(int(code[i : i + 2], 16) / 255.0 for i in (1, 3, 5))


def palette(k, color_map=None):
    """``k`` RGB triples (floats in [0, 1]) that tell ``k`` classes apart.

    tab10 up to 10 classes, Kelly's contrast colours up to 20, evenly spaced
    hues of the HSV circle above; ``color_map`` (a matplotlib colour map name)
    samples that map instead.
    """
    if color_map is not None:
        import matplotlib

        cmap = matplotlib.colormaps.get_cmap(color_map)
        return [tuple(cmap(x)[:3]) for x in np.linspace(0.0, 1.0, k)]
    if k <= len(TAB10):
        return [_hex_to_rgb(c) for c in TAB10[:k]]
    if k <= len(KELLY):
        return [_hex_to_rgb(c) for c in KELLY[:k]]
    import colorsys

    # golden-ratio hue steps, alternating lightness: neighbours differ most
    return [
        colorsys.hls_to_rgb((i * 0.618034) % 1.0, 0.32 if i % 2 else 0.45, 0.8)
        for i in range(k)
    ]


def to_hex(rgb):
    return "#" + "".join(f"{round(255 * c):02x}" for c in rgb[:3])


@dataclass
class Coloring:
    """How the points are coloured.

    ``kind``: "none", "categorical" (``categories``, ``codes`` into them and
    one ``colors`` entry each), "continuous" (``values`` and ``color_map``) or
    "explicit" (``colors``, one per point, as the user gave them).
    """

    kind: str
    title: str | None = None
    categories: np.ndarray | None = None
    codes: np.ndarray | None = None
    colors: object = None
    values: np.ndarray | None = None
    color_map: object = None


def _as_values(values, name, n):
    values = to_numpy(values)
    values = np.asarray(values)
    if values.ndim != 1 or len(values) != n:
        raise ValueError(
            f"{name} must have one value per point ({n}); got shape {values.shape}."
        )
    return values


def is_categorical(values):
    if values.dtype.kind in "OUSb":
        return True
    if values.dtype.kind in "iu":
        return len(np.unique(values)) <= MAX_CATEGORIES
    return False


def coloring(n, color_by=None, colors=None, color_map=None, title=None):
    """Check ``color_by`` / ``colors`` for ``n`` points; return a
    :class:`Coloring`. NaN and infinite values are refused."""
    if color_by is not None and colors is not None:
        raise ValueError("pass color_by or colors, not both.")
    if colors is not None:
        colors = np.asarray(colors)
        if len(colors) != n:
            raise ValueError(
                f"colors must have one entry per point ({n}); got {len(colors)}."
            )
        return Coloring("explicit", title=title, colors=colors)
    if color_by is None:
        return Coloring("none", title=title)
    values = _as_values(color_by, "color_by", n)
    if is_categorical(values):
        if values.dtype.kind == "O":
            values = values.astype(str)
        categories, codes = np.unique(values, return_inverse=True)
        return Coloring(
            "categorical",
            title=title,
            categories=categories,
            codes=codes.reshape(-1),
            colors=palette(len(categories), color_map),
        )
    if values.dtype.kind not in "fiu":
        raise TypeError(
            f"color_by must be labels or numbers; got dtype {values.dtype}."
        )
    values = values.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise ValueError(
            f"color_by has {len(rows)} NaN or infinite value(s) (first at rows "
            f"{rows[:5].tolist()}); drop those points or colour them by a label."
        )
    return Coloring(
        "continuous",
        title=title,
        values=values,
        color_map=CONTINUOUS_MAP if color_map is None else color_map,
    )


def hover_columns(hover, n):
    """``hover`` (a DataFrame or a dict of 1-d arrays) as an ordered dict of
    numpy arrays of length ``n``."""
    if hover is None:
        return {}
    if hasattr(hover, "columns") and hasattr(hover, "__getitem__"):  # a DataFrame
        items = [(str(c), hover[c]) for c in hover.columns]
    elif isinstance(hover, dict):
        items = [(str(k), v) for k, v in hover.items()]
    else:
        raise TypeError(
            f"hover must be a DataFrame or a dict of arrays; got "
            f"{type(hover).__name__}."
        )
    return {name: _as_values(v, f"hover column {name!r}", n) for name, v in items}


def edge_array(edges, n):
    """``edges`` (an array, a tensor or a :class:`~skmde.preprocess.Graph`) as a
    (p, 2) int64 array of rows in ``[0, n)``."""
    if edges is None:
        return None
    if hasattr(edges, "edges") and hasattr(edges, "n_items"):  # a Graph
        edges = edges.edges
    edges = to_numpy(edges)
    edges = np.asarray(edges)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError(f"edges must have shape (n_edges, 2); got {edges.shape}.")
    if edges.dtype.kind not in "iu":
        raise TypeError(f"edges must hold integers; got dtype {edges.dtype}.")
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(
            f"edges must index points in [0, {n - 1}]; got values from "
            f"{edges.min()} to {edges.max()}."
        )
    return edges.astype(np.int64)
