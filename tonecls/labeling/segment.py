"""Split documents into statements: sentences, cleaned of boilerplate, with their provenance.

A *statement* (see ``tone-scale.md``) is a sentence, or up to three sentences that belong
together. :func:`split_statements` works on one document's text; :func:`segment` turns a
document-level ``datasets.Dataset`` into a statement-level one, keeping ``doc_id``, ``actor``,
``date``, ``source`` and ``position`` (the statement's index in its document).

What is removed or repaired:

- hard line wraps (the 2000s UN speeches): in a document whose lines are short, a line that does
  not end a sentence continues it; page numbers between the wrapped lines are dropped;
- press-briefing question turns (``Q``, ``Q:``) up to the next speaker, and speaker tags such as
  ``MS. JEAN-PIERRE:`` or ``THE PRESIDENT:``;
- headers (lines without a sentence end), times and places (``1:33 P.M. EDT``), bare dates, URLs,
  list bullets and numbering, markdown links, bold and italics;
- sentence ends are not placed after abbreviations (``Mr.``, ``Dr.``, ``No. 5``, ``U.S.``, initials);
- short follow-ups (fewer than ``min_words`` words, e.g. "That is unacceptable.") are merged into
  the preceding sentence, never beyond three sentences; what stays shorter is dropped;
- duplicates (same text after case and space folding) are dropped by :func:`segment`.

>>> split_statements("MS. PSAKI:  Good evening, everyone.  We welcome the talks with Mr. Smith.  "
...                  "Q   Will he go?  MS. PSAKI:  He will travel to Geneva on Monday.")
['Good evening, everyone. We welcome the talks with Mr. Smith.', 'He will travel to Geneva on Monday.']
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["split_statements", "split_sentences", "clean_text", "segment", "STATEMENT_COLUMNS"]

STATEMENT_COLUMNS = ("text", "doc_id", "actor", "date", "source", "position")

# ----------------------------------------------------------------------------- cleaning
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_EMPHASIS = re.compile(r"\*{1,3}|(?<![\w])_{1,2}(?=\w)|(?<=\w)_{1,2}(?![\w])")
_ESCAPE = re.compile(r"\\([_*\[\]()#\\-])")
# UN verbatim-record running headers left inside the text: "02/10/2015 A/70/PV.25", "15-29593 7/45".
_UN_HEADER = re.compile(r"(?:\b\d{2}/\d{2}/\d{4}\s+)?\bA/\d{2}/PV\.\d+\b(?:\s+\d{1,3}/\d{1,3}\b)?|\b\d{2}-\d{5}\s+\d{1,3}/\d{1,3}\b")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def clean_text(text: str) -> str:
    """Normalise spaces and strip markdown (links keep their words), URLs and escapes.

    >>> clean_text("Read **the** [fact sheet](https://wh.gov/x)\\u00a0now.")
    'Read the fact sheet now.'
    """
    text = _INVISIBLE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _UN_HEADER.sub(" ", text)
    text = _ESCAPE.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = _SPACES.sub(" ", text)
    return text


# ----------------------------------------------------------------------------- hard wraps
_PAGE_NUMBER = re.compile(r"^\s*(?:\d{1,4}|[-–—]\s*\d{1,4}\s*[-–—]|page \d+.*|A/\d+/PV\.\d+.*|\d{2}-\d{5}.*)\s*$", re.I)
_ENDS_SENTENCE = re.compile(r"""[.!?:;]["”’)\]]*\s*$""")


