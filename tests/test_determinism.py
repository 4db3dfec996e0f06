"""Same data, parameters and random_state give the same output, bit for bit,
in two fresh processes."""

import pathlib
import subprocess
import sys

import pytest

SCRIPT = """
import hashlib, sys
sys.path.insert(0, {root!r})
import numpy as np
from sklearn.datasets import load_digits
import skmde
X = load_digits().data[:500]
outputs = [
    skmde.MDENeighbors(random_state=3).fit(X[:400]).transform(X[400:]),
    skmde.MDEDistances(random_state=3, max_iter=100).fit_transform(X),
    skmde.MDEEmbedder(relationships="distances", random_state=3,
                      max_iter=50).fit_transform(X),
    skmde.preserve_neighbors(X, random_state=3).embed().numpy(),
    skmde.preserve_distances(X, random_state=3).embed(max_iter=50).numpy(),
]
for out in outputs:
    print(hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_two_fresh_processes_agree_bit_for_bit():
    root = str(pathlib.Path(__file__).resolve().parents[1])
    runs = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT.format(root=root)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0].split()) == 5
