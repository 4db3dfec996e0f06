import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from PIL import Image

import skmde
from skmde import plotting


@pytest.fixture
def embedding():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 2))


def test_plot_categorical_with_legend_and_edges(embedding, tmp_path):
    labels = np.repeat(["a", "b", "c"], 20)
    edges = np.column_stack([np.arange(59), np.arange(1, 60)])
    path = tmp_path / "plot.png"
    ax = skmde.plot(embedding, color_by=labels, edges=edges, savepath=path)
    assert path.exists() and Image.open(path).format == "PNG"
    assert len(ax.collections) == 2  # edges, then points
    assert ax.collections[0].get_zorder() < ax.collections[1].get_zorder()
    assert len(ax.collections[0].get_segments()) == 59
    assert ax.collections[1].get_offsets().shape == (60, 2)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c"]


def test_plot_continuous_has_a_colorbar(embedding):
    ax = skmde.plot(embedding, color_by=np.linspace(0, 1, 60))
    assert ax.get_legend() is None
    assert len(ax.figure.axes) == 2  # the plot and its colorbar


@pytest.mark.parametrize("dim", [1, 3])
def test_plot_one_and_three_dimensions(dim, tmp_path):
    X = torch.randn(30, dim)
    ax = skmde.plot(X, savepath=tmp_path / "p.png", axis_limits=(-3, 3))
    assert ax.collections[0].get_offsets().shape[0] == 30
    if dim == 3:
        assert ax.name == "3d"


def test_plot_bad_input(embedding):
    with pytest.raises(ValueError, match="1, 2 or 3 columns"):
        skmde.plot(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="not both"):
        skmde.plot(embedding, color_by=np.zeros(60), colors=np.zeros((60, 3)))
    with pytest.raises(ValueError, match="one value per point"):
        skmde.plot(embedding, color_by=np.zeros(3))


def test_distortions_cdf(tmp_path):
    mde = skmde.MDE(
        5,
        2,
        [[0, 1], [0, 4], [1, 2], [2, 3]],
        skmde.penalties.Quadratic(torch.tensor([1.0, 2, 5, 6])),
        skmde.Standardized(),
    )
    mde.embed(random_state=0)
    ax = mde.distortions_cdf(savepath=tmp_path / "cdf.png")
    line = ax.lines[0]
    assert np.allclose(line.get_ydata(), [0.25, 0.5, 0.75, 1.0])
    assert ax.get_xscale() == "log"
    assert (tmp_path / "cdf.png").exists()
    ax = plotting.distortions_cdf(np.array([0.0, 1.0]))
    assert ax.get_xscale() == "symlog"  # a zero: linear near 0, log beyond


def test_play_writes_one_frame_per_snapshot(tmp_path):
    n = 15
    edges = torch.tensor([[(i - 1) // 2, i] for i in range(1, n)])
    leaves = torch.arange(7, 15)
    angles = torch.linspace(0, 2 * np.pi, 9)[:-1]
    mde = skmde.MDE(
        n,
        2,
        edges,
        skmde.penalties.Quadratic(torch.ones(n - 1)),
        skmde.Anchored(leaves, 20 * torch.stack([angles.cos(), angles.sin()], 1)),
    )
    mde.embed(snapshot_every=1, max_iter=8, eps=1e-12)
    path = mde.play(savepath=tmp_path / "tree.gif", edges=edges)
    gif = Image.open(path)
    assert gif.format == "GIF"
    assert gif.n_frames == len(mde.solve_stats.snapshots)
    default = mde.play()
    assert default.endswith(".gif")
    # PyMDE's tmpdir: checked, nothing written there
    scratch = tmp_path / "frames"
    scratch.mkdir()
    mde.play(savepath=tmp_path / "again.gif", tmpdir=scratch)
    assert list(scratch.iterdir()) == []
    with pytest.raises(ValueError, match="tmpdir must be an existing directory"):
        mde.play(savepath=tmp_path / "x.gif", tmpdir=tmp_path / "missing")


def test_play_needs_snapshots():
    mde = skmde.MDE(
        3,
        2,
        [[0, 1], [1, 2]],
        skmde.penalties.Quadratic([1.0, 1.0]),
        skmde.Standardized(),
    )
    mde.embed()
    with pytest.raises(ValueError, match="snapshot_every"):
        mde.play()


def test_estimator_diagnostics(tmp_path):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    model = skmde.MDENeighbors(random_state=0).fit(X[:300])
    ax = model.plot(color_by=y[:300], savepath=tmp_path / "digits.png")
    assert ax.collections[0].get_offsets().shape == (300, 2)
    assert model.distortions_cdf().lines
    pairs, distortions = model.high_distortion_pairs()
    assert pairs.shape[1] == 2 and pairs.max() < 300
    assert (np.diff(distortions) <= 0).all()


def test_missing_matplotlib_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"skmde\[plot\]"):
        skmde.plot(np.zeros((3, 2)))