def _is_hard_wrapped(lines: list[str]) -> bool:
    lengths = sorted(len(s) for s in lines if s.strip())
    return len(lengths) >= 8 and lengths[len(lengths) // 2] < 70


def repair_wraps(text: str) -> str:
    """Join hard-wrapped lines: a line that does not end a sentence continues on the next line.

    Documents count as wrapped when their median line is under 70 characters; in other documents
    only a line followed by a lower-case continuation is joined.

    >>> repair_wraps("Twenty-four months ago, and\\nyesterday in the memory of America, the\\n9\\n\\ncentre of New\\nYork City became a battlefield.\\nNext paragraph here is short.\\nAnd so on and on.\\nMore.\\nLines.\\nHere.")
    'Twenty-four months ago, and yesterday in the memory of America, the centre of New York City became a battlefield.\\nNext paragraph here is short.\\nAnd so on and on.\\nMore.\\nLines.\\nHere.'
    """
    lines = text.split("\n")
    if _is_hard_wrapped(lines):
        kept = [s.strip() for s in lines if s.strip() and not _PAGE_NUMBER.match(s)]
        out: list[str] = []
        for line in kept:
            if out and not _ENDS_SENTENCE.search(out[-1]):
                if out[-1].endswith("-") and line[:1].islower():  # hyphenated word split at a wrap
                    out[-1] = out[-1][:-1] + line
                else:
                    out[-1] = out[-1] + " " + line
            else:
                out.append(line)
        return "\n".join(out)
    return re.sub(r"(?<![.!?:;\"”])[ \t]*\n[ \t]*(?=[a-z])", " ", text)


# ----------------------------------------------------------------------------- speaker turns
# A turn starts at the beginning of a line or after 2+ spaces: "Q", "Q:", or an upper-case tag.
_TURN = re.compile(
    r"(?:^|(?<=\n)|(?<=\s\s)|(?<=[.?!…—]\s))[ \t]*"
    r"(?P<tag>Q(?=[:.]?\s)[:.]?|(?:[A-Z][A-Z.'’\-]*\.?(?:[ \t][A-Z][A-Z.'’\-]*\.?){0,5}|"
    r"(?:MR|MS|MRS|DR)\.[ \t][A-Z][A-Za-z.'’\-]+(?:[ \t][A-Z][A-Za-z.'’\-]+){0,2}))"
    r"(?::|(?<=Q)(?=\s))(?=\s)"
)
_NOT_A_TAG = re.compile(r"^(?:[A-Z]|I|A|OK|U\.S\.|WASHINGTON|NOTE|EDT|EST)$")


def _turns(text: str) -> Iterable[tuple[str | None, str]]:
    """Yield (tag, text) turns; tag is None before the first tag."""
    pos, tag = 0, None
    for m in _TURN.finditer(text):
        t = m.group("tag")
        if t != "Q" and not t.startswith("Q") and (_NOT_A_TAG.match(t) or sum(c.isalpha() for c in t) < 2):
            continue
        if t.startswith("Q") and t not in ("Q", "Q:", "Q."):
            continue
        yield tag, text[pos:m.start()]
        tag, pos = t, m.end()
    yield tag, text[pos:]


# ----------------------------------------------------------------------------- sentences
_ABBREV = re.compile(
    r"\b(?:Mr|Mrs|Ms|Messrs|Dr|Prof|St|Sen|Rep|Gov|Gen|Lt|Col|Sgt|Capt|Cmdr|Adm|Amb|Hon|Rev|Jr|Sr|Mt|Ft|vs|etc|"
    r"approx|Dept|Corp|Inc|Ltd|Co|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Art|para|Vol|Fig|Sec|cf|al)\.(?=\s)"
    r"|\b(?:No|Nos|Nr|Res|Doc)\.(?=\s+\d)"
    r"|\b(?:[A-Z]\.){2,}(?=\s+[a-z(\d])"       # U.S. forces, U.N. resolution (not at a sentence end)
    r"|\b(?:U\.S|U\.N|U\.K|E\.U|D\.C)\.(?=\s+(?:Government|Congress|Senate|House|Army|Navy|Air|Mission|Security|"
    r"Secretary|Ambassador|President|Embassy|Treasury|Department|Forces|Charter|General|Agency|Trade|Special|Coast|"
    r"Marshals|Attorney|Capitol|Census|Postal|Virgin|Code|Steel|Open|Supreme|Chamber|Customs|Border|Space|Olympic|"
    r"Bank|Navy|Marine|Marines|Military|Naval|Global|International|National|Federal|Representative|Permanent|"
    r"Agency|Development|Food|Fish|Geological|Patent|Mint|Economy|Economic|Dollar|Treasuries|Manufacturing)\b)"
    r"|\b(?:e\.g|i\.e|a\.m|p\.m|A\.M|P\.M)\.(?=\s+[a-z\d])"
    r"|(?<=\s)[A-Z]\.(?=\s+[A-Z][a-z])"          # initials: Eric S. Lander
)
_DOT = "\x00"
_SPLIT = re.compile(r"""(?<=[.!?…])["”’)\]]*\s+(?=["“‘(\[]?[A-Z0-9])|(?<=[.!?…]["”’])\s+(?=\S)""")


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences without breaking after abbreviations.

    >>> split_sentences("Mr. Smith met Dr. Lee in the U.S. Capitol. Resolution No. 5 passed. Talks end.")
    ['Mr. Smith met Dr. Lee in the U.S. Capitol.', 'Resolution No. 5 passed.', 'Talks end.']
    """
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", _DOT), paragraph)
    return [s.replace(_DOT, ".").strip() for s in _SPLIT.split(protected) if s.strip()]


# ----------------------------------------------------------------------------- boilerplate
_BULLET = re.compile(r"^\s*(?:[-–—•·▪◦*+>]+|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])\s+")
_DATE_ONLY = re.compile(
    r"^\s*(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s*)?(?:(?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\s+\d{1,2},?\s*\d{0,4}|\d{1,2}\s+(?:January|February|March|April|May|June|July|"
    r"August|September|October|November|December),?\s*\d{0,4}|\d{4}-\d{2}(?:-\d{2})?|\d{1,2}/\d{1,2}/\d{2,4})\.?\s*$",
    re.I,
)
_TIME_LINE = re.compile(r"^\s*\d{1,2}:\d{2}\s*[AP]\.?M\.?\b.*$", re.I)
_JUNK_SENTENCE = re.compile(
    r"^(?:###|END\b|\(?(?:Laughter|Applause|Inaudible|Crosstalk)\.?\)?|Thank you\b|Fed\. Reg\.)|\bFed\. Reg\.|\d+ (?:FR|U\.S\.C\.) \d+",
    re.I,
)
_STAGE = re.compile(r"\s*\((?:[A-Z][a-z]+(?: [a-z]+){0,6}|[A-Z][a-z]+ [a-z ]+ (?:observed|played|speaks|exits|departs))\.?\)\s*(?=\s|$)")
_TERMINAL = re.compile(r"""[.!?…]["”’)\]]*$""")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def _keep(sentence: str, min_words: int, max_words: int) -> bool:
    n = len(_WORD.findall(sentence))
    if n < min_words or n > max_words or not _TERMINAL.search(sentence):
        return False
    first = sentence.lstrip("\"“‘('[")[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    if _JUNK_SENTENCE.search(sentence) or sentence.endswith("?"):
        return False
    words = _WORD.findall(sentence)
    if n <= 10 and sum(w[0].isupper() for w in words) >= 0.6 * n:
        return False  # a title or place line: "St Mark's Episcopal Church Washington, D.C."
    letters = sum(c.isalpha() for c in sentence)
    return letters >= 0.6 * len(sentence) and sum(c.isupper() for c in sentence) < 0.5 * letters


def split_statements(text: str, *, min_words: int = 5, max_words: int = 90, max_sentences: int = 3) -> list[str]:
    """Split one document into statements (sentences; short follow-ups merged, up to three).

    Questions (sentences ending in "?") are dropped: a question is not a stated position.

    >>> split_statements("Q   Is it true?  THE PRESIDENT:  No. That is a lie, and they know it.")
    ['No. That is a lie, and they know it.']
    """
    if not isinstance(text, str) or not text.strip():
        return []
    text = repair_wraps(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = clean_text(text)
    out: list[str] = []
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if not line or _TIME_LINE.match(line) or _DATE_ONLY.match(line):
            continue
        for tag, turn in _turns(line):
            if tag is not None and tag.startswith("Q"):
                continue  # a journalist's question, up to the next speaker tag
            turn = _BULLET.sub("", _STAGE.sub(" ", turn).strip())
            if not turn or not _TERMINAL.search(turn) and len(_WORD.findall(turn)) < 12:
                continue  # a header: no sentence end
            group: list[str] = []
            for sentence in split_sentences(turn):
                sentence = _BULLET.sub("", sentence)
                short = len(_WORD.findall(sentence)) < min_words
                if short and group and len(group) < max_sentences and not sentence.endswith("?"):
                    group.append(sentence)  # a short follow-up belongs to the sentence before it
                    continue
                if group and len(group) < max_sentences and all(
                        len(_WORD.findall(g)) < min_words for g in group):
                    group.append(sentence)  # "No. That is a lie." : a short lead-in joins what follows
                    continue
                if group:
                    out.append(" ".join(group))
                group = [sentence]
            if group:
                out.append(" ".join(group))
    return [s for s in out if _keep(s, min_words, max_words)]


# ----------------------------------------------------------------------------- datasets
def _segment_batch(batch: dict, text_column: str, id_column: str, kwargs: dict) -> dict:
    out: dict[str, list] = {c: [] for c in STATEMENT_COLUMNS}
    n = len(batch[text_column])
    for i in range(n):
        pieces = split_statements(batch[text_column][i], **kwargs)
        for position, s in enumerate(pieces):
            out["text"].append(s)
            out["doc_id"].append(str(batch[id_column][i]) if id_column in batch else None)
            out["actor"].append(batch["actor"][i] if "actor" in batch else None)
            out["date"].append(str(batch["date"][i]) if "date" in batch and batch["date"][i] is not None else None)
            out["source"].append(batch["source"][i] if "source" in batch else None)
            out["position"].append(position)
    return out


def _norm_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def segment(dataset, *, text_column: str = "text", id_column: str = "id", deduplicate: bool = True,
            num_proc: int | None = None, batch_size: int = 64, **kwargs):
    """Turn a document-level ``datasets.Dataset`` into statements (see module docs).

    Documents without an id get their row number as ``doc_id``. Extra keyword arguments go to
    :func:`split_statements`. Deduplication keeps the first occurrence of each statement.

    >>> import datasets
    >>> docs = datasets.Dataset.from_dict({"id": ["d1"], "text": ["We welcome the new agreement.\\nWe welcome the new agreement."]})
    >>> list(segment(docs)["text"])
    ['We welcome the new agreement.']
    """
    if text_column not in dataset.column_names:
        raise KeyError(f"segment: no column {text_column!r}; columns are {dataset.column_names}.")
    if id_column not in dataset.column_names:
        dataset = dataset.add_column(id_column, [str(i) for i in range(len(dataset))])
    ds = dataset.map(
        _segment_batch, batched=True, batch_size=batch_size, num_proc=num_proc,
        remove_columns=dataset.column_names,
        fn_kwargs={"text_column": text_column, "id_column": id_column, "kwargs": kwargs},
        desc="segmenting",
    )
    if deduplicate and len(ds):
        seen: set[str] = set()
        keep = []
        from .columns import column_list

        for i, t in enumerate(column_list(ds, "text")):
            k = _norm_key(t)
            if k not in seen:
                seen.add(k)
                keep.append(i)
        if len(keep) < len(ds):
            ds = ds.select(keep)
    return ds
