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
from sklearn.utils.validation import (
    check_is_fitted,
    check_non_negative,
    check_random_state,
    validate_data,
)

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
    "check_is_fitted",
    "check_non_negative",
    "check_random_state",
    "validate_data",
]
