"""The statistics of the shift detector: two-piece statement baselines, Holm, period weights,
weighted CUSUM / PELT change points, the newest-period test and change-location intervals."""

from __future__ import annotations

import numpy as np
from scipy import stats

# ------------------------------------------------------------------ statement test
def semi_deviations(h: np.ndarray, median: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Lower and upper semi-deviations of each row of ``h`` about its ``median``, with their df.

    ``spread_high = sqrt(sum(e^2) / m)`` over the ``m`` excesses ``e = h - median > 0`` (the same
    below the median; values equal to the median count on neither side). Its degrees of
    freedom ``df_high = m * min(1, 2 / (k - 1))`` with ``k = m * sum(e^4) / sum(e^2)^2``: for normal
    data (half-normal excesses, ``k ~ 3``) ``m spread^2 / sigma^2`` is about chi-square with ``m`` df;
    when a few large excesses make up most of the spread (a sparse upper tail, ``k > 3``) the
    estimate is less certain and the df shrink to match its variance (Satterthwaite). A side
    without values gets NaN and 0 df. Returns ``(spread_low, spread_high, df_low, df_high)``.

    >>> lo, hi, df_lo, df_hi = semi_deviations(np.array([[0., 1, 2, 5]]), np.array([1.5]))
    >>> lo.round(3).tolist(), hi.round(3).tolist(), df_lo.round(2).tolist(), df_hi.round(2).tolist()
    ([1.118], [2.5], [2.0], [2.0])
    """
    h = np.atleast_2d(np.asarray(h, dtype=np.float64))
    if valid is None:
        valid = np.isfinite(h)
    d = np.where(valid, h - np.asarray(median, dtype=np.float64).reshape(-1, 1), 0.0)
    out = []
    for side in (valid & (d < 0), valid & (d > 0)):
        m = side.sum(axis=1)
        e2 = np.where(side, d * d, 0.0)
        s2 = e2.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.sqrt(s2 / m)
            share = np.where(side, e2 / np.where(s2 > 0, s2, 1.0)[:, None], 0.0)  # each e^2 / sum(e^2)
            kurt = np.where(s2 > 0, m * (share * share).sum(axis=1), 1.0)  # all excesses ~0: df = m
            df = np.where(m > 0, m * np.minimum(1.0, 2.0 / np.maximum(kurt - 1.0, 1e-12)), 0.0)
        out.append((spread, np.where(m > 0, np.maximum(df, 1.0), 0.0)))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def trailing_baseline(y: np.ndarray, group_start: np.ndarray, window: int | None) -> tuple[np.ndarray, ...]:
    """Median, lower and upper semi-deviations (with their df) and size of each row's history.

    ``y`` is one actor's values in date order; ``group_start[i]`` is the index of the first
    row with the same date as row ``i``: the history of row ``i`` is the (at most)
    ``window`` rows before ``group_start[i]``. Returns ``(median, spread_low, spread_high,
    df_low, df_high, n, n_dates)`` (see :func:`semi_deviations`; ``n_dates`` counts the distinct
    dates in the history); rows without history get NaN.

    >>> med, lo, hi, df_lo, df_hi, n, n_dates = trailing_baseline(np.array([1., 2, 3, 10]), np.array([0, 1, 2, 2]),
    ...                                                            window=3)
    >>> med.tolist(), hi.tolist(), df_hi.tolist(), n.tolist(), n_dates.tolist()
    ([nan, 1.0, 1.5, 1.5], [nan, nan, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0], [0, 1, 2, 2], [0, 1, 2, 2])
    """
    starts, inverse = np.unique(group_start, return_inverse=True)
    w = int(starts.max()) if window is None else int(window)
    n_hist = np.minimum(starts, w)
    # distinct dates in each history: groups from the one holding row (start - n) up to start - 1
    gid = np.cumsum(np.r_[True, np.asarray(group_start)[1:] != np.asarray(group_start)[:-1]]) - 1
    n_dates = np.where(n_hist > 0, gid[starts] - gid[np.maximum(starts - n_hist, 0)], 0)
    med = np.full(starts.size, np.nan)
    lo, hi = np.full(starts.size, np.nan), np.full(starts.size, np.nan)
    df_lo, df_hi = np.zeros(starts.size), np.zeros(starts.size)
    if w > 0:
        offs = np.arange(-w, 0)
        block = max(1, 2_000_000 // w)
        for b in range(0, starts.size, block):
            s, n = starts[b:b + block], n_hist[b:b + block]
            ok = n > 0
            s, n = s[ok], n[ok]
            if not s.size:
                continue
            idx = s[:, None] + offs[None, :]
            h = np.sort(np.where(idx >= 0, y[np.clip(idx, 0, None)], np.inf), axis=1)  # valid values first
            rows = np.arange(s.size)
            m = 0.5 * (h[rows, (n - 1) // 2] + h[rows, n // 2])
            sel = np.flatnonzero(ok) + b
            med[sel] = m
            lo[sel], hi[sel], df_lo[sel], df_hi[sel] = semi_deviations(h, m, np.isfinite(h))
    return med[inverse], lo[inverse], hi[inverse], df_lo[inverse], df_hi[inverse], n_hist[inverse], n_dates[inverse]


def predictive_z(y, median, spread_low, spread_high, n, df_low, df_high):
    """Predictive statistic of a new value against a two-piece baseline, and its degrees of freedom.

    The side of the median that ``y`` falls on picks the semi-deviation and its count:
    ``z = (y - median) / (spread_side * sqrt(1 + pi / (2 n)))`` (the factor allows for the
    sampling error of the median of ``n`` values), referred to a Student t with the side's df
    (:func:`semi_deviations`): for normal data the tail of ``z`` matches or is below that t's
    (checked by simulation down to p = 1e-3 for n = 8..60 in ``tests/test_shift.py``).
    """
    y, median = np.asarray(y, dtype=np.float64), np.asarray(median, dtype=np.float64)
    high = y >= median
    spread = np.where(high, spread_high, spread_low)
    dof = np.maximum(np.where(high, df_high, df_low), 1.0).astype(np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = (y - median) / (spread * np.sqrt(1.0 + np.pi / (2.0 * n)))
    return z, dof


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error control), NaNs left as NaN."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
        out[order] = adj
    return out


# --------------------------------------------------------------- change points
def random_effects_weights(n: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Weights ``1 / (tau^2 + sigma^2 / n_p)`` for period means (DerSimonian-Laird tau^2).

    ``sigma^2`` is the pooled within-period variance; with no period of two statements all
    weights are equal.
    """
    n = np.asarray(n, dtype=np.float64)
    dof = np.clip(n - 1, 0, None)
    if dof.sum() == 0 or len(n) < 2:
        return np.ones_like(n)
    sigma2 = float(np.nansum(dof * np.nan_to_num(var)) / dof.sum())
    sigma2 = max(sigma2, 1e-6)
    w0 = n / sigma2
    xbar = np.sum(w0 * mean) / w0.sum()
    q = float(np.sum(w0 * (mean - xbar) ** 2))
    denom = w0.sum() - np.sum(w0 ** 2) / w0.sum()
    tau2 = max(0.0, (q - (len(n) - 1)) / denom) if denom > 0 else 0.0
    return 1.0 / (tau2 + sigma2 / n)


def cusum_statistics(x: np.ndarray, w: np.ndarray, min_segment: int = 1) -> np.ndarray:
    """Weighted CUSUM statistics ``Z_k`` for a mean change after position ``k`` (last axis).

    ``Z_k = (mean_w(x[:k]) - mean_w(x[k:])) * sqrt(W_k (W - W_k) / W)`` for
    ``k = min_segment .. L - min_segment``; ``Z_k^2`` is the drop in weighted squared error
    from one split at ``k``. Works on 1-D series or 2-D stacks (one series per row).
    """
    cw = np.cumsum(w, axis=-1)
    cs = np.cumsum(w * x, axis=-1)
    total_w, total_s = cw[..., -1:], cs[..., -1:]
    k = slice(min_segment - 1, x.shape[-1] - min_segment)
    wl, sl = cw[..., k], cs[..., k]
    wr, sr = total_w - wl, total_s - sl
    return (sl / wl - sr / wr) * np.sqrt(wl * wr / total_w)


def cusum_test(x, w, n_permutations=999, min_segment=1, rng=None) -> tuple[int, float, float]:
    """Most likely single change in a weighted series and its permutation p-value.

    Returns ``(k, z, p)``: the new mean starts at index ``k``; ``p`` is
    ``(1 + #{permutations with max |Z| >= observed}) / (n_permutations + 1)``.
    """
    x, w = np.asarray(x, float), np.asarray(w, float)
    L = x.size
    if L < 2 * min_segment:
        return -1, 0.0, 1.0
    z = cusum_statistics(x, w, min_segment)
    j = int(np.argmax(np.abs(z)))
    obs = abs(z[j])
    rng = np.random.default_rng(rng)
    perm = rng.permuted(np.tile(np.arange(L), (n_permutations, 1)), axis=1)
    null = np.abs(cusum_statistics(x[perm], w[perm], min_segment)).max(axis=1)
    p = (1 + int(np.sum(null >= obs * (1 - 1e-12)))) / (n_permutations + 1)
    return j + min_segment, float(z[j]), float(p)


def binary_segmentation(x, w, alpha, n_permutations=999, min_segment=1, rng=None) -> list[tuple[int, float, float]]:
    """Change points ``(k, z, p)`` found by recursively splitting while the permutation p <= alpha."""
    rng = np.random.default_rng(rng)
    found, stack = [], [(0, len(x))]
    while stack:
        a, b = stack.pop()
        k, z, p = cusum_test(x[a:b], w[a:b], n_permutations, min_segment, rng)
        if k > 0 and p <= alpha:
            found.append((a + k, z, p))
            stack += [(a, a + k), (a + k, b)]
    return sorted(found)


class _WeightedL2:
    """Weighted least-squares segment cost for ``ruptures`` (built lazily)."""

    @staticmethod
    def make(w):
        from ruptures.base import BaseCost

        class WeightedL2(BaseCost):
            model = "weighted_l2"
            min_size = 1

            def fit(self, signal):
                x = np.asarray(signal, float).reshape(-1)
                self.signal = x.reshape(-1, 1)
                self.cw = np.concatenate([[0.0], np.cumsum(w)])
                self.cs = np.concatenate([[0.0], np.cumsum(w * x)])
                self.css = np.concatenate([[0.0], np.cumsum(w * x * x)])
                return self

            def error(self, start, end):
                sw = self.cw[end] - self.cw[start]
                ss = self.cs[end] - self.cs[start]
                return float(self.css[end] - self.css[start] - ss * ss / sw)

        return WeightedL2()


def pelt_segmentation(x, w, alpha, n_permutations=999, min_segment=1, rng=None) -> list[tuple[int, float, float]]:
    """PELT (``ruptures``) with a permutation-calibrated penalty; each change gets a local p-value.

    The penalty is the (1 - alpha) quantile of ``max_k Z_k^2`` over permutations of the
    series, so a stationary series gets no change point with probability about 1 - alpha.
    """
    try:
        import ruptures
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("method='pelt' needs ruptures: pip install 'tonecls[shift]'") from err
    x, w = np.asarray(x, float), np.asarray(w, float)
    L = x.size
    if L < 2 * min_segment:
        return []
    rng = np.random.default_rng(rng)
    perm = rng.permuted(np.tile(np.arange(L), (n_permutations, 1)), axis=1)
    null = (cusum_statistics(x[perm], w[perm], min_segment) ** 2).max(axis=1)
    pen = float(np.quantile(np.concatenate([null, [np.inf]]), 1 - alpha, method="higher"))
    if not np.isfinite(pen):
        return []
    algo = ruptures.Pelt(custom_cost=_WeightedL2.make(w), min_size=min_segment, jump=1).fit(x)
    bkps = [b for b in algo.predict(pen=pen) if b < L]
    out, edges = [], [0, *bkps, L]
    for i, k in enumerate(bkps, start=1):
        a, b = edges[i - 1], edges[i + 1]
        zs = cusum_statistics(x[a:b], w[a:b], 1)
        z = float(zs[k - a - 1])
        out.append((k, z, cusum_test(x[a:b], w[a:b], n_permutations, min_segment, rng)[2]))
    return out



# ------------------------------------------------------------- newest-period test
def period_test(n_eff, mean, var, count, new_n_eff, new_mean) -> tuple[float, float, float, float]:
    """Predictive test of a new period's mean against the reference periods' means.

    Random-effects model: a period mean is ``mu + b_p + e_p`` with ``b_p ~ N(0, tau^2)`` (period-to-period
    variation: speeches, news cycles) and ``e_p ~ N(0, sigma^2 / n_eff_p)``; ``sigma^2`` is the pooled
    within-period variance and ``tau^2`` the DerSimonian-Laird estimate. The new mean is compared with
    ``z = (new_mean - mu_hat) / sqrt(tau^2 + sigma^2 / new_n_eff + 1 / sum(w))``, referred to a Student t
    whose df combine the two parts of that variance (Satterthwaite): ``tau^2`` with ``P - 1`` df (``P``
    reference periods) and the rest with the within-period df ``sum(n_p - 1)``; never fewer than ``P - 1``. Without any period of two statements ``sigma^2`` and
    ``tau^2`` cannot be told apart and the reference means' own variance is used (a prediction interval).
    Returns ``(z, p_two_sided, mu_hat, predictive_sd, tau2, sigma2)`` (``tau2``, ``sigma2`` NaN in the
    second case).

    >>> z, p, mu, sd, tau2, sigma2 = period_test([10, 10, 10], [0.1, 0.12, 0.11], [0.01, 0.01, 0.01], [10, 10, 10], 4, 0.8)
    >>> round(mu, 2), p < 0.01
    (0.11, True)
    """
    n_eff, mean = np.asarray(n_eff, float), np.asarray(mean, float)
    var, count = np.asarray(var, float), np.asarray(count, float)
    P = mean.size
    if P < 2:
        return np.nan, np.nan, np.nan, np.nan, np.nan, np.nan
    dof_w = np.clip(count - 1, 0, None)
    if dof_w.sum() > 0:
        sigma2 = max(float(np.nansum(dof_w * np.nan_to_num(var)) / dof_w.sum()), 1e-6)
        w0 = n_eff / sigma2
        xbar = np.sum(w0 * mean) / w0.sum()
        q = float(np.sum(w0 * (mean - xbar) ** 2))
        denom = w0.sum() - np.sum(w0 ** 2) / w0.sum()
        tau2 = max(0.0, (q - (P - 1)) / denom) if denom > 0 else 0.0
        w = 1.0 / (tau2 + sigma2 / n_eff)
        mu = float(np.sum(w * mean) / w.sum())
        within = sigma2 / max(float(new_n_eff), 1e-9) + 1.0 / w.sum()
        pred_var = tau2 + within
        dof = max(P - 1.0, pred_var ** 2 / (tau2 ** 2 / (P - 1) + within ** 2 / float(dof_w.sum())))
    else:
        mu = float(mean.mean())
        pred_var = float(mean.var(ddof=1)) * (1 + 1 / P)
        tau2 = sigma2 = np.nan
        dof = P - 1.0
    sd = float(np.sqrt(max(pred_var, 1e-12)))
    z = (float(new_mean) - mu) / sd
    return z, float(min(1.0, 2 * stats.t.sf(abs(z), dof))), mu, sd, tau2, sigma2


def location_interval(x, w, level: float = 0.95) -> tuple[int, int, int]:
    """Where a single mean change most likely starts, with a profile-likelihood interval.

    ``k_hat`` maximises the weighted CUSUM ``Z_k^2`` (:func:`cusum_statistics`; ``k`` is the index of
    the first period of the new mean); the interval holds every ``k`` with
    ``Z_k_hat^2 - Z_k^2 <= chi2_1(level)`` (the drop in weighted squared error, a likelihood-ratio
    statistic when the weights are inverse variances). Returns ``(k_low, k_hat, k_high)``.

    >>> location_interval(np.array([0., 0, 0, 0, 1, 1]), np.full(6, 100.0))
    (4, 4, 4)
    """
    x, w = np.asarray(x, float), np.asarray(w, float)
    if x.size < 2:
        return 0, 0, 0
    z2 = cusum_statistics(x, w, 1) ** 2
    j = int(np.argmax(z2))
    ok = np.flatnonzero(z2[j] - z2 <= stats.chi2.ppf(level, 1))
    return int(ok.min()) + 1, j + 1, int(ok.max()) + 1
