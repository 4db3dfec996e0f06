"""The two-phase solve of neighbour embeddings: gather, then refine.

The first half of the iterations solves the problem as built (a log1p pull of
exponent 1.5 by default: strong at long range, it gathers each cluster from
the initial embedding). The second half solves a sharper problem on the same
pairs and weights: the pull's exponent lowered by a sixth (1.5 to 1.25:
nearly linear, so the nearest neighbours end up nearest) and the repulsion
tripled (it spreads each cluster, so its inner arrangement shows). Started from the
gathered layout, the clusters keep their places and only their insides
change, the way t-SNE's early exaggeration is followed by its plain
objective. Measured with ``benchmarks/bench_quality.py`` (``--skmde
'{"refine": false}'`` for the one-phase solve).
"""

import functools

from . import penalties

#: the refining phase multiplies the log1p pull's exponent by this (1.5 to
#: 1.25, which has a fast path in penalties._power: as good as 1.2 on MNIST)
EXPONENT_FACTOR = 5 / 6
#: and the repulsive weights by this
REPULSION_FACTOR = 3.0
#: "auto" refines problems of at least this many items: on smaller data a
#: repulsive sample of 4 pairs per neighbour pair already covers much of all
#: the pairs, and more repulsion spreads the clusters too far (trustworthiness
#: fell on iris, wine, breast cancer and 1,000 MNIST images; it rose on 2,000
#: and more, and on digits' 1,797). Checked again against the one-phase
#: penalties (recipes ONE_PHASE_*): refining lowered it on 1,000 and 1,400
#: MNIST images and 1,200 digits, raised it on 2,000 and 3,000 MNIST images
MIN_ITEMS = 1500


def wanted(refine, n_items):
    """Whether ``refine`` (True, False or "auto") refines ``n_items`` items."""
    return n_items >= MIN_ITEMS if refine == "auto" else bool(refine)


def final_problem(
    plan, refine, n_items, function, factory, attractive, repulsive, weights
):
    """The final problem's ``(factory, weights, attractive factory, repulsion
    factor)`` for a neighbour problem of ``n_items`` built from them: the
    refined ones, whose function goes to ``plan.refined``, when ``refine``
    asks for it and the penalties allow; else the given ones."""
    found = (
        plan.n_repulsive
        and wanted(refine, n_items)
        and refined_penalties(function, attractive, repulsive, weights)
    )
    if not found:
        return factory, weights, attractive, 1.0
    factory, weights = found
    plan.refined = factory(weights)
    return factory, weights, factory.keywords["attractive_penalty"], REPULSION_FACTOR


def refined_penalties(function, attractive, repulsive, weights):
    """The refining phase's (factory, weights) for a PushAndPull ``function``
    built from ``attractive``, ``repulsive`` and ``weights``, or None when its
    pull is not a :class:`~skmde.penalties.Log1p` (other penalties are solved
    as given)."""
    pull = function.attractive_penalty
    if not isinstance(pull, penalties.Log1p) or function.repulsive_penalty is None:
        return None
    factory = functools.partial(
        penalties.PushAndPull,
        attractive_penalty=functools.partial(
            penalties.Log1p, exponent=round(pull.exponent * EXPONENT_FACTOR, 10)
        ),
        repulsive_penalty=repulsive,
    )
    return factory, weights.where(weights > 0, weights * REPULSION_FACTOR)


def solve(mde, refined, *, eps, max_iter, memory_size, callback=None):
    """Solve ``mde``; with a ``refined`` function, the first half of
    ``max_iter`` as built and the rest with ``refined`` (which stays the
    problem's function). Returns the embedding and the iterations done.
    ``callback`` sees the iterations counted across both phases, each once."""
    if refined is None:
        Z = mde.embed(
            eps=eps, max_iter=max_iter, memory_size=memory_size, callback=callback
        )
        return Z, mde.solve_stats.iterations
    first = max_iter // 2
    Z = mde.embed(eps=eps, max_iter=first, memory_size=memory_size, callback=callback)
    done = mde.solve_stats.iterations

    def shifted(iteration, X, stats):
        # iteration 0 of the second phase is the last of the first
        return iteration > 0 and callback(done + iteration, X, stats)

    mde.distortion_function = refined  # moved to the problem's device
    Z = mde.embed(
        X=Z,
        eps=eps,
        max_iter=max_iter - done,
        memory_size=memory_size,
        callback=None if callback is None else shifted,
    )
    return Z, done + mde.solve_stats.iterations
