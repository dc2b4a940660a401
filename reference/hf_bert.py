"""Hugging Face's BertModel (and XLMRobertaModel / RobertaModel: the same layers, positions counted from the padding
index) and sentence-transformers' Pooling / Normalize, written here in plain PyTorch from the
published designs (transformers' modeling_bert.py with eager attention; sentence_transformers/models/Pooling.py and
Normalize.py) so fixtures need no `transformers`: the same module tree and state_dict keys (embeddings.{word,
position,token_type}_embeddings, embeddings.LayerNorm, encoder.layer.{i}.attention.self.{query,key,value},
.attention.output.{dense,LayerNorm}, .intermediate.dense, .output.{dense,LayerNorm}, pooler.dense), absolute
positions, token types, post-LN layers, GELU exact ("gelu") or tanh ("gelu_new", "gelu_pytorch_tanh"), the padding
mask added as float32's lowest; pooling by mean over the unmasked tokens, the CLS token, max over the unmasked
tokens (masked ones at -1e9), or the last unmasked token; then L2 normalisation."""
import math

import torch
from torch import nn

DEFAULTS = dict(model_type="bert", vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
                hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                pad_token_id=0)


def act(name):
    if name == "gelu":
        return nn.functional.gelu
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: nn.functional.gelu(x, approximate="tanh")
    if name == "relu":
        return nn.functional.relu
    raise ValueError(name)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])

        # RoBERTa / XLM-RoBERTa: positions count the non-padding tokens from padding_idx + 1 (padding at padding_idx)
        self.roberta = c["model_type"] in ("roberta", "xlm-roberta")
        self.pad = c["pad_token_id"]

    def forward(self, ids, token_types):
        if self.roberta:
            keep = ids.ne(self.pad).int()
            pos = (torch.cumsum(keep, 1) * keep).long() + self.pad
        else:
            pos = torch.arange(ids.shape[1])[None]
        x = self.word_embeddings(ids) + self.token_type_embeddings(token_types)
        return self.LayerNorm(x + self.position_embeddings(pos))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.heads, self.d = c["num_attention_heads"], H // c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def forward(self, x, mask):
        B, T, H = x.shape
        split = lambda t: t.view(B, T, self.heads, self.d).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        w = q @ k.transpose(-1, -2) / math.sqrt(self.d) + mask
        return (torch.softmax(w, -1) @ v).transpose(1, 2).reshape(B, T, H)


class Output(nn.Module):
    """dense, then LayerNorm(dense(x) + residual)."""

    def __init__(self, cin, cout, eps):
        super().__init__()
        self.dense = nn.Linear(cin, cout)
        self.LayerNorm = nn.LayerNorm(cout, eps=eps)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Output(c["hidden_size"], c["hidden_size"], c["layer_norm_eps"])

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.f = act(c["hidden_act"])

    def forward(self, x):
        return self.f(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c["intermediate_size"], c["hidden_size"], c["layer_norm_eps"])

    def forward(self, x, mask):
        a = self.attention(x, mask)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])


class BertModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = {**DEFAULTS, **config}
        self.config = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)

    def forward(self, ids, attention_mask, token_types=None):
        """ids (B, T) -> [the embeddings' output, each layer's output] (the last: last_hidden_state)."""
        if token_types is None:
            token_types = torch.zeros_like(ids)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.embeddings(ids, token_types)
        states = [h]
        for layer in self.encoder.layer:
            h = layer(h, mask)
            states.append(h)
        return states


def pool(h, attention_mask, mode):
    """sentence-transformers' Pooling over the token embeddings h (B, T, H)."""
    m = attention_mask[..., None].to(h.dtype)
    if mode == "mean":
        return (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    if mode == "cls":
        return h[:, 0]
    if mode == "max":
        return torch.where(m > 0, h, torch.tensor(-1e9, dtype=h.dtype)).max(1).values
    if mode == "lasttoken":
        last = attention_mask.sum(1) - 1
        return h[torch.arange(h.shape[0]), last]
    raise ValueError(mode)


def normalize(x):
    return nn.functional.normalize(x, p=2, dim=1)
