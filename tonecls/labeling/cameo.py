"""Labeling functions from the CAMEO verb patterns of PETRARCH2, mapped to tone levels.

The dictionary (``CAMEO.verbpatterns.150430.txt``, MIT, Open Event Data Alliance) lists verb
blocks ``--- NAME [code] ---``, their member verbs (``WORD {IRREGULAR FORMS} [code]``) and phrase
patterns (``- words * words [code]``, ``*`` = the verb, ``+ $ ^ %`` = an actor or phrase, ``&SET``
= a synonym set, ``[---]`` = not an event). PETRARCH applies them to parse trees of news; here
they run on flat statements, so:

- patterns become regular expressions (``*`` → the block's verb forms, an actor slot → up to
  four words, ``&SET`` → its members, a pattern word matches as a prefix: ``OPPOS`` → oppose/opposition);
- verbs match only in the base and present forms ("condemns", "we condemn", "will retaliate"), not
  in the past or ``-ing`` forms, which in statements mostly *report* what others did
  ("Russia threatened ...": the rubric rates flat reports as measured or firm);
- a block's bare verb (no pattern) votes only for a core list of unambiguous verbs, excluding
  everyday verbs such as "need", "push", "call" that CAMEO codes only with actors around them.

Codes are strings (``'010'`` is not ``'10'``). They map to levels by :func:`level_of_code` (the
Goldstein score comes from ``CAMEO.goldsteinscale.txt``):

====================================  =====================================================
CAMEO                                 level
====================================  =====================================================
13x threaten; any verbal code with    4 confrontational
Goldstein <= -7
10x demand; 112x accuse               3 assertive
11x disapprove; 12x reject;           2 firm
14x protest; 16x reduce relations
02x appeal; 03x intend to cooperate;  0 cautious
05x diplomatic cooperation; 018/019
(thank, sympathy)
04x consult; 06x-09x material         1 measured (the rubric's "the two sides discussed")
cooperation, aid, yield, investigate
01x public statement                  abstain (every sentence is one)
15x, 17x-20x material conflict        4 only as the speaker's own future act ("we will
                                      strike"); otherwise abstain (reports of violence are
                                      measured, not confrontational)
====================================  =====================================================

>>> level_of_code("130"), level_of_code("1121"), level_of_code("111"), level_of_code("036"), level_of_code("010")
(4, 3, 2, 0, -1)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from .lexicon import ABSTAIN, LEXICON_LFS, LabelingFunction, is_negated, is_reported

__all__ = ["level_of_code", "load_goldstein", "parse_verb_dictionary", "cameo_lfs", "CameoFunction", "default_dir"]

_LEVEL_BY_ROOT = {"02": 0, "03": 0, "05": 0, "04": 1, "06": 1, "07": 1, "08": 1, "09": 1,
                  "10": 3, "11": 2, "12": 2, "13": 4, "14": 2, "16": 2}
MATERIAL_CONFLICT = ("15", "17", "18", "19", "20")
# Everyday verbs that CAMEO codes only with actors around them; as bare verbs they would fire everywhere.
_AMBIGUOUS = set("""
need want push press call ask make take give help hold meet see go come work seek use get put keep set look show move act
lead play run turn stand face bring raise open close share support hope expect plan continue remain deal reach address
provide offer return leave receive send allow pass carry cut drop end stop start begin fall rise hit fight force free fire
charge claim cover back block break order rule fix check host visit talk speak discuss agree sign note say tell state
express think believe feel consider mark join form build serve win lose watch follow pay buy sell spend save protect
defend attack strike warn urge demand threaten accuse promise pledge vow welcome praise thank oppose reject condemn deny
refuse resist insist require appeal request propose suggest commit invest cooperate engage assist aid relieve grant
""".split())
# Verbs of need and wish: "we need to", "we want to" are appeals to everyone, never demands.
_NEVER = {"need", "want", "wish", "require", "like", "love", "hope", "expect", "plan", "intend", "try", "have", "get",
          "make", "take", "go", "come", "see", "look", "say", "tell", "think", "know", "mean"}
# ... except these, which are kept as bare verbs because they are unambiguous markers of their code.
_CORE = set("""
threaten retaliate demand urge accuse condemn denounce reject oppose deplore censure rebuke criticize criticise
protest boycott sanction embargo expel praise commend congratulate thank apologize apologise mediate reconcile
""".split())


def default_dir() -> Path:
    """``../shared/data/event-coding`` relative to the repository root (or ``$TONECLS_EVENT_CODING``)."""
    import os

    env = os.environ.get("TONECLS_EVENT_CODING")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data" / "event-coding"


@functools.lru_cache(maxsize=4)
def load_goldstein(path: str | Path | None = None) -> dict[str, float]:
    """CAMEO code (string, leading zeros kept) → Goldstein score."""
    path = Path(path) if path else default_dir() / "CAMEO.goldsteinscale.txt"
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                out[parts[0]] = float(parts[1])
    return out


def level_of_code(code: str, goldstein: dict[str, float] | None = None) -> int:
    """The tone level of a CAMEO code (a string), or -1 to abstain. See the module table."""
    code = str(code)
    if not code.isdigit() or len(code) < 2:
        return ABSTAIN
    root = code[:2]
    if code.startswith("112"):
        return 3
    if root == "01":
        return 0 if code in ("018", "019") else ABSTAIN
    if root in MATERIAL_CONFLICT:
        return ABSTAIN  # only as the speaker's own act: see CameoFunction(first_person=True)
    level = _LEVEL_BY_ROOT.get(root, ABSTAIN)
    g = (goldstein or {}).get(code)
    if level >= 2 and g is not None and g <= -7:
        return 4
    return level


# ----------------------------------------------------------------------------- parsing
@dataclass
class VerbBlock:
    name: str
    code: str
    verbs: list = field(default_factory=list)      # (words, forms, code)
    patterns: list = field(default_factory=list)   # (tokens, code)


_CODE = re.compile(r"\[([^\]]*)\]")


def _code(text: str) -> str | None:
    m = _CODE.search(text)
    if not m:
        return None
    c = m.group(1).split(":")[0].strip()
    return None if c.startswith("-") or not c else c


def parse_verb_dictionary(path: str | Path | None = None) -> tuple[dict[str, list[str]], list[VerbBlock]]:
    """Synonym sets (``&NAME`` → member phrases, lower case) and verb blocks of the dictionary."""
    path = Path(path) if path else default_dir() / "CAMEO.verbpatterns.150430.txt"
    synsets: dict[str, list[str]] = {}
    blocks: list[VerbBlock] = []
    current_set, in_verbs = None, False
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip() if not raw.startswith("####") else raw.rstrip()
            if raw.startswith("####") and "VERB PATTERNS" in raw:
                in_verbs = True
                continue
            if not line.strip():
                continue
            if not in_verbs:
                if line.startswith("&"):
                    current_set = line.strip()
                    synsets[current_set] = []
                elif line.startswith("+") and current_set:
                    synsets[current_set].append(line[1:].strip().lower().replace("_", " "))
                continue
            if line.startswith("---"):
                m = re.match(r"---\s*(\S+)\s*\[([^\]]*)\]", line)
                if m:
                    blocks.append(VerbBlock(m.group(1), m.group(2).split(":")[0].strip()))
                continue
            if not blocks:
                continue
            block = blocks[-1]
            if line.startswith("-"):
                body = _CODE.split(line[1:])[0].strip()
                code = _code(line)
                block.patterns.append((body.split(), code))
            else:
                forms = re.findall(r"\{([^}]*)\}", line)
                head = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", line).split()
                if not head:
                    continue
                words = head[0].lstrip("+").lower().replace("_", " ")
                irregular = [w.lstrip("+").lower().replace("_", " ") for w in (forms[0].split() if forms else [])]
                block.verbs.append((words, irregular, _code(line) or block.code))
    return synsets, blocks


def _present_forms(phrase: str, irregular: list[str]) -> list[str]:
    """Base and third-person forms of a (possibly multi-word) verb phrase; no past, no -ing."""
    first, _, rest = phrase.partition(" ")
    rest = (" " + rest) if rest else ""
    irregular_firsts = [w.partition(" ")[0] for w in irregular]
    third = [w for w in irregular_firsts if w.endswith("s") and not w.endswith("ss")]
    if not third:
        if re.search(r"(?:s|x|z|ch|sh|o)$", first):
            third = [first + "es"]
        elif re.search(r"[^aeiou]y$", first):
            third = [first[:-1] + "ies"]
        else:
            third = [first + "s"]
    return sorted({first + rest, *(t + rest for t in third)})


def _token_regex(tok: str, synsets: dict[str, list[str]], verb: str) -> str | None:
    if tok == "*":
        return verb
    if tok in ("+", "$", "^", "%") or re.fullmatch(r"[+$^%]+", tok):
        return r"(?:\S+ ){0,3}?"  # an actor or phrase slot, up to three words, with trailing space
    if tok.startswith("&"):
        members = synsets.get(tok) or synsets.get(tok.rstrip("_"))
        if not members:
            return None
        return r"(?:" + "|".join(re.escape(m) for m in sorted(members, key=len, reverse=True)) + r")\w*"
    if "*" in tok:  # e.g. "*_AGAINST": the verb glued to a particle
        pieces = [re.escape(p.lower().replace("_", " ")) for p in tok.split("*")]
        return verb.join(pieces)
    word = tok.lower().replace("_", " ")
    if not re.fullmatch(r"[a-z0-9'\- ]+", word):
        return None
    return re.escape(word) + r"\w*"


def _pattern_regex(tokens: list[str], synsets, verb: str) -> str | None:
    if "*" not in tokens:
        return None
    parts = []
    for tok in tokens:
        r = _token_regex(tok, synsets, verb)
        if r is None:
            return None
        parts.append(r)
    out = ""
    for tok, r in zip(tokens, parts):
        if re.fullmatch(r"[+$^%]+", tok):
            out += r
        else:
            out += r + r"\s+"
    out = out[: -len(r"\s+")] if out.endswith(r"\s+") else out
    return r"\b" + out + r"\b" if not out.endswith("?") else r"\b" + out


def _trie_regex(words: list[str]) -> str:
    """Alternation of ``words`` as a character trie (much faster than a flat alternation)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node) -> str:
        end = "" in node
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if end else body

    return build(trie)


