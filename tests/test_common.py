"""scikit-learn's estimator checks, with no expected failures."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmde import MDEDistances, MDEEmbedder, MDENeighbors, penalties

ESTIMATORS = [
    MDENeighbors(random_state=0),
    MDENeighbors(metric="precomputed", random_state=0),
    MDENeighbors(constraint="standardized", random_state=0),
    MDENeighbors(target_weight=0.5, random_state=0),  # checks pass y to fit
    MDENeighbors(
        attractive_penalty="quadratic", repulsive_penalty=None, random_state=0
    ),
    MDEDistances(random_state=0),
    MDEDistances(metric="precomputed", random_state=0),
    MDEDistances(constraint="standardized", loss="quadratic", random_state=0),
    MDEEmbedder(random_state=0),
    MDEEmbedder(relationships="distances", random_state=0),
    MDEEmbedder(distortion=penalties.Huber, metric="cosine", random_state=0),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: {})
def test_sklearn_compatible(estimator, check):
    check(estimator)


EXTRA_CHECKS = [
    "check_param_validation",
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_set_output_transform_polars",
    "check_global_set_output_transform_polars",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_get_feature_names_out_error",
    "check_dataframe_column_names_consistency",
    "check_inplace_ensure_writeable",
]


@pytest.mark.parametrize("check_name", EXTRA_CHECKS)
@pytest.mark.parametrize(
    "estimator",
    [
        MDENeighbors(random_state=0),
        MDEDistances(random_state=0),
        MDEEmbedder(random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_checks_not_run_by_parametrize_with_checks(estimator, check_name):
    pytest.importorskip("pandas")
    pytest.importorskip("polars")
    from sklearn.utils import estimator_checks

    check = getattr(estimator_checks, check_name)
    check(type(estimator).__name__, estimator)
