"""Each default has one meaning: the public recipes, their keyword builders and
the estimators agree on every parameter they share, but for the differences
listed here on purpose."""

import inspect

import pytest
import torch

import skmde
from skmde import losses, penalties, recipes
from skmde._inputs import check_dtype
from skmde._utils import resolve_device

#: estimator defaults that differ from the recipe's on purpose
ESTIMATOR_ONLY = {
    # fit solves in two phases on data of 1,500 rows or more (see _refine)
    "refine": "auto",
    # chosen from the type of y
    "target_metric": "auto",
    # transform places new rows against the training data
    "store_training_data": True,
}
#: how a default given by name or as None reads once resolved
RESOLVE = {
    "attractive_penalty": lambda v: penalties.get(v, "attractive_penalty"),
    "repulsive_penalty": lambda v: penalties.get(v, "repulsive_penalty"),
    "loss": lambda v: losses.get(v, "loss"),
    "device": resolve_device,
    "dtype": check_dtype,
}


def defaults(function):
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


@pytest.mark.parametrize(
    "public, builder",
    [
        (skmde.preserve_neighbors, recipes.neighbor_problem),
        (skmde.preserve_distances, recipes.distance_problem),
    ],
)
def test_a_recipe_and_its_builder_share_their_defaults(public, builder):
    outer, inner = defaults(public), defaults(builder)
    outer.pop("verbose")  # the wrapper reports; the builder does not
    assert set(outer) <= set(inner)
    assert {name: inner[name] for name in outer} == outer


@pytest.mark.parametrize(
    "estimator, builder",
    [
        (skmde.MDENeighbors, recipes.neighbor_problem),
        (skmde.MDEDistances, recipes.distance_problem),
    ],
)
def test_an_estimator_defaults_to_its_recipe(estimator, builder):
    ours, recipe = defaults(estimator.__init__), defaults(builder)
    assert ours["n_components"] == recipe["embedding_dim"]
    shared = (set(ours) & set(recipe)) - set(ESTIMATOR_ONLY)
    assert {"constraint", "init", "metric", "random_state", "n_jobs"} <= shared
    for name in shared:
        resolve = RESOLVE.get(name, lambda v: v)
        assert resolve(ours[name]) == resolve(recipe[name]), name
    for name, value in ESTIMATOR_ONLY.items():
        if name in recipe:
            assert ours[name] == value and recipe[name] != value, name


def test_the_resolved_defaults_are_the_documented_ones():
    assert RESOLVE["device"]("cpu") == RESOLVE["device"](None) == torch.device("cpu")
    assert RESOLVE["dtype"]("float32") is RESOLVE["dtype"](None) is torch.float32
    assert RESOLVE["attractive_penalty"]("log1p") is penalties.Log1p
    assert RESOLVE["loss"]("quadratic") is losses.Quadratic
