"""Exact search on an accelerator (a CUDA device).

A GPU computes every query's scores against all reference items in blocks of
large matrix products, faster than the CPU's clustered search computes a
fraction of them; so on a device the search is exact, in the full space
(neither the PCA-reduced candidates nor the clusters of the CPU search). The
prepared float32 rows come from :class:`~skmde.neighbors.NeighborIndex`,
which keeps its device copy of the reference items between queries.
"""

import math

import torch

from ._blocks import refine

#: bytes of one block of scores on the device (large blocks keep the matrix
#: products and the selections long enough to hide their launch cost)
DEVICE_BLOCK_BYTES = 256 * 2**20
#: the exact search compares every query with every item: above this many
#: items (10^12 pairs for the items themselves), the CPU's search is used
DEVICE_MAX_ITEMS = 1_000_000


def device_topk(Q, R, k, exclude_self, device, block_bytes=DEVICE_BLOCK_BYTES):
    """The ``k`` nearest rows of ``R`` (a tensor on ``device``) for each row
    of ``Q`` (None: the rows of ``R``, each excluded from its own list), by
    squared Euclidean distance.

    The squared distances of the selected pairs are computed again pair by
    pair (:func:`refine`), so that no result depends on the block it was
    scored in (a matrix product's rounding varies with its shape) nor a new
    row's on the rows searched with it. Returns ``(indices, d2)`` as CPU
    tensors of shape (nq, k), sorted by distance.
    """
    Q = R if exclude_self else torch.as_tensor(Q).to(device)
    nq, n = Q.shape[0], R.shape[0]
    sq_r = (R * R).sum(dim=1)
    indices = torch.empty((nq, k), dtype=torch.int64, device=device)
    block = max(1, block_bytes // (R.element_size() * max(n, 1)))
    for start in range(0, nq, block):
        stop = min(nq, start + block)
        # ||r||^2 - 2 q.r: adding ||q||^2 does not change the ranking
        scores = torch.addmm(sq_r.unsqueeze(0), Q[start:stop], R.T, alpha=-2.0)
        if exclude_self:
            rows = torch.arange(stop - start, device=device)
            scores[rows, rows + start] = math.inf
        indices[start:stop] = torch.topk(
            scores, k, dim=1, largest=False, sorted=False
        ).indices
    indices, d2 = refine(Q, R, indices, k)
    return indices.cpu(), d2.cpu()
