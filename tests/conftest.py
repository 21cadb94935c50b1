"""Shared fixtures: fixed seeds and tiny random models (see tiny_models.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tiny_models import EXAMPLES, SEED, build_tiny_classifier


@pytest.fixture(autouse=True)
def _seed():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


@pytest.fixture
def tiny_classifier():
    return build_tiny_classifier()


@pytest.fixture
def tiny_model_dir(tmp_path, tiny_classifier):
    return tiny_classifier.save_pretrained(tmp_path / "tiny-model")


@pytest.fixture
def examples():
    """(texts, levels) of the hand-written examples."""
    texts = [t for k in sorted(EXAMPLES) for t in EXAMPLES[k]]
    levels = [k for k in sorted(EXAMPLES) for _ in EXAMPLES[k]]
    return texts, levels
