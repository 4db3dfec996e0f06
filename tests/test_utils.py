import numpy as np
import pytest
import torch

from skmde import align
from skmde._inputs import as_float_tensor, as_index_tensor
from skmde._utils import (
    make_generator,
    resolve_device,
    sorted_distinct,
    thread_count,
    torch_threads,
)


class TestAlign:
    def test_recovers_a_rotated_reflected_copy(self, rng):
        target = rng.normal(size=(50, 2)) * [3.0, 0.5]  # unequal column scales
        theta = 0.7
        rot = np.array(
            [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]
        )
        source = (target @ rot) * [1.0, -1.0] + [5.0, -2.0]
        aligned = align(source, target)
        np.testing.assert_allclose(aligned, target, atol=1e-10)

    def test_is_an_isometry(self, rng):
        source, target = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
        aligned = align(source, target)
        d = lambda Z: np.linalg.norm(Z[:, None] - Z[None], axis=-1)  # noqa: E731
        np.testing.assert_allclose(d(aligned), d(source), atol=1e-10)
        # and it is the best rotation: no worse than the identity or a flip
        for candidate in (
            source - source.mean(0) + target.mean(0),
            (source - source.mean(0)) * [-1, 1, 1] + target.mean(0),
        ):
            assert (
                np.linalg.norm(aligned - target)
                <= np.linalg.norm(candidate - target) + 1e-12
            )

    def test_types_follow_the_source(self):
        src = torch.randn(10, 2)
        out = align(src, torch.randn(10, 2, dtype=torch.float64))
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
        assert isinstance(align(src.numpy(), src.numpy()), np.ndarray)

    def test_shape_mismatch(self):
        with pytest.raises(ValueError, match="same shape"):
            align(np.zeros((3, 2)), np.zeros((4, 2)))


def test_resolve_device():
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_as_float_tensor():
    assert as_float_tensor([1, 2], "x").dtype == torch.float32
    assert as_float_tensor([1.5, 2], "x").dtype == torch.float32
    assert as_float_tensor(np.array([1.5]), "x").dtype == torch.float64
    assert (
        as_float_tensor(np.array([1.5], dtype=np.float16), "x").dtype == torch.float32
    )
    with pytest.raises(TypeError, match="x must be real-valued"):
        as_float_tensor([True], "x")
    with pytest.raises(ValueError, match="x must be finite; it contains inf"):
        as_float_tensor([np.inf], "x")


def test_as_index_tensor():
    assert as_index_tensor([1.0, 2.0], "i").tolist() == [1, 2]
    with pytest.raises(TypeError, match="i must hold integers"):
        as_index_tensor([1.5], "i")


def test_make_generator_is_local_and_seeded():
    state = torch.random.get_rng_state()
    a = torch.randn(3, generator=make_generator(7))
    b = torch.randn(3, generator=make_generator(np.random.RandomState(1)))
    c = torch.randn(3, generator=make_generator(np.random.RandomState(1)))
    assert torch.equal(a, torch.randn(3, generator=make_generator(7)))
    assert torch.equal(b, c)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert make_generator(None) is None


def test_seed_makes_unseeded_calls_reproducible():
    import skmde

    # 400 samples: more pairs than the repulsion is spread over, so that the
    # repulsive pairs are a random sample (on fewer, every pair repels)
    X = np.random.default_rng(1).normal(size=(400, 4))

    def run():
        problem = skmde.preserve_neighbors(X).embed().numpy()
        model = skmde.MDENeighbors().fit(X)
        return problem, model.embedding_, model.transform(X[:5] + 0.1)

    skmde.seed(3)
    first = run()
    skmde.seed(3)
    second = run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    skmde.seed(4)
    assert not np.array_equal(run()[0], first[0])
    # an explicit random_state does not depend on the seed
    skmde.seed(5)
    a = skmde.preserve_neighbors(X, random_state=0).embed()
    skmde.seed(6)
    assert torch.equal(a, skmde.preserve_neighbors(X, random_state=0).embed())


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (-1, ValueError, "seed must be >= 0"),
        (2**32, ValueError, "2\\*\\*32"),
        (1.5, TypeError, "seed must be an integer"),
    ],
)
def test_seed_bad_values(value, error, match):
    import skmde

    with pytest.raises(error, match=match):
        skmde.seed(value)


