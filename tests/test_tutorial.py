"""PyMDE's tutorial and API reference, run against skmde.

The seed tutorial (``../shared/seed/mde-tutorial.txt``) is PyMDE's; its code
is transcribed here with ``skmde`` in place of ``pymde`` (the text lost some
characters in extraction: the arguments of the ``MDE(...)`` call and the
``mnist.data`` of the last snippet are restored), and every name it or
PyMDE's API reference page uses must exist at the same path under skmde.
"""

import functools
import pathlib
import re

import numpy as np
import pytest
import torch

import skmde

TUTORIAL = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "seed"
TUTORIAL = TUTORIAL / "mde-tutorial.txt"

#: every entry of PyMDE's API reference page (docs_src/source/api/index.rst),
#: with PyMDE's ``pymde.`` replaced by ``skmde.``, less the four datasets that
#: only PyMDE's servers hold (see doc/user_guide/from_pymde.rst)
API_PAGE = """
MDE MDE.embed MDE.average_distortion MDE.distortions MDE.high_distortion_pairs
MDE.distortions_cdf MDE.plot MDE.play MDE.differences MDE.distances MDE.to
optim.SolveStats preserve_neighbors preserve_distances
penalties.Linear penalties.Quadratic penalties.Cubic penalties.Power
penalties.Huber penalties.Logistic penalties.Log1p penalties.Log
penalties.InvPower penalties.LogRatio penalties.PushAndPull
losses.Absolute losses.Quadratic losses.Cubic losses.Power
losses.WeightedQuadratic losses.Fractional losses.SoftFractional
constraints.Constraint Centered Standardized Anchored
Graph Graph.from_edges Graph.draw Graph.neighbors Graph.neighbor_distances
Graph.adjacency_matrix Graph.A Graph.edges Graph.distances Graph.weights
Graph.n_items Graph.n_edges Graph.n_all_edges
preprocess.k_nearest_neighbors preprocess.dissimilar_edges preprocess.distances
preprocess.sample_edges preprocess.deduplicate_edges preprocess.scale
preprocess.Graph preprocess.graph.shortest_paths
pca laplacian_embedding quadratic.spectral all_edges align center rotate seed
plot datasets.Dataset datasets.MNIST datasets.FashionMNIST
""".split()  # noqa: SIM905 (a word list reads better)


def resolve(path):
    return functools.reduce(getattr, path.split("."), skmde)


@pytest.mark.parametrize("path", API_PAGE)
def test_pymde_api_page_exists(path):
    assert resolve(path) is not None


def test_names_in_the_tutorial_exist():
    if not TUTORIAL.exists():
        pytest.skip("../shared/seed/mde-tutorial.txt is not available")
    text = TUTORIAL.read_text(encoding="utf-8")
    names = {m.rstrip(".") for m in re.findall(r"pymde\.[A-Za-z_][\w.]*", text)}
    assert len(names) > 10
    missing = []
    for name in sorted(names):
        try:
            resolve(name.split(".", 1)[1])
        except AttributeError:
            missing.append(name)
    assert not missing


def test_first_problem():
    edges = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3]])
    weights = torch.tensor([1.0, 2.0, 5.0, 6.0])
    f = skmde.penalties.Quadratic(weights)
    constraint = skmde.Standardized()
    mde = skmde.MDE(
        n_items=5,
        embedding_dim=2,
        edges=edges,
        distortion_function=f,
        constraint=constraint,
    )
    embedding = mde.embed()
    assert embedding.shape == (5, 2) and mde.X is embedding
    assert torch.allclose(embedding.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(
        (1 / mde.n_items) * embedding.T @ embedding, torch.eye(2), atol=1e-5
    )
    value = mde.average_distortion(embedding)
    assert isinstance(value, torch.Tensor) and value.dim() == 0
    by_hand = (
        weights * (embedding[edges[:, 0]] - embedding[edges[:, 1]]).norm(dim=1) ** 2
    ).mean()
    assert float(value) == pytest.approx(float(by_hand), rel=1e-5)


def test_distortion_functions():
    weights = torch.tensor([1.0, 2.0, 5.0, 6.0])
    deviations = torch.tensor([1.0, 2.0, 5.0, 6.0])

    def f_weights(distances):
        return weights * distances.pow(2)

    def f_deviations(distances):
        return (distances - deviations).pow(2)

    edges = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3]])
    for f, constraint in ((f_weights, skmde.Standardized()), (f_deviations, None)):
        mde = skmde.MDE(5, 2, edges, f, constraint)
        X = mde.embed(max_iter=200)
        assert torch.isfinite(X).all()
    # the losses' fit: each distance close to its deviation on a tree
    d = mde.distances(X)
    assert torch.allclose(d, deviations, atol=1e-2)

    weights = torch.tensor([1.0, 1.0, -1.0, 1.0, -1.0])
    distortion_function = skmde.PushAndPull(
        weights,
        attractive_penalty=skmde.penalties.Log1p,
        repulsive_penalty=skmde.penalties.Log,
    )
    d = torch.tensor([1.0, 2.0, 3.0, 0.5, 4.0])
    # Log1p (exponent 1.5) attracts, Log (exponent 1) repels: -log(1 - e^-d)
    expected = torch.where(
        weights > 0, torch.log1p(d**1.5), -torch.log(-torch.expm1(-d))
    )
    assert torch.allclose(distortion_function(d), expected)

    f = skmde.penalties.Quadratic(torch.tensor([1.0, 2.0, 3.0]))
    assert f(torch.tensor([2.0, 1.0, 4.0])).tolist() == [4.0, 2.0, 48.0]
    f = skmde.losses.Quadratic(torch.tensor([1.0, 2.0, 3.0]))
    assert f(torch.tensor([2.0, 5.0, 4.0])).tolist() == [1.0, 9.0, 1.0]


