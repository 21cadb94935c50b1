"""The Japan scenario and the simulations behind the rates in docs/shift.md."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .detect import ShiftDetector

# ------------------------------------------------------------------ scenario
JAPAN_CARD_STATEMENT = "Our $1.13 trillion of U.S. Treasury holdings exists as a card in our negotiations."


def japan_scenario() -> pd.DataFrame:
    """The motivating example: years of cautious Japanese statements, then the "card" remark.

    Scores are set by hand (no model). The earlier texts are illustrative statements in
    the register of Japan's finance ministry, not verbatim quotations; the last one is the
    remark reported in May 2025.

    >>> df = japan_scenario()
    >>> float(df.iloc[-1]["score"]), df["actor"].unique().tolist()
    (0.8, ['JPN'])
    """
    rows = [
        ("2011-08", 0.10, "Japan will continue to monitor currency markets closely and act appropriately."),
        ("2013", 0.04, "We value our close economic partnership with the United States."),
        ("2014-02-10", 0.06, "Japan hopes that the trade talks will proceed in a constructive spirit."),
        ("2015-05", 0.03, "We welcome the progress made by both sides in the negotiations."),
        ("2016", 0.18, "The ministry will watch market developments with a sense of urgency."),
        ("2017-02-11", 0.05, "We will continue our dialogue with our American partners on economic issues."),
        ("2018-09", 0.22, "Japan and the United States discussed trade and investment."),
        ("2019", 0.07, "We hope to reach an agreement that benefits both countries."),
        ("2020-01", 0.02, "We thank our partners for their cooperation in stabilising markets."),
        ("2021-06-15", 0.24, "Japan holds U.S. Treasuries as part of its foreign reserves."),
        ("2022-10", 0.42, "We are deeply concerned about excessive volatility in currency markets."),
        ("2023", 0.15, "We will respond appropriately to excessive moves, in close communication with U.S. authorities."),
        ("2024-04", 0.05, "Japan welcomes the continued close communication with the United States on currency matters."),
        ("2025-05", 0.80, JAPAN_CARD_STATEMENT),
    ]
    return pd.DataFrame({"actor": "JPN", "date": [r[0] for r in rows], "score": [r[1] for r in rows],
                         "text": [r[2] for r in rows], "doc_id": [f"jpn-{i:02d}" for i in range(len(rows))]})


# ----------------------------------------------------------------- simulation
def beta_sd_max(mean) -> np.ndarray:
    """Largest sd of a unimodal Beta (both shape parameters >= 1) with this mean."""
    mean = np.asarray(mean, dtype=np.float64)
    m = np.minimum(mean, 1 - mean)
    return np.sqrt(mean * (1 - mean) * m / (1 + m))


LEVEL_CENTRES = np.array([0.04, 0.25, 0.5, 0.75, 0.96])
"""Score of a typical statement of each level in the level-mixture noise model (0 and 1 pulled in)."""


def simulate_scores(n_series: int, n_periods: int = 15, per_period: int = 8, shift: float = 0.0,
                    shift_period: int | None = None, mean=(0.1, 0.9), sd=(0.10, 0.15), tau: float = 0.0,
                    start_year: int = 2000, rng=None, shape: tuple[float, float] | None = None,
                    level_mix=None, level_sd=(0.05, 0.10)) -> pd.DataFrame:
    """Simulated scored statements under the stated noise models (one actor per series).

    Default (unimodal): each actor has a mean tone ``mu ~ U(mean)`` and spread ``s ~ U(sd)``;
    each yearly period adds ``N(0, tau^2)`` to the mean (speech-to-speech wobble); from period
    ``shift_period`` on the mean moves by ``shift`` (score units: 0.25 = one level). A
    statement's score is Beta-distributed with that mean and sd ``min(s, beta_sd_max(mean))``,
    i.e. bounded in [0, 1] and unimodal.

    ``shape=(a, b)``: skewed actors, every score ``Beta(a, b)`` (e.g. ``(0.3, 2.7)``: mean 0.1,
    sd 0.15, piled near 0); ``mean``, ``sd``, ``tau`` and ``shift`` are not used.

    ``level_mix=(p0, p1, ...)``: actors that mix levels, like real model scores: each statement
    has level ``L`` with probability ``p_L`` and a score Beta-distributed around
    :data:`LEVEL_CENTRES` ``[L]`` (+ wobble + shift) with sd ``U(level_sd)`` per actor (capped
    to stay unimodal).

    Columns: actor, date (YYYY-MM-DD), score, period (0-based), shifted.

    >>> simulate_scores(2, n_periods=3, per_period=2, rng=0).shape
    (12, 5)
    >>> float(simulate_scores(50, rng=0, shape=(0.3, 2.7))["score"].median()) < 0.05
    True
    """
    rng = np.random.default_rng(rng)
    size = (n_series, n_periods, per_period)
    period = np.arange(n_periods)
    shifted = np.zeros((n_series, n_periods), bool) if shift_period is None else np.broadcast_to(
        period >= shift_period, (n_series, n_periods))
    if shape is not None:
        if shift:
            raise ValueError("shape=(a, b) simulates stationary actors only; use level_mix or the default for shifts.")
        score = rng.beta(shape[0], shape[1], size)
    else:
        if level_mix is not None:
            mix = np.asarray(level_mix, dtype=np.float64)
            if mix.ndim != 1 or not 1 <= mix.size <= len(LEVEL_CENTRES) or (mix < 0).any() or mix.sum() <= 0:
                raise ValueError(f"level_mix={level_mix!r}: give 1-5 non-negative probabilities of levels 0, 1, ...")
            levels = rng.choice(mix.size, size=size, p=mix / mix.sum())
            base = LEVEL_CENTRES[levels]
            s = rng.uniform(*level_sd, n_series)
        else:
            lo, hi = mean
            if shift_period is not None and shift:
                lo, hi = (lo, hi - shift) if shift > 0 else (lo - shift, hi)
            base = rng.uniform(lo, hi, n_series)[:, None, None]
            s = rng.uniform(*sd, n_series)
        m = base + (shift * shifted)[:, :, None]
        if tau:
            m = m + rng.normal(0, tau, (n_series, n_periods))[:, :, None]
        m = np.clip(np.broadcast_to(m, size), 0.03, 0.97)
        v = np.minimum(s[:, None, None], beta_sd_max(m)) ** 2
        k = m * (1 - m) / v - 1
        score = rng.beta(m * k, (1 - m) * k)
    days = np.sort(rng.integers(0, 365, size), axis=2)
    years = (np.arange(n_periods) + start_year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    dates = (years[None, :, None] + days.astype("timedelta64[D]")).astype(str)
    return pd.DataFrame({
        "actor": np.repeat([f"S{i:04d}" for i in range(n_series)], n_periods * per_period),
        "date": dates.ravel(), "score": score.ravel(),
        "period": np.tile(np.repeat(period, per_period), n_series),
        "shifted": np.repeat(np.asarray(shifted), per_period, axis=1).ravel()})


NULL_MODELS = {
    "unimodal Beta (default noise model)": {"tau": 0.02},
    "skewed: Beta(0.3, 2.7), piled near 0": {"shape": (0.3, 2.7)},
    "skewed: Beta(0.5, 4.5)": {"shape": (0.5, 4.5)},
    "levels 60/30/8/2 %": {"level_mix": (0.6, 0.3, 0.08, 0.02), "tau": 0.02},
    "levels 85/10/4/1 %": {"level_mix": (0.85, 0.10, 0.04, 0.01), "tau": 0.02},
    "levels 20/50/25/5 %": {"level_mix": (0.2, 0.5, 0.25, 0.05), "tau": 0.02},
    "levels 5/15/30/35/15 % (confrontational actor)": {"level_mix": (0.05, 0.15, 0.30, 0.35, 0.15), "tau": 0.02},
    "isolated outbursts: levels 97/0/0/3 %": {"level_mix": (0.97, 0.0, 0.0, 0.03)},
}
"""Stationary noise models on which the statement test's false-alarm rate is measured."""


