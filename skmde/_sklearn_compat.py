"""The one module that imports scikit-learn's private helpers.

Everything the estimators need from scikit-learn's internals is imported here,
so a change in a future release is fixed in one place.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
)
from sklearn.utils._set_output import _get_container_adapter, _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    check_non_negative,
    check_random_state,
    validate_data,
)


class NameOptions(StrOptions):
    """:class:`StrOptions` of lowercase names, matched in any case ("Huber"
    is "huber", as the class is named)."""

    def is_satisfied_by(self, val):
        return isinstance(val, str) and val.lower() in self.options

    def __str__(self):
        return f"a str among {sorted(self.options)} (any case)"


def wrap_like_input(estimator, values, original):
    """``values`` (rows in the data space, e.g. from ``inverse_transform``) in
    the container ``set_output`` asks for, with the input's feature names
    (scikit-learn wraps ``transform`` itself, not the inverse)."""
    if _get_output_config("transform", estimator)["dense"] == "default":
        return values
    adapter = _get_container_adapter("transform", estimator)
    columns = _check_feature_names_in(estimator, None)
    return adapter.create_container(values, original, columns=columns)


__all__ = [
    "HasMethods",
    "Interval",
    "NameOptions",
    "StrOptions",
    "_fit_context",
    "check_is_fitted",
    "check_non_negative",
    "check_random_state",
    "validate_data",
    "wrap_like_input",
]
