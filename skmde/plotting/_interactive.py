"""Interactive figures with plotly: hover, zoom, pan, a legend per class or a
colour bar, and one self-contained HTML file. Large embeddings are shaded by
density beneath a sample of points that answer the hover."""

import base64
import io

import numpy as np

from . import _density
from ._style import edge_alpha, to_hex

#: points drawn as SVG up to this many, WebGL above (SVG slows down past it)
SVG_LIMIT = 5_000
#: points that carry hover information on a density-shaded figure
HOVER_SAMPLE = 20_000


def plotly():
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError(
            "interactive plots need plotly; install it with "
            'pip install "skmde[interactive]".'
        ) from None
    return go


def _continuous_scale(name):
    """A plotly colour scale from a matplotlib colour map name (sampled), or
    the name itself for plotly to resolve when matplotlib is absent."""
    try:
        import matplotlib
    except ImportError:
        return name
    cmap = matplotlib.colormaps.get_cmap(name)
    return [[x, to_hex(cmap(x))] for x in np.linspace(0.0, 1.0, 11)]


def _hover(rows, col, hover):
    """``customdata`` and a hover template: the row, its label, the columns."""
    fields = [("row", rows)]
    if col.kind == "categorical":
        fields.append((col.title or "label", col.categories[col.codes[rows]]))
    elif col.kind == "continuous":
        fields.append((col.title or "value", col.values[rows]))
    fields += [(name, values[rows]) for name, values in hover.items()]
    data = np.column_stack([np.asarray(v, dtype=object) for _, v in fields])
    template = "<br>".join(
        f"{name}: %{{customdata[{i}]}}" for i, (name, _) in enumerate(fields)
    )
    return data, template + "<extra></extra>"


def _points(go, X, rows, col, hover, size, name=None, color=None, showlegend=False):
    m = X.shape[1]
    customdata, template = _hover(rows, col, hover)
    marker = {"size": size, "line": {"width": 0}}
    if color is not None:
        marker["color"] = color
    elif col.kind == "continuous":
        marker.update(
            color=col.values[rows],
            colorscale=_continuous_scale(col.color_map),
            colorbar={"title": {"text": col.title or ""}},
            cmin=np.nanmin(col.values),
            cmax=np.nanmax(col.values),
        )
    elif col.kind == "explicit":
        marker["color"] = [
            to_hex(c) if not isinstance(c, str) else c for c in col.colors[rows]
        ]
    kwargs = {
        "mode": "markers",
        "marker": marker,
        "customdata": customdata,
        "hovertemplate": template,
        "name": name,
        "showlegend": showlegend,
    }
    if m == 3:
        return go.Scatter3d(x=X[rows, 0], y=X[rows, 1], z=X[rows, 2], **kwargs)
    y = X[rows, 1] if m == 2 else np.zeros(len(rows))
    trace = go.Scatter if len(X) <= SVG_LIMIT else go.Scattergl
    return trace(x=X[rows, 0], y=y, **kwargs)


def _edge_trace(go, X, edges):
    m = X.shape[1]
    coords = [X[:, j] for j in range(m)] if m > 1 else [X[:, 0], np.zeros(len(X))]
    lines = []
    for c in coords:
        seg = np.full((len(edges), 3), np.nan)
        seg[:, 0], seg[:, 1] = c[edges[:, 0]], c[edges[:, 1]]
        lines.append(seg.ravel())
    style = {
        "mode": "lines",
        "line": {"color": f"rgba(90,90,90,{edge_alpha(len(edges)):.3f})", "width": 1},
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "edges",
    }
    if m == 3:
        return go.Scatter3d(x=lines[0], y=lines[1], z=lines[2], **style)
    return go.Scattergl(x=lines[0], y=lines[1], **style)


def _image(col, X):
    """The density-shaded picture of a large 2-d embedding, as a PNG data URI
    and its extent."""
    from PIL import Image

    from ._static import _cmap  # matplotlib colour maps for values

    rgba, extent = _density.picture(X, col, _cmap)
    pixels = (np.clip(rgba[::-1], 0, 1) * 255).astype(np.uint8)  # top row first
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return uri, extent


def figure(X, col, hover, edges, marker_size, width, height, density, random_state=0):
    """The plotly Figure of the checked embedding ``X`` (n, 1 to 3)."""
    go = plotly()
    n, m = X.shape
    fig = go.Figure()
    if edges is not None and len(edges):
        fig.add_trace(_edge_trace(go, X, edges))
    size = max(2.0, np.sqrt(marker_size) * 1.2)
    rows = np.arange(n)
    shaded = density and m == 2
    if shaded:
        uri, (x0, x1, y0, y1) = _image(col, X)
        fig.add_layout_image(
            source=uri,
            xref="x",
            yref="y",
            x=x0,
            y=y1,
            sizex=x1 - x0,
            sizey=y1 - y0,
            sizing="stretch",
            layer="below",
        )
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(n, size=min(n, HOVER_SAMPLE), replace=False))
        size = 3.0
        fig.update_xaxes(range=[x0, x1])
        fig.update_yaxes(range=[y0, y1])
    opacity = 0.35 if shaded else 1.0
    if col.kind == "categorical":
        for k, (category, rgb) in enumerate(zip(col.categories, col.colors)):
            subset = rows[col.codes[rows] == k]
            trace = _points(
                go,
                X,
                subset,
                col,
                hover,
                size,
                name=str(category),
                color=to_hex(rgb),
                showlegend=True,
            )
            trace.marker.opacity = opacity
            fig.add_trace(trace)
    else:
        trace = _points(go, X, rows, col, hover, size, name="points")
        trace.marker.opacity = opacity
        fig.add_trace(trace)
    axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": ""}
    layout = {
        "width": width,
        "height": height,
        "template": "plotly_white",
        "legend": {"title": {"text": col.title or ""}, "itemsizing": "constant"},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "hovermode": "closest",
    }
    if m == 3:
        layout["scene"] = {
            "xaxis": axis,
            "yaxis": axis,
            "zaxis": axis,
            "aspectmode": "data",
        }
    else:
        layout["xaxis"] = axis
        layout["yaxis"] = dict(axis, scaleanchor="x", scaleratio=1)
    fig.update_layout(**layout)
    return fig


def save(fig, path):
    """One self-contained HTML file (plotly.js inside: no network to open it)."""
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
