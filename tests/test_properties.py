"""Property-based tests: valid problems give finite, feasible embeddings; invalid
inputs raise ValueError/TypeError naming the argument, never an error from
inside torch, numpy or scipy."""

import functools
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import skmde
from skmde import MDE, Anchored, Centered, Standardized, losses, penalties

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

ATTRACTIVE = [
    penalties.Linear,
    penalties.Quadratic,
    penalties.Cubic,
    functools.partial(penalties.Power, exponent=2.5),
    penalties.Huber,
    penalties.Logistic,
    penalties.Log1p,
]
REPULSIVE = [penalties.Log, penalties.LogRatio, penalties.InvPower]
LOSSES = [
    losses.Absolute,
    losses.Quadratic,
    losses.WeightedQuadratic,
    losses.Cubic,
    functools.partial(losses.Power, exponent=1.5),
    losses.Huber,
    losses.Logistic,
    losses.Fractional,
    losses.SoftFractional,
]


@st.composite
def graphs(draw, min_items=3, max_items=25):
    n = draw(st.integers(min_items, max_items))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(
        st.lists(st.sampled_from(pairs), min_size=1, max_size=60, unique=True)
    )
    # connect the graph with a path so that no item drifts off alone
    edges = sorted(set(chosen) | {(i, i + 1) for i in range(n - 1)})
    return n, np.array(edges)


def feasible_and_finite(mde, X):
    assert torch.isfinite(X).all()
    assert mde.constraint.is_feasible(X, rtol=1e-3)


@SETTINGS
@given(
    graph=graphs(),
    m=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    attractive=st.sampled_from(ATTRACTIVE),
    repulsive=st.sampled_from(REPULSIVE),
    standardized=st.booleans(),
)
def test_push_and_pull_problems(graph, m, seed, attractive, repulsive, standardized):
    n, edges = graph
    assume(not standardized or n > m)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.2, 2.0, size=len(edges))
    weights[rng.random(len(edges)) < 0.4] *= -1
    mde = MDE(
        n,
        m,
        edges,
        skmde.PushAndPull(torch.tensor(weights), attractive, repulsive),
        Standardized() if standardized else Centered(),
    )
    X = mde.embed(max_iter=60, random_state=seed)
    feasible_and_finite(mde, X)


@SETTINGS
@given(
    graph=graphs(),
    m=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    attractive=st.sampled_from(ATTRACTIVE),
)
def test_attractive_penalties_under_standardization(graph, m, seed, attractive):
    n, edges = graph
    assume(n > m)
    weights = np.random.default_rng(seed).uniform(0.1, 3.0, size=len(edges))
    mde = MDE(n, m, edges, attractive(torch.tensor(weights)), Standardized())
    feasible_and_finite(mde, mde.embed(max_iter=60, random_state=seed))


