"""Thread counts: the governor that adapts them to the machine's load, and
results that do not depend on them."""

import threading

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import skmde
from skmde import _utils
from skmde._distortion import fixed_order_sum
from skmde._utils import ThreadGovernor, prefer_one_thread, torch_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def run(governor, rates):
    """Feed the governor one step per rate (seconds per unit of work) and
    return the thread count in force at each step."""
    seen = []
    for rate in rates:
        seen.append(torch.get_num_threads())
        governor.step(seconds=rate(torch.get_num_threads()), work=1.0)
    return seen


def faster_with(threads_winning):
    return lambda t: 1.0 if t == threads_winning else 2.0


class TestGovernor:
    def test_keeps_two_threads_when_they_are_faster(self, two_threads):
        with ThreadGovernor(probe=2, every=50) as governor:
            seen = run(governor, [faster_with(2)] * 10)
            assert seen[:6] == [2, 2, 2, 1, 1, 2]  # warm-up, probe 2 x 2, 2 x 1
            assert governor.threads == 2
        assert torch.get_num_threads() == 2

    def test_drops_to_one_thread_on_a_busy_machine(self, two_threads):
        with ThreadGovernor(probe=2, every=50) as governor:
            seen = run(governor, [faster_with(1)] * 10)
            assert seen[5:] == [1] * 5
        assert torch.get_num_threads() == 2  # restored outside a scope

    def test_probes_again_when_steps_slow_down(self, two_threads):
        load = {"busy": False}

        def rate(t):
            if load["busy"]:
                return 10.0 if t == 2 else 1.2
            return 1.0 if t == 2 else 1.5

        with ThreadGovernor(probe=2, every=1000) as governor:
            run(governor, [rate] * 8)
            assert governor.threads == 2
            load["busy"] = True  # another process starts
            run(governor, [rate] * 8)  # two slow steps, then a probe
            assert governor.threads == 1

    def test_probes_again_periodically_and_backs_off(self, two_threads):
        with ThreadGovernor(probe=1, every=4) as governor:
            seen = run(governor, [faster_with(2)] * 40)
        switches = [i for i in range(1, 40) if seen[i] == 1]
        gaps = np.diff(switches)
        assert len(switches) >= 3 and (gaps[1:] >= gaps[:-1]).all()  # 4, 8, 16...

    def test_fixed_n_jobs_is_left_alone(self, two_threads):
        with torch_threads(2), ThreadGovernor(probe=1) as governor:
            seen = run(governor, [faster_with(1)] * 6)
        assert seen == [2] * 6 and not governor.active

    def test_other_threads_are_left_alone(self, two_threads):
        result = {}

        def work():
            with ThreadGovernor(probe=1) as governor:
                result["seen"] = run(governor, [faster_with(1)] * 6)
                result["active"] = governor.active

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        assert result == {"seen": [2] * 6, "active": False}

    def test_scope_carries_the_choice_and_restores(self, two_threads):
        with torch_threads(None):
            with ThreadGovernor(probe=1) as governor:
                run(governor, [faster_with(1)] * 5)
            assert torch.get_num_threads() == 1  # the rest of the fit too
            with ThreadGovernor(probe=1) as later:
                assert later.threads == 1 and later.active  # inherited
        assert torch.get_num_threads() == 2

    def test_prefer_and_small_data(self, two_threads):
        with ThreadGovernor(prefer=1, between=1) as governor:
            assert not governor.active and governor.threads == 1
        prefer_one_thread(100, 10)  # outside a scope: nothing changes
        assert torch.get_num_threads() == 2
        with torch_threads(None):
            prefer_one_thread(10**6, 10)  # large: nothing changes
            assert torch.get_num_threads() == 2
            prefer_one_thread(1000, 64)
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2 and _utils._THREADS["choice"] is None


def test_fixed_order_sum_does_not_depend_on_threads(two_threads):
    values = torch.from_numpy(
        np.random.default_rng(0).standard_normal(3_000_001).astype(np.float32)
    )
    sums = []
    for t in (1, 2):
        torch.set_num_threads(t)
        sums.append(float(fixed_order_sum(values)))
    assert sums[0] == sums[1]
    assert sums[0] == pytest.approx(float(values.double().sum()), abs=1e-2)
    assert fixed_order_sum(torch.ones(3)).dim() == 0