class CameoFunction(LabelingFunction):
    """A CAMEO family as one labeling function: a verb prefilter, then that verb's phrase patterns.

    ``pattern`` (the prefilter: any present form of the family's verbs) is what :func:`apply_lfs`
    searches first. A hit on a core verb votes at once; a hit on another verb votes only if one of
    its block's phrase patterns matches around it. ``first_person``: fire only when the speaker
    ("we", "I", "my government") is the subject of a future act (material conflict: "we will strike").
    """

    post: dict | None = None         # verb form -> regex of what must follow it (patterns "* words")
    full: dict | None = None         # verb form -> regexes (one per verb block) of patterns with words before the verb
    bare: frozenset = frozenset()    # core verb forms that vote on their own
    first_person: bool = False
    strict: bool = False             # material conflict: "we will strike them", not "we must defeat terrorism"

    def vote_lower(self, text: str) -> int:
        for m in self.regex.finditer(text):
            form = m.group(0)
            start = m.start()
            hit = form in self.bare
            if not hit:
                rx = self.post.get(form)
                hit = rx is not None and rx.match(text, m.end()) is not None
            if not hit:
                lo = max(0, start - 60)
                for rx in self.full.get(form, ()):
                    pm = rx.search(text, lo, m.end() + 80)
                    if pm is not None:
                        hit, start = True, pm.start()
                        break
            if not hit:
                continue
            if self.first_person and not _FIRST_PERSON.search(text[max(0, m.start() - 40):m.start()]):
                continue
            if self.strict and not (_FUTURE_SPEAKER.search(text[max(0, m.start() - 50):m.start()])
                                    and _HOSTILE_TARGET.match(text, m.end())):
                continue
            if self.negatable and is_negated(text, start):
                continue
            if self.reportable and is_reported(text, m.start()):  # the verb itself, not the pattern start
                continue
            return self.level
        return ABSTAIN


