"""The compact BERT encoder against transformers' BertModel, the reference it replaces for scoring."""

import pytest
import torch

from tonecls.encoder import ToneNetwork

CONFIG = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
              max_position_embeddings=40)


def _batch():
    ids = torch.randint(5, 120, (3, 17))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    mask[2, 3:] = 0
    return ids.masked_fill(mask == 0, 0), mask


@pytest.mark.parametrize("pooling", ["mean", "cls"])
@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_new", "relu"])
def test_compact_encoder_matches_transformers(pooling, hidden_act):
    reference = ToneNetwork(CONFIG | {"hidden_act": hidden_act}, 5, pooling, implementation="transformers").eval()
    compact = reference.with_implementation("compact")
    assert compact.implementation == "compact" and set(compact.state_dict()) == set(reference.state_dict())
    ids, mask = _batch()
    with torch.no_grad():
        torch.testing.assert_close(compact(ids, mask), reference(ids, mask), atol=1e-5, rtol=1e-5)
        hidden, ref_hidden = compact.encoder(ids, mask), reference.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    valid = mask.bool()
    torch.testing.assert_close(hidden[valid], ref_hidden[valid], atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_a_statement():
    net = ToneNetwork(CONFIG, 5).eval()
    ids, mask = _batch()
    with torch.no_grad():
        alone = net(ids[2:3, :3], mask[2:3, :3])
        padded = net(ids, mask)[2:3]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)


def test_gradients_match_without_dropout():
    config = CONFIG | {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    reference = ToneNetwork(config, 5, implementation="transformers").train()
    compact = reference.with_implementation("compact")
    assert compact.training
    ids, mask = _batch()
    for net in (reference, compact):
        net.zero_grad()
        net(ids, mask).logsumexp(-1).sum().backward()
    grads = dict(reference.named_parameters())
    for name, p in compact.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, atol=1e-5, rtol=1e-4, msg=name)


def test_dropout_is_active_only_in_training():
    net = ToneNetwork(CONFIG | {"hidden_dropout_prob": 0.5}, 5)
    ids, mask = _batch()
    with torch.no_grad():
        assert not torch.equal(net.train()(ids, mask), net(ids, mask))
        assert torch.equal(net.eval()(ids, mask), net(ids, mask))


@pytest.mark.parametrize("bad, message", [
    ({"implementation": "jax"}, "choose one of"),
    ({"config": CONFIG | {"hidden_act": "swish"}, "implementation": "compact"}, "knows"),
    ({"config": CONFIG | {"position_embedding_type": "relative_key"}, "implementation": "compact"}, "absolute"),
])
def test_unsupported_settings_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        ToneNetwork(bad.get("config", CONFIG), 5, implementation=bad["implementation"])