def test_constraints_and_embed_options(tmp_path):
    import matplotlib.pyplot as plt

    edges = torch.tensor([[0, 1], [0, 4], [1, 2], [2, 3], [3, 4]])
    f = skmde.penalties.Quadratic(torch.ones(5))
    skmde.MDE(5, 2, edges, f, skmde.Centered())  # the Centered snippet
    anchors = torch.tensor([0.0, 1.0, 3.0])  # float indices, as written there
    values = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-1.0, -1.0]])
    constraint = skmde.Anchored(anchors, values)
    mde = skmde.MDE(5, 2, edges, f, constraint)
    X = mde.embed(
        X=None,
        eps=1e-5,
        max_iter=300,
        memory_size=10,
        verbose=False,
        print_every=None,
        snapshot_every=5,
    )
    assert torch.equal(X[[0, 1, 3]], values)
    assert mde.solve_stats.snapshots and len(mde.solve_stats.times) >= 1
    # sanity checks: plot with edges, GIF, CDF, most distorted pairs
    skmde.plot(X, color_by=np.arange(5), edges=edges)
    mde.play(savepath=str(tmp_path / "anchored.gif"))
    assert (tmp_path / "anchored.gif").stat().st_size > 0
    mde.distortions_cdf()
    pairs, distortions = mde.high_distortion_pairs()
    assert (distortions[:-1] >= distortions[1:]).all()
    highly_distorted_pairs = pairs[:10]
    assert highly_distorted_pairs.shape == (5, 2)
    plt.close("all")
    # comparing embeddings: align, then a Frobenius distance
    rotated = skmde.rotate(X, 40.0)
    aligned_embedding = skmde.align(source=rotated, target=X)
    assert float(torch.linalg.norm(aligned_embedding - X)) < 1e-4


def test_embedding_new_points(mnist_dir, monkeypatch):
    """The tutorial's last snippet (MNIST, anchored update), on 3,000 images."""
    from skmde import datasets

    real = datasets.load_mnist

    def small(home, subset, download):
        full = real(mnist_dir, subset="test", download=False)
        return datasets.Dataset(
            full.data[:3000], full.target[:3000], {"digits": full.target[:3000]}
        )

    monkeypatch.setattr(datasets, "load_mnist", small)
    mnist = skmde.datasets.MNIST()
    n_train = 2000
    train_data = mnist.data[:n_train]
    val_data = mnist.data[n_train:]
    train_embedding = skmde.preserve_neighbors(train_data, verbose=True).embed(
        verbose=True
    )
    updated_embedding = skmde.preserve_neighbors(
        torch.vstack([train_data, val_data]),
        constraint=skmde.Anchored(torch.arange(n_train), train_embedding),
        verbose=True,
    ).embed(verbose=True)
    assert torch.equal(updated_embedding[:n_train], train_embedding)
    digits = mnist.attributes["digits"]
    train_digits = digits[:n_train]
    nearest = torch.cdist(updated_embedding[n_train:], train_embedding).argmin(1)
    accuracy = (train_digits[nearest] == digits[n_train:]).float().mean()
    # as good as the training embedding's own leave-one-out 1-NN accuracy
    D = torch.cdist(train_embedding, train_embedding).fill_diagonal_(float("inf"))
    reference = (train_digits[D.argmin(1)] == train_digits).float().mean()
    assert accuracy > reference - 0.05


def test_average_distortion_is_differentiable():
    # PyMDE's average_distortion(X) carries autograd when X requires grad
    edges = torch.tensor([[0, 1], [0, 2], [1, 2]])
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    mde = skmde.MDE(3, 2, edges, skmde.penalties.Quadratic(w), skmde.Standardized())
    X = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    mde.average_distortion(X).backward()
    diff = (X[edges[:, 0]] - X[edges[:, 1]]).detach()
    expected = torch.zeros(3, 2, dtype=torch.float64)
    expected.index_add_(0, edges[:, 0], 2 * w[:, None] * diff / 3)
    expected.index_add_(0, edges[:, 1], -2 * w[:, None] * diff / 3)
    assert torch.allclose(X.grad, expected)
    Y = X.detach()
    assert not mde.average_distortion(Y).requires_grad
    assert float(mde.average_distortion(Y)) == pytest.approx(
        float((w * diff.pow(2).sum(1)).mean())
    )
