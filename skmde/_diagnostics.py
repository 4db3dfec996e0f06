"""The pictures and diagnostics of an :class:`~skmde.MDE` problem: per-item
distortions, ``plot``, ``distortions_cdf`` and ``play`` (the drawing itself is
in :mod:`skmde.plotting`)."""

import torch


class Diagnostics:
    """Methods of :class:`~skmde.MDE` that look at a solution."""

    def item_distortions(self, X=None):
        """Each item's mean distortion over its edges, a ``(n_items,)`` tensor
        (0 for an item in no edge): where the embedding strains."""
        f = self.distortions(X).detach()
        total = torch.zeros(self.n_items, dtype=f.dtype, device=f.device)
        edges = self.edges
        total.index_add_(0, edges[:, 0], f).index_add_(0, edges[:, 1], f)
        count = torch.bincount(edges.reshape(-1), minlength=self.n_items)
        return total / count.clamp_(min=1)

    def _attractive(self):
        """Which edges attract (positive weight), when the function says."""
        weights = getattr(self.distortion_function, "weights", None)
        return None if weights is None else (weights > 0).cpu().numpy()

    def _plot_arguments(self, color_by, edges, kwargs):
        if isinstance(color_by, str) and color_by == "distortion":
            color_by = self.item_distortions().cpu().numpy()
            kwargs.setdefault("title", "mean distortion")
        if isinstance(edges, str):
            if edges != "problem":
                raise ValueError(
                    f"edges must be an array, a Graph or 'problem'; got {edges!r}."
                )
            attractive = self._attractive()
            edges = self.edges.cpu()
            edges = edges if attractive is None else edges[attractive]
        return color_by, edges, kwargs

    def plot(self, color_by=None, color_map=None, colors=None, edges=None, **kwargs):
        """Plot the embedding (dimension 1 to 3); see :func:`skmde.plot`
        (the first arguments are in PyMDE's order).

        ``color_by="distortion"`` colours each item by its mean distortion
        (:meth:`item_distortions`); ``edges="problem"`` draws the problem's
        attractive pairs (all its pairs when the function has no weights).
        """
        from .plotting import plot

        X = self._check_X(None)
        color_by, edges, kwargs = self._plot_arguments(color_by, edges, kwargs)
        return plot(X, color_by, color_map, colors, edges, **kwargs)

    def distortions_cdf(self, figsize_inches=(8.0, 3.0), savepath=None, **kwargs):
        """Plot the cumulative distribution of the distortions, attractive
        and repulsive pairs apart; returns the Axes (see
        :func:`skmde.plotting.distortions_cdf`)."""
        from .plotting import distortions_cdf

        return distortions_cdf(
            self.distortions(),
            figsize_inches=figsize_inches,
            savepath=savepath,
            attractive=self._attractive(),
            **kwargs,
        )

    def play(self, color_by=None, color_map=None, colors=None, edges=None, **kwargs):
        """Animate the snapshots of the last solve as a GIF written to ``savepath``.

        Call :meth:`embed` with ``snapshot_every`` first. Frames are titled
        by iteration; the other arguments are :func:`skmde.plotting.play`'s.
        ``tmpdir`` is accepted for PyMDE's calls and must be an existing
        directory; skmde assembles the frames in memory and writes nothing
        there.
        """
        import os

        from .plotting import play

        tmpdir = kwargs.pop("tmpdir", None)
        if tmpdir is not None and not os.path.isdir(tmpdir):
            raise ValueError(f"tmpdir must be an existing directory; got {tmpdir!r}.")
        stats = self.solve_stats
        if stats is None or not stats.snapshots:
            raise ValueError(
                "no snapshots: call embed(snapshot_every=k) before play()."
            )
        iterations = [i * stats.snapshot_every for i in range(len(stats.snapshots))]
        iterations[-1] = min(iterations[-1], stats.iterations)
        if isinstance(color_by, str) and color_by == "distortion":
            raise ValueError("play() colours by labels or values, not 'distortion'.")
        _, edges, kwargs = self._plot_arguments(None, edges, kwargs)
        return play(
            stats.snapshots, color_by, color_map, colors, edges,
            iterations=iterations, **kwargs,
        )  # fmt: skip
