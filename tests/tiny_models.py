"""Tiny random models for tests: built in well under a second, a few hundred KB."""

from __future__ import annotations

import torch

from tonecls.scale import LEVELS

SEED = 0

# A handful of statements per level, used to train the tiny tokenizer and in tests.
EXAMPLES = {
    0: ["We warmly welcome the progress achieved and thank our partners for their cooperation.",
        "We hope that dialogue will continue in a spirit of friendship.",
        "I congratulate you, Mr. President, on your election."],
    1: ["The two sides discussed trade and investment.",
        "Talks will resume in May in Geneva.",
        "The ministry published the annual budget on Tuesday."],
    2: ["We have serious concerns about the new law.",
        "We strongly oppose this decision and regret the violence.",
        "This is unacceptable and we condemn the attack."],
    3: ["We will take all necessary measures to defend our interests.",
        "Any agreement must reflect parity, and we will not accept less.",
        "They bear full responsibility for what happens next."],
    4: ["If they proceed we will impose countermeasures.",
        "Those who play with fire will get burned.",
        "Our Treasury holdings exist as a card in these talks."],
}


BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
XLMR_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # RoBERTa / XLM-R's names and ids 0-3 (e5's)


def build_tiny_tokenizer(specials=BERT_SPECIALS):
    """A deterministic WordPiece tokenizer: the example words, every letter, digit and punctuation;
    ``specials``: the special tokens' names, ids 0, 1, ... in their order."""
    import re
    import string

    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    words = sorted({w for texts in EXAMPLES.values() for t in texts for w in re.findall(r"\w+", t.lower())})
    chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation))
    tokens = [*specials, *chars, *("##" + c for c in chars), *words]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token=next(t for t in specials if t in ("[UNK]", "<unk>"))))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def build_tiny_classifier(max_length: int = 32, stride: int = 8, pooling: str = "mean", specials=BERT_SPECIALS):
    """A random 2-layer, 32-wide BERT with a 5-level head: ~60k parameters."""
    from tonecls.classifier import ToneClassifier
    from tonecls.encoder import ToneNetwork

    torch.manual_seed(SEED)
    tok = build_tiny_tokenizer(specials)
    config = dict(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64,
                  pad_token_id=next(tok.token_to_id(t) for t in specials if t in ("[PAD]", "<pad>")))
    network = ToneNetwork(config, len(LEVELS), pooling)
    return ToneClassifier(network, tok, max_length=max_length, stride=stride, name="tiny")
