import pytest

from tonecls.labeling import cameo
from tonecls.labeling.lexicon import ABSTAIN, apply_lfs

HAVE_DICT = (cameo.default_dir() / "CAMEO.verbpatterns.150430.txt").exists()
needs_dict = pytest.mark.skipif(not HAVE_DICT, reason="shared event-coding dictionaries not found")


def test_level_mapping_keeps_codes_as_strings():
    g = {"138": -7.0, "111": -2.0, "0211": 3.4}
    assert cameo.level_of_code("130", g) == 4
    assert cameo.level_of_code("100", g) == 3 and cameo.level_of_code("1121", g) == 3
    assert cameo.level_of_code("111", g) == 2 and cameo.level_of_code("120", g) == 2
    assert cameo.level_of_code("0211", g) == 0 and cameo.level_of_code("036", g) == 0
    assert cameo.level_of_code("040", g) == 1
    assert cameo.level_of_code("010", g) == ABSTAIN     # public statement: every sentence is one
    assert cameo.level_of_code("10", g) == 3             # '10' (demand) is not '010' (statement)
    assert cameo.level_of_code("190", g) == ABSTAIN      # reported violence is not the speaker's threat


def test_present_forms():
    assert cameo._present_forms("threaten", []) == ["threaten", "threatens"]
    assert cameo._present_forms("deny", []) == ["denies", "deny"]
    assert cameo._present_forms("gun down", ["guns down", "gunned down"]) == ["gun down", "guns down"]


@needs_dict
def test_goldstein_table_keeps_leading_zeros():
    g = cameo.load_goldstein()
    assert "010" in g and "10" in g and g["010"] != g["10"] or g["010"] == g["10"]
    assert len(g) > 300


@needs_dict
@pytest.mark.parametrize("text,name,level", [
    ("We strongly condemn the attack.", "cameo_disapprove", 2),
    ("We demand the immediate withdrawal of foreign troops.", "cameo_demand_accuse", 3),
    ("We will not allow any aggression against our country.", "cameo_threaten", 3),
    ("If they attack, we will bomb their bases.", "cameo_material_conflict", 4),
])
def test_cameo_functions_fire(text, name, level):
    lfs = cameo.cameo_lfs()
    row = apply_lfs([text], lfs)[0]
    got = {lf.name: int(v) for lf, v in zip(lfs, row) if v >= 0}
    assert got.get(name) == level


@needs_dict
@pytest.mark.parametrize("text", ["Russia threatened Ukraine.", "We do not condemn anyone.",
                                  "Troops attacked the village at dawn.", "Terrorism threatens our States.",
                                  "We need to meet demand for vaccines.", "Supply has to meet demand.",
                                  "We must defeat terrorism in all its forms.", "We will aim to focus on security."])
def test_cameo_reports_negation_and_violence_abstain(text):
    lfs = cameo.cameo_lfs()
    row = apply_lfs([text], lfs)[0]
    assert all(v < 2 for v in row)


def test_missing_dictionary_gives_no_functions(tmp_path):
    assert cameo.cameo_lfs(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="TONECLS_EVENT_CODING"):
        cameo.cameo_lfs(tmp_path, required=True)
