import numpy as np
import pytest

from tonecls.labeling.lexicon import ABSTAIN, LEXICON_LFS, LabelingFunction, apply_lfs, is_negated, is_reported

BY_NAME = {lf.name: lf for lf in LEXICON_LFS}


def fired(text):
    row = apply_lfs([text])[0]
    return {LEXICON_LFS[j].name: int(v) for j, v in enumerate(row) if v != ABSTAIN}


@pytest.mark.parametrize("text,name,level", [
    ("We sincerely thank the people of Norway for their hospitality.", "thanks", 0),
    ("I congratulate you, Mr. President, on your election.", "congratulate", 0),
    ("We welcome the ceasefire agreement.", "welcome", 0),
    ("We hope that the talks will succeed.", "hope", 0),
    ("We value our partnership with Japan.", "partnership", 0),
    ("We call on all parties to exercise restraint.", "restraint_dialogue", 0),
    ("We will continue to monitor the situation closely.", "hedge", 0),
    ("The two sides discussed trade and investment.", "readout", 1),
    ("Talks will resume in May.", "readout", 1),
    ("Each Party shall submit a report annually.", "procedure", 1),
    ("The program provides $5 billion for roads.", "statistics", 1),
    ("We have serious concerns about the new law.", "concern", 2),
    ("We strongly oppose this decision.", "oppose_reject", 2),
    ("We condemn the attack on the embassy.", "regret_condemn", 2),
    ("We regret the decision.", "regret_condemn", 2),
    ("This is unacceptable.", "unacceptable", 2),
    ("We urge Iran to release the detainees.", "urge", 2),
    ("Any agreement must reflect parity.", "must_other", 3),
    ("We demand the immediate withdrawal of all troops.", "demand", 3),
    ("We warn against any further provocation.", "warn", 3),
    ("Russia bears full responsibility for this war.", "responsibility", 3),
    ("We will take all necessary measures to defend our interests.", "necessary_measures", 3),
    ("We will not tolerate any interference.", "will_not_accept", 3),
    ("We will never accept the annexation.", "will_not_accept", 3),
    ("They will pay a heavy price.", "heavy_price", 4),
    ("If Russia invades, the United States will respond decisively.", "ultimatum", 4),
    ("If they proceed we will impose countermeasures.", "countermeasures", 3),
    ("We stand ready to take retaliatory action.", "countermeasures", 3),
    ("If they proceed we will impose countermeasures.", "ultimatum", 4),
    ("Those who play with fire will get burned.", "fire_burn", 4),
    ("Our Treasury holdings exist as a card in these talks.", "leverage", 4),
    ("The regime is run by thugs and liars.", "insult", 4),
])
def test_each_function_fires_on_its_marker(text, name, level):
    assert fired(text).get(name) == level


@pytest.mark.parametrize("text,name", [
    ("We will not retaliate.", "countermeasures"),
    ("We do not oppose the plan.", "oppose_reject"),
    ("We have never condemned our neighbours.", "regret_condemn"),
    ("We are not concerned about the outcome.", "concern"),
    ("There is no need to warn anyone.", "warn"),
])
def test_negation_makes_functions_abstain(text, name):
    assert name not in fired(text)


@pytest.mark.parametrize("text,name", [
    ("Moscow said it would retaliate against any expansion.", "countermeasures"),
    ("They threatened that we would pay a heavy price.", "heavy_price"),
    ("According to the ministry, those who play with fire will get burned.", "fire_burn"),
    ("The rebels claimed that the government bears full responsibility.", "responsibility"),
])
def test_reported_speech_makes_functions_abstain(text, name):
    assert name not in fired(text)


def test_own_reported_words_still_count():
    assert fired("We said clearly that we would retaliate.").get("countermeasures") == 3


@pytest.mark.parametrize("text,name", [
    ("The Budget supports medical countermeasures for pandemics.", "countermeasures"),
    ("We will leverage private investment in clean energy.", "leverage"),
    ("Such violations must be met with a firm response.", "readout"),
    ("The occupation is obliterating the will of the people.", "fire_burn"),
])
def test_everyday_senses_do_not_fire(text, name):
    assert name not in fired(text)


def test_markers_that_contain_negation_are_not_negated():
    assert fired("This is not acceptable.").get("unacceptable") == 2
    assert fired("We will no longer remain passive.").get("necessary_measures") == 3


def test_neutral_sentence_gets_no_hostile_vote():
    votes = fired("The ministry published the annual budget on Tuesday.")
    assert all(v <= 1 for v in votes.values())


def test_guards_and_custom_function():
    assert is_negated("We will not retaliate.", 12) and not is_negated("We will retaliate.", 8)
    assert is_reported("Iran said it will respond.", 16) and not is_reported("We said we will respond.", 14)
    lf = LabelingFunction("tariff", 4, r"\btariffs? on\b", negatable=False, reportable=False)
    assert lf("We will put Tariffs on them.") == 4 and lf("No tariffs on them.") == 4
    assert lf("Nothing here.") == ABSTAIN


def test_vote_matrix_shape_and_dtype():
    L = apply_lfs(["We welcome it.", "We condemn it.", "Plain."])
    assert L.shape == (3, len(LEXICON_LFS)) and L.dtype == np.int8
    assert set(np.unique(L)) <= {-1, 0, 1, 2, 3, 4}


def test_lexicon_matches_are_the_voting_markers_with_exact_offsets():
    from tonecls.labeling.lexicon import LEXICON_LFS, apply_lfs, lexicon_matches

    texts = ["İstanbul: we will not retaliate, but they will pay a heavy price. We thank our partners.",
             "Moscow said it would retaliate.", "We welcome the talks.", "The ministry met on Tuesday."]
    votes = apply_lfs(texts)
    for text, row in zip(texts, votes):
        found = lexicon_matches(text)
        assert {name for _, _, name, _ in found} == {LEXICON_LFS[j].name for j in range(len(row)) if row[j] >= 0}
        for a, b, name, level in found:
            lf = next(lf for lf in LEXICON_LFS if lf.name == name)
            assert lf.level == level and lf.regex.fullmatch(text[a:b].lower())
