"""tonecls: calibrated tone scores for official statements, cautious → confrontational.

>>> import tonecls
>>> result = tonecls.score("If they proceed, we will impose countermeasures on their banks.")
>>> result.label, result.interval
('confrontational', (4, 4))
>>> tonecls.score(["We welcome the agreement.", "The talks will resume in May."])[1].label
'measured'
"""

__version__ = "0.1.0"

_LAZY = {
    "score": "tonecls.classifier",
    "ToneClassifier": "tonecls.classifier",
    "ToneScore": "tonecls.results",
    "explain": "tonecls.classifier",
    "Explanation": "tonecls.explanation",
    "InvalidInputError": "tonecls.exceptions",
    "ToneclsError": "tonecls.exceptions",
    "train": "tonecls.training",
    "TrainingArguments": "tonecls.training",
    "LEVELS": "tonecls.scale",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    # Heavy imports (torch, transformers) wait until something is used.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tonecls' has no attribute {name!r}")
