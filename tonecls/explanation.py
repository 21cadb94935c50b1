"""Why this score? Which phrases of a statement raise or lower its expected level.

:meth:`ToneClassifier.explain <tonecls.classifier.ToneClassifier.explain>` (and
:func:`tonecls.explain` with the default model) returns an :class:`Explanation`: the statement's
:class:`~tonecls.classifier.ToneScore` and its :class:`Phrase` list ``(text, start, end,
contribution)``, sorted by ``|contribution|``. ``text == statement[start:end]`` exactly (character
offsets into the string given, unicode included).

**Method: phrase occlusion** (chosen by measurement, ``docs/explain.md``). A phrase's contribution
is the statement's expected level (0-4, calibrated: ``4 * ToneScore.score``) minus the expected
level of the statement with that phrase's characters deleted, so ``+1.3`` means "this phrase
raises the score by 1.3 levels". Every variant is scored by the classifier's own path
(``encode`` → ``window_logits`` → ``aggregate_windows`` → ``results_from_logits``), all variants
of all statements in one batched pass: ``n`` phrases cost ``n`` extra short forward passes.
``method="occlusion-pair"`` averages this with the phrase's effect when added alone to an
empty statement (the two extreme orders of a Shapley value; twice the cost).

**Phrases** (:func:`phrase_spans`): word runs cut at punctuation, before a clause or
prepositional opener (``and``, ``but``, ``if``, ``which``, ``to``, ``of``, ``against`` ...) and
before a subject pronoun that follows two or more words ("if they proceed | we will ...");
negators (``not``, ``never``, ``no``, ``won't`` ...) are phrases of their own, so that what a
negation does is measured by itself; runs longer than ``max_words`` (4) are cut before a modal
("with fire | will get burned") or else into near-equal pieces. Punctuation is never part of a phrase.

**Long statements** (more tokens than one encoder window) are scored on overlapping windows and
take the window with the highest expected level (``aggregate="max"``): the explanation covers the
characters of that window (``Explanation.window``), and contributions are measured against that
window's own expected level (``Explanation.base``). With ``aggregate="mean"`` the window with the
highest expected level is explained.

>>> from tonecls.explanation import phrase_spans
>>> text = "If they proceed, we will not hesitate to impose countermeasures."
>>> [text[a:b] for a, b in phrase_spans(text)]
['If they proceed', 'we will', 'not', 'hesitate', 'to impose countermeasures']
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from .exceptions import OptionError
from .scale import MAX_LEVEL

METHODS = ("occlusion", "occlusion-pair")
MAX_WORDS = 4

# A word: letters/digits, joined by apostrophes, hyphens, dots or slashes ("U.S", "won't",
# "co-operation"), a digit group comma ("1,000"); a leading currency sign, a trailing percent.
_WORD = re.compile(r"[$€£¥]?[^\W_]+(?:(?:['’\-./]|(?<=\d),(?=\d))[^\W_]+)*%?")
_OPENERS = frozenset("""
and but or nor so yet if unless because since as although though while whereas when whenever where which who
whom whose that until before after once then otherwise however therefore thus including despite
to of in on at for with against about by from into over under through toward towards within between among upon
across
""".split())
_NEGATORS = frozenset("not never no nor cannot neither without none nothing".split())
_SUBJECTS = frozenset("we i you he she they".split())  # open a phrase after 2+ words: "if they proceed | we will"
_MODALS = frozenset("will would shall should must can could may might".split())  # preferred cuts of long runs


class Phrase(NamedTuple):
    """One phrase: ``statement[start:end] == text``; ``contribution`` in levels (+ raises the score)."""

    text: str
    start: int
    end: int
    contribution: float


def _is_negator(word: str) -> bool:
    w = word.lower()
    return w in _NEGATORS or w.endswith(("n't", "n’t"))


def phrase_spans(text: str, max_words: int = MAX_WORDS) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the phrases of ``text``, in reading order (see module doc).

    >>> t = "We strongly condemn the attack and demand an immediate withdrawal."
    >>> [t[a:b] for a, b in phrase_spans(t)]
    ['We strongly condemn', 'the attack', 'and demand an', 'immediate withdrawal']
    """
    if max_words < 1:
        raise OptionError(f"max_words={max_words!r}: a phrase needs at least 1 word.")
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    chunks: list[list[tuple[int, int]]] = []
    prev_end = None
    for start, end in words:
        word = text[start:end]
        gap = "" if prev_end is None else text[prev_end:start]
        negator = _is_negator(word)
        new = (prev_end is None or bool(gap.strip()) or word.lower() in _OPENERS or negator
               or (word.lower() in _SUBJECTS and len(chunks[-1]) >= 2)
               or (chunks and len(chunks[-1]) == 1 and _is_negator(text[slice(*chunks[-1][0])])))
        if new:
            chunks.append([])
        chunks[-1].append((start, end))
        prev_end = end
    spans = []
    for chunk in chunks:
        for piece in _cut(text, chunk, max_words):
            spans.append((piece[0][0], piece[-1][1]))
    return spans


