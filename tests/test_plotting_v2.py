"""Readable defaults, density shading, interactive figures and diagnostic
pictures (issue 20): the data handed to the figure, checked directly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import skmde
from skmde import plotting
from skmde.plotting import _density, _interactive, _style

go = pytest.importorskip("plotly.graph_objects")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def luminance(rgb):
    r, g, b = rgb[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def blobs(n, k, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    centers = 8 * rng.normal(size=(k, 2))
    return centers[y] + rng.normal(size=(n, 2)), y


class TestReadableDefaults:
    @pytest.mark.parametrize("k", [2, 3, 10, 11, 20, 25])
    def test_palette_tells_classes_apart_and_none_is_pale(self, k):
        colors = _style.palette(k)
        assert len({_style.to_hex(c) for c in colors}) == k
        # on white, no class is near-invisible (Spectral's middle was 0.93)
        assert max(luminance(c) for c in colors) < 0.8
        if k <= 10:
            assert [_style.to_hex(c) for c in colors] == _style.TAB10[:k]

    def test_categorical_default_is_not_spectral(self):
        X, y = blobs(300, 3)
        ax = skmde.plot(X, color_by=y)
        faces = ax.collections[-1].get_facecolors()
        assert max(luminance(c) for c in np.unique(faces, axis=0)) < 0.8
        legend = ax.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == ["0", "1", "2"]

    def test_marker_size_by_number_of_points(self):
        sizes = [_style.marker_size(n) for n in (50, 1797, 10_000, 70_000, 10**6)]
        assert sizes == sorted(sizes, reverse=True)
        assert sizes[0] == 25.0 and sizes[-1] == 0.5
        ax = skmde.plot(np.random.default_rng(0).normal(size=(1797, 2)))
        assert ax.collections[0].get_sizes()[0] == pytest.approx(sizes[1])

    def test_legend_outside_the_data_and_no_ticks(self):
        X, y = blobs(400, 12)
        ax = skmde.plot(X, color_by=y)
        ax.figure.canvas.draw()
        legend_box = ax.get_legend().get_window_extent()
        assert legend_box.x0 >= ax.get_window_extent().x1
        assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
        assert ax.get_aspect() == 1.0

    def test_three_dimensions_keep_their_proportions(self):
        rng = np.random.default_rng(0)
        X = rng.uniform(size=(200, 3)) * np.array([1400.0, 300.0, 20.0])
        ax = skmde.plot(X)
        aspect = ax.get_box_aspect()
        spans = np.ptp(X, axis=0)
        np.testing.assert_allclose(aspect / aspect[0], spans / spans[0], rtol=1e-6)

    def test_side_by_side_axes(self):
        fig, (left, right) = plt.subplots(1, 2)
        X, y = blobs(100, 2)
        assert skmde.plot(X, color_by=y, ax=left) is left
        assert skmde.plot(-X, ax=right) is right
        assert plt.get_fignums() == [fig.number]

    def test_failed_call_leaves_no_figure(self):
        before = plt.get_fignums()
        with pytest.raises(ValueError):
            skmde.plot(np.zeros((10, 2)), edges=[[0, 10]])
        with pytest.raises(ValueError):
            skmde.plot(np.zeros((10, 2)), axis_limits=(1, 2, 3))
        assert plt.get_fignums() == before

    def test_3d_axes_mismatch(self):
        _, ax = plt.subplots()
        with pytest.raises(ValueError, match="3-d Axes"):
            skmde.plot(np.zeros((4, 3)), ax=ax)


class TestDensity:
    def test_counts_preserved_per_class(self):
        X, y = blobs(5000, 4)
        extent = _density.extent_of(X)
        per_color = _density.counts(X, y, 4, 120, 90, extent)
        assert per_color.shape == (4, 90, 120)
        assert per_color.sum(axis=(1, 2)).tolist() == np.bincount(y).tolist()

    def test_pixel_colour_is_the_mix_of_its_points(self):
        # two pixels: one holds only class 0, one holds classes 0 and 1 (1:3)
        X = np.array([[0.1, 0.1]] + [[0.9, 0.1]] * 4)
        codes = np.array([0, 0, 1, 1, 1])
        rgb = [(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
        per_color = _density.counts(X, codes, 2, 2, 1, (0.0, 1.0, 0.0, 1.0))
        image = _density.shade(per_color, rgb)
        np.testing.assert_allclose(image[0, 0, :3], [1, 0, 0])
        np.testing.assert_allclose(image[0, 1, :3], [0.25, 0, 0.75])
        assert 0 < image[0, 0, 3] < image[0, 1, 3] == 1.0  # denser: more opaque

    def test_empty_pixels_are_transparent(self):
        per_color = _density.counts(
            np.array([[0.0, 0.0]]), None, 1, 3, 3, (0.0, 1.0, 0.0, 1.0)
        )
        image = _density.shade(per_color, [(0, 0, 0)])
        assert image[..., 3].sum() == 1.0 and image[0, 0, 3] == 1.0

    def test_values_are_averaged_per_pixel(self):
        X = np.array([[0.1, 0.5], [0.1, 0.5], [0.9, 0.5]])
        values = np.array([0.0, 1.0, 3.0])
        image = _density.shade_values(
            X, values, lambda v: np.stack([v, v, v, v], -1), 2, 1, (0, 1, 0, 1)
        )
        np.testing.assert_allclose(image[0, :, 0], [0.5 / 3, 1.0])

    def test_large_embeddings_are_shaded(self, monkeypatch):
        monkeypatch.setattr(plotting, "DENSITY_THRESHOLD", 1000)
        X, y = blobs(3000, 3)
        ax = skmde.plot(X, color_by=y)
        assert len(ax.images) == 1 and not ax.collections
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
        ax = skmde.plot(X, color_by=X[:, 0], density=True)
        assert len(ax.images) == 1 and len(ax.figure.axes) == 2  # colour bar
        ax = skmde.plot(X, density=False)
        assert not ax.images

    def test_bad_density(self):
        with pytest.raises(ValueError, match="density must be"):
            skmde.plot(np.zeros((3, 2)), density="yes")


class TestInteractive:
    def test_categories_hover_and_legend(self):
        X, y = blobs(200, 3)
        names = np.array([f"item {i}" for i in range(200)])
        fig = skmde.plot(
            X, color_by=y, interactive=True, hover={"name": names}, title="class"
        )
        assert isinstance(fig, go.Figure)
        traces = [t for t in fig.data if t.mode == "markers"]
        assert [t.name for t in traces] == ["0", "1", "2"]
        assert sum(len(t.x) for t in traces) == 200
        first = traces[0]
        rows = first.customdata[:, 0].astype(int)
        np.testing.assert_allclose(first.x, X[rows, 0])
        assert (y[rows] == 0).all()
        assert list(first.customdata[0, 1:]) == [0, names[rows[0]]]
        assert "row: %{customdata[0]}" in first.hovertemplate
        assert "class: %{customdata[1]}" in first.hovertemplate
        assert "name: %{customdata[2]}" in first.hovertemplate
        assert first.marker.color == _style.TAB10[0]
        assert fig.layout.yaxis.scaleanchor == "x"

    def test_dataframe_hover_and_continuous_colour(self):
        pd = pytest.importorskip("pandas")
        X, _ = blobs(50, 2)
        frame = pd.DataFrame({"a": np.arange(50), "b": list("xy" * 25)})
        fig = skmde.plot(X, color_by=X[:, 1], hover=frame, interactive=True)
        (trace,) = fig.data
        np.testing.assert_allclose(trace.marker.color, X[:, 1])
        assert trace.marker.colorbar is not None
        assert trace.customdata.shape == (50, 4)  # row, value, a, b

    def test_three_dimensions(self):
        X = np.random.default_rng(0).normal(size=(40, 3))
        fig = skmde.plot(X, interactive=True)
        assert isinstance(fig.data[0], go.Scatter3d)
        assert fig.layout.scene.aspectmode == "data"

    def test_one_dimension(self):
        fig = skmde.plot(
            np.arange(5.0)[:, None], color_by=np.array(list("aabbc")), interactive=True
        )
        assert [t.name for t in fig.data] == ["a", "b", "c"]
        assert all(list(t.y) == [0.0] * len(t.x) for t in fig.data)
        assert sorted(x for t in fig.data for x in t.x) == [0, 1, 2, 3, 4]

    def test_edges(self):
        X, _ = blobs(30, 1)
        fig = skmde.plot(X, edges=[[0, 1], [1, 2]], interactive=True)
        lines = fig.data[0]
        assert lines.mode == "lines" and len(lines.x) == 6  # a gap after each

    def test_html_is_self_contained(self, tmp_path):
        X, y = blobs(500, 4)
        path = tmp_path / "embedding.html"
        skmde.plot(X, color_by=y, interactive=True, savepath=path)
        html = path.read_text(encoding="utf-8")
        import re

        assert not re.findall(r'<script[^>]*src="https?://', html)  # nothing fetched
        assert "Plotly.newPlot" in html
        assert path.stat().st_size < 6_000_000

    def test_large_data_is_shaded_with_a_hover_sample(self, monkeypatch):
        monkeypatch.setattr(plotting, "DENSITY_THRESHOLD", 1000)
        monkeypatch.setattr(_interactive, "HOVER_SAMPLE", 500)
        X, y = blobs(4000, 3)
        fig = skmde.plot(X, color_by=y, interactive=True)
        assert len(fig.layout.images) == 1
        assert fig.layout.images[0].source.startswith("data:image/png;base64,")
        assert sum(len(t.x) for t in fig.data) == 500

    @pytest.mark.parametrize(
        ("kwargs", "error", "match"),
        [
            ({"hover": {"a": np.zeros(3)}}, ValueError, "hover column 'a' must have"),
            ({"hover": [1, 2]}, TypeError, "DataFrame or a dict"),
            ({"color_by": np.array([np.nan] + [1.0] * 9)}, ValueError, "NaN"),
            ({"savepath": "x.png"}, ValueError, "must end in .html"),
            ({"ax": "an axes"}, ValueError, "ax is for static plots"),
        ],
    )
    def test_bad_input(self, kwargs, error, match):
        with pytest.raises(error, match=match):
            skmde.plot(np.zeros((10, 2)), interactive=True, **kwargs)

    def test_missing_plotly_names_the_extra(self, monkeypatch):
        import builtins

        real_import = builtins.__import__

        def fake_import(name, *args, **kwargs):
            if name.startswith("plotly"):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", fake_import)
        with pytest.raises(ImportError, match=r"skmde\[interactive\]"):
            skmde.plot(np.zeros((3, 2)), interactive=True)


@pytest.mark.parametrize(
    ("X", "kwargs", "error", "match"),
    [
        (np.zeros((0, 2)), {}, ValueError, "empty"),
        (np.zeros((5, 4)), {}, ValueError, "1, 2 or 3 columns"),
        (np.zeros((5, 2, 2)), {}, ValueError, "1, 2 or 3 columns"),
        (np.array([[0.0, np.inf]]), {}, ValueError, "finite"),
        (np.zeros((5, 2)), {"hover": {"a": np.zeros(5)}}, ValueError, "interactive"),
        (np.zeros((5, 2)), {"color_by": [1.0, 2, np.nan, 3, 4]}, ValueError, "NaN"),
        (np.zeros((5, 2)), {"edges": [[0.5, 1]]}, TypeError, "integers"),
    ],
)
def test_static_bad_input(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        skmde.plot(X, **kwargs)


class TestDiagnostics:
    def problem(self):
        mde = skmde.MDE(
            5,
            2,
            [[0, 1], [0, 4], [1, 2], [2, 3]],
            skmde.penalties.Quadratic(torch.tensor([1.0, 2, 5, 6])),
            skmde.Standardized(),
        )
        mde.embed(random_state=0)
        return mde

    def test_item_distortions_by_hand(self):
        mde = self.problem()
        f = mde.distortions().numpy()
        expected = [
            (f[0] + f[1]) / 2,
            (f[0] + f[2]) / 2,
            (f[2] + f[3]) / 2,
            f[3],
            f[1],
        ]
        np.testing.assert_allclose(mde.item_distortions().numpy(), expected, rtol=1e-6)

    def test_colour_by_distortion(self):
        mde = self.problem()
        ax = mde.plot(color_by="distortion")
        np.testing.assert_allclose(
            ax.collections[0].get_array(), mde.item_distortions().numpy()
        )
        assert ax.figure.axes[1].get_ylabel() == "mean distortion"

    def test_problem_edges_are_the_attractive_pairs(self):
        X, _ = blobs(200, 2)
        mde = skmde.preserve_neighbors(X, random_state=0)
        mde.embed(max_iter=20)
        ax = mde.plot(edges="problem")
        n_attractive = int((mde.distortion_function.weights > 0).sum())
        assert len(ax.collections[0].get_segments()) == n_attractive
        assert ax.collections[0].get_alpha() < 0.6  # faded: many edges
        with pytest.raises(ValueError, match="'problem'"):
            mde.plot(edges="neighbours")

    def test_cdf_shows_attractive_and_repulsive_apart(self):
        X, _ = blobs(200, 2)
        mde = skmde.preserve_neighbors(X, random_state=0)
        mde.embed(max_iter=20)
        ax = mde.distortions_cdf()
        labels = [line.get_label() for line in ax.lines]
        assert labels[0].startswith("attractive pairs") and labels[1].startswith(
            "repulsive pairs"
        )
        w = mde.distortion_function.weights
        assert len(ax.lines[0].get_xdata()) == int((w > 0).sum())
        with pytest.raises(ValueError, match="attractive must be"):
            plotting.distortions_cdf(np.ones(3), attractive=[True, False])

    def test_estimator_distortion_plot_and_interactive(self):
        X, y = blobs(150, 3)
        model = skmde.MDENeighbors(random_state=0, max_iter=30).fit(X)
        ax = model.plot(color_by="distortion", edges="problem")
        assert len(ax.collections) == 2
        fig = model.plot(color_by=y, interactive=True)
        assert sum(len(t.x) for t in fig.data) == 150

    def test_gif_frames_titled_by_iteration(self, monkeypatch):
        mde = self.problem()
        mde.embed(random_state=0, snapshot_every=3, max_iter=10, eps=1e-12)
        seen = {}

        def fake_gif(frames, titles, *args):
            seen["titles"] = titles
            return "x.gif"

        monkeypatch.setattr(plotting._static, "gif", fake_gif)
        mde.play(color_by=np.array(list("aabbc")))
        iterations = mde.solve_stats.iterations
        expected = [f"iteration {i}" for i in range(0, iterations + 1, 3)]
        if iterations % 3:
            expected.append(f"iteration {iterations}")
        assert seen["titles"] == expected

    def test_gif_has_a_legend(self, tmp_path, monkeypatch):
        from PIL import Image

        legends = []
        real = plotting._static._legend
        monkeypatch.setattr(
            plotting._static,
            "_legend",
            lambda ax, col: legends.append(list(col.categories)) or real(ax, col),
        )
        frames = [np.random.default_rng(i).normal(size=(30, 2)) for i in range(3)]
        labels = np.repeat(["a", "b", "c"], 10)
        path = plotting.play(
            frames, color_by=labels, iterations=[0, 5, 9], savepath=tmp_path / "a.gif"
        )
        assert Image.open(path).n_frames == 3
        assert len(legends) >= 3 and legends[-1] == ["a", "b", "c"]  # every frame
        with pytest.raises(ValueError, match="one entry per snapshot"):
            plotting.play(frames, iterations=[0, 1])
