"""Sphinx configuration: ``python -m sphinx -W -b html doc doc/_build/html``."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import skmde

project = "skmde"
author = "The skmde developers"
copyright = "2026, the skmde developers"
release = skmde.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "**/*.codeobj.json",
]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    # plotly figures (interactive=True) are embedded through their HTML
    "capture_repr": ("_repr_html_", "__repr__"),
}

try:  # the interactive example's figure, embedded in the page
    import plotly.io as pio

    pio.renderers.default = "sphinx_gallery"
except ImportError:
    pass

html_theme = "pydata_sphinx_theme"
html_title = "skmde"
html_theme_options = {"navigation_with_keys": False}