@pytest.mark.parametrize("estimator", [skmde.MDENeighbors, skmde.MDEDistances])
def test_results_do_not_depend_on_n_jobs(estimator):
    X = load_digits().data[:800]
    embeddings = [
        estimator(random_state=0, n_jobs=n_jobs, max_iter=150).fit_transform(X)
        for n_jobs in (1, 2, None)
    ]
    np.testing.assert_array_equal(embeddings[0], embeddings[1])
    np.testing.assert_array_equal(embeddings[0], embeddings[2])


def test_large_problem_solve_does_not_depend_on_threads(two_threads):
    # above ONE_THREAD_BELOW edges the objective may run on two threads
    rng = np.random.default_rng(0)
    n = 30_000
    edges = rng.integers(0, n, size=(1_100_000, 2))
    edges = edges[edges[:, 0] != edges[:, 1]]
    weights = np.where(np.arange(len(edges)) % 4 == 0, 1.0, -0.3)
    mde = skmde.MDE(n, 2, edges, skmde.penalties.PushAndPull(weights), skmde.Centered())
    assert mde.n_edges >= skmde._problem.ONE_THREAD_BELOW
    X0 = mde.constraint.project_onto_constraint(
        torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
    )
    results = []
    for t in (1, 2):
        with torch_threads(t):
            results.append(mde.embed(X=X0.clone(), max_iter=8))
    assert torch.equal(results[0], results[1])


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_parallel_blocks_covers_each_index_once(threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        seen = np.zeros(103, dtype=int)
        workers = set()

        def mark(start, stop):
            seen[start:stop] += 1
            workers.add(threading.get_ident())

        _utils.parallel_blocks(mark, 103, 10)
        assert (seen == 1).all()
        assert len(workers) <= threads
        _utils.parallel_blocks(mark, 0, 10)  # nothing to do
        assert (seen == 1).all()

        def failing(start, stop):
            if start == 50:
                raise ValueError("block 50")

        with pytest.raises(ValueError, match="block 50"):
            _utils.parallel_blocks(failing, 103, 10)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_threaded_row_and_column_work_matches_numpy(two_threads, order, dtype):
    """The search's centring and spread, the fuzzy weights and the row
    hashes, computed on threads, equal the plain numpy expressions."""
    from skmde._duplicates import row_hashes
    from skmde.graphs import fuzzy_memberships
    from skmde.neighbors._blocks import centered_float32
    from skmde.neighbors._exact import _center_and_spread

    rng = np.random.default_rng(0)
    X = np.asarray(rng.uniform(0, 200, size=(33000, 70)), dtype=dtype, order=order)
    mean, spread = _center_and_spread(X)
    expected = np.mean(X, axis=0, dtype=np.float64)
    np.testing.assert_array_equal(mean, expected)
    np.testing.assert_array_equal(
        spread, np.maximum(X.max(axis=0) - expected, expected - X.min(axis=0))
    )
    np.testing.assert_array_equal(
        centered_float32(X, mean, 64.0),
        ((X.astype(np.float64) - mean) / 64.0).astype(np.float32),
    )
    torch.set_num_threads(1)
    serial = row_hashes(X)
    torch.set_num_threads(2)
    np.testing.assert_array_equal(row_hashes(X), serial)
    D = np.sort(rng.uniform(0, 5, size=(9000, 12)), axis=1).astype(np.float32)
    torch.set_num_threads(1)
    serial = fuzzy_memberships(D)
    torch.set_num_threads(2)
    np.testing.assert_array_equal(fuzzy_memberships(D), serial)


def test_parallel_blocks_with_torch_inside_runs_torch_on_one_thread(two_threads):
    counts, workers = [], set()

    def block(start, stop):
        counts.append(torch.get_num_threads())
        workers.add(threading.get_ident())

    _utils.parallel_blocks(block, 40, 1, torch_inside=True)
    assert set(counts) == {1} and len(counts) == 40 and len(workers) <= 2
    assert torch.get_num_threads() == 2  # restored

    def failing(start, stop):
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        _utils.parallel_blocks(failing, 4, 1, torch_inside=True)
    assert torch.get_num_threads() == 2
    # from another thread than the main one torch's count is left alone: the
    # blocks run one after another there
    seen = []
    worker = threading.Thread(
        target=_utils.parallel_blocks,
        args=(lambda a, b: seen.append((threading.get_ident(), a)), 5, 1),
        kwargs={"torch_inside": True},
    )
    worker.start()
    worker.join()
    assert [a for _, a in seen] == [0, 1, 2, 3, 4]
    assert {t for t, _ in seen} == {worker.ident}
