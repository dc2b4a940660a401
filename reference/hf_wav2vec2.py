"""Hugging Face's Wav2Vec2ForCTC and HubertForCTC, written here in plain PyTorch from the published design
(transformers' modeling_wav2vec2.py / modeling_hubert.py, eager attention) so fixtures need no `transformers`: the
same module tree and state_dict keys ({wav2vec2,hubert}.feature_extractor.conv_layers.*, .feature_projection.*,
.masked_spec_embed, .encoder.pos_conv_embed.conv.weight_g/weight_v/bias, .encoder.layer_norm, .encoder.layers.*,
lm_head), the "group" and "layer" feature encoders, post-LN and pre-LN ("stable") encoders with the attention mask,
the weight-normed positional convolution with its extra frame removed.  The feature extractor
(Wav2Vec2FeatureExtractor: per-utterance zero-mean unit-variance over the unpadded samples, zero padding) and the
CTC tokenizer's decoding (Wav2Vec2CTCTokenizer: repeats collapsed, the pad token as blank, '|' between words) are
here too."""
import numpy as np
import torch
from torch import nn

DEFAULTS = dict(vocab_size=32, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                hidden_act="gelu", layer_norm_eps=1e-5, feat_extract_norm="group", feat_extract_activation="gelu",
                conv_dim=[512] * 7, conv_stride=[5, 2, 2, 2, 2, 2, 2], conv_kernel=[10, 3, 3, 3, 3, 2, 2],
                conv_bias=False, num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16,
                do_stable_layer_norm=False, feat_proj_layer_norm=True, mask_time_prob=0.05, mask_feature_prob=0.0,
                pad_token_id=0)


def full(c):
    return {**DEFAULTS, **c}


class ConvLayer(nn.Module):
    """One feature-encoder layer: conv, then (GroupNorm on the first layer of "group", LayerNorm over channels on
    every layer of "layer"), then GELU."""

    def __init__(self, c, i):
        super().__init__()
        cin = 1 if i == 0 else c["conv_dim"][i - 1]
        cout = c["conv_dim"][i]
        self.conv = nn.Conv1d(cin, cout, c["conv_kernel"][i], stride=c["conv_stride"][i], bias=c["conv_bias"])
        self.norm = c["feat_extract_norm"] if (c["feat_extract_norm"] == "layer" or i == 0) else None
        if self.norm == "group":
            self.layer_norm = nn.GroupNorm(cout, cout, affine=True)
        elif self.norm == "layer":
            self.layer_norm = nn.LayerNorm(cout, elementwise_affine=True)

    def forward(self, x):
        x = self.conv(x)
        if self.norm == "group":
            x = self.layer_norm(x)
        elif self.norm == "layer":
            x = self.layer_norm(x.transpose(-2, -1)).transpose(-2, -1)
        return nn.functional.gelu(x)


class FeatureEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv_layers = nn.ModuleList([ConvLayer(c, i) for i in range(len(c["conv_dim"]))])

    def forward(self, input_values):  # (B, L) -> (B, C, T)
        x = input_values[:, None]
        for layer in self.conv_layers:
            x = layer(x)
        return x


class FeatureProjection(nn.Module):
    def __init__(self, c, hubert):
        super().__init__()
        self.has_norm = not hubert or c["feat_proj_layer_norm"]
        if self.has_norm:
            self.layer_norm = nn.LayerNorm(c["conv_dim"][-1], eps=c["layer_norm_eps"])
        self.projection = nn.Linear(c["conv_dim"][-1], c["hidden_size"])

    def forward(self, x):
        if self.has_norm:
            x = self.layer_norm(x)
        return self.projection(x)


