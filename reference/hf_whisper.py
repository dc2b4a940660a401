"""Hugging Face's WhisperFeatureExtractor, written here in plain PyTorch from the published design (transformers'
feature_extraction_whisper.py, its torch path) so fixtures need no `transformers`: audio padded with zeros or cut to
chunk_length seconds, torch.stft (n_fft 400, hop 160, periodic Hann, centred, reflect padding), the last frame
dropped, power spectrum through a Slaney-scale, Slaney-normalised mel filter bank (triangles in Hz, as librosa's),
log10 clamped at 1e-10, floored at (max - 8), then (x + 4) / 4."""
import math

import numpy as np
import torch


def hz_to_mel(f):
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_region = f >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0), mel)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f = m * (200.0 / 3)
    return np.where(m >= 15.0, 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0)), f)


def mel_filters(n_freqs, n_mels, sampling_rate, f_min=0.0, f_max=None):
    """(n_freqs, n_mels): triangles between mel-spaced points (placed in Hz), each scaled to unit area (Slaney)."""
    f_max = sampling_rate / 2 if f_max is None else f_max
    fft_freqs = np.linspace(0, sampling_rate // 2, n_freqs)
    pts = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    diff = np.diff(pts)
    slopes = pts[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    fb = np.maximum(0, np.minimum(down, up))
    fb *= 2.0 / (pts[2:] - pts[:-2])
    return torch.from_numpy(fb.astype(np.float32))


def log_mel(wave, n_mels=80, sampling_rate=16000, n_fft=400, hop_length=160, chunk_length=30, whole=False):
    """One utterance (float32 samples) -> (n_mels, chunk_length * rate / hop) log-mel features, float32 (whole: the
    whole utterance when it is longer than a window, normalised by its own maximum)."""
    n = chunk_length * sampling_rate
    w = np.asarray(wave, dtype=np.float32)
    if whole:  # long-form: the whole recording (at least one window), as the processor does with truncation=False
        n = max(n, len(w))
    w = w[:n]
    x = np.zeros(n, dtype=np.float32)
    x[: len(w)] = w
    spec = torch.stft(torch.from_numpy(x), n_fft, hop_length, window=torch.hann_window(n_fft), return_complex=True)
    power = spec[..., :-1].abs() ** 2
    mel = mel_filters(1 + n_fft // 2, n_mels, sampling_rate).T @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


# ---- the model: WhisperForConditionalGeneration (transformers' modeling_whisper.py, eager attention) ----
from torch import nn  # noqa: E402

DEFAULTS = dict(vocab_size=51865, num_mel_bins=80, d_model=384, encoder_layers=4, encoder_attention_heads=6,
                decoder_layers=4, decoder_attention_heads=6, encoder_ffn_dim=1536, decoder_ffn_dim=1536,
                max_source_positions=1500, max_target_positions=448, activation_function="gelu", scale_embedding=False)


class Attention(nn.Module):
    """q, k, v, out projections (k without bias); q_proj(h) * head_dim^-0.5; an additive mask; past keys and values
    (self-attention: grown by one step at a time; cross-attention: the encoder's, computed once)."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.scaling = self.head_dim ** -0.5
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d)
        self.q_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def split(self, t):
        B, T, _ = t.shape
        return t.view(B, T, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, h, kv=None, cache=None, mask=None):
        """h (B, T, d); kv: the states keys and values come from (None: h); cache: (k, v) to extend (self) or to use
        as they are (cross, with kv None).  Returns (out, (k, v))."""
        B, T, d = h.shape
        q = self.split(self.q_proj(h) * self.scaling)
        if kv is None and cache is not None and h is not None and getattr(self, "cross", False):
            k, v = cache
        else:
            src = h if kv is None else kv
            k, v = self.split(self.k_proj(src)), self.split(self.v_proj(src))
            if cache is not None and not getattr(self, "cross", False):
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        w = q @ k.transpose(-1, -2)
        if mask is not None:
            w = w + mask
        w = nn.functional.softmax(w, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(B, T, d)), (k, v)


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.self_attn = Attention(d, c["encoder_attention_heads"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, c["encoder_ffn_dim"])
        self.fc2 = nn.Linear(c["encoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, h):
        h = h + self.self_attn(self.self_attn_layer_norm(h))[0]
        return h + self.fc2(nn.functional.gelu(self.fc1(self.final_layer_norm(h))))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.conv1 = nn.Conv1d(c["num_mel_bins"], d, 3, padding=1)
        self.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(c["max_source_positions"], d)
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c["encoder_layers"])])
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, features):  # (B, n_mels, 2 T) -> [input to the layers, each layer's output, final]
        x = nn.functional.gelu(self.conv1(features))
        x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
        h = x + self.embed_positions.weight[: x.shape[1]]
        states = [h]
        for layer in self.layers:
            h = layer(h)
            states.append(h)
        states.append(self.layer_norm(h))
        return states


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.self_attn = Attention(d, c["decoder_attention_heads"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = Attention(d, c["decoder_attention_heads"])
        self.encoder_attn.cross = True
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, c["decoder_ffn_dim"])
        self.fc2 = nn.Linear(c["decoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, h, enc, cache, mask):
        """cache: {"self": (k, v) or None, "cross": (k, v) or None} -> (h, the new cache)."""
        a, self_kv = self.self_attn(self.self_attn_layer_norm(h), cache=cache["self"], mask=mask)
        h = h + a
        if cache["cross"] is None:
            a, cross_kv = self.encoder_attn(self.encoder_attn_layer_norm(h), kv=enc)
        else:
            a, cross_kv = self.encoder_attn(self.encoder_attn_layer_norm(h), cache=cache["cross"])
        h = h + a
        h = h + self.fc2(nn.functional.gelu(self.fc1(self.final_layer_norm(h))))
        return h, {"self": self_kv, "cross": cross_kv}


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], d)
        self.embed_positions = nn.Embedding(c["max_target_positions"], d)
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["decoder_layers"])])
        self.layer_norm = nn.LayerNorm(d)

    def forward(self, ids, enc, caches=None):
        """ids (B, T) following `past` cached positions -> (hidden (B, T, d), caches)."""
        past = 0 if caches is None else caches[0]["self"][0].shape[2]
        T = ids.shape[1]
        h = self.embed_tokens(ids) + self.embed_positions.weight[past: past + T]
        mask = torch.full((T, past + T), float("-inf")).triu(past + 1)[None, None] if T > 1 else None
        caches = caches or [{"self": None, "cross": None} for _ in self.layers]
        out = []
        for layer, cache in zip(self.layers, caches):
            h, c = layer(h, enc, cache, mask)
            out.append(c)
        return self.layer_norm(h), out


class WhisperForConditionalGeneration(nn.Module):
    """model.encoder, model.decoder, and proj_out tied to the token embedding (not saved separately)."""

    def __init__(self, config):
        super().__init__()
        c = {**DEFAULTS, **config}
        self.config = c
        self.model = nn.Module()
        self.model.encoder = Encoder(c)
        self.model.decoder = Decoder(c)

    def logits(self, hidden):
        return hidden @ self.model.decoder.embed_tokens.weight.T

    def greedy(self, features, prompt, max_new, eos, suppress=(), begin_suppress=()):
        """Greedy decoding with the KV caches from `prompt` (ids): suppressed tokens at -inf (begin_suppress only
        at the first generated step), until `eos` or max_new tokens.  Returns (tokens, each step's logits before
        suppression (steps, vocab))."""
        enc = self.model.encoder(features)[-1]
        ids = torch.tensor([prompt])
        hidden, caches = self.model.decoder(ids, enc)
        out, steps = [], []
        for step in range(max_new):
            lg = self.logits(hidden[:, -1])[0].clone()
            steps.append(lg.clone())
            lg[list(suppress)] = float("-inf")
            if step == 0:
                lg[list(begin_suppress)] = float("-inf")
            t = int(lg.argmax())
            out.append(t)
            if t == eos:
                break
            hidden, caches = self.model.decoder(torch.tensor([[t]]), enc, caches)
        return out, torch.stack(steps)


def timestamp_rules(logits, generated, ts_begin, eos, no_timestamps, max_initial=50):
    """WhisperTimeStampLogitsProcessor on one step's logits (in place), `generated` the tokens after the prompt:
    <|notimestamps|> never; timestamps come in pairs (after a pair, text; after a lone timestamp, a timestamp or the
    end); they never decrease; the first token is a timestamp no later than max_initial; a timestamp whenever the
    timestamps' total probability beats the likeliest text token."""
    logits[no_timestamps] = float("-inf")
    last_ts = len(generated) >= 1 and generated[-1] >= ts_begin
    penult_ts = len(generated) < 2 or generated[-2] >= ts_begin
    if last_ts:
        if penult_ts:
            logits[ts_begin:] = float("-inf")
        else:
            logits[:eos] = float("-inf")
    stamps = [t for t in generated if t >= ts_begin]
    if stamps:
        last = stamps[-1] if (last_ts and not penult_ts) else stamps[-1] + 1
        logits[ts_begin:last] = float("-inf")
    if not generated:
        logits[:ts_begin] = float("-inf")
        logits[ts_begin + max_initial + 1:] = float("-inf")
    lp = torch.log_softmax(logits.float(), -1)
    if lp[ts_begin:].logsumexp(-1) > lp[:ts_begin].max():
        logits[:ts_begin] = float("-inf")
    return logits


def greedy_timestamps(model, features, prompt, max_new, eos, ts_begin, no_timestamps, suppress=(), begin_suppress=(),
                      max_initial=50):
    """Greedy decoding in timestamp mode (the prompt without <|notimestamps|>): suppression, then the timestamp
    rules, each step."""
    enc = model.model.encoder(features)[-1]
    hidden, caches = model.model.decoder(torch.tensor([prompt]), enc)
    out = []
    for step in range(max_new):
        lg = model.logits(hidden[:, -1])[0].clone()
        lg[list(suppress)] = float("-inf")
        if step == 0:
            lg[list(begin_suppress)] = float("-inf")
        timestamp_rules(lg, out, ts_begin, eos, no_timestamps, max_initial)
        t = int(lg.argmax())
        out.append(t)
        if t == eos:
            break
        hidden, caches = model.model.decoder(torch.tensor([[t]]), enc, caches)
    return out
