"""Every gallery example runs to completion (under the Agg backend)."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

EXAMPLES = sorted(
    (pathlib.Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py")
)
#: examples that take 20 s or more on 2 cores (33, 23 and 20 s): they run
#: with the tests marked slow, and again in the documentation build there,
#: which keeps the default suite under 10 minutes
SLOW_EXAMPLES = {"plot_grid_search", "plot_large_data", "plot_mnist"}


def test_slow_examples_exist():
    assert SLOW_EXAMPLES.issubset(script.stem for script in EXAMPLES)


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(
            script,
            id=script.stem,
            marks=[pytest.mark.slow] if script.stem in SLOW_EXAMPLES else [],
        )
        for script in EXAMPLES
    ],
)
def test_example_runs(script, tmp_path):
    # run from a copy so that files the example writes land in tmp_path; the
    # MNIST example finds ../shared/data through the original location
    env = dict(os.environ, MPLBACKEND="Agg")
    copy = tmp_path / script.name
    shutil.copy(script, copy)
    code = (
        f"__file__ = {str(script)!r}; "
        f"exec(compile(open({str(copy)!r}).read(), {str(copy)!r}, 'exec'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_documentation_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("pydata_sphinx_theme")
    root = pathlib.Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(root / "doc"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env=dict(os.environ, MPLBACKEND="Agg"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