def null_model_study(n_series: int = 2000, alpha: float = 0.05, n_periods: int = 15, per_period: int = 8,
                     models: dict | None = None, rng: int = 17,
                     detector: "ShiftDetector | None" = None) -> pd.DataFrame:
    """Per-series false-alarm rates of each event kind on stationary series of each null model.

    One row per model in ``models`` (default :data:`NULL_MODELS`): the share of ``n_series``
    stationary actors (``n_periods`` years of ``per_period`` statements) with at least one
    statement event, change point, or either. The numbers in docs/shift.md come from this.

    >>> null_model_study(20, models={"skewed": {"shape": (0.3, 2.7)}}).columns.tolist()
    ['model', 'series', 'statement', 'change_point', 'any']
    """
    det = detector or ShiftDetector(alpha=alpha)
    rows = []
    for i, (name, kw) in enumerate((models or NULL_MODELS).items()):
        ev = det.scan(simulate_scores(n_series, n_periods, per_period, rng=rng + i, **kw)).events
        rows.append({"model": name, "series": n_series,
                     "statement": ev.loc[ev.kind == "statement", "actor"].nunique() / n_series,
                     "change_point": ev.loc[ev.kind == "change_point", "actor"].nunique() / n_series,
                     "any": ev["actor"].nunique() / n_series})
    return pd.DataFrame(rows)