@SETTINGS
@given(
    graph=graphs(),
    m=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    loss=st.sampled_from(LOSSES),
    constraint=st.sampled_from(["centered", "standardized", "anchored"]),
)
def test_loss_problems(graph, m, seed, loss, constraint):
    n, edges = graph
    rng = np.random.default_rng(seed)
    deviations = torch.tensor(rng.uniform(0.1, 5.0, size=len(edges)))
    if constraint == "standardized":
        assume(n > m)
        c = Standardized()
    elif constraint == "anchored":
        anchors = rng.choice(n, size=max(1, n // 3), replace=False)
        c = Anchored(anchors, rng.normal(size=(len(anchors), m)))
    else:
        c = Centered()
    mde = MDE(n, m, edges, loss(deviations), c)
    feasible_and_finite(mde, mde.embed(max_iter=60, random_state=seed))


# -- invalid inputs -------------------------------------------------------------------
BAD_VALUES = st.sampled_from(
    [
        None,
        "text",
        3.5,
        -1,
        0,
        [],
        [[]],
        {"a": 1},
        object(),
        np.array([np.nan]),
        np.array([[np.inf, 1.0]]),
        np.zeros((2, 3, 4)),
        np.array(["a", "b"]),
        np.array([1 + 2j]),
        torch.tensor([True, False]),
        np.empty((0, 2)),
    ]
)


#: the values of BAD_VALUES that are valid for an argument (the only ones a
#: call may accept); every other value must be refused
VALID = {
    ("MDE", "constraint"): [None],
    ("embed", "X"): [None],
    ("embed", "eps"): [3.5],
    ("embed", "max_iter"): [0],
    ("embed", "snapshot_every"): [None],
    ("embed", "print_every"): [None],
    ("embed", "random_state"): [None, 0],
    ("preserve_neighbors", "n_neighbors"): [None],
    ("preserve_neighbors", "repulsive_fraction"): [None, 3.5, 0],
    ("preserve_neighbors", "constraint"): [None],
    ("preserve_distances", "max_distances"): [None, 3.5],
}


def raises_cleanly(call, name, where):
    """The call raises ValueError/TypeError mentioning ``name`` unless the
    value is one of ``VALID[where, name]`` (``valid`` is passed), in which
    case it must succeed. The result of the call is never ignored: a bad
    value silently accepted fails the test."""
    function, value = where
    valid = any(
        value is v or (type(value) is type(v) and value == v)
        for v in VALID.get((function, name), [])
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except (ValueError, TypeError) as exc:
        assert not valid, f"{name}={value!r} is valid, but {exc}"
        assert name in str(exc), f"{type(exc).__name__} does not name {name!r}: {exc}"
        return
    assert valid, f"{function}({name}={value!r}) was accepted"


@SETTINGS
@given(
    value=BAD_VALUES,
    argument=st.sampled_from(
        ["n_items", "embedding_dim", "edges", "distortion_function", "constraint"]
    ),
)
def test_mde_constructor_rejects_bad_arguments(value, argument):
    args = {
        "n_items": 4,
        "embedding_dim": 2,
        "edges": [[0, 1], [1, 2], [2, 3]],
        "distortion_function": penalties.Quadratic([1.0, 1.0, 1.0]),
        "constraint": Standardized(),
    }
    args[argument] = value
    raises_cleanly(lambda: MDE(**args), argument, ("MDE", value))


@SETTINGS
@given(
    value=BAD_VALUES,
    argument=st.sampled_from(
        [
            "X",
            "eps",
            "max_iter",
            "memory_size",
            "snapshot_every",
            "print_every",
            "random_state",
        ]
    ),
)
def test_embed_rejects_bad_arguments(value, argument):
    mde = MDE(
        4,
        2,
        [[0, 1], [1, 2], [2, 3]],
        penalties.Quadratic([1.0, 1.0, 1.0]),
        Standardized(),
    )
    raises_cleanly(lambda: mde.embed(**{argument: value}), argument, ("embed", value))


@SETTINGS
@given(
    value=BAD_VALUES,
    cls=st.sampled_from(
        [penalties.Quadratic, penalties.Log1p, losses.Absolute, losses.Fractional]
    ),
)
def test_distortion_functions_reject_bad_values(value, cls):
    name = "weights" if issubclass(cls, penalties.Penalty) else "deviations"
    raises_cleanly(lambda: cls(value), name, ("distortion", value))


@SETTINGS
@given(value=BAD_VALUES, argument=st.sampled_from(["anchors", "values"]))
def test_anchored_rejects_bad_arguments(value, argument):
    args = {"anchors": [0, 2], "values": [[0.0, 0.0], [1.0, 1.0]]}
    args[argument] = value
    raises_cleanly(lambda: Anchored(**args), argument, ("Anchored", value))


@SETTINGS
@given(
    value=BAD_VALUES,
    argument=st.sampled_from(
        [
            "data",
            "embedding_dim",
            "n_neighbors",
            "repulsive_fraction",
            "init",
            "metric",
            "constraint",
            "attractive_penalty",
        ]
    ),
)
def test_preserve_neighbors_rejects_bad_arguments(value, argument):
    args = {"data": np.random.default_rng(0).normal(size=(20, 3)), "random_state": 0}
    args[argument] = value
    raises_cleanly(
        lambda: skmde.preserve_neighbors(**args),
        argument,
        ("preserve_neighbors", value),
    )


@SETTINGS
@given(
    value=BAD_VALUES,
    argument=st.sampled_from(["data", "loss", "max_distances", "init", "metric"]),
)
def test_preserve_distances_rejects_bad_arguments(value, argument):
    args = {"data": np.random.default_rng(0).normal(size=(20, 3)), "random_state": 0}
    args[argument] = value
    raises_cleanly(
        lambda: skmde.preserve_distances(**args),
        argument,
        ("preserve_distances", value),
    )


@SETTINGS
@given(
    value=BAD_VALUES,
    estimator=st.sampled_from(
        [skmde.MDENeighbors, skmde.MDEDistances, skmde.MDEEmbedder]
    ),
)
def test_estimators_reject_bad_data(value, estimator):
    try:
        estimator(random_state=0, max_iter=5).fit(value)
    except (ValueError, TypeError):
        return
    pytest.fail(f"{estimator.__name__}.fit({value!r}) did not raise")


@pytest.mark.parametrize(
    "estimator", [skmde.MDENeighbors, skmde.MDEDistances, skmde.MDEEmbedder]
)
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_components", 0),
        ("n_components", "two"),
        ("max_iter", -3),
        ("eps", 0.0),
        ("memory_size", 0),
        ("metric", "banana"),
        ("dtype", "int8"),
        ("device", 7),
        ("constraint", "round"),
        ("verbose", "loud"),
        ("random_state", "seed"),
        ("store_training_data", "yes"),
    ],
)
def test_estimator_parameters_name_themselves(estimator, param, value):
    X = np.random.default_rng(0).normal(size=(30, 4))
    with pytest.raises((ValueError, TypeError), match=param):
        estimator(**{param: value}).fit(X)


# -- permutation equivariance and output shapes ----------------------------------------
def _push_and_pull(weights):
    return penalties.PushAndPull(weights, penalties.Log1p, penalties.Log)


@SETTINGS
@given(
    factory=st.sampled_from(ATTRACTIVE + REPULSIVE + LOSSES + [_push_and_pull]),
    seed=st.integers(0, 2**16),
    p=st.integers(1, 40),
)
def test_distortion_functions_are_permutation_equivariant(factory, seed, p):
    # permuting the edges (values and distances alike) permutes the
    # distortions and derivatives: PushAndPull broke this with its repulsive
    # block first; mixed signs, blocks in either order and interleaved here
    rng = np.random.default_rng(seed)
    d = torch.tensor(rng.uniform(0.05, 4.0, size=p))
    values = rng.uniform(0.2, 3.0, size=p)
    if factory in REPULSIVE:
        values = -values
    elif factory is _push_and_pull:
        values *= rng.choice([-1.0, 1.0], size=p)
    values = torch.tensor(values)
    perm = torch.from_numpy(rng.permutation(p))
    f, g = factory(values), factory(values[perm])
    f_value, f_slope = f.value_and_derivative(d)
    g_value, g_slope = g.value_and_derivative(d[perm])
    torch.testing.assert_close(g_value, f_value[perm])
    torch.testing.assert_close(g_slope, f_slope[perm])
    torch.testing.assert_close(g(d[perm]), f(d)[perm])


@SETTINGS
@given(
    layout=st.sampled_from(["repulsive first", "attractive first", "mixed"]),
    seed=st.integers(0, 2**16),
    p=st.integers(2, 40),
)
def test_push_and_pull_is_permutation_equivariant_in_every_layout(layout, seed, p):
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=p)
    if layout != "mixed":  # two contiguous blocks: the fast path
        signs = np.sort(signs) if layout == "repulsive first" else -np.sort(-signs)
    values = torch.tensor(signs * rng.uniform(0.2, 3.0, size=p))
    d = torch.tensor(rng.uniform(0.05, 4.0, size=p))
    perm = torch.from_numpy(rng.permutation(p))
    f, g = _push_and_pull(values), _push_and_pull(values[perm])
    torch.testing.assert_close(g(d[perm]), f(d)[perm])
    torch.testing.assert_close(g.derivative(d[perm]), f.derivative(d)[perm])
    total, ratio = f._sum_and_ratio(d)
    torch.testing.assert_close(ratio, f.derivative(d) / d)


@SETTINGS
@given(
    n_components=st.integers(1, 7),
    n_samples=st.integers(3, 30),
    estimator=st.sampled_from([skmde.MDENeighbors, skmde.MDEDistances]),
)
def test_output_has_the_asked_shape_or_is_refused(n_components, n_samples, estimator):
    # n_components >= n_samples gave n columns, then transform crashed
    X = np.random.default_rng(0).normal(size=(n_samples, 8))
    model = estimator(n_components=n_components, random_state=0, max_iter=5)
    if n_components >= n_samples:
        with pytest.raises(ValueError, match="n_components"):
            model.fit(X)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny data: standardized
        Z = model.fit_transform(X)
    assert Z.shape == (n_samples, n_components)
    assert model.transform(X[:3] + 0.01).shape == (3, n_components)
