"""Labeling functions: diplomatic tone markers that vote for a level or abstain (-1).

Each :class:`LabelingFunction` is one precompiled regular expression with a level from
``tone-scale.md`` and two guards:

- **negation** (``negatable=True``): a negator in the few words before the marker, in the same
  clause, makes the function abstain: "we will not retaliate" is no threat, "we do not oppose"
  no criticism. Markers whose wording includes the negation ("we will not tolerate") set
  ``negatable=False``.
- **reported speech** (``reportable=True``): a reporting verb with another subject earlier in the
  sentence ("X said it would retaliate", "they threatened us", "according to ...") makes the
  function abstain: the speaker reports, it does not threaten.

:func:`apply_lfs` runs a list of functions over many texts and returns an ``(n, m)`` int8 vote
matrix (``ABSTAIN`` = -1).

>>> votes = apply_lfs(["We will not retaliate.", "They will pay a heavy price.", "We welcome the deal."])
>>> [sorted({LEXICON_LFS[j].name for j in range(len(LEXICON_LFS)) if row[j] >= 0}) for row in votes]
[[], ['heavy_price'], ['welcome']]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ..exceptions import InvalidInputError

__all__ = ["ABSTAIN", "LabelingFunction", "LEXICON_LFS", "apply_lfs", "default_lfs", "is_negated", "is_reported",
           "lexicon_matches", "lf_names"]

ABSTAIN = -1

# A negator within the last few words of the same clause.
_NEGATION = re.compile(
    r"\b(?:not|never|no|nor|neither|cannot|can't|won't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|"
    r"shouldn't|wouldn't|without|refrain(?:s|ed)? from|rather than|instead of|nothing to|far from|"
    r"no need to|no intention (?:of|to)|neither)\b|n['’]t\b",
    re.I,
)
_CLAUSE_BREAK = re.compile(r"[,;:()—–]|\b(?:but|and|while|whereas|although|though|because|which|who|that)\b", re.I)
# A reporting verb whose subject is not the speaker: "they said", "Russia has threatened", "according to".
_REPORTED = re.compile(
    r"(?:\b(?!(?:we|i|us)\b)[A-Za-z][\w’'\-]*\s+(?:(?:has|have|had|also|repeatedly|publicly|openly|reportedly|now|then|"
    r"once|again|even|already|recently)\s+){0,2}"
    r"(?:said|says|say|claimed|claims|claim|threatened|threatens|threaten|warned|warns|vowed|vows|announced|declared|"
    r"stated|insisted|insists|accused|accuses|alleged|alleges|told|tells|boasted|boasts|promised|promises|suggested|"
    r"suggests|argued|argues|demanded|demands|proclaimed|proclaims|pledged|pledges|reported|reports|asserted|asserts|"
    r"called|calls)\b|\baccording to\b|\breportedly\b|\ballegedly\b|\bthreats? (?:by|from|of)\b)",
    re.I,
)
_NEGATION_WINDOW = 40  # characters before the marker


def is_negated(text: str, start: int) -> bool:
    """True when a negator sits in the same clause within ~6 words before ``start``.

    >>> is_negated("We will not retaliate.", 12)
    True
    >>> is_negated("We are not surprised, and we will retaliate.", 34)
    False
    """
    window = text[max(0, start - _NEGATION_WINDOW):start]
    parts = _CLAUSE_BREAK.split(window)
    return bool(_NEGATION.search(parts[-1] if parts else window))


def is_reported(text: str, start: int) -> bool:
    """True when a reporting verb with a subject other than we/I precedes ``start``.

    >>> is_reported("Moscow said it would retaliate.", 16)
    True
    >>> is_reported("We said we would retaliate.", 12)
    False
    """
    return bool(_REPORTED.search(text[:start]))


@dataclass(frozen=True)
class LabelingFunction:
    """A marker of one tone level: ``lf(text)`` returns ``level`` or ``ABSTAIN`` (-1).

    >>> lf = LabelingFunction("oppose", 2, r"\\boppose[sd]?\\b")
    >>> lf("We strongly oppose the decision."), lf("We do not oppose the decision.")
    (2, -1)
    """

    name: str
    level: int
    pattern: str
    negatable: bool = True
    reportable: bool = True
    description: str = ""
    flags: int = 0
    regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "regex", re.compile(self.pattern, self.flags))

    def __call__(self, text: str) -> int:
        return self.vote_lower(text.lower())

    def vote_lower(self, text: str) -> int:
        """Vote on an already lower-cased text (patterns are lower-case, matched without re.I: 2x faster)."""
        return self.level if next(self.spans_lower(text), None) is not None else ABSTAIN

    def spans_lower(self, text: str):
        """``(start, end)`` of every match in a lower-cased text that counts (not negated, not reported)."""
        for m in self.regex.finditer(text):
            if self.negatable and (is_negated(text, m.start()) or _NEGATION.search(m.group(0))):
                continue
            if self.reportable and is_reported(text, m.start()):
                continue
            yield m.start(), m.end()


def _lf(name, level, pattern, negatable=True, reportable=True, description=""):
    return LabelingFunction(name, level, pattern, negatable, reportable, description)


_OTHER = r"(?!(?:we|i|us|all|everyone|everybody|each|one|you|together|humanity|mankind)\b)"
LEXICON_LFS: tuple[LabelingFunction, ...] = (
    # ------------------------------------------------------------------ 0 cautious
    _lf("thanks", 0, r"\b(?:thank(?:s|ed|ing)?|grateful|gratitude|appreciat(?:e|es|ed|ion))\b",
        reportable=False, description="thanks or appreciation"),
    _lf("congratulate", 0, r"\b(?:congratulat\w*|felicitat\w*|commend(?:s|ed|ing)?|pay tribute|tribute to)\b",
        reportable=False, description="congratulations, praise of another"),
    _lf("welcome", 0, r"\bwelcom(?:e|es|ed|ing)\b(?! to the)", description="welcoming a step or actor"),
    _lf("hope", 0, r"\b(?:(?:we|i) (?:sincerely |earnestly |very much |truly |also )?(?:hope|trust that|wish|look forward)|"
        r"hopeful|it is (?:our|my) (?:hope|wish)|optimis\w+)\b", description="hope, wishes"),
    _lf("partnership", 0, r"\b(?:friendship|partnerships?|friendly (?:relations|ties|countries|nations)|close (?:ties|friends?)|"
        r"brotherly|fraternal|(?:long-?standing|old|dear|great|close) (?:friend|ally|allies|partner)s?|solidarity with|"
        r"mutual (?:respect|trust|benefit|understanding)|shared (?:values|interests|commitment)|win-win)\b",
        reportable=False, description="friendship, partnership, shared interests"),
    _lf("restraint_dialogue", 0, r"\b(?:restraint|de-?escalat\w+|peaceful (?:settlement|resolution|solution|means|dialogue)|"
        r"through (?:dialogue|negotiations?|diplomacy)|(?:spirit|path|way) of (?:dialogue|compromise|cooperation|"
        r"co-operation|understanding)|dialogue and (?:cooperation|co-operation|consultation|negotiation))\b",
        description="restraint, dialogue, peaceful means"),
    _lf("condolences", 0, r"\b(?:condolences?|sympath(?:y|ies)|our hearts go out|thoughts and prayers|deepest sorrow)\b",
        reportable=False, description="condolences and sympathy"),
    _lf("support_offer", 0, r"\b(?:(?:we|i) (?:fully |strongly |firmly |continue to |will continue to |stand ready to )?"
        r"(?:support|stand with|stand by)|ready to (?:help|assist|cooperate|co-operate|work)|"
        r"(?:support|cooperation|co-operation|assistance) (?:of|from) (?:our|the international) (?:partners|friends|community))\b",
        description="offers of support to another"),
    _lf("hedge", 0, r"\b(?:continue to (?:monitor|follow) (?:closely|the situation)|cautiously|we remain (?:hopeful|committed)|"
        r"in a constructive (?:spirit|manner)|constructive (?:dialogue|engagement|role|approach))\b",
        description="hedges, constructive framing"),
    # ------------------------------------------------------------------ 1 measured
    _lf("readout", 1, r"\b(?:the (?:two )?(?:sides|leaders|ministers|presidents) (?:discussed|reviewed|agreed|exchanged|met)|"
        r"(?:discussed|reviewed) (?:the|their|ways|efforts|bilateral|regional)|readout|(?<!be )met (?:with|today)|spoke (?:with|by phone)|"
        r"held (?:a )?(?:talks|meeting|call|phone call|bilateral)|(?<!be )(?:will|to) (?:travel|host|visit|attend|convene|meet with)|"
        r"talks will resume|(?:is|are) scheduled)\b", reportable=False, description="readouts and schedules"),
    _lf("procedure", 1, r"\b(?:(?:signed|enacted|issued|published|released|launched|established|appointed|nominated) "
        r"(?:an?|the|today|into|his|her|its|this|two|three|new)\b|executive order|the (?:bill|act|legislation|rule|program|"
        r"programme|proposal|budget|report|resolution) (?:would|will|provides|includes|requires|establishes|was adopted)|"
        r"each (?:state )?party shall|shall (?:enter into force|be (?:submitted|adopted|established))|agenda item|"
        r"(?:the )?(?:department|agency|ministry|administration) (?:will|has|is) (?:announc|releas|provid|issu|publish)\w*)\b",
        reportable=False, description="procedural, legislative, treaty wording"),
    _lf("statistics", 1, r"(?:\b\d[\d,.]*\s*(?:percent|per cent|%|million|billion|trillion)\b|\$\s?\d)",
        negatable=False, reportable=False, description="figures and amounts"),
    # ------------------------------------------------------------------ 2 firm
    _lf("concern", 2, r"\b(?:(?:deep|serious|grave|great|growing|profound|particular|strong|utmost) concerns?|"
        r"(?:deeply|seriously|gravely|extremely|very|particularly|increasingly|greatly|also|remain|are|am) "
        r"(?:concerned|worried|alarmed|troubled|disturbed)|concerns? (?:about|over|regarding) |alarming|disturbing|troubling)\b",
        description="concern, alarm"),
    _lf("oppose_reject", 2, r"\b(?:(?:strongly |firmly |categorically |resolutely )?(?:oppose[sd]?|opposing|reject(?:s|ed|ing)?|"
        r"object to|disagree(?:s|d)? with)|opposition to|rejection of)\b", description="opposition, rejection"),
    _lf("regret_condemn", 2, r"\b(?:regret(?:s|ted|table|tably)?|deplor\w+|condemn\w*|denounc\w+|disappoint\w*|"
        r"dismay\w*|outrag\w+|appall?\w*|abhor\w*|reprehensible|indignation|protest(?:s|ed)? (?:against|the))\b",
        description="regret, condemnation"),
    _lf("unacceptable", 2, r"\b(?:unacceptable|not acceptable|inadmissible|unjustifi\w+|unwarranted|illegitimate|"
        r"(?:clear|flagrant|blatant|gross|serious) (?:violations?|breach)|in (?:violation|breach) of|violat(?:es|ed|ing) "
        r"(?:international|the|its|their|our)|contrary to international law)\b", negatable=False,
        description="unacceptable, violations"),
    _lf("urge", 2, r"\b(?:urge[sd]?|urging|(?:call|calls|called) (?:up)?on \w+(?: \w+){0,5} to (?:stop|end|cease|halt|refrain|"
        r"withdraw|release|respect|comply|abide|honou?r|lift|reverse|allow|implement|fulfil)|press(?:es|ed)? \w+(?: \w+){0,3} "
        r"to)\b", description="urging another actor"),
    _lf("criticise", 2, r"\b(?:irresponsible|provocat\w+|destabili[sz]\w+|reckless|unilateral (?:actions?|measures)|"
        r"illegal (?:occupation|annexation|blockade|settlements?)|double standards?|failed to (?:honou?r|respect|"
        r"comply|meet)|(?:we|i) (?:criticize|criticise))\b", description="criticism of another"),
    _lf("sanction_announced", 2, r"\b(?:impos(?:e|es|ed|ing)|announc\w+|levy|levied) (?:new |additional |further |targeted )?"
        r"(?:sanctions|tariffs|export controls|visa restrictions|penalties)\b", description="a measure announced"),
    # ------------------------------------------------------------------ 3 assertive
    _lf("must_other", 3, r"\b" + _OTHER + r"(?:\w+|they|he|she|it|israel|russia|iran|china|the \w+(?: \w+)?|"
        r"any (?:agreement|deal|solution|settlement)|this|that) (?:must|has to|have to|needs? to) (?:immediately |now |"
        r"stop|end|cease|halt|withdraw|comply|release|refrain|respect|abide|reverse|reflect|be held|pay|answer|understand|"
        r"know|realize|recognize|accept|abandon|return|lift|put an end|desist)", description="a demand on another actor"),
    _lf("demand", 3, r"\b(?:(?:we|i) (?:\w+ )?demand|demand(?:s|ed)? (?:that|the (?:immediate|unconditional|full|complete|"
        r"withdrawal|release|cessation|return)|an (?:immediate )?end|immediate|unconditional)|insist (?:that|on))\b",
        description="demands"),
    _lf("warn", 3, r"\b(?:(?:we|i) (?:\w+ )?warn|warn(?:s|ed|ing)? (?:that|against|of|the)|(?:this|a) (?:clear |stern |strong )?"
        r"warning|red lines?)\b", description="warnings, red lines"),
    _lf("responsibility", 3, r"\b(?:bears? (?:the )?(?:full |sole |entire |whole |primary )?responsib\w+|hold\w* "
        r"\w+(?: \w+){0,4} (?:fully |directly )?(?:accountable|responsible)|will be held (?:fully )?(?:accountable|responsible)|"
        r"(?:full|sole) responsibility (?:for|lies))\b", description="assigning responsibility"),
    _lf("necessary_measures", 3, r"\b(?:all (?:necessary|appropriate|needed|required|possible) (?:measures|means|steps|actions?)|"
        r"(?:will|shall) (?:respond|act|react) (?:decisively|firmly|swiftly|forcefully|accordingly|resolutely)|"
        r"(?:will|shall) (?:defend|protect) (?:ourselves|our (?:sovereignty|territory|interests|people|country))|"
        r"right to (?:self-defen[cs]e|defend (?:ourselves|itself))|no longer (?:remain|tolerate|accept|be (?:silent|passive)))\b",
        negatable=False, description="retaliation in general terms"),
    _lf("will_not_accept", 3, r"\b(?:(?:will|shall|would|can|could) (?:not|never) (?:accept|tolerate|allow|permit|stand (?:by|idly)|"
        r"hesitate|remain (?:silent|passive|indifferent)|recogni[sz]e|compromise|bow|surrender|give in|back down|yield)|"
        r"(?:cannot|can't|won't) (?:accept|tolerate|allow|permit)|(?:cannot|will not|must not) be tolerated|"
        r"non-negotiable|not up for negotiation)\b", negatable=False, description="will not accept / tolerate"),
    _lf("condition", 3, r"\b(?:(?:unless|until|only if) (?:they|you|it|he|the (?:regime|government|authorities)|\w+) (?:\w+ )?"
        r"(?:stops?|ends?|withdraws?|ceases?|compl(?:y|ies)|changes?|reverses?|releases?|abandons?|halts?|lifts?|returns?)|"
        r"on (?:the )?condition that|as long as (?:they|you|it|\w+) (?:continues?|refuses?|persists?|occupies|occupy))\b",
        description="conditions"),
    _lf("accuse", 3, r"\b(?:(?:we|i) accuse|accuse[sd]? (?:them|him|her|\w+) of|(?:their|his|its|russia's|russia’s) lies|"
        r"(?:lied|is lying|are lying)|deceitful|hypocri\w+|blackmail\w*|(?:is|are) (?:guilty|solely responsible) (?:of|for)|"
        r"(?:bears|bear) the blame|illegal (?:and )?(?:unilateral )?sanctions|unilateral coercive measures)\b",
        description="direct accusations"),
    # ------------------------------------------------------------------ 4 confrontational
    _lf("heavy_price", 4, r"\b(?:(?:will|would|shall|going to|must|to) (?:\w+ )?pay (?:dearly|(?:a|the) (?:heavy |high |steep |"
        r"terrible )?price)|(?:heavy|high|steep|terrible) price to pay|(?:will|would|shall) (?:\w+ )?(?:face|suffer|bear) "
        r"(?:the |severe |serious |dire |grave |swift )*consequences|there will be (?:severe |serious |real )?consequences|"
        r"(?:impos\w*|inflict\w*) (?:[\w-]+ ){0,3}costs? on|(?:severe|serious|dire|grave|devastating|swift) (?:consequences|"
        r"costs|penalties|punishment|retaliation)|will bear the consequences|(?:they|you) will regret)\b",
        description="paying a price, consequences"),
    _lf("countermeasures", 3, r"\b(?:(?<!medical )(?<!medical and )counter-?measures|(?:will|shall|would|to|must|may|might|can) "
        r"(?:\w+ )?retaliate|retaliatory (?:measures?|action|steps|response|strikes?)|reprisals?|retribution|"
        r"punitive (?:measures|action|strikes?)|hit back|strike back|respond in kind|tit-for-tat)\b",
        description="retaliation signalled in general terms"),
    _lf("ultimatum", 4, r"\b(?:ultimatum|or (?:else|face)|(?:within|in) (?:\d+|twenty-four|forty-eight|seventy-two) hours|"
        r"if (?:they|you|he|it|\w+) (?:[\w,]+ ){0,14}?(?:we|i|\w+) (?:will|shall) (?:\w+ ){0,2}(?:impose|retaliate|respond|"
        r"strike|cut|suspend|withdraw|use|take|pay|face|end))\b", description="ultimatums, if-then threats"),
    _lf("fire_burn", 4, r"\b(?:play(?:s|ing)? with fire|(?:get|be) burn(?:ed|t)|crush(?:ed)? (?:them|you|the enemy)|"
        r"wipe(?:d)? (?:\w+ )?off the (?:map|face)|(?:annihilate|obliterate|destroy|eliminate|crush) (?:them|you|the enemy|"
        r"the aggressors?)|"
        r"bring (?:them|you) to (?:their|your) knees|teach (?:them|you) a lesson)\b", description="threat idioms"),
    _lf("leverage", 4, r"\b(?:(?:as|is|are|be) a card|(?:trump|strong|our) card|card (?:in|to play)|(?:as|for|use (?:our|its|their)) "
        r"leverage|leverage (?:over|against)|bargaining chips?|"
        r"all options (?:are |remain )?on the table|military option|nuclear (?:button|strike|option))\b",
        description="named leverage, military options"),
    _lf("insult", 4, r"\b(?:thugs?|butchers?|criminal (?:regime|gang|clique)|terrorist (?:regime|state)|puppets?|lackeys?|"
        r"liars?|gangsters?|fascists?|neo-?nazis?|barbar(?:ic|ians?|ity|ism)|zionists?|evil (?:and \w+ )?(?:terrorists?|extremists?|institution|"
        r"group|acts|deeds)|(?:terror|terrorist|murderous|genocidal|"
        r"illegitimate|fascist|racist|occupying) (?:regime|entity|clique|junta)|war criminals?|warmongers?|evil empire|axis of evil|rogue (?:state|"
        r"regime)s?|outlaw (?:state|regime)|despots?|tyrants?|(?:zionist|racist) (?:entity|regime)|scum|vermin|madm[ae]n|"
        r"clowns?|idiots?|stupid|morons?|lunatic\w*|imperialists?|henchm[ae]n|stooges?|evil (?:intentions?|machinations|"
        r"designs|regime|empire)|(?:russian|iranian|american|western|israeli|zionist|chinese) evil)\b",
        negatable=False, description="insults, hostile labels"),
    _lf("punitive_measure", 4, r"\b(?:(?:sanctions|tariffs?|penalties) (?:\w+ ){0,8}(?:unless|until) (?:they|you|it|the|\w+) |"
        r"(?:if|unless) (?:they|you|it) (?:\w+ ){0,8}(?:tariffs?|sanctions)|(?:to |will |we )(?:punish|penali[sz]e) "
        r"(?:them|him|her|you|russia|china|iran|the regime|those)|sanctions? (?:on|against) (?:the )?(?:\w+ )?regime|"
        r"sanctions? (?:\w+ ){0,12}(?:to )?hold (?:\w+ ){1,3}accountable|hold (?:\w+ ){1,3}accountable (?:\w+ ){0,4}sanctions|"
        r"(?:will|would) (?:result in|mean) the end of|as (?:a )?punishment (?:for|of))\b",
        description="measures framed as punishment or pressure"),
)


def lexicon_matches(text: str, lfs: Sequence[LabelingFunction] = LEXICON_LFS) -> list[tuple[int, int, str, int]]:
    """``(start, end, name, level)`` of every marker that votes in ``text``: the phrases a lexicon
    tool would show, with character offsets into ``text``, in reading order.

    >>> lexicon_matches("We welcome the talks but will not retaliate.")
    [(3, 10, 'welcome', 0)]
    """
    lower = text.lower()
    if len(lower) != len(text):  # a few characters lower-case to two ("İ"): keep offsets exact
        lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    found = [(a, b, lf.name, lf.level) for lf in lfs for a, b in lf.spans_lower(lower)]
    return sorted(found)


def lf_names(lfs: Sequence[LabelingFunction] = LEXICON_LFS) -> list[str]:
    return [lf.name for lf in lfs]


def apply_lfs(texts: Iterable[str], lfs: Sequence[LabelingFunction] = LEXICON_LFS) -> np.ndarray:
    """Vote matrix of shape ``(len(texts), len(lfs))``, int8, ``ABSTAIN`` where a function abstains.

    ``texts`` is a list (or other iterable) of str; one str is refused, since its characters
    would be labelled one by one.

    >>> apply_lfs("We welcome the deal.")
    Traceback (most recent call last):
    ...
    tonecls.exceptions.InvalidInputError: apply_lfs takes a list of str, got one str: pass [text].
    """
    if isinstance(texts, str):
        raise InvalidInputError("apply_lfs takes a list of str, got one str: pass [text].")
    texts = [t.lower() for t in texts]
    votes = np.full((len(texts), len(lfs)), ABSTAIN, dtype=np.int8)
    for j, lf in enumerate(lfs):
        search = lf.regex.search
        for i, t in enumerate(texts):
            if search(t) is not None:  # cheap prefilter; guards only on a hit
                votes[i, j] = lf.vote_lower(t)
    return votes


