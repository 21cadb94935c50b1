import datasets

from tonecls.labeling.read import read_table
from tonecls.labeling.segment import clean_text, repair_wraps, segment, split_sentences, split_statements


def test_abbreviations_do_not_end_sentences():
    text = "Mr. Smith met Dr. Lee and the U.S. Secretary of State. Resolution No. 242 still stands. It ends here."
    assert split_sentences(text) == ["Mr. Smith met Dr. Lee and the U.S. Secretary of State.",
                                     "Resolution No. 242 still stands.", "It ends here."]


def test_hard_wraps_are_repaired_and_page_numbers_dropped():
    lines = ["Twenty-four months ago, and", "yesterday in the memory of America, the", "9", "",
             "centre of New", "York City became a battlefield.", "Since that day terrorists have", "struck again.",
             "We will not", "forget them."]
    out = repair_wraps("\n".join(lines))
    assert out.split("\n") == ["Twenty-four months ago, and yesterday in the memory of America, the centre of New "
                               "York City became a battlefield.", "Since that day terrorists have struck again.",
                               "We will not forget them."]


def test_press_briefing_questions_and_speaker_tags_are_dropped():
    text = ("MS. JEAN-PIERRE:  The President will travel to Seoul on Friday.  Q    Will he raise the sanctions "
            "against the regime?  And what about the tariffs on steel imports?\n Q:  One more thing about tariffs.\n"
            " MS. JEAN-PIERRE:  We have serious concerns about the new law.")
    assert split_statements(text) == ["The President will travel to Seoul on Friday.",
                                      "We have serious concerns about the new law."]


def test_boilerplate_markdown_urls_bullets_dates():
    text = ("**Statement from the Press Secretary**\n"
            " -   **We welcome the agreement** reached in [Geneva](https://example.org/g) today.\n"
            " February 2, 2023\n 1:33 P.M. EDT\n See https://www.whitehouse.gov for the full text of the statement.\n"
            " 1.  The ministers discussed energy security and trade.\n ###")
    assert split_statements(text) == ["We welcome the agreement reached in Geneva today.",
                                      "See for the full text of the statement.",
                                      "The ministers discussed energy security and trade."]
    assert clean_text("a\u00a0**b** [c](http://x.y/z)") == "a b c"
    assert clean_text("aimed at 02/10/2015 A/70/PV.25 controlling nations") == "aimed at controlling nations"


def test_short_follow_ups_merge_up_to_three_sentences():
    out = split_statements("We oppose this decision strongly. It is wrong. Totally wrong. Never again. "
                           "The talks resume in May in Geneva.")
    # A group holds at most three sentences; a short sentence left over leads into the next one.
    assert out == ["We oppose this decision strongly. It is wrong. Totally wrong.",
                   "Never again. The talks resume in May in Geneva."]


def test_segment_keeps_provenance_and_deduplicates(docs_path):
    docs = read_table(docs_path)
    st = segment(docs)
    assert set(st.column_names) == {"text", "doc_id", "actor", "date", "source", "position"}
    texts = st["text"]
    assert len(texts) == len(set(texts))
    assert texts.count("We will not accept any deal that undermines our workers.") == 1
    row = st[texts.index("Russia bears full responsibility for this war.")]
    assert row["doc_id"] == "wh-2022-05-01-press-briefing" and row["actor"] == "USA" and row["position"] == 2
    assert not any(t.startswith(("Q", "MS.")) or "?" in t for t in texts)
    assert "The aggressor will pay a heavy price for its crimes." in texts  # wrapped line joined


def test_empty_and_non_string_text():
    assert split_statements("") == [] and split_statements(None) == []
    ds = datasets.Dataset.from_dict({"text": ["", "   "]})
    assert len(segment(ds)) == 0
