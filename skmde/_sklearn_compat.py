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


class NameOptions(StrOptions):
    """:class:`StrOptions` of lowercase names, matched in any case ("Huber"
    is "huber", as the class is named)."""

    def is_satisfied_by(self, val):
        return isinstance(val, str) and val.lower() in self.options

    def __str__(self):
        return f"a str among {sorted(self.options)} (any case)"


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
]
