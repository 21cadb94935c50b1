"""`ToneClassifier`: load or save a model folder and score statements.

>>> from tonecls import ToneClassifier
>>> clf = ToneClassifier.from_pretrained("./models/tonecls-base")
>>> clf.score("This is unacceptable, and we call on them to stop at once.").label  # disapproval, no named response
'firm'

A model folder holds ``config.json`` (ordered labels, library version, encoder config, and the
sha256 of every weights file), ``model.safetensors``, a tokenizer (``tokenizer.json``, or a
checksum-verified reference to the base package's), optionally ``calibration.json`` and
``metrics.json``, and a generated ``README.md``. Nothing is pickled.

Input rules (the same everywhere, :mod:`tonecls.validation`): each statement must be a ``str``
with at least one readable character and no lone surrogate; anything else raises
:class:`InvalidInputError` naming the position and what to do. An empty list gives an empty
result (``[]``, or arrays of shape ``(0, 5)``); bytes, dicts and sets are refused by type.
A statement's score does not depend on the other statements scored with it (see
:mod:`tonecls.backends` for the int8 backends). Statements longer than the encoder's window are
never truncated: they are cut into overlapping windows, each window is scored,
and the statement takes the window with the highest expected level (the scale's "rate the
strongest clause" rule; ``aggregate="mean"`` averages the windows' probabilities instead).
Scoring keeps no per-call state on the model, so one model can serve several threads.

Other languages: a model folder with a ``multilingual/`` subfolder (:mod:`tonecls.multilingual`)
routes each statement by its detected language: English to the fine-tuned model, any other
language to the multilingual scorer. :class:`ToneScore` says which language and which model read
it. :meth:`ToneClassifier.predict_logits` and bulk runs read every statement as English; explanations
refuse statements in other languages.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from . import __version__
from ._files import read_model_json
from .bundle import CalibrationBundle, conformal_of, load_calibration, save_calibration
from .bases import DEFAULT_BASE
from .calibration import softmax
from .exceptions import InvalidInputError, ModelError
from .results import ToneScore, result_arrays, tone_scores  # noqa: F401 (re-exported)
from .scale import LEVELS, id2label, score_from_probabilities
from .tokens import SpecialIds, load_tokenizer  # noqa: F401 (SpecialIds re-exported)
from .validation import as_statement_list, validate_texts  # noqa: F401 (validate_texts re-exported)

AGGREGATES = ("max", "mean")
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TOKENIZER_NAME = "tokenizer.json"
INT8_DELTA = "int8-delta"  # save_pretrained's dtype: a delta folder whose matrices are int8 differences from the base
MULTILINGUAL_FOLDER = "multilingual"  # a multilingual scorer's folder inside a model folder


@dataclass
class Encoded:
    """Token windows of a list of statements (:meth:`ToneClassifier.encode`)."""

    windows: list[list[int]] = field(default_factory=list)  # token ids incl. [CLS]/[SEP]
    owner: list[int] = field(default_factory=list)  # statement index of each window
    spans: list[tuple[int, int]] = field(default_factory=list)  # characters of its statement each window reads


class ToneClassifier:
    """A tone model: tokenizer + network + optional calibrator, with the ordered labels.

    ``runner`` (a :class:`tonecls.backends.Runner`) runs the network; None is the network itself
    in fp32 torch, the reference. ``multilingual`` (a :class:`tonecls.multilingual.LanguageScorer`)
    reads statements that are not in English; None reads every statement with the network.
    """

    def __init__(self, network, tokenizer, *, labels: Sequence[str] = LEVELS, max_length: int = 128,
                 stride: int = 32, aggregate: str = "max", calibrator=None, base: dict | None = None,
                 name: str = "tonecls-model", runner=None, multilingual=None):
        if aggregate not in AGGREGATES:
            raise ValueError(f"Unknown aggregate {aggregate!r}; choose one of {list(AGGREGATES)}.")
        if tuple(labels) != LEVELS:
            raise ValueError(f"labels must be the tone scale in order, {list(LEVELS)}; got {list(labels)}.")
        if not 0 <= stride < max_length - 2:
            raise ValueError(f"stride must be in [0, max_length - 2), got {stride}.")
        self.network = network.eval()
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.max_length = max_length
        self.stride = stride
        self.aggregate = aggregate
        self.calibrator = calibrator
        self.base = base
        self.name = name
        self.runner = runner
        self.multilingual = multilingual
        self.path: Path | None = None
        self.special_ids = SpecialIds.of(tokenizer)

    @property
    def backend(self) -> str:
        """How the network runs: the runner's name, or ``"torch"``."""
        return "torch" if self.runner is None else self.runner.name

    @property
    def backend_options(self) -> dict:
        """The settings the runner was built with (``reason``: why ``auto`` chose it)."""
        return {"backend": "torch", "reason": None} if self.runner is None else self.runner.options

    @property
    def guard_stats(self) -> dict | None:
        """Windows scored and re-run in fp32 by the runner's guard (None without a guard)."""
        return None if self.runner is None else self.runner.guard_stats

    # ------------------------------------------------------------------ building
    @classmethod
    def from_base(cls, base: str = DEFAULT_BASE, *, pooling: str = "mean", max_length: int = 128,
                  labels: Sequence[str] = LEVELS, name: str = "tonecls-model",
                  implementation: str = "compact") -> "ToneClassifier":
        """A new, untrained head on a verified pretrained encoder (:data:`tonecls.bases.BASES`:
        ``"all-MiniLM-L6-v2"``, English, or ``"multilingual-e5-small"``, about 100 languages). The
        head's initial weights follow torch's random state (``torch.manual_seed`` first to repeat them)."""
        from .bases import get_base
        from .encoder import ToneNetwork

        found = get_base(base)
        network = ToneNetwork(found.config(), len(labels), pooling, implementation)
        found.load_into(network.encoder)
        return cls(network, found.tokenizer(), labels=labels, max_length=max_length, base=found.reference(), name=name)

    # ------------------------------------------------------------------ persistence
    @classmethod
    def from_pretrained(cls, path: str | Path, backend: str = "torch", multilingual: bool = True,
                        **overrides) -> "ToneClassifier":
        """Load a model folder written by :meth:`save_pretrained`; no network access, no pickle.

        ``overrides`` replace scoring options stored in the folder (``max_length``,
        ``stride``, ``aggregate``). ``backend`` picks how the network runs: ``"torch"`` (fp32,
        the reference), or one of :data:`tonecls.backends.BACKENDS` (``"onnx"``, ``"int8"``,
        ``"onnx-int8"``, ``"auto"``); see :mod:`tonecls.backends`. ``multilingual=False`` leaves out
        the folder's multilingual scorer (every statement is then read as English).
        """
        from safetensors.torch import load_file

        from .bases import get_base, named_base
        from .encoder import ToneNetwork, verify_file
        from .exceptions import ModelNotFoundError, WeightsMismatchError

        path = Path(path)
        config_file = path / CONFIG_NAME
        if not config_file.is_file():
            raise ModelNotFoundError(f"{path} is not a tonecls model folder: {CONFIG_NAME} is missing.")
        config = read_model_json(config_file, "the model's configuration")
        _check_config(config, config_file)
        try:
            network = ToneNetwork(config["encoder"], len(config["labels"]), config["pooling"])
        except ValueError:  # an encoder setting the compact code does not implement
            try:
                network = ToneNetwork(config["encoder"], len(config["labels"]), config["pooling"], "transformers")
            except Exception as err:
                raise ModelError(f"{config_file}: the encoder settings cannot build a network ({err}).") from None
        except (KeyError, TypeError) as err:
            raise ModelError(f"{config_file}: the encoder settings are incomplete or malformed ({err!r}).") from None
        base, origin = config.get("base"), named_base(config)
        try:
            base_encoder = get_base(origin) if origin else None
        except ModelError as err:
            raise type(err)(f"{config_file}: {err}") from None
        weights = config["weights"]
        weights_file = verify_file(path / weights["file"], weights["sha256"], recorded_in=config_file)
        try:
            state = load_file(weights_file)
        except Exception as err:  # a file that matches its checksum but is no safetensors file
            raise ModelError(f"{weights_file}: not a readable safetensors file ({err}).") from None
        if weights.get("dtype") == INT8_DELTA:  # written by save_pretrained, which names the base of a delta folder
            from .encoder import dequantize_deltas

            state = dequantize_deltas(state, base_encoder.tensors())
        state = {k: v.float() for k, v in state.items()}
        try:
            missing, unexpected = network.load_state_dict(state, strict=False)
        except RuntimeError as err:  # shapes that do not fit
            raise WeightsMismatchError(f"{weights_file} does not fit the network of {config_file}: {err}") from None
        # A delta folder may leave out encoder tensors (they come from the base), never the head.
        missing = [k for k in missing if not k.endswith("position_ids")]
        if unexpected or [k for k in missing if not (base and k.startswith("encoder."))]:
            raise WeightsMismatchError(f"{weights_file} does not fit the network: missing {missing}, "
                                       f"unexpected {unexpected}")
        if missing:
            try:
                base_encoder.load_into(network.encoder, [k[len("encoder."):] for k in missing])
            except (ModelError, RuntimeError) as err:  # the folder's encoder settings do not fit its base
                raise WeightsMismatchError(f"{config_file}: the encoder tensors {weights_file.name} leaves to the base "
                                           f"{base_encoder.name} do not fit the network ({err}).") from None
        if config["tokenizer"] == "base":
            tokenizer_file, tokenizer = f"the {base_encoder.name} tokenizer", base_encoder.tokenizer()
        else:
            tokenizer_file = verify_file(path / TOKENIZER_NAME, config.get("tokenizer_sha256", ""), recorded_in=config_file)
            tokenizer = load_tokenizer(tokenizer_file)
        calibrator = load_calibration(path, len(config["labels"]))
        options = {k: config[k] for k in ("max_length", "stride", "aggregate")}
        options.update(overrides)
        scorer = None
        if multilingual and (path / MULTILINGUAL_FOLDER / CONFIG_NAME).is_file():
            scorer = load_multilingual(path / MULTILINGUAL_FOLDER)
        try:
            clf = cls(network, tokenizer, labels=config["labels"], calibrator=calibrator,
                      base=origin, name=config.get("name", path.name), multilingual=scorer, **options)
        except ModelError as err:
            raise ModelError(f"{tokenizer_file}: {err}") from None
        clf.path = path
        if backend != "torch":
            from .backends import build_runner

            clf.runner = build_runner(clf, backend)
        return clf

    def save_pretrained(self, path: str | Path, *, dtype: str = "float32", delta_from_base: bool = False) -> Path:
        """Write the model folder. ``delta_from_base`` stores only tensors that differ from the
        base checkpoint (the rest is taken from the base package on load); ``dtype`` may be
        ``"float16"`` to halve the folder, or ``"int8-delta"`` (:data:`INT8_DELTA`, implies
        ``delta_from_base``) to store each changed matrix as its int8 difference from the base with a
        scale per row (:func:`tonecls.encoder.quantize_delta`), the other tensors in float16."""
        import torch
        from safetensors.torch import save_file

        from .encoder import sha256_file

        if dtype not in ("float32", "float16", INT8_DELTA):
            raise ValueError(f"dtype must be 'float32', 'float16' or {INT8_DELTA!r}, got {dtype!r}.")
        if (delta_from_base or dtype == INT8_DELTA) and not self.base:
            raise ValueError("delta_from_base needs a model built from the base encoder (ToneClassifier.from_base).")
        delta_from_base = delta_from_base or dtype == INT8_DELTA
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.network.state_dict().items() if not k.endswith("position_ids")}
        if delta_from_base:
            from .bases import get_base

            base_state = get_base(self.base).tensors()
            state = {k: v for k, v in state.items()
                     if not (k.startswith("encoder.") and k[8:] in base_state and torch.equal(base_state[k[8:]], v))}
        from .encoder import quantize_deltas

        state = quantize_deltas(state, base_state) if dtype == INT8_DELTA else {
            k: v.to(getattr(torch, dtype)) for k, v in state.items()}
        # one metadata key: safetensors orders several at random, so the same tensors would hash differently
        save_file(state, path / WEIGHTS_NAME, metadata={"format": "pt"})
        config = {
            "tonecls_version": __version__,
            "name": self.name,
            "labels": list(self.labels),
            "id2label": {str(i): label for i, label in id2label(self.labels).items()},
            "pooling": self.network.pooling,
            "max_length": self.max_length,
            "stride": self.stride,
            "aggregate": self.aggregate,
            "encoder": self.network.encoder_config | {"model_type": "bert"},
            "base": self.base if delta_from_base else None,
            "weights": {"file": WEIGHTS_NAME, "sha256": sha256_file(path / WEIGHTS_NAME), "dtype": dtype,
                        "delta_from_base": delta_from_base},
        }
        if self.base and not delta_from_base:
            config["base_origin"] = self.base
        if self.base:
            config["tokenizer"] = "base"
        else:
            self.tokenizer.save(str(path / TOKENIZER_NAME))
            config["tokenizer"] = "folder"
            config["tokenizer_sha256"] = sha256_file(path / TOKENIZER_NAME)
        (path / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        save_calibration(self.calibrator, path)
        if self.multilingual is not None:
            self.multilingual.save(path / MULTILINGUAL_FOLDER)
        self.path = path
        return path

    # ------------------------------------------------------------------ scoring
    @property
    def id2label(self) -> dict[int, str]:
        return id2label(self.labels)

    def encode(self, texts: Sequence[str]) -> Encoded:
        """Token windows of each statement (long statements give several overlapping windows)."""
        cls_id, sep_id, unk_id = self.special_ids.start, self.special_ids.end, self.special_ids.unknown
        body = self.max_length - 2
        step = body - self.stride
        enc = Encoded()
        for i, e in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            ids = e.ids or [unk_id]
            offsets = e.offsets or [(0, 0)]
            starts = range(0, max(len(ids) - self.stride, 1), step) if len(ids) > body else [0]
            for s in starts:
                enc.windows.append([cls_id, *ids[s:s + body], sep_id])
                enc.owner.append(i)
                enc.spans.append((offsets[s][0], offsets[min(s + body, len(ids)) - 1][1]))
        return enc

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Logits for one padded batch, by the runner (fp32 torch without one)."""
        if self.runner is not None:
            return self.runner.forward(input_ids, attention_mask)
        import torch

        with torch.inference_mode():
            return self.network(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).float().numpy()

    def window_logits(self, enc: Encoded, batch_size: int = 64, progress=None) -> np.ndarray:
        """Logits of every window, computed in length-sorted batches, returned in window order."""
        pad_id = self.special_ids.padding
        order = np.argsort([len(w) for w in enc.windows], kind="stable")
        out = np.empty((len(enc.windows), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(enc.windows[j]) for j in idx)
            ids = np.full((len(idx), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, j in enumerate(idx):
                w = enc.windows[j]
                ids[r, :len(w)] = w
                mask[r, :len(w)] = 1
            out[idx] = self._forward(ids, mask)
            if progress is not None:
                progress(len(idx))
        return out

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Uncalibrated logits of the (English) network, one row per statement (for a long statement:
        its chosen window under ``aggregate="max"``, the log of the mean window probabilities under
        ``"mean"``). Statements are not routed by language."""
        return self.logits_and_windows(texts, batch_size)[0]

    def logits_and_windows(self, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`predict_logits`, how many windows each statement was read in)."""
        texts = validate_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32), np.zeros(0, dtype=np.int64)
        enc = self.encode(texts)
        return self.aggregate_windows(enc, self.window_logits(enc, batch_size), len(texts))

    def aggregate_windows(self, enc: Encoded, logits: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(logits, windows)``: one logit row per statement from its windows' rows (``aggregate``),
        and how many windows each statement had."""
        owner = np.asarray(enc.owner)
        counts = np.bincount(owner, minlength=n)
        if np.all(counts == 1):
            return logits, counts
        # Aggregated on uncalibrated probabilities, so the result is a logit vector the calibrator can take.
        probs = softmax(logits.astype(np.float64))
        out = logits[np.searchsorted(owner, np.arange(n))].copy()
        for i in np.flatnonzero(counts > 1):
            rows = np.flatnonzero(owner == i)
            if self.aggregate == "max":
                out[i] = logits[rows[np.argmax(score_from_probabilities(probs[rows]))]]
            else:
                out[i] = np.log(np.maximum(probs[rows].mean(axis=0), np.finfo(np.float64).tiny))
        return out, counts

    def calibrated_probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Probabilities from logits through the stored calibrator (softmax if none)."""
        if self.calibrator is None:
            return softmax(np.asarray(logits, dtype=np.float64))
        return np.asarray(self.calibrator.transform(logits), dtype=np.float64)

    def predict_proba(self, texts: str | Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Calibrated probabilities, columns in ``self.labels`` order, each statement read by the model
        of its language (as :meth:`score` does): a str gives shape ``(5,)``, a list ``(n, 5)``."""
        batch, single = as_statement_list(texts, allow_single=True)
        probs = np.asarray([r.probabilities for r in self.score(batch, batch_size)], dtype=np.float64)
        return probs[0] if single else probs.reshape(-1, len(self.labels))

    def languages(self, texts: Sequence[str]) -> list[str] | None:
        """Each statement's language as the router sees it; None when the model reads English only."""
        if self.multilingual is None:
            return None
        from .multilingual import routing_languages

        return routing_languages(texts)

    def score(self, texts: str | Sequence[str], batch_size: int = 64) -> ToneScore | list[ToneScore]:
        """Score one statement (returns a :class:`ToneScore`) or a list (returns a list, same order;
        ``[]`` for an empty list). Statements not in English go to the multilingual scorer, if the
        model has one."""
        batch, single = as_statement_list(texts, allow_single=True)
        batch = validate_texts(batch)
        if not batch:
            return []
        languages = self.languages(batch)
        english = range(len(batch)) if languages is None else [i for i, lang in enumerate(languages) if lang == "en"]
        results: list[ToneScore | None] = [None] * len(batch)
        if english:
            texts_en = [batch[i] for i in english]
            for i, r in zip(english, self.score_encoded(self.encode(texts_en), len(texts_en), batch_size)):
                results[i] = r if languages is None else replace(r, language="en")
        others = [i for i in range(len(batch)) if results[i] is None]
        if others:
            langs = [languages[i] for i in others]
            probs, windows = self.multilingual.predict_proba([batch[i] for i in others], langs)
            for i, r in zip(others, tone_scores(probs, self.labels, windows, self.multilingual.conformal,
                                                langs, f"{self.name}/multilingual")):
                results[i] = r
        return results[0] if single else results

    def score_encoded(self, enc: Encoded, n: int, batch_size: int = 64) -> list[ToneScore]:
        """Results of ``n`` statements already cut into windows by :meth:`encode`."""
        logits, counts = self.aggregate_windows(enc, self.window_logits(enc, batch_size), n)
        return self.results_from_logits(logits, counts)

    def explain(self, texts: str | Sequence[str], batch_size: int = 64, method: str = "occlusion"):
        """Why each score: a str gives one :class:`~tonecls.explanation.Explanation`, a list a list.

        Phrase occlusion (:mod:`tonecls.explanation`): a statement of ``n`` phrases costs ``n``
        extra forward passes of its (decisive) window. English only: a statement the multilingual
        scorer would read raises :class:`InvalidInputError`.

        >>> clf = ToneClassifier.from_pretrained("./models/tonecls-base")
        >>> e = clf.explain("If they proceed we will impose countermeasures.")
        >>> [p.text for p in e.top(2)]  # the phrases that raise the level most, strongest first
        ['we will impose countermeasures', 'If they proceed']
        >>> e.top(1)[0].contribution > 1  # in levels of the expected score
        True
        """
        from .explanation import explain_statements

        batch, single = as_statement_list(texts, allow_single=True)
        batch = validate_texts(batch)
        for i, lang in enumerate(self.languages(batch) or []):
            if lang != "en":
                raise InvalidInputError(f"Statement at index {i} is in {lang!r}: explanations read English only "
                                        "(the fine-tuned model); score it with score() instead.")
        out = explain_statements(self, batch, batch_size=batch_size, method=method)
        if self.multilingual is not None:  # the same ToneScore as score() gives
            out = [replace(e, score=replace(e.score, language="en")) for e in out]
        return out[0] if single else out

    def results_from_logits(self, logits: np.ndarray, windows: Sequence[int] | None = None) -> list[ToneScore]:
        """Results of the network's logits: calibrated, with the conformal interval stored with the
        calibrator (``calibration.json``), if any."""
        return tone_scores(self.calibrated_probabilities(logits), self.labels, windows, conformal_of(self.calibrator),
                           None, self.name)

    def __repr__(self) -> str:
        return (f"ToneClassifier(name={self.name!r}, labels={list(self.labels)}, max_length={self.max_length}, "
                f"calibrated={self.calibrator is not None})")


_CONFIG_KEYS = {"labels": list, "pooling": str, "encoder": dict, "weights": dict, "tokenizer": str,
                "max_length": int, "stride": int, "aggregate": str}


def _check_config(config: dict, config_file: Path) -> None:
    """Raise :class:`~tonecls.exceptions.ModelError` naming ``config_file`` if an entry the
    loader needs is missing or of the wrong type."""
    for key, typ in _CONFIG_KEYS.items():
        if not isinstance(config.get(key), typ) or isinstance(config.get(key), bool):
            got = "missing" if key not in config else f"a {type(config[key]).__name__}"
            raise ModelError(f"{config_file}: {key!r} should be a {typ.__name__}, is {got}; the model folder is "
                             "damaged or not a tonecls model (save it again with save_pretrained).")
    weights = config["weights"]
    if not isinstance(weights.get("file"), str) or not isinstance(weights.get("sha256"), str) \
            or Path(weights["file"]).name != weights["file"]:
        raise ModelError(f"{config_file}: 'weights' must name a file in the folder and its sha256.")
    from .bases import named_base

    if config.get("tokenizer") == "base" and not isinstance(named_base(config), dict):
        raise ModelError(f"{config_file}: the tokenizer is the base encoder's, but no base is named ('base' or "
                         "'base_origin'); the model folder is damaged (save it again with save_pretrained).")


def load_multilingual(folder: str | Path):
    """The multilingual scorer in a model folder's ``multilingual/`` subfolder, of either kind
    (:func:`tonecls.multilingual.scorer_kind`): a fine-tuned network (its ``network/`` folder is loaded
    as a :class:`ToneClassifier`, checksums verified, when the first statement not in English comes) or
    a head on frozen e5 embeddings."""
    from .multilingual import MultilingualNetwork, MultilingualScorer, scorer_kind

    folder = Path(folder)
    if scorer_kind(folder) != MultilingualNetwork.KIND:
        return MultilingualScorer.from_pretrained(folder)

    def network() -> ToneClassifier:
        try:
            return ToneClassifier.from_pretrained(folder / MultilingualNetwork.NETWORK, multilingual=False)
        except ModelError as err:
            raise ModelError(f"The multilingual scorer's network cannot be read: {err} Write the scorer again with "
                             "training/train_multilingual.py --network, or load the model with multilingual=False.") from None

    return MultilingualNetwork.from_pretrained(folder, network)


def classifier_from_spec(spec: dict, threads: int | None = None, *, path: str | Path | None = None,
                         multilingual=None) -> ToneClassifier:
    """A classifier that runs an :func:`~tonecls.start.ort_worker_spec`'s ONNX graphs without
    importing torch. With ``path`` (the model folder) its ``network`` is loaded from there on first
    use (e.g. by ``save_pretrained``); without it, it has none (a bulk worker's)."""
    from tokenizers import Tokenizer

    from .start import NoNetwork, spec_runner

    tok = Tokenizer.from_str(spec["tokenizer"])
    tok.no_padding()
    tok.no_truncation()
    calibrator = None if spec["calibrator"] is None else CalibrationBundle.from_dict(spec["calibrator"])
    loader = None if path is None else (lambda: ToneClassifier.from_pretrained(path, multilingual=False).network)
    clf = ToneClassifier(NoNetwork(spec["pooling"], loader), tok, labels=spec["labels"], max_length=spec["max_length"],
                         stride=spec["stride"], aggregate=spec["aggregate"], calibrator=calibrator, name=spec["name"],
                         base=spec.get("base"), multilingual=multilingual)
    clf.path = None if path is None else Path(path)
    clf.runner = spec_runner(spec, clf.calibrated_probabilities, threads)
    return clf


def load_for_scoring(path: str | Path, backend: str | None = None, *, guard: float | None = None,
                     threads: int | None = None) -> ToneClassifier:
    """``from_pretrained(path)`` on ``backend`` (default :data:`~tonecls.backends.DEFAULT_BACKEND`),
    started fast: when an earlier process loaded the same folder on the same ONNX Runtime backend
    (same files, runtime versions and processor class; :func:`tonecls.start.load_start`), the
    cached graphs are used and torch is not imported (the network is loaded on first use). Else
    the folder is loaded in full and the start is cached for the next process."""
    from .backends import DEFAULT_BACKEND, apply_backend, notify_once
    from .start import load_start, save_start

    backend = backend or DEFAULT_BACKEND
    request = {"backend": backend, "guard": guard}
    spec = load_start(path, request) if backend != "torch" else None
    if spec is not None:
        if spec["options"].get("notice"):  # the choice's warning, said in this process too
            notify_once(spec["options"]["notice"])
        scorer = None
        if (Path(path) / MULTILINGUAL_FOLDER / CONFIG_NAME).is_file():
            scorer = load_multilingual(Path(path) / MULTILINGUAL_FOLDER)
        return classifier_from_spec(spec, threads, path=path, multilingual=scorer)
    clf = ToneClassifier.from_pretrained(path)
    if threads:
        import torch

        torch.set_num_threads(threads)
    apply_backend(clf, backend, threads=threads, **({"guard": guard} if guard is not None else {}))
    save_start(clf, request)
    return clf


# ---------------------------------------------------------------------- default model
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "tonecls-base"
_default: ToneClassifier | None = None
_default_lock = threading.Lock()


def default_model_path() -> Path:
    """The default model folder: ``$TONECLS_MODEL`` if set; else ``models/tonecls-base`` of the source
    tree (a checkout, ``pip install -e .``); else the copy a wheel installs under
    ``<prefix>/share/tonecls/models/tonecls-base``."""
    import os
    import sys

    if "TONECLS_MODEL" in os.environ:
        return Path(os.environ["TONECLS_MODEL"])
    installed = Path(sys.prefix) / "share" / "tonecls" / "models" / "tonecls-base"
    return DEFAULT_MODEL_DIR if (DEFAULT_MODEL_DIR / CONFIG_NAME).is_file() or not installed.is_dir() else installed


def load_default() -> ToneClassifier:
    """The default model, loaded once per process (thread-safe), running on
    :data:`tonecls.backends.DEFAULT_BACKEND` like the bulk path."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                path = default_model_path()
                if not (path / CONFIG_NAME).is_file():
                    from .exceptions import ModelNotFoundError

                    raise ModelNotFoundError(
                        f"The default model is not at {path}. It ships in the source tree (models/tonecls-base) and "
                        "in the wheel (installed under <prefix>/share/tonecls/models); set TONECLS_MODEL to a model "
                        "folder, or pass one: ToneClassifier.from_pretrained(folder), `tonecls score --model`.")
                _default = load_for_scoring(path)
    return _default


def score(texts: str | Sequence[str], batch_size: int = 64) -> ToneScore | list[ToneScore]:
    """Score with the default model: a str gives one :class:`ToneScore`, a list gives a list.

    >>> import tonecls
    >>> tonecls.score("We warmly welcome our partners and thank them for their cooperation.").label
    'cautious'
    """
    return load_default().score(texts, batch_size=batch_size)


def explain(texts: str | Sequence[str], batch_size: int = 64, method: str = "occlusion"):
    """Explain with the default model: a str gives one :class:`~tonecls.explanation.Explanation`,
    a list gives a list (see :meth:`ToneClassifier.explain`).

    >>> import tonecls
    >>> e = tonecls.explain("If they proceed, we will impose sanctions on their banks.")
    >>> e.score.label, e.top(1)[0].text
    ('confrontational', 'we will impose sanctions')
    """
    return load_default().explain(texts, batch_size=batch_size, method=method)
