"""Root pytest configuration: skip doctests of optional modules whose extra is
not installed."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("dask") is None:
    collect_ignore.append("skmde/dask.py")
