"""Bayesian online change-point detection (Adams & MacKay 2007) on an actor's period means.

An alternative to the newest-period test of :class:`~tonecls.shift.ShiftDetector`, giving a
posterior probability that the newest period starts a new segment instead of a p-value. Model: each
segment has a mean tone ``mu ~ N(prior_mean, prior_sd^2)``; a period mean is ``N(mu, var_p)`` with
``var_p = tau^2 + sigma^2 / n_p`` (the random-effects variances of the period test); a new segment starts
before each period with probability ``hazard``. Not wired into the CLI: measured against the period test
and the CUSUM scan in docs/shift.md (:func:`bocpd_study`).

>>> p = change_probability([0.1, 0.12, 0.09, 0.11, 0.1, 0.6], [1e-3] * 6)
>>> bool(p[-1] > 0.99), bool(p[3] < 0.1)
(True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def change_probability(means, variances, hazard: float = 1 / 20, prior_mean: float | None = None,
                       prior_sd: float = 0.25) -> np.ndarray:
    """``P(a segment starts at period t | periods 1..t)`` for each t (the online posterior; t = 0 gets 0).

    ``prior_mean`` defaults to the first period's mean; ``prior_sd`` 0.25 is one level.
    """
    x, v = np.asarray(means, float), np.asarray(variances, float)
    mu0 = float(x[0]) if prior_mean is None else float(prior_mean)
    s0 = prior_sd ** 2
    # run-length posterior and, per run length, the posterior N(a, b) of the segment mean
    logp = np.array([0.0])
    a, b = np.array([mu0]), np.array([s0])
    out = np.zeros(x.size)
    for t in range(x.size):
        pred = stats.norm.logpdf(x[t], a, np.sqrt(b + v[t]))
        grow = logp + pred + np.log1p(-hazard)
        cp = np.logaddexp.reduce(logp + stats.norm.logpdf(x[t], mu0, np.sqrt(s0 + v[t])) + np.log(hazard))
        new = np.r_[cp, grow]
        new -= np.logaddexp.reduce(new)
        if t:
            out[t] = float(np.exp(new[0]))
        k = b / (b + v[t])
        a_upd, b_upd = a + k * (x[t] - a), b * (1 - k)
        b0 = s0 * v[t] / (s0 + v[t])
        a = np.r_[mu0 + b0 / v[t] * (x[t] - mu0), a_upd]
        b = np.r_[b0, b_upd]
        logp = new
    return out


def period_series(df: pd.DataFrame) -> dict:
    """Per actor: ``(means, variances)`` of its period means (columns actor, period, score), with
    ``variances = tau^2 + sigma^2 / n`` from the pooled within-period variance and DerSimonian-Laird."""
    from .stats import random_effects_weights

    out = {}
    for actor, g in df.groupby("actor", sort=True):
        s = g.groupby("period")["score"]
        n, m, var = s.size().to_numpy(float), s.mean().to_numpy(), s.var(ddof=1).to_numpy()
        out[actor] = (m, 1.0 / random_effects_weights(n, m, var))
    return out


def bocpd_study(n_series: int = 1000, n_periods: int = 15, per_period: int = 8, shift: float = 0.25,
                threshold: float = 0.5, tau: float = 0.02, rng: int = 61) -> dict:
    """Newest-period alarms of BOCPD (posterior > ``threshold``) against the period test and the CUSUM scan.

    Stationary and last-period-shifted actors of the default noise model (as :func:`monitor_study`).
    Returns false-alarm and power rates for ``bocpd``, ``period_test`` (monitoring, period events only)
    and ``cusum_scan`` (a change point dated in the newest period by :meth:`ShiftDetector.scan`).

    >>> sorted(bocpd_study(10, n_periods=5, per_period=4))
    ['bocpd_false_alarm', 'bocpd_power', 'cusum_scan_false_alarm', 'cusum_scan_power', 'period_test_false_alarm', 'period_test_power']
    """
    from .detect import ShiftDetector
    from .simulate import simulate_scores

    last = str(2000 + n_periods - 1)
    quiet = simulate_scores(n_series, n_periods, per_period, tau=tau, rng=rng)
    half = n_series // 2
    up = simulate_scores(half, n_periods, per_period, shift=shift, shift_period=n_periods - 1, tau=tau, rng=rng + 1)
    down = simulate_scores(n_series - half, n_periods, per_period, shift=-shift, shift_period=n_periods - 1, tau=tau,
                           rng=rng + 2)
    moved = pd.concat([up.assign(actor="U" + up.actor), down.assign(actor="D" + down.actor)], ignore_index=True)
    out = {}
    for name, df in (("false_alarm", quiet), ("power", moved)):
        probs = {a: change_probability(m, v)[-1] for a, (m, v) in period_series(df).items()}
        out[f"bocpd_{name}"] = float(np.mean([p > threshold for p in probs.values()]))
        data = df.drop(columns=["period", "shifted"])
        ev = ShiftDetector().monitor(data).events
        out[f"period_test_{name}"] = ev.loc[ev.kind == "period", "actor"].nunique() / n_series
        cp = ShiftDetector().scan(data).events
        out[f"cusum_scan_{name}"] = cp.loc[(cp.kind == "change_point") & (cp.period == last), "actor"].nunique() / \
            n_series
    return out
