"""Aggregate labeling-function votes into one level per statement, with a confidence.

All aggregators share a scikit-learn-like interface on a vote matrix ``L`` of shape
``(n_statements, n_functions)`` holding levels 0-4 or ``-1`` (abstain):

- ``fit(L)`` (the label model learns from unlabelled votes; the others need no fitting),
- ``predict_proba(L)`` → ``(n, 5)`` probabilities,
- ``predict(L)`` → levels, ``-1`` where the statement has no vote or the confidence is below
  ``threshold`` (abstained rather than guessed).

Aggregators:

- :class:`MajorityVote`: the most frequent level among the votes (ties: ``tie_break``).
- :class:`StrongestVote`: the highest level voted ("rate the strongest clause").
- :class:`LabelModel`: Dawid-Skene: each function's output distribution given the true level,
  fitted by EM on the unlabelled votes, so its weights are estimated from data, not set by hand.
  Deterministic.

>>> import numpy as np
>>> L = np.array([[0, -1, -1], [-1, 2, 2], [-1, -1, -1], [4, 2, -1]])
>>> MajorityVote(tie_break="highest").predict(L).tolist()
[0, 2, -1, 4]
>>> StrongestVote().predict(L).tolist()
[0, 2, -1, 4]
"""

from __future__ import annotations

import json

import numpy as np

from ..scale import NUM_LEVELS

__all__ = ["MajorityVote", "StrongestVote", "LabelModel", "vote_counts", "AGGREGATORS"]

ABSTAIN = -1


def _as_votes(L) -> np.ndarray:
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"Expected a 2-D vote matrix (statements x functions), got shape {L.shape}.")
    if L.size and (L.min() < ABSTAIN or L.max() >= NUM_LEVELS):
        raise ValueError(f"Votes must be -1 (abstain) or 0-{NUM_LEVELS - 1}; got values in [{L.min()}, {L.max()}].")
    return L.astype(np.int8, copy=False)


def vote_counts(L) -> np.ndarray:
    """Number of votes for each level: ``(n, 5)`` int array."""
    L = _as_votes(L)
    counts = np.zeros((L.shape[0], NUM_LEVELS), dtype=np.int32)
    for k in range(NUM_LEVELS):
        counts[:, k] = (L == k).sum(axis=1)
    return counts


class _Aggregator:
    threshold: float = 0.0

    def fit(self, L, y=None):  # noqa: D401 - sklearn style
        return self

    def predict_proba(self, L) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_with_confidence(self, L) -> tuple[np.ndarray, np.ndarray]:
        """Levels (``-1`` = abstained) and the probability of the chosen level."""
        L = _as_votes(L)
        proba = self.predict_proba(L)
        level = proba.argmax(axis=1).astype(np.int64)
        conf = proba.max(axis=1)
        level[(L < 0).all(axis=1) | (conf < self.threshold)] = ABSTAIN
        return level, conf

    def predict(self, L) -> np.ndarray:
        return self.predict_with_confidence(L)[0]

    def get_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}


class MajorityVote(_Aggregator):
    """Most frequent level; confidence = its share of the votes (smoothed by one pseudo-vote).

    ``tie_break="highest"`` follows the rubric's "rate the strongest clause"; ``"lowest"`` its
    "when torn, pick the lower".
    """

    def __init__(self, tie_break: str = "highest", threshold: float = 0.0):
        if tie_break not in ("highest", "lowest"):
            raise ValueError("tie_break must be 'highest' or 'lowest'.")
        self.tie_break, self.threshold = tie_break, threshold

    def predict_proba(self, L) -> np.ndarray:
        counts = vote_counts(L).astype(np.float64)
        # Break ties by a tiny ordinal nudge, then spread one pseudo-vote uniformly.
        nudge = np.arange(NUM_LEVELS) * 1e-6
        counts = counts + (nudge if self.tie_break == "highest" else -nudge) * (counts > 0)
        proba = counts + 1.0 / NUM_LEVELS
        return proba / proba.sum(axis=1, keepdims=True)


