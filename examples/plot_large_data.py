"""
Embedding more rows than one process holds
==========================================

The large-data recipe: fit on a reproducible sample, embed every row with
``transform`` on a Dask cluster, chunk by chunk, write the embedding to disk
as it is computed, and plot a subsample. Each worker holds one chunk of rows
and the fitted model, never the whole dataset; each row's embedding is the
one the in-memory ``transform`` gives it, whatever the chunking.

Here the "cluster" is two worker threads in this process and the dataset is
small, so that the example runs in seconds; on real data, point ``Client`` at
a scheduler (see :doc:`/user_guide/large_data`). Without Dask installed the
same recipe runs chunk by chunk in this process.
"""

import importlib.util
import pathlib
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

import skmde
from skmde.dask import sample_rows

N_ROWS, N_FEATURES, CHUNK = 40_000, 20, 8_000

# %%
# A dataset that arrives in chunks
# --------------------------------
# A Gaussian mixture made chunk by chunk (each chunk from its own seed), the
# way a large dataset is read from many files.
centres = np.random.default_rng(0).uniform(-8, 8, size=(8, N_FEATURES))


def read_chunk(i):
    rng = np.random.default_rng([1, i])
    labels = rng.integers(len(centres), size=CHUNK)
    points = centres[labels] + 2.0 * rng.standard_normal((CHUNK, N_FEATURES))
    return points.astype(np.float32), labels


n_chunks = N_ROWS // CHUNK
labels = np.concatenate([read_chunk(i)[1] for i in range(n_chunks)])

# %%
# Fit on a sample
# ---------------
# :func:`skmde.dask.sample_rows` draws a reproducible sample, stratified by
# label when labels exist (it needs only the number of rows, not Dask).
sample = sample_rows(labels, 5_000, y=labels, random_state=0)
rows = np.concatenate([read_chunk(i)[0] for i in range(n_chunks)])[sample]
model = skmde.MDENeighbors(random_state=0).fit(rows)
print(f"fitted on {len(sample)} rows; label shares kept:", np.bincount(labels[sample]))

# %%
# Transform everything, chunk by chunk, straight to disk
# ------------------------------------------------------
# With Dask, :func:`skmde.dask.transform` maps ``transform`` over the chunks;
# the model enters the task graph once, so each worker receives it once.
# ``to_npy_stack`` writes one ``.npy`` file per chunk as chunks finish.
out = pathlib.Path(tempfile.mkdtemp()) / "embedding"
start = time.perf_counter()
if importlib.util.find_spec("distributed") is not None:
    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    X = da.concatenate(
        [
            da.from_delayed(
                dask.delayed(lambda i: read_chunk(i)[0])(i),
                (CHUNK, N_FEATURES),
                np.float32,
            )
            for i in range(n_chunks)
        ]
    )
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster),
    ):
        da.to_npy_stack(out, skmde.dask.transform(model, X))
    embedding = da.from_npy_stack(out)
else:  # the same recipe in this process
    out.mkdir(parents=True)
    for i in range(n_chunks):
        np.save(out / f"{i}.npy", model.transform(read_chunk(i)[0]))
    embedding = np.concatenate([np.load(out / f"{i}.npy") for i in range(n_chunks)])
print(f"embedded {N_ROWS} rows in {time.perf_counter() - start:.1f} s into {out}")

# %%
# Each row gets exactly what the in-memory ``transform`` gives it: the first
# 1,000 rows, transformed alone, match.
head = np.asarray(embedding[:1000])
alone = model.transform(read_chunk(0)[0][:1000])
print("equal to the in-memory transform:", np.array_equal(head, alone))

# %%
# Plot a subsample
# ----------------
shown = np.random.default_rng(0).choice(N_ROWS, 5_000, replace=False)
shown.sort()
points = np.asarray(embedding[shown])
fig, ax = plt.subplots(figsize=(5, 5))
ax.scatter(*points.T, c=labels[shown], s=2, cmap="tab10")
ax.set_title(f"{N_ROWS:,} rows embedded chunk by chunk (5,000 shown)")
ax.set_aspect("equal")
plt.show()