_FIRST_PERSON = re.compile(r"\b(?:we|i|my (?:government|country|delegation)|our (?:government|country|forces))\s+"
                           r"(?:(?:will|shall|are going to|are ready to|stand ready to|would|must|can|also|strongly|not|never|"
                           r"firmly|hereby|therefore|again|once again|categorically|resolutely)\s+){0,3}(?:\w+ly\s+)?$")

# Families that vote only when the speaker is the subject ("we will ...", "my government demands").
FIRST_PERSON_FAMILIES = ("cameo_material_conflict", "cameo_threaten", "cameo_demand_accuse")
# Material conflict counts only as the speaker's announced act against someone: a future modal
# ("we will", "we are ready to") and a hostile target right after the verb.
_FUTURE_SPEAKER = re.compile(r"\b(?:we|i|our (?:forces|army|military))\s+(?:will|shall|are going to|are ready to|stand ready to|"
                             r"will not hesitate to|would not hesitate to|won't hesitate to)\s+(?:\w+\s+)?$")
_HOSTILE_TARGET = re.compile(r"(?:\s+back)?\s+(?:them|him|you|it|the (?:enemy|aggressors?|invaders?|occupiers?|regime)|"
                             r"their|any(?:one| aggressor| attacker| invader)|those who|whoever|the \w+ (?:forces|army|"
                             r"regime|positions|bases))\b")