def test_all_edges_lists_each_pair_once_in_order():
    import skmde

    edges = skmde.all_edges(5)
    assert edges.dtype == torch.int64 and edges.shape == (10, 2)
    assert edges.tolist() == [[i, j] for i in range(5) for j in range(i + 1, 5)]
    assert skmde.all_edges(1).shape == (0, 2)
    with pytest.raises(ValueError, match="n_items must be >= 1"):
        skmde.all_edges(0)


def test_center_keeps_the_type_and_removes_the_mean():
    import skmde

    X = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]])
    centered = skmde.center(X)
    assert isinstance(centered, np.ndarray)
    np.testing.assert_allclose(centered.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(centered - X, np.broadcast_to(-X.mean(0), X.shape))
    tensor = skmde.center(torch.from_numpy(X))
    assert isinstance(tensor, torch.Tensor)
    torch.testing.assert_close(tensor, torch.from_numpy(centered))
    with pytest.raises(ValueError, match="X must be a 2-D"):
        skmde.center(np.ones(3))


def test_rotate_in_2d_and_3d():
    import skmde

    X = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    quarter = skmde.rotate(X, 90)
    # a positive angle turns clockwise: (1, 0) -> (0, -1), (0, 2) -> (2, 0)
    torch.testing.assert_close(
        quarter, torch.tensor([[0.0, -1.0], [2.0, 0.0]], dtype=torch.float64)
    )
    torch.testing.assert_close(skmde.rotate(quarter, -90), X)
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(20, 3))
    rotated = skmde.rotate(Y, [30.0, -45.0, 120.0])
    assert isinstance(rotated, np.ndarray)
    # an isometry about the origin: norms and pairwise distances unchanged
    np.testing.assert_allclose(
        np.linalg.norm(rotated, axis=1), np.linalg.norm(Y, axis=1)
    )
    from scipy.spatial.distance import pdist

    np.testing.assert_allclose(pdist(rotated), pdist(Y))
    # about the x axis only: x stays, (y, z) turns as in 2-d with (y, z)
    about_x = skmde.rotate(np.array([[1.0, 1.0, 0.0]]), [90.0, 0.0, 0.0])
    np.testing.assert_allclose(about_x, [[1.0, 0.0, 1.0]], atol=1e-15)
    about_z = skmde.rotate(np.array([[1.0, 0.0, 5.0]]), [0.0, 0.0, 90.0])
    np.testing.assert_allclose(about_z, [[0.0, 1.0, 5.0]], atol=1e-15)


@pytest.mark.parametrize(
    ("X", "degrees", "match"),
    [
        (np.ones((3, 4)), 10.0, "2-d or 3-d embedding; X has 4 columns"),
        (np.ones((3, 2)), [1.0, 2.0], "one finite angle for a 2-d"),
        (np.ones((3, 3)), 10.0, "three finite angles for a 3-d"),
        (np.ones((3, 2)), float("nan"), "one finite angle"),
    ],
)
def test_rotate_bad_input(X, degrees, match):
    import skmde

    with pytest.raises(ValueError, match=match):
        skmde.rotate(X, degrees)


@pytest.mark.parametrize("size", [0, 1, 2, 1000])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_sorted_distinct_equals_numpys_unique(size, dtype):
    values = np.random.default_rng(size).integers(-20, 20, size).astype(dtype)
    found = sorted_distinct(values)
    assert found.dtype == dtype
    np.testing.assert_array_equal(found, np.unique(values))


def test_thread_count_is_joblibs(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert [thread_count(n) for n in (1, 3, 9, -1, -2, -4, -9)] == [1, 3, 9, 4, 3, 1, 1]
    with pytest.raises(ValueError, match="n_jobs must be None, a positive"):
        thread_count(0)
    with pytest.raises(TypeError, match="n_jobs must be an integer"):
        thread_count(True)
    before = torch.get_num_threads()
    with pytest.raises(ValueError, match="n_jobs"), torch_threads(0):
        pass
    assert torch.get_num_threads() == before