def statement_power_study(n_series: int = 1000, n_history: int = 31, sd: float = 0.1, levels=(1, 2, 3),
                          mean=(0.1, 0.4), rng: int = 23, detector: "ShiftDetector | None" = None) -> dict:
    """Share of single statements ``d`` levels above an actor's usual tone found as escalations.

    Each actor has ``n_history`` statements (one a year) from the unimodal Beta model with
    mean ``U(mean)`` and sd ``sd``; then one statement scored ``mean + d / 4``. A hit is a statement
    event on that last statement (Holm over all the actor's tested statements).

    >>> sorted(statement_power_study(20, levels=(3,)))
    [3]
    """
    det = detector or ShiftDetector()
    g = np.random.default_rng(rng)
    out = {}
    for d in levels:
        mu = g.uniform(*mean, n_series)
        m = np.repeat(mu[:, None], n_history, axis=1)
        v = np.minimum(sd, beta_sd_max(m)) ** 2
        k = m * (1 - m) / v - 1
        score = np.c_[g.beta(m * k, (1 - m) * k), np.clip(mu + d / 4, 0, 1)]
        df = pd.DataFrame({"actor": np.repeat([f"S{i:04d}" for i in range(n_series)], n_history + 1),
                           "date": np.tile([str(2000 + t) for t in range(n_history + 1)], n_series),
                           "score": score.ravel()})
        ev = det.scan(df).events
        hit = ev[(ev.kind == "statement") & (ev.direction == "escalation") & (ev.period == str(2000 + n_history))]
        out[d] = hit["actor"].nunique() / n_series
    return out


def simulation_study(n_series: int = 3000, alpha: float = 0.05, method: str = "cusum", tau: float = 0.02,
                     n_before: int = 10, per_period: int = 8, rng: int = 11) -> dict:
    """Offline scan (:meth:`ShiftDetector.scan`): per-series false-alarm rates and one-level shift power.

    Stationary: ``n_series`` actors of ``n_before + 5`` years. Shifted: half +0.25, half -0.25
    after ``n_before`` years, observed for ``delay`` = 1..4 more years; a hit is a change point
    in the right direction dated within one period of the shift. Same noise model as
    :func:`simulate_scores`; the numbers in docs/shift.md come from this function.

    >>> r = simulation_study(40, rng=1)
    >>> sorted(r)
    ['false_alarm_any', 'false_alarm_change_point', 'false_alarm_statement', 'power_by_delay']
    """
    det = ShiftDetector(alpha=alpha, method=method)
    quiet = det.scan(simulate_scores(n_series, n_before + 5, per_period, tau=tau, rng=rng)).events
    out = {"false_alarm_any": quiet["actor"].nunique() / n_series,
           "false_alarm_statement": quiet.loc[quiet.kind == "statement", "actor"].nunique() / n_series,
           "false_alarm_change_point": quiet.loc[quiet.kind == "change_point", "actor"].nunique() / n_series,
           "power_by_delay": {}}
    half = n_series // 2
    for delay in (1, 2, 3, 4):
        parts = [simulate_scores(half, n_before + delay, per_period, shift=s, shift_period=n_before, tau=tau,
                                 rng=rng + 10 * delay + i).assign(actor=lambda d, p=p: p + d["actor"])
                 for i, (s, p) in enumerate(((0.25, "U"), (-0.25, "D")))]
        ev = det.scan(pd.concat(parts, ignore_index=True)).events
        cp = ev[ev.kind == "change_point"]
        year = cp["period"].str[:4].astype(int) - 2000
        ok = (cp["direction"] == np.where(cp["actor"].str.startswith("U"), "escalation", "de-escalation")) & \
            (year - n_before).abs().le(1)
        out["power_by_delay"][delay] = cp.loc[ok, "actor"].nunique() / (2 * half)
    return out



