"""
Interactive plots: hover, zoom and a page to share
==================================================

``skmde.plot(..., interactive=True)`` (and ``model.plot(...,
interactive=True)``) returns a plotly figure: it shows inline in a notebook,
hovering a point shows its row, its label and any columns you pass, the
mouse wheel zooms, and a click on a legend entry hides that class. Saved with
``savepath="page.html"`` it is one self-contained file that opens without a
network connection. It needs the ``interactive`` extra
(``pip install "skmde[interactive]"``).
"""

from sklearn.datasets import load_digits

import skmde

digits = load_digits()
model = skmde.MDENeighbors(random_state=0)
embedding = model.fit_transform(digits.data)

# %%
# Colour by digit and show, on hover, how much ink each image holds and
# which pixel row is its brightest: the columns of a DataFrame or a dict.
ink = digits.data.sum(axis=1)
brightest_row = digits.images.sum(axis=2).argmax(axis=1)
fig = model.plot(
    color_by=digits.target,
    title="digit",
    hover={"ink": ink, "brightest row": brightest_row},
    interactive=True,
    figsize_inches=(7, 6),
)
fig

# %%
# Where does the embedding strain? ``color_by="distortion"`` colours each
# image by the mean distortion of its pairs in the fitted problem: the
# images placed far from their neighbours stand out, and hover names them.
model.plot(color_by="distortion", interactive=True, figsize_inches=(7, 6))

# %%
# The same figures are drawn with matplotlib without ``interactive=True``;
# to share one as a page, pass ``savepath="digits.html"``. The command line
# writes both: ``skmde embed data.csv --color-by label --plot embedding.png
# --html embedding.html``.
print(f"{len(embedding)} points; the page holds plotly.js, about 5 MB")