class WeightNormConv1d(nn.Module):
    """nn.utils.weight_norm(Conv1d, dim=2) as a plain module: weight = g * v / ||v||, the norm over every dimension
    but the kernel's (one g per kernel position)."""

    def __init__(self, channels, kernel, groups):
        super().__init__()
        self.groups, self.padding = groups, kernel // 2
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.weight_v = nn.Parameter(torch.zeros(channels, channels // groups, kernel))
        self.bias = nn.Parameter(torch.zeros(channels))

    def weight(self):
        return self.weight_g * self.weight_v / self.weight_v.norm(dim=(0, 1), keepdim=True)

    def forward(self, x):
        return nn.functional.conv1d(x, self.weight(), self.bias, padding=self.padding, groups=self.groups)


class PositionalConvEmbedding(nn.Module):
    def __init__(self, c):
        super().__init__()
        k = c["num_conv_pos_embeddings"]
        self.conv = WeightNormConv1d(c["hidden_size"], k, c["num_conv_pos_embedding_groups"])
        self.remove = 1 if k % 2 == 0 else 0  # the "same" padding of an even kernel gives one frame too many

    def forward(self, h):  # (B, T, E) -> (B, T, E)
        x = self.conv(h.transpose(1, 2))
        if self.remove:
            x = x[:, :, : -self.remove]
        return nn.functional.gelu(x).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_dim, self.num_heads = c["hidden_size"], c["num_attention_heads"]
        self.head_dim = self.embed_dim // self.num_heads
        self.scaling = self.head_dim ** -0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def forward(self, h, mask=None):  # mask: additive (B, 1, T, T)
        B, T, E = h.shape
        split = lambda t: t.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)  # noqa: E731
        q = split(self.q_proj(h) * self.scaling)
        k, v = split(self.k_proj(h)), split(self.v_proj(h))
        w = q @ k.transpose(-1, -2)
        if mask is not None:
            w = w + mask
        w = nn.functional.softmax(w, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(B, T, E))


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.intermediate_dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.output_dense = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, h):
        return self.output_dense(nn.functional.gelu(self.intermediate_dense(h)))


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.stable = c["do_stable_layer_norm"]
        self.attention = Attention(c)
        self.layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.feed_forward = FeedForward(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, mask=None):
        if self.stable:  # pre-LN
            h = h + self.attention(self.layer_norm(h), mask)
            return h + self.feed_forward(self.final_layer_norm(h))
        h = self.layer_norm(h + self.attention(h, mask))  # post-LN
        return self.final_layer_norm(h + self.feed_forward(h))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.stable = c["do_stable_layer_norm"]
        self.pos_conv_embed = PositionalConvEmbedding(c)
        self.layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, h, frame_mask=None):
        """h (B, T, E); frame_mask (B, T) bool, True on real frames.  Returns [the layers' input, each layer's
        output, the last hidden state] (the last is the final layer's output, normed by the stable encoder)."""
        mask = None
        if frame_mask is not None:
            h = h.masked_fill(~frame_mask[..., None], 0.0)
            mask = (1.0 - frame_mask[:, None, None, :].to(h.dtype)) * torch.finfo(h.dtype).min
        h = h + self.pos_conv_embed(h)
        if not self.stable:
            h = self.layer_norm(h)
        states = [h]
        for layer in self.layers:
            h = layer(h, mask)
            states.append(h)
        if self.stable:
            h = self.layer_norm(h)
        states.append(h)
        return states


class Backbone(nn.Module):
    def __init__(self, c, hubert):
        super().__init__()
        self.config = c
        self.feature_extractor = FeatureEncoder(c)
        self.feature_projection = FeatureProjection(c, hubert)
        if c["mask_time_prob"] > 0 or c["mask_feature_prob"] > 0:
            self.masked_spec_embed = nn.Parameter(torch.zeros(c["hidden_size"]))  # training only
        self.encoder = Encoder(c)

    def frames(self, lengths):
        """Frames the feature encoder makes of `lengths` samples: floor((L - k) / s) + 1 per layer."""
        for k, s in zip(self.config["conv_kernel"], self.config["conv_stride"]):
            lengths = torch.div(lengths - k, s, rounding_mode="floor") + 1
        return lengths

    def forward(self, input_values, attention_mask=None):
        feats = self.feature_extractor(input_values).transpose(1, 2)  # (B, T, C)
        frame_mask = None
        if attention_mask is not None:
            n = self.frames(attention_mask.sum(-1))
            frame_mask = torch.arange(feats.shape[1])[None, :] < n[:, None]
        h = self.feature_projection(feats)
        return {"extract_features": feats, "projected": h, "states": self.encoder(h, frame_mask)}