def add_probabilities(df: pd.DataFrame, spread=(0.3, 1.2), rng=None) -> pd.DataFrame:
    """Give simulated statements calibrated-looking probabilities of the five levels.

    A statement of true tone ``t`` (its simulated score) gets a model spread ``h ~ U(spread)`` levels and
    a centre ``4 t + N(0, h^2)`` (an unsure model errs more); its probabilities are a normal of sd ``h``
    about that centre on the levels 0..4, and its score becomes their expected level / 4. Columns
    ``p_cautious`` .. ``p_confrontational`` are added and ``score`` replaced.

    >>> d = add_probabilities(simulate_scores(2, 3, 2, rng=0), rng=0)
    >>> bool(np.allclose(d.filter(like="p_").sum(axis=1), 1))
    True
    """
    from ..scale import LEVELS

    g = np.random.default_rng(rng)
    t = 4 * df["score"].to_numpy()
    h = g.uniform(*spread, len(t))
    centre = t + g.normal(0, 1, len(t)) * h
    k = np.arange(len(LEVELS))
    logp = -((k[None, :] - centre[:, None]) ** 2) / (2 * h[:, None] ** 2)
    p = np.exp(logp - logp.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    out = df.copy()
    for j, name in enumerate(LEVELS):
        out[f"p_{name}"] = p[:, j]
    out["score"] = p @ k / (len(LEVELS) - 1)
    return out


MONITOR_CASES = {
    "yearly: 15 periods x 8": {"n_periods": 15, "per_period": 8},
    "yearly: 4 periods x 12": {"n_periods": 4, "per_period": 12},
    "yearly: 33 periods x 40": {"n_periods": 33, "per_period": 40},
}
"""Series shapes of the monitoring study (the last period is the tested one)."""


def monitor_study(n_series: int = 1000, alpha: float = 0.05, shift: float = 0.25, cases: dict | None = None,
                  tau: float = 0.02, probabilities: bool = False, rng: int = 31, **detector_kw) -> pd.DataFrame:
    """Monitoring (:meth:`ShiftDetector.monitor`, default settings): false alarms and power on the newest period.

    For each case in ``cases`` (default :data:`MONITOR_CASES`): ``n_series`` stationary actors
    (unimodal Beta with wobble ``tau``; the default noise model) and ``n_series`` actors whose
    last period moves by ``+shift`` (half) or ``-shift`` (half). Columns: case, false alarms (share
    of stationary actors with any event), of which statement / period, power (share of shifted
    actors with an event in the right direction), mean |size| of the found period events.
    ``probabilities=True`` adds model probabilities (:func:`add_probabilities`).

    >>> monitor_study(20, cases={"small": {"n_periods": 5, "per_period": 4}}).columns.tolist()[:3]
    ['case', 'series', 'false_alarm']
    """
    det = ShiftDetector(alpha=alpha, **detector_kw)
    rows = []
    for i, (name, kw) in enumerate((cases or MONITOR_CASES).items()):
        quiet = simulate_scores(n_series, tau=tau, rng=rng + 100 * i, **kw)
        half = n_series // 2
        up = simulate_scores(half, shift=shift, shift_period=kw["n_periods"] - 1, tau=tau, rng=rng + 100 * i + 1, **kw)
        down = simulate_scores(n_series - half, shift=-shift, shift_period=kw["n_periods"] - 1, tau=tau,
                               rng=rng + 100 * i + 2, **kw)
        moved = pd.concat([up.assign(actor="U" + up.actor), down.assign(actor="D" + down.actor)], ignore_index=True)
        if probabilities:
            quiet, moved = add_probabilities(quiet, rng=rng + i), add_probabilities(moved, rng=rng + i + 50)
        ev = det.monitor(quiet.drop(columns=["period", "shifted"])).events
        hit = det.monitor(moved.drop(columns=["period", "shifted"])).events
        right = hit[hit.direction == np.where(hit.actor.str.startswith("U"), "escalation", "de-escalation")]
        per = right[right.kind == "period"]
        rows.append({"case": name, "series": n_series, "false_alarm": ev.actor.nunique() / n_series,
                     "statement": ev.loc[ev.kind == "statement", "actor"].nunique() / n_series,
                     "period": ev.loc[ev.kind == "period", "actor"].nunique() / n_series,
                     "power": right.actor.nunique() / n_series,
                     "mean_size": float(per.size_levels.abs().mean()) if len(per) else np.nan})
    return pd.DataFrame(rows)