_FAMILIES = {  # name → (level, predicate on code)
    "cameo_cooperate": (0, lambda c, g: level_of_code(c, g) == 0),
    "cameo_consult_aid": (1, lambda c, g: level_of_code(c, g) == 1),
    "cameo_disapprove": (2, lambda c, g: level_of_code(c, g) == 2),
    "cameo_demand_accuse": (3, lambda c, g: level_of_code(c, g) == 3),
    # Threat verbs on flat text are mostly "X threatens our security" or "we will not allow":
    # the speaker's own threats signalled in general terms, i.e. assertive (see FIRST_PERSON_FAMILIES).
    "cameo_threaten": (3, lambda c, g: level_of_code(c, g) == 4),
    "cameo_material_conflict": (4, lambda c, g: c[:2] in MATERIAL_CONFLICT),
}


@functools.lru_cache(maxsize=4)
def _cameo_lfs(directory: str) -> tuple[CameoFunction, ...]:
    d = Path(directory)
    synsets, blocks = parse_verb_dictionary(d / "CAMEO.verbpatterns.150430.txt")
    goldstein = load_goldstein(d / "CAMEO.goldsteinscale.txt")
    out = []
    for name, (level, wants) in _FAMILIES.items():
        post: dict[str, list[str]] = {}
        full: dict[str, list[re.Pattern]] = {}
        bare: set[str] = set()
        for b in blocks:
            # Everyday verbs ("need", "want", "make") count only in patterns with words before the verb
            # ("will not *"), unless they are core markers.
            forms_all = sorted({f for words, irr, _ in b.verbs if words not in _NEVER
                                for f in _present_forms(words, irr)}, key=len, reverse=True)
            forms = sorted({f for words, irr, _ in b.verbs if words not in _AMBIGUOUS or words in _CORE
                            for f in _present_forms(words, irr)}, key=len, reverse=True)
            if not forms_all:
                continue
            block_full: list[str] = []
            for tokens, code in b.patterns:
                if not code or not wants(code, goldstein) or "*" not in tokens:
                    continue
                if all(t == "*" or re.fullmatch(r"[+$^%]+", t) for t in tokens):
                    continue  # only the verb and actor slots: as unspecific as the bare verb
                if tokens[0] == "*":
                    r = _pattern_regex(["*"] + tokens[1:], synsets, "")
                    if r:
                        for f in forms:
                            post.setdefault(f, []).append(r[len(r"\b"):])
                else:
                    r = _pattern_regex(tokens, synsets, "(?:" + "|".join(re.escape(f) for f in forms_all) + ")")
                    if r:
                        block_full.append(r)
            if block_full:
                rx = re.compile("|".join(f"(?:{p})" for p in sorted(set(block_full))))
                for f in forms_all:
                    full.setdefault(f, []).append(rx)
            for words, irr, code in b.verbs:
                if code and wants(code, goldstein) and (words in _CORE or (
                        name == "cameo_material_conflict" and words not in _AMBIGUOUS)):
                    bare.update(_present_forms(words, irr))
        by_form = {**post, **full}
        forms_all = sorted(set(by_form) | bare)
        if not forms_all:
            continue
        prefilter = r"\b" + _trie_regex(forms_all) + r"\b"
        lf = CameoFunction(name, level, prefilter, negatable=True, reportable=True,
                           description=f"CAMEO verb patterns ({name.split('_', 1)[1].replace('_', ' ')})")
        object.__setattr__(lf, "post", {f: re.compile("|".join(f"(?:{p})" for p in sorted(set(ps)))) for f, ps in post.items()})
        object.__setattr__(lf, "full", {f: tuple(rxs) for f, rxs in full.items()})
        object.__setattr__(lf, "bare", frozenset(bare))
        object.__setattr__(lf, "first_person", name in FIRST_PERSON_FAMILIES)
        object.__setattr__(lf, "strict", name == "cameo_material_conflict")
        out.append(lf)
    return tuple(out)


def cameo_lfs(directory: str | Path | None = None, *, required: bool = False) -> list[CameoFunction]:
    """The CAMEO labeling functions; ``[]`` when the dictionaries are missing (unless ``required``)."""
    d = Path(directory) if directory else default_dir()
    if not (d / "CAMEO.verbpatterns.150430.txt").exists():
        if required:
            raise FileNotFoundError(f"{d}: CAMEO.verbpatterns.150430.txt not found; set $TONECLS_EVENT_CODING.")
        return []
    return list(_cameo_lfs(str(d.resolve())))


def default_lfs(cameo: bool = True) -> list[LabelingFunction]:
    """The lexicon functions, plus the CAMEO verb-pattern functions when the dictionaries are found."""
    return list(LEXICON_LFS) + (cameo_lfs() if cameo else [])
