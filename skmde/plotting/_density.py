"""Density shading for large embeddings: points binned on a pixel grid per
colour, the colours mixed by count and the opacity set by log density."""

import numpy as np


def grid(xy, width, height, extent):
    """The flat pixel index of each point of ``xy`` (n, 2) on a ``height x
    width`` grid spanning ``extent = (x0, x1, y0, y1)``."""
    x0, x1, y0, y1 = extent
    col = ((xy[:, 0] - x0) / max(x1 - x0, 1e-300) * width).astype(np.int64)
    row = ((xy[:, 1] - y0) / max(y1 - y0, 1e-300) * height).astype(np.int64)
    np.clip(col, 0, width - 1, out=col)
    np.clip(row, 0, height - 1, out=row)
    return row * width + col


def counts(xy, codes, n_codes, width, height, extent):
    """Points per pixel and colour: an int64 array (n_codes, height, width);
    row 0 is the bottom of the picture."""
    pixel = grid(xy, width, height, extent)
    if codes is None:
        codes, n_codes = np.zeros(len(xy), dtype=np.int64), 1
    flat = np.bincount(
        codes * (width * height) + pixel, minlength=n_codes * width * height
    )
    return flat.reshape(n_codes, height, width)


def _opacity(total):
    """0 where empty; from 0.25 (one point) to 1 (the densest pixel) on a log
    scale, so sparse outliers stay visible beside dense cores."""
    alpha = np.zeros(total.shape)
    filled = total > 0
    if filled.any():
        top = np.log1p(total.max())
        alpha[filled] = 0.25 + 0.75 * (
            np.log1p(total[filled]) / top if top > 0 else 1.0
        )
    return alpha


def shade(per_color, rgb):
    """An RGBA image (height, width, 4) of floats in [0, 1] from counts per
    colour (k, height, width) and one RGB triple per colour: each pixel's
    colour is the count-weighted mean of its colours."""
    rgb = np.asarray(rgb, dtype=np.float64).reshape(-1, 3)
    total = per_color.sum(axis=0)
    mixed = np.tensordot(per_color, rgb, axes=(0, 0))  # (height, width, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = np.where(total[..., None] > 0, mixed / total[..., None], 1.0)
    return np.concatenate([mixed, _opacity(total)[..., None]], axis=2)


def shade_values(xy, values, cmap, width, height, extent):
    """An RGBA image coloured by the mean of ``values`` per pixel (through
    ``cmap``, a callable mapping [0, 1] to RGBA), opacity by density."""
    pixel = grid(xy, width, height, extent)
    size = width * height
    total = np.bincount(pixel, minlength=size)
    sums = np.bincount(pixel, weights=values, minlength=size)
    lo, hi = values.min(), values.max()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums / total - lo) / (hi - lo if hi > lo else 1.0)
    rgba = np.asarray(cmap(np.nan_to_num(mean, nan=0.0)), dtype=np.float64)
    rgba[:, 3] = _opacity(total)
    return rgba.reshape(height, width, 4)


def raster_shape(extent, pixels=800):
    """(width, height) of a grid with square pixels, ``pixels`` on the longer
    side, at least 50 on the shorter."""
    x0, x1, y0, y1 = extent
    dx, dy = max(x1 - x0, 1e-300), max(y1 - y0, 1e-300)
    if dx >= dy:
        return pixels, int(np.clip(round(pixels * dy / dx), 50, pixels))
    return int(np.clip(round(pixels * dx / dy), 50, pixels)), pixels


def extent_of(xy, pad=0.02):
    """(x0, x1, y0, y1) around ``xy`` with a margin of ``pad`` of the span."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.maximum(hi - lo, 1e-12 * np.maximum(np.abs(hi), 1.0))
    lo, hi = lo - pad * span, hi + pad * span
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


#: the colour of points without labels or values (tab10's blue)
PLAIN_RGB = (0.12, 0.47, 0.71)


def picture(X, col, colormap):
    """The density-shaded RGBA image of the 2-d ``X`` coloured as the
    :class:`~skmde.plotting._style.Coloring` ``col`` says (``colormap(name)``
    resolves a colour map for values), and its extent; row 0 is the bottom."""
    extent = extent_of(X)
    width, height = raster_shape(extent)
    if col.kind == "continuous":
        rgba = shade_values(
            X, col.values, colormap(col.color_map), width, height, extent
        )
        return rgba, extent
    if col.kind == "categorical":
        codes, rgb = col.codes, col.colors
    else:
        codes, rgb = None, [PLAIN_RGB]
    return shade(counts(X, codes, len(rgb), width, height, extent), rgb), extent
