"""Reliability diagrams (needs the optional ``plot`` extra: ``pip install 'tonecls[plot]'``).

matplotlib is imported only inside these functions, so the rest of tonecls works without it.

>>> import numpy as np
>>> from tonecls.plotting import ReliabilityDisplay
>>> rng = np.random.default_rng(0)
>>> probs = rng.dirichlet(np.ones(5), size=300)
>>> y = np.array([rng.choice(5, p=p) for p in probs])
>>> disp = ReliabilityDisplay.from_predictions(y, probs, name="simulated")   # doctest: +SKIP
>>> disp.figure_.savefig("reliability.png")                                     # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .metrics import DEFAULT_BINS, CalibrationCurve, binned_gap, calibration_curve


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise ImportError("Plotting needs matplotlib: pip install 'tonecls[plot]'") from err


class ReliabilityDisplay:
    """Reliability diagram: per-bin accuracy against mean confidence, with a histogram of bin
    counts underneath. Build it with :meth:`from_predictions` or :meth:`from_classifier`, or from
    a :class:`~tonecls.metrics.CalibrationCurve`; :meth:`plot` sets ``figure_``, ``ax_``
    (the diagram), ``hist_ax_`` (the counts) and ``line_``.
    """

    def __init__(self, curve: CalibrationCurve, *, ece: float | None = None, name: str | None = None,
                 level: int | None = None):
        self.curve = curve
        self.ece = ece
        self.name = name
        self.level = level  # None: top-label curve; k: level k's one-vs-rest curve

    @classmethod
    def from_predictions(cls, y, probs, *, n_bins: int = DEFAULT_BINS, binning: str = "uniform",
                         level: int | None = None, name: str | None = None, ax=None, hist_ax=None,
                         **kwargs) -> "ReliabilityDisplay":
        """Plot the top-label reliability (or level ``level``'s one-vs-rest) of ``probs``."""
        _require_matplotlib()
        curve = calibration_curve(y, probs, n_bins=n_bins, binning=binning, level=level)
        ece = binned_gap(curve, int(curve.count.sum()))[0]
        return cls(curve, ece=ece, name=name, level=level).plot(ax=ax, hist_ax=hist_ax, **kwargs)

    @classmethod
    def from_classifier(cls, clf, texts, y, *, batch_size: int = 64, name: str | None = None,
                        **kwargs) -> "ReliabilityDisplay":
        """Score ``texts`` with ``clf.predict_proba`` (calibrated if the model is) and plot."""
        _require_matplotlib()
        probs = clf.predict_proba(texts, batch_size=batch_size)
        return cls.from_predictions(y, probs, name=name or getattr(clf, "name", None), **kwargs)

    def plot(self, ax=None, hist_ax=None, *, name: str | None = None, **kwargs) -> "ReliabilityDisplay":
        """Draw on ``ax`` / ``hist_ax`` (new figure with both when ``ax`` is None); pass the axes of
        another display to overlay several models. ``kwargs`` go to the reliability line."""
        _require_matplotlib()
        if ax is None:
            import matplotlib.pyplot as plt

            fig, (ax, hist_ax) = plt.subplots(2, 1, figsize=(5, 6), sharex=True,
                                              gridspec_kw={"height_ratios": [3, 1]})
            _decorate(ax, hist_ax, self.level)
        name = name if name is not None else self.name
        c = self.curve
        seen = c.count > 0
        label = name or "model"
        if self.ece is not None:
            label += f" (ECE {self.ece:.3f})"
        (self.line_,) = ax.plot(c.confidence[seen], c.accuracy[seen], marker="o", label=label, **kwargs)
        ax.legend(loc="upper left")
        if hist_ax is not None:
            widths = np.diff(c.bin_edges)
            hist_ax.bar(c.bin_edges[:-1], c.count, width=widths, align="edge", alpha=0.5,
                        color=self.line_.get_color(), edgecolor="white", label=name)
        self.ax_, self.hist_ax_, self.figure_ = ax, hist_ax, ax.figure
        return self


def _decorate(ax, hist_ax, level: int | None = None) -> None:
    if level is None:
        title, xlabel, ylabel = "Reliability (top label)", "confidence (max probability)", "accuracy in bin"
    else:
        title, xlabel, ylabel = (f"Reliability (level {level} vs rest)", f"predicted probability of level {level}",
                                 f"frequency of level {level} in bin")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    ax.set(xlim=(0, 1), ylim=(0, 1), ylabel=ylabel, title=title)
    if hist_ax is not None:
        hist_ax.set(xlabel=xlabel, ylabel="statements")
    else:
        ax.set(xlabel=xlabel)


def plot_report_reliability(report: dict, path) -> Path:
    """Save the before/after reliability diagram of an :func:`~tonecls.evaluation.evaluate_predictions`
    report as a PNG (headless: no pyplot state is used)."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 6))
    ax, hist_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    _decorate(ax, hist_ax)
    for name in ("uncalibrated", "calibrated"):
        if report.get(name) and name in report.get("reliability", {}):
            ReliabilityDisplay(CalibrationCurve.from_dict(report["reliability"][name]), ece=report[name]["ece"],
                               name=name).plot(ax=ax, hist_ax=hist_ax)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
