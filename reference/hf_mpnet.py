"""Hugging Face's MPNetModel (all-mpnet-base-v2's encoder), written here in plain PyTorch from the published design
(transformers' modeling_mpnet.py) so fixtures need no `transformers`: the same module tree and state_dict keys
(embeddings.{word,position}_embeddings, embeddings.LayerNorm, encoder.layer.{i}.attention.attn.{q,k,v,o},
.attention.LayerNorm, .intermediate.dense, .output.{dense,LayerNorm}, encoder.relative_attention_bias, pooler.dense);
positions counted from the padding index as RoBERTa counts them; no token types; post-LN layers whose attention
scores get a learned bias per head and relative-position bucket (T5's bucketing: 32 buckets, half per direction,
exact below 8, logarithmic to 128), computed once and shared by the layers; the padding mask as float32's lowest."""
import math

import torch
from torch import nn

from hf_bert import Intermediate, Output, Pooler

DEFAULTS = dict(model_type="mpnet", vocab_size=30527, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072, hidden_act="gelu", max_position_embeddings=514, layer_norm_eps=1e-5,
                pad_token_id=1, relative_attention_num_buckets=32)


def relative_bucket(rel, num_buckets=32, max_distance=128):
    """T5's relative-position buckets (bidirectional), in torch's float32 arithmetic."""
    ret = 0
    n = -rel
    num_buckets //= 2
    ret += (n < 0).to(torch.long) * num_buckets
    n = torch.abs(n)
    max_exact = num_buckets // 2
    is_small = n < max_exact
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return ret + torch.where(is_small, n, large)


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.pad = c["pad_token_id"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])

    def forward(self, ids):
        keep = ids.ne(self.pad).int()
        pos = (torch.cumsum(keep, 1) * keep).long() + self.pad
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.heads, self.d = c["num_attention_heads"], H // c["num_attention_heads"]
        self.q, self.k, self.v, self.o = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def forward(self, x, mask, bias):
        B, T, H = x.shape
        split = lambda t: t.view(B, T, self.heads, self.d).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        w = q @ k.transpose(-1, -2) / math.sqrt(self.d) + bias + mask
        return self.o((torch.softmax(w, -1) @ v).transpose(1, 2).reshape(B, T, H))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attn = SelfAttention(c)
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x, mask, bias):
        return self.LayerNorm(self.attn(x, mask, bias) + x)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Output(c["intermediate_size"], c["hidden_size"], c["layer_norm_eps"])

    def forward(self, x, mask, bias):
        a = self.attention(x, mask, bias)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.relative_attention_bias = nn.Embedding(c["relative_attention_num_buckets"], c["num_attention_heads"])

    def position_bias(self, T):
        rel = torch.arange(T)[None, :] - torch.arange(T)[:, None]  # memory - context
        buckets = relative_bucket(rel, self.c["relative_attention_num_buckets"])
        return self.relative_attention_bias(buckets).permute(2, 0, 1)[None]  # (1, heads, T, T)


class MPNetModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = {**DEFAULTS, **config}
        self.config = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)

    def forward(self, ids, attention_mask):
        """ids (B, T) -> [the embeddings' output, each layer's output]."""
        mask = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.embeddings(ids)
        bias = self.encoder.position_bias(ids.shape[1])
        states = [h]
        for layer in self.encoder.layer:
            h = layer(h, mask, bias)
            states.append(h)
        return states