class StrongestVote(_Aggregator):
    """The highest level any function voted; confidence = share of votes at that level."""

    def __init__(self, threshold: float = 0.0):
        self.threshold = threshold

    def predict_proba(self, L) -> np.ndarray:
        L = _as_votes(L)
        counts = vote_counts(L).astype(np.float64)
        top = L.max(axis=1)
        proba = np.full((L.shape[0], NUM_LEVELS), 1.0 / NUM_LEVELS)
        has = top >= 0
        n = counts.sum(axis=1)
        share = np.where(has, (counts[np.arange(len(L)), np.maximum(top, 0)] + 1) / (n + 2), 0)
        rest = (1 - share) / (NUM_LEVELS - 1)
        proba[has] = rest[has, None]
        proba[np.arange(len(L))[has], top[has]] = share[has]
        return proba


class LabelModel(_Aggregator):
    """Dawid-Skene label model: each function's output distribution given the true level, by EM.

    For every function ``j`` and true level ``k`` the model learns ``θ[j, k, v] = P(output_j = v |
    y = k)`` over ``v ∈ {abstain, 0, …, 4}``. Functions that only ever vote one level thus get a
    firing rate per true level, and their accuracy ``P(y = l_j | j fires)`` follows from it; a
    function that fires as often on other levels as on its own gets little weight. Correlated,
    rare-class functions make the fully free model swap classes on real votes, so:

    - only statements with at least one vote are used (the rest are abstained anyway);
    - the class prior is the majority-vote distribution of those statements, held fixed
      (``learn_class_prior=True`` re-estimates it in EM);
    - Dirichlet pseudo-counts (``smoothing`` everywhere, ``+diagonal`` on "votes the true level")
      keep thin functions near "votes its own level";
    - EM starts from the majority vote. Deterministic (``seed`` only breaks exact ties).

    EM runs on distinct vote patterns with their counts, so a million statements fit in seconds.

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 5, 2000)
    >>> noisy = np.where(rng.random((2000, 6)) < 0.8, y[:, None], rng.integers(0, 5, (2000, 6)))
    >>> L = np.where(rng.random((2000, 6)) < 0.5, noisy, -1)
    >>> lm = LabelModel(seed=0).fit(L)
    >>> float((lm.predict(L) == y)[(L >= 0).any(1)].mean()) > 0.8
    True
    """

    def __init__(self, n_iter: int = 100, tol: float = 1e-7, smoothing: float = 0.1, diagonal: float = 2.0,
                 threshold: float = 0.0, seed: int = 0, learn_class_prior: bool = False):
        self.n_iter, self.tol, self.smoothing, self.diagonal = n_iter, tol, smoothing, diagonal
        self.threshold, self.seed, self.learn_class_prior = threshold, seed, learn_class_prior

    @staticmethod
    def _onehot(L: np.ndarray) -> np.ndarray:
        n, m = L.shape
        X = np.zeros((n, m, NUM_LEVELS + 1), dtype=np.float64)
        X[np.arange(n)[:, None], np.arange(m)[None, :], L.astype(np.int64) + 1] = 1.0
        return X.reshape(n, m * (NUM_LEVELS + 1))

    def _log_lik(self, X: np.ndarray) -> np.ndarray:
        m = self.theta_.shape[0]
        log_theta = np.log(np.maximum(self.theta_, 1e-300)).transpose(0, 2, 1).reshape(m * (NUM_LEVELS + 1), NUM_LEVELS)
        return X @ log_theta + np.log(self.class_prior_)

    def fit(self, L, y=None):
        L = _as_votes(L)
        n, m = L.shape
        self.n_functions_ = m
        voted = (L >= 0).any(axis=1)
        if not voted.any():
            raise ValueError("LabelModel.fit: no statement has a vote; nothing to learn from.")
        patterns, counts = np.unique(L[voted], axis=0, return_counts=True)
        w = counts.astype(np.float64)
        X = self._onehot(patterns)
        X3 = X.reshape(len(X), m, NUM_LEVELS + 1)
        outputs = X3.sum(axis=0) > 0                                   # (m, v): outputs each function ever gives
        rng = np.random.default_rng(self.seed)
        q = vote_counts(patterns).astype(np.float64) + 1e-3 * rng.random((len(patterns), NUM_LEVELS))
        q /= q.sum(axis=1, keepdims=True)
        mv_prior = (q * w[:, None]).sum(0) + 1.0
        self.class_prior_ = mv_prior / mv_prior.sum()
        prior = np.where(outputs[:, None, :], self.smoothing, 0.0) * np.ones((m, NUM_LEVELS, 1))
        for k in range(NUM_LEVELS):
            prior[:, k, k + 1] += self.diagonal * outputs[:, k + 1]
        prior[:, :, 0] += self.smoothing  # abstaining is always possible
        prev, ll, it = -np.inf, float("nan"), -1
        for it in range(self.n_iter):
            wq = q * w[:, None]
            theta = np.einsum("pk,pmv->mkv", wq, X3) + prior
            self.theta_ = theta / theta.sum(axis=2, keepdims=True)
            if self.learn_class_prior:
                pi = wq.sum(0) + 1.0
                self.class_prior_ = pi / pi.sum()
            log_lik = self._log_lik(X)
            norm = np.logaddexp.reduce(log_lik, axis=1, keepdims=True)
            q = np.exp(log_lik - norm)
            ll = float((norm[:, 0] * w).sum())
            if abs(ll - prev) < self.tol * max(1.0, abs(ll)):
                break
            prev = ll
        self.n_iter_, self.log_likelihood_ = it + 1, ll
        return self

    def predict_proba(self, L) -> np.ndarray:
        if not hasattr(self, "theta_"):
            raise RuntimeError("LabelModel is not fitted; call fit(L) first.")
        L = _as_votes(L)
        if L.shape[1] != self.n_functions_:
            raise ValueError(f"LabelModel was fitted on {self.n_functions_} functions; got {L.shape[1]} columns.")
        patterns, inverse = np.unique(L, axis=0, return_inverse=True)
        log_lik = self._log_lik(self._onehot(patterns))
        proba = np.exp(log_lik - np.logaddexp.reduce(log_lik, axis=1, keepdims=True))
        return proba[np.ravel(inverse)]

    def accuracies(self) -> np.ndarray:
        """Per function: P(true level = the level it votes | it votes), under the fitted model."""
        joint = self.theta_[:, :, 1:] * self.class_prior_[None, :, None]     # (m, k, v): P(y=k, out=v)
        total = joint.sum(axis=(1, 2))
        return np.divide(np.einsum("mkk->m", joint), total, out=np.full(len(total), np.nan), where=total > 0)

    def to_dict(self, names=None) -> dict:
        """Plain numbers for a dataset card: class prior and per function accuracy and firing rates."""
        names = list(names) if names is not None else [f"lf{j}" for j in range(self.n_functions_)]
        acc = self.accuracies()
        fire = 1 - self.theta_[:, :, 0]
        return {"class_prior": [round(float(p), 4) for p in self.class_prior_], "n_iter": self.n_iter_,
                "functions": {n: {"accuracy": round(float(acc[j]), 4),
                                  "p_vote_given_level": [round(float(x), 5) for x in fire[j]]}
                              for j, n in enumerate(names)}}

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"params": self.get_params(), "theta": self.theta_.tolist(),
                       "class_prior": self.class_prior_.tolist(), "n_iter": self.n_iter_}, f)

    @classmethod
    def load(cls, path) -> "LabelModel":
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        lm = cls(**d["params"])
        lm.theta_, lm.class_prior_, lm.n_iter_ = np.array(d["theta"]), np.array(d["class_prior"]), d["n_iter"]
        lm.n_functions_, lm.log_likelihood_ = lm.theta_.shape[0], float("nan")
        return lm


AGGREGATORS = {"majority": MajorityVote, "strongest": StrongestVote, "label_model": LabelModel}
