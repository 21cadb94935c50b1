"""tonecls: calibrated tone scores for official statements, cautious → confrontational.

>>> import tonecls
>>> result = tonecls.score("We will continue to monitor the situation closely.")  # doctest: +SKIP
>>> result.label, round(result.score, 2)                                           # doctest: +SKIP
('cautious', 0.08)
"""

__version__ = "0.1.0"

_LAZY = {
    "score": "tonecls.classifier",
    "ToneClassifier": "tonecls.classifier",
    "ToneScore": "tonecls.classifier",
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
