"""The interactive HTML, opened in a real browser (headless Chromium): the
points must be drawn, in their classes' colours. Marked slow; skips where no
Chromium is installed (``.ci/run`` installs the Debian package)."""

import shutil
import subprocess

import numpy as np
import pytest

import skmde
from skmde import plotting
from skmde.plotting import _style

pytestmark = pytest.mark.slow
pytest.importorskip("plotly")
Image = pytest.importorskip("PIL.Image")


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium found (apt-get install chromium)")


def screenshot(html, png, size=(700, 700)):
    command = [
        chromium(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
        "--virtual-time-budget=5000",
        f"--screenshot={png}",
        html.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    if not png.exists():
        pytest.skip(f"Chromium made no screenshot: {result.stderr[-300:]!r}")
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def pixels_near(image, hex_color, tolerance=40):
    target = np.array(_style._hex_to_rgb(hex_color)) * 255
    return int((np.abs(image - target).sum(axis=2) < tolerance).sum())


def three_blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return np.array([[0, 0], [6, 0], [3, 5]])[y] + rng.normal(size=(n, 2)), y


def test_points_drawn_in_class_colours(tmp_path):
    X, y = three_blobs(600)
    html = tmp_path / "blobs.html"
    skmde.plot(X, color_by=y, interactive=True, savepath=html, figsize_inches=(6, 6))
    image = screenshot(html, tmp_path / "blobs.png")
    non_white = int((image.sum(axis=2) < 700).sum())
    assert non_white > 2000, "the page is blank"
    for color in _style.TAB10[:3]:
        assert pixels_near(image, color) > 300, f"no points in {color}"
    assert pixels_near(image, _style.TAB10[3]) < 50  # no fourth class


def test_density_shaded_page(tmp_path, monkeypatch):
    monkeypatch.setattr(plotting, "DENSITY_THRESHOLD", 5000)
    X, y = three_blobs(30_000)
    html = tmp_path / "large.html"
    skmde.plot(X, color_by=y, interactive=True, savepath=html, figsize_inches=(6, 6))
    image = screenshot(html, tmp_path / "large.png")
    for color in _style.TAB10[:3]:
        assert pixels_near(image, color, tolerance=60) > 1000, f"no shading in {color}"
