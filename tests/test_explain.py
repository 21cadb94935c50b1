"""Phrase explanations: mechanics on the tiny random model, direction on the real default model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tonecls
from tonecls.exceptions import InvalidInputError, OptionError, ToneclsError
from tonecls.explanation import Explanation, Phrase, only, phrase_spans, without
from tonecls.scale import MAX_LEVEL

STATEMENT = "If they proceed, we will not hesitate to impose countermeasures."


def _level(clf, text: str) -> float:
    return clf.score(text).score * MAX_LEVEL


# ------------------------------------------------------------------ shape of the API
def test_str_gives_one_explanation_list_gives_list(tiny_classifier):
    one = tiny_classifier.explain(STATEMENT)
    assert isinstance(one, Explanation) and one.statement == STATEMENT
    many = tiny_classifier.explain([STATEMENT, "We hope for peace."])
    assert isinstance(many, list) and [e.statement for e in many] == [STATEMENT, "We hope for peace."]
    assert tiny_classifier.explain([]) == []
    assert tiny_classifier.explain((STATEMENT,))[0].phrases == one.phrases


def test_score_is_the_classifiers_score(tiny_classifier):
    texts = [STATEMENT, "The two sides discussed trade. " * 12]
    for e, s in zip(tiny_classifier.explain(texts), tiny_classifier.score(texts)):
        assert e.score == s


def test_module_level_explain_uses_the_default_model(monkeypatch, tiny_classifier):
    import tonecls.classifier as classifier

    monkeypatch.setattr(classifier, "_default", tiny_classifier)
    assert tonecls.explain(STATEMENT).phrases == tiny_classifier.explain(STATEMENT).phrases


# ------------------------------------------------------------------ mechanics
def test_contribution_is_the_drop_in_expected_level_without_the_phrase(tiny_classifier):
    e = tiny_classifier.explain(STATEMENT)
    base = _level(tiny_classifier, STATEMENT)
    assert e.base == pytest.approx(base, abs=1e-6)
    assert len(e.phrases) == len(phrase_spans(STATEMENT)) == 5
    for p in e.phrases:
        expected = base - _level(tiny_classifier, without(STATEMENT, [(p.start, p.end)]))
        assert p.contribution == pytest.approx(expected, abs=1e-6), p
    assert any(abs(p.contribution) > 1e-4 for p in e.phrases)  # the random model does react


def test_phrases_are_sorted_by_absolute_contribution(tiny_classifier):
    for e in tiny_classifier.explain([STATEMENT, "We strongly oppose this decision and regret the violence."]):
        sizes = [abs(p.contribution) for p in e.phrases]
        assert sizes == sorted(sizes, reverse=True)
        assert e.top(2) == e.phrases[:2]


def test_occlusion_pair_averages_removal_and_phrase_alone(tiny_classifier):
    e = tiny_classifier.explain(STATEMENT, method="occlusion-pair")
    from tonecls.explanation import expected_levels

    base = _level(tiny_classifier, STATEMENT)

    nothing = expected_levels(tiny_classifier, [""])[0]
    for p in e.phrases:
        removed = base - _level(tiny_classifier, without(STATEMENT, [(p.start, p.end)]))
        alone = _level(tiny_classifier, p.text) - nothing
        assert p.contribution == pytest.approx((removed + alone) / 2, abs=1e-6)


def test_long_statement_explains_the_deciding_window(tiny_classifier):
    calm = "We hope that dialogue will continue in a spirit of friendship. "
    text = calm * 3 + "If they proceed we will impose countermeasures. " + calm * 3
    e = tiny_classifier.explain(text)
    assert e.score.windows > 1
    a, b = e.window
    assert 0 <= a < b <= len(text) and (a, b) != (0, len(text))
    # The window explained is the one that decided the score: its own level is the statement's.
    assert e.base == pytest.approx(e.score.score * MAX_LEVEL, abs=1e-3)
    assert e.base == pytest.approx(_level(tiny_classifier, text[a:b]), abs=1e-6)
    assert all(a <= p.start < p.end <= b for p in e.phrases)
    p = e.phrases[0]
    region = text[a:b]
    assert p.contribution == pytest.approx(e.base - _level(tiny_classifier, without(region, [(p.start - a, p.end - a)])),
                                           abs=1e-6)


def test_statement_without_words_has_no_phrases(tiny_classifier):
    e = tiny_classifier.explain("?!")
    assert e.phrases == [] and e.score == tiny_classifier.score("?!")


# ------------------------------------------------------------------ offsets
_ALPHABET = st.sampled_from(list("abcxyz ÇçéïİßÆ東京😀—–’'-.,;:!?()\"  \n\t0123456789$%"))
_PIECES = st.sampled_from(["we will", "not", "retaliate", "and", "if they proceed", "İstanbul", "naïve",
                           "won't", "U.S.", "$1.13", "东京", "🙂", ",", ". ", " ", "\u200b", "e\u0301"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(_ALPHABET, max_size=80), st.lists(_PIECES, max_size=30).map("".join), st.text(max_size=60)))
def test_phrase_offsets_slice_the_text_exactly(text):
    spans = phrase_spans(text)
    assert spans == sorted(spans)
    for (a, b), nxt in zip(spans, spans[1:] + [(len(text), len(text))]):
        assert 0 <= a < b <= nxt[0] <= len(text)  # in order, not overlapping, inside the text
        piece = text[a:b]
        assert piece == piece.strip() and (piece[0].isalnum() or piece[0] in "$€£¥")
        assert len(piece.split()) <= 4
    # Every letter or digit of the text is in some phrase (nothing silently left unexplained).
    covered = np.zeros(len(text), dtype=bool)
    for a, b in spans:
        covered[a:b] = True
    assert all(covered[i] for i, c in enumerate(text) if c.isalnum() and c != "_")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(_PIECES, min_size=1, max_size=25).map("".join).filter(lambda t: any(c.isalnum() for c in t)))
def test_explanation_offsets_slice_the_original_statement(tiny_classifier, text):
    e = tiny_classifier.explain(text)
    assert [p.text for p in e.phrases] == [text[p.start:p.end] for p in e.phrases]
    a, b = e.window  # the whole text, or the deciding window of a long one
    assert sorted((p.start, p.end) for p in e.phrases) == [(s + a, t + a) for s, t in phrase_spans(text[a:b])]
    # A phrase is made of whole words, even where a window of subword tokens starts or ends inside a word.
    for p in e.phrases:
        assert not (p.start > 0 and text[p.start - 1].isalnum() and text[p.start].isalnum()), (text, p)
        assert not (p.end < len(text) and text[p.end - 1].isalnum() and text[p.end].isalnum()), (text, p)


def test_a_window_that_starts_inside_a_word_gives_no_word_piece_phrase(tiny_classifier):
    text = "Our $1.13 trillion of U.S. Treasury holdings exists as a card in these negotiations, they said."
    e = tiny_classifier.explain(text)
    assert e.score.windows > 1
    words = {w.strip(".,$") for w in text.split()}
    assert all(set(p.text.split()) <= words | {"1.13"} for p in e.phrases), [p.text for p in e.phrases]


def test_repeated_phrases_get_their_own_offsets():
    from tiny_models import build_tiny_classifier

    text = "We will retaliate. We will retaliate. We will retaliate."
    e = build_tiny_classifier(max_length=64).explain(text)
    assert e.score.windows == 1
    starts = sorted(p.start for p in e.phrases if p.text == "We will retaliate")
    assert starts == [0, 19, 38]
    assert all(text[p.start:p.end] == p.text for p in e.phrases)


def test_phrase_rules():
    t = "We will not retaliate, but they won't stop the attacks against our ships in the strait."
    assert [t[a:b] for a, b in phrase_spans(t)] == [
        "We will", "not", "retaliate", "but they", "won't", "stop the attacks", "against our ships", "in the strait"]
    assert phrase_spans("") == [] and phrase_spans(" ,;!? ") == []
    with pytest.raises(OptionError, match="max_words"):
        phrase_spans(t, max_words=0)


def test_without_and_only():
    t = "If they proceed, we will retaliate."
    assert without(t, [(0, 15), (17, 24)]) == ",  retaliate."
    assert only(t, [(25, 34), (0, 2)]) == "If retaliate"
    assert without(t, []) == t


# ------------------------------------------------------------------ rendering and errors
def test_marked_and_json(tiny_classifier):
    e = tiny_classifier.explain(STATEMENT)
    top = e.top(2)
    plain = e.marked(k=2)
    for p in top:
        assert f"[{p.text}]({p.contribution:+.2f})" in plain
    assert plain.replace("[", "").count("(") == 2
    coloured = e.marked(k=2, color=True)
    assert "\x1b[" in coloured and "[" + top[0].text + "]" not in coloured
    d = e.to_dict(k=2)
    assert d["label"] == e.score.label and [x["text"] for x in d["phrases"]] == [p.text for p in top]
    assert e.marked(k=0) == STATEMENT


@pytest.mark.parametrize("bad, match", [("", "index 0"), ("   ", "index 0"), (None, "NoneType"),
                                        (b"We will retaliate.", "decode")])
def test_bad_statements_are_refused_clearly(tiny_classifier, bad, match):
    with pytest.raises(InvalidInputError, match=match):
        tiny_classifier.explain(bad)
    with pytest.raises(InvalidInputError, match="index 1"):
        tiny_classifier.explain(["We will retaliate.", ""])


def test_bad_options_are_refused_clearly(tiny_classifier):
    with pytest.raises(OptionError, match="method='shap'.*occlusion"):
        tiny_classifier.explain(STATEMENT, method="shap")
    e = tiny_classifier.explain(STATEMENT)
    for k in (-1, 1.5, True):
        with pytest.raises(ToneclsError, match="k="):
            e.top(k)


def test_phrase_is_a_plain_tuple():
    p = Phrase("not", 8, 11, -0.5)
    text, start, end, contribution = p
    assert (text, start, end, contribution) == ("not", 8, 11, -0.5)


# ------------------------------------------------------------------ real default model
@pytest.fixture(scope="module")
def default_model():
    from tonecls.classifier import load_default

    return load_default()


@pytest.mark.integration
@pytest.mark.parametrize("text", ["We will not impose countermeasures on our neighbours.",
                                  "We will not use force against our neighbours.",
                                  "We will not expel their diplomats.",
                                  "We do not threaten anyone."])
def test_negation_lowers_the_level(default_model, text):
    e = default_model.explain(text)
    (negator,) = [p for p in e.phrases if p.text == "not"]
    assert negator.contribution < 0, e.phrases
    # The explanation agrees with the minimal pair: the statement without the negation scores higher.
    assert _level(default_model, without(text, [(negator.start, negator.end)])) > e.base


@pytest.mark.integration
@pytest.mark.parametrize("text, consequence", [
    ("If they proceed, we will impose sanctions on their banks.", "sanctions"),
    ("If they proceed, we will expel their diplomats.", "expel"),
    ("If they proceed, they will pay a heavy price.", "pay")])
def test_named_consequence_raises_the_level(default_model, text, consequence):
    e = default_model.explain(text)
    (phrase,) = [p for p in e.phrases if consequence in p.text]
    assert phrase.contribution > 0, e.phrases
    assert e.phrases.index(phrase) < 2, e.phrases  # among the top phrases the analyst sees


# ------------------------------------------------------------------ command line and bulk
def test_cli_explain_marks_the_top_phrases(tiny_model_dir, capsys):
    from tonecls.classifier import ToneClassifier
    from tonecls.cli import main

    assert main(["explain", STATEMENT, "--model", str(tiny_model_dir), "--top", "2", "--color", "never"]) == 0
    out = capsys.readouterr().out.splitlines()
    e = ToneClassifier.from_pretrained(tiny_model_dir).explain(STATEMENT)
    assert out[0].startswith(f"{e.score.label} (level {e.score.level}")
    assert out[1].strip() == e.marked(2)
    assert main(["explain", STATEMENT, "--model", str(tiny_model_dir), "--color", "always"]) == 0
    assert "\x1b[1;3" in capsys.readouterr().out
    assert main(["explain", STATEMENT, "--model", str(tiny_model_dir), "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert [(p["text"], p["start"]) for p in doc["phrases"]] == [(p.text, p.start) for p in e.phrases]
    assert main(["explain", STATEMENT, "--model", str(tiny_model_dir), "--top", "-1"]) == 2
    assert "k=-1" in capsys.readouterr().err
    assert main(["explain", "   ", "--model", str(tiny_model_dir)]) == 2
    assert "no tone to rate" in capsys.readouterr().err


def test_cli_score_explain_adds_phrases(tiny_model_dir, capsys):
    import json

    from tonecls.cli import main

    assert main(["score", STATEMENT, "--model", str(tiny_model_dir), "--explain", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["phrases"]) == 2 and all(STATEMENT[p["start"]:p["end"]] == p["text"] for p in doc["phrases"])


def test_bulk_explain_adds_top_phrases_to_every_row(tmp_path, tiny_model_dir):
    import json

    import pandas as pd

    from tonecls.bulk import score_archive
    from tonecls.classifier import ToneClassifier

    texts = [STATEMENT, "We hope for peace.", "", "They bear full responsibility for what happens next."]
    pd.DataFrame({"text": texts, "id": range(4)}).to_csv(tmp_path / "in.csv", index=False)
    summary = score_archive(tmp_path / "in.csv", tmp_path / "out.csv", model=tiny_model_dir, backend="torch",
                            progress=False, explain=2, chunk_size=2)
    assert summary.rows_scored == 3 and summary.errors == 1
    out = pd.read_csv(tmp_path / "out.csv")
    clf = ToneClassifier.from_pretrained(tiny_model_dir)
    for text, cell in zip(out["text"], out["top_phrases"]):
        phrases = json.loads(cell)
        assert [(p["text"], p["start"]) for p in phrases] == [(p.text, p.start) for p in clf.explain(text).top(2)]
    with pytest.raises(OptionError, match="one local process"):
        score_archive(tmp_path / "in.csv", tmp_path / "out2.csv", model=tiny_model_dir, explain=2, workers=2)