class ForCTC(nn.Module):
    """Wav2Vec2ForCTC (hubert=False) or HubertForCTC (hubert=True): the backbone under its own prefix, lm_head."""

    def __init__(self, config, hubert=False):
        super().__init__()
        c = full(config)
        setattr(self, "hubert" if hubert else "wav2vec2", Backbone(c, hubert))
        self.backbone_name = "hubert" if hubert else "wav2vec2"
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"])

    def forward(self, input_values, attention_mask=None):
        out = getattr(self, self.backbone_name)(input_values, attention_mask)
        out["logits"] = self.lm_head(out["states"][-1])
        return out


def feature_extract(waves, do_normalize=True, padding_value=0.0):
    """Wav2Vec2FeatureExtractor on float32 waves of any lengths: each zero-mean unit-variance over its own samples
    ((x - mean) / sqrt(var + 1e-7), numpy float32 as the extractor computes it), padded to the longest with
    padding_value; returns (input_values (B, L) float32, attention_mask (B, L) int32)."""
    L = max(len(w) for w in waves)
    out = np.full((len(waves), L), padding_value, dtype=np.float32)
    mask = np.zeros((len(waves), L), dtype=np.int32)
    for i, w in enumerate(waves):
        w = np.asarray(w, dtype=np.float32)
        out[i, : len(w)] = (w - w.mean()) / np.sqrt(w.var() + 1e-7) if do_normalize else w
        mask[i, : len(w)] = 1
    return out, mask


def ctc_decode(ids, vocab, pad="<pad>", delimiter="|", specials=("<s>", "</s>", "<unk>"), lower=False):
    """Wav2Vec2CTCTokenizer.decode(ids, skip_special_tokens=True) of greedy ids, as the pipeline decodes: special
    tokens other than the pad dropped, then repeats collapsed, the pad (the CTC blank) dropped, the word delimiter
    read as a space, surrounding spaces stripped (and lower-cased with do_lower_case)."""
    inv = {i: t for t, i in vocab.items()}
    toks = [inv[int(i)] for i in ids]
    toks = [t for t in toks if t == pad or t not in specials]
    grouped = [t for k, t in enumerate(toks) if k == 0 or t != toks[k - 1]]
    text = "".join(" " if t == delimiter else t for t in grouped if t != pad).strip()
    return text.lower() if lower else text


def chunk_plan(n, chunk, stride, ratio):
    """Windows of `chunk` samples over n samples, each overlapping the next by 2 x `stride` (multiples of the
    model's samples per frame, `ratio`): (start, end, first kept frame, last kept frame or None for all), so the
    kept frames of consecutive windows tile the whole: a window's first `stride` samples' frames are left to the
    window before, its last `stride` samples' frames to the window after."""
    step = chunk - 2 * stride
    plan, start = [], 0
    while True:
        end = min(n, start + chunk)
        last = end >= n
        plan.append((start, end, 0 if start == 0 else stride // ratio, None if last else (chunk - stride) // ratio))
        if last:
            return plan
        start += step


def chunked_logits(model, wave, chunk, stride):
    """Logits of long audio window by window (each window normalised alone, as the feature extractor sees it), the
    kept frames concatenated: (T, vocab)."""
    ratio = int(np.prod(model.wav2vec2.config["conv_stride"] if hasattr(model, "wav2vec2") else model.hubert.config["conv_stride"]))
    parts = []
    for start, end, first, last in chunk_plan(len(wave), chunk, stride, ratio):
        x, _ = feature_extract([wave[start:end]])
        with torch.no_grad():
            lg = model(torch.from_numpy(x))["logits"][0]
        parts.append(lg[first:last])
    return torch.cat(parts)