def _cut(text: str, words: list[tuple[int, int]], max_words: int) -> list[list[tuple[int, int]]]:
    """A run of more than ``max_words`` words: cut before the modal nearest its middle that leaves 2+
    words on each side ("with fire | will get burned"), else into near-equal pieces."""
    n = len(words)
    if n <= max_words:
        return [words]
    cuts = [i for i in range(2, n - 1) if text[slice(*words[i])].lower() in _MODALS]
    if cuts:
        i = min(cuts, key=lambda c: abs(2 * c - n))
        return _cut(text, words[:i], max_words) + _cut(text, words[i:], max_words)
    return [[words[j] for j in part] for part in np.array_split(np.arange(n), math.ceil(n / max_words))]


def without(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the characters of ``spans`` deleted (what the model reads when they are removed).

    >>> without("We will not retaliate.", [(8, 11)])
    'We will  retaliate.'
    """
    out, at = [], 0
    for a, b in sorted(spans):
        out.append(text[at:max(a, at)])
        at = max(at, b)
    return "".join(out) + text[at:]


def only(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Just the phrases of ``spans``, in reading order, joined by spaces.

    >>> only("If they proceed, we will retaliate.", [(17, 34), (0, 2)])
    'If we will retaliate'
    """
    return " ".join(text[a:b] for a, b in sorted(spans))


@dataclass(frozen=True)
class Explanation:
    """Why ``statement`` got ``score``: its phrases, largest ``|contribution|`` first.

    ``window``: the characters explained (the whole statement unless it is longer than one
    encoder window); ``base``: their expected level, the reference of the contributions.

    >>> from tonecls.classifier import ToneScore
    >>> e = Explanation("We will retaliate.", ToneScore(0.7, 3, "assertive", (0, 0, 0.2, 0.8, 0)),
    ...                 [Phrase("retaliate", 8, 17, 1.5), Phrase("We will", 0, 7, 0.25)], (0, 18), 2.8)
    >>> e.marked(k=1)
    'We will [retaliate](+1.50).'
    """

    statement: str
    score: object  # a tonecls.classifier.ToneScore
    phrases: list[Phrase] = field(default_factory=list)
    window: tuple[int, int] = (0, 0)
    base: float = 0.0
    method: str = "occlusion"

    def top(self, k: int = 3) -> list[Phrase]:
        """The ``k`` phrases with the largest ``|contribution|``."""
        return list(self.phrases[:check_top_k(k)])

    def marked(self, k: int = 3, color: bool = False) -> str:
        """The statement with its top ``k`` phrases marked: ``[phrase](+1.20)``, or with ``color``
        ANSI red (raises the level) / green (lowers it)."""
        out, at = [], 0
        for p in sorted(self.top(k), key=lambda p: p.start):
            out.append(self.statement[at:p.start])
            if color:
                code = "1;31" if p.contribution > 0 else "1;32"
                out.append(f"\x1b[{code}m{p.text}\x1b[0m\x1b[2m({p.contribution:+.2f})\x1b[0m")
            else:
                out.append(f"[{p.text}]({p.contribution:+.2f})")
            at = p.end
        return "".join(out) + self.statement[at:]

    def to_dict(self, k: int | None = None) -> dict:
        """JSON-ready: the score's fields, ``window``, ``base``, ``method`` and the (top ``k``) phrases."""
        phrases = self.phrases if k is None else self.top(k)
        return {"statement": self.statement, **self.score.to_dict(), "window": list(self.window),
                "base": self.base, "method": self.method,
                "phrases": [{"text": p.text, "start": p.start, "end": p.end, "contribution": p.contribution}
                            for p in phrases]}


def check_top_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise OptionError(f"k={k!r}: give the number of phrases to show, a whole number >= 0.")
    return int(k)


def score_any(clf, texts: Sequence[str], batch_size: int = 64) -> list:
    """``clf.score(texts)`` for texts derived from a statement (phrases removed or kept): the same
    path from logits to :class:`~tonecls.classifier.ToneScore`, but a text left without a readable
    character is read as the encoder reads an empty input (one unknown token) instead of refused.
    """
    if not len(texts):
        return []
    return clf.score_encoded(clf.encode(list(texts)), len(texts), batch_size)


def expected_levels(clf, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Calibrated expected level (0-4, ``4 * score``) of each text (see :func:`score_any`)."""
    return np.array([r.score for r in score_any(clf, texts, batch_size)], dtype=np.float64) * MAX_LEVEL


def _decisive_window(clf, enc, window_logits: np.ndarray, statement_logits: np.ndarray, i: int) -> tuple[int, int]:
    rows = np.flatnonzero(np.asarray(enc.owner) == i)
    if clf.aggregate == "max":
        # aggregate_windows copied the chosen window's logit row: find it.
        match = rows[np.all(window_logits[rows] == statement_logits[i], axis=1)]
        j = match[0] if len(match) else rows[0]
    else:
        levels = [r.score for r in clf.results_from_logits(window_logits[rows])]
        j = rows[int(np.argmax(levels))]
    return tuple(enc.spans[j])


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` moved inwards to word boundaries: a window of subword tokens can begin or end
    inside a word, whose piece would otherwise become a phrase of its own.

    >>> text = "Our holdings exists as a card."
    >>> a, b = whole_words(text, 18, 29)
    >>> text[a:b]
    ' as a card'
    """
    while 0 < start < end and text[start - 1].isalnum() and text[start].isalnum():
        start += 1
    while start < end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end -= 1
    return start, end


def explain_statements(clf, texts: list[str], *, batch_size: int = 64, method: str = "occlusion",
                       max_words: int = MAX_WORDS) -> list[Explanation]:
    """Explanations of already validated ``texts`` (use ``ToneClassifier.explain``)."""
    if method not in METHODS:
        raise OptionError(f"method={method!r} is not an explanation method; choose one of {list(METHODS)}.")
    if not texts:
        return []
    enc = clf.encode(texts)
    window_logits = clf.window_logits(enc, batch_size)
    logits, counts = clf.aggregate_windows(enc, window_logits, len(texts))
    scores = clf.results_from_logits(logits, counts)

    variants: list[str] = []
    plans = []  # per statement: (window, spans, index of its base in variants or None, first variant)
    for i, text in enumerate(texts):
        if counts[i] > 1:
            window = whole_words(text, *_decisive_window(clf, enc, window_logits, logits, i))
            base_at = len(variants)
            variants.append(text[window[0]:window[1]])
        else:
            window, base_at = (0, len(text)), None
        a = window[0]
        region = text[window[0]:window[1]]
        spans = [(s + a, e + a) for s, e in phrase_spans(region, max_words)]
        first = len(variants)
        variants += [without(region, [(s - a, e - a)]) for s, e in spans]
        if method == "occlusion-pair":
            variants += [region[s - a:e - a] for s, e in spans] + [""]
        plans.append((window, spans, base_at, first))
    levels = expected_levels(clf, variants, batch_size)

    out = []
    for text, score, (window, spans, base_at, first) in zip(texts, scores, plans):
        base = score.score * MAX_LEVEL if base_at is None else float(levels[base_at])
        n = len(spans)
        contrib = base - levels[first:first + n]
        if method == "occlusion-pair" and n:
            alone = levels[first + n:first + 2 * n] - levels[first + 2 * n]
            contrib = (contrib + alone) / 2
        phrases = [Phrase(text[s:e], s, e, float(c)) for (s, e), c in zip(spans, contrib)]
        phrases.sort(key=lambda p: (-abs(p.contribution), p.start))
        out.append(Explanation(text, score, phrases, window, float(base), method))
    return out


def top_phrases_json(clf, texts: Sequence[str], k: int = 3, batch_size: int = 64) -> list[str]:
    """One JSON list per text of its top ``k`` phrases, ``[{"text", "start", "end", "contribution"}]``
    (the ``top_phrases`` column of ``tonecls score ARCHIVE -o OUT --explain``)."""
    import json

    k = check_top_k(k)
    return [json.dumps(e.to_dict(k)["phrases"], ensure_ascii=False)
            for e in explain_statements(clf, list(texts), batch_size=batch_size)]
