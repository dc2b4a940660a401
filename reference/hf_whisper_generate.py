"""Whisper generation as transformers' WhisperGenerationMixin does it for one recording, written here in plain PyTorch
from the published design (generation_whisper.py, GenerationMixin's greedy, sampling and beam search, the Whisper
logits processors) over reference/hf_whisper.py's model:

- the prompt (<|startoftranscript|>, language, task, <|notimestamps|> unless timestamps), the language detected from
  the first window's logits after <|startoftranscript|> when not given;
- logits processors in transformers' order: begin_suppress_tokens (first generated token), suppress_tokens, the
  timestamp rules; max length = min(max_length + min(max_target_positions // 2 - 1, prompt - 1), max_target_positions);
- temperature 0: greedy (num_beams 1) or beam search (transformers' vectorised beam search: 2 x num_beams
  candidates, length_penalty 1, early_stopping False and its heuristic); temperature > 0: sampling with top_k 50;
- long-form (more than a window of frames): features of the whole recording, windows sliced at `seek` and padded
  with zeros, timestamps forced, the end token dropped from all but the last window, the temperature fallback on
  compression ratio (zlib of the tokens' bytes) and average log-probability, no-speech skipping, segments split at
  timestamp pairs and seeking past the last complete one.

Two deliberate departures, both documented in docs/checkpoints.md: sampling draws from polymodal's seeded xorshift32
generator (so a sample is reproducible everywhere) instead of torch's; and a window without a timestamp pair ends at
its own duration (transformers multiplies the window's mel frames by the 0.02 s timestamp step, twice the audio)."""
import math
import zlib

import torch

NEG = float("-inf")


class Rng:
    """xorshift32; uniform() -> [0, 1) with 24 bits (exact in float32 and float64)."""

    def __init__(self, seed=0):
        self.x = (seed & 0xFFFFFFFF) or 0x9E3779B9

    def uniform(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return (x >> 8) / 16777216.0


def timestamp_rules(lg, generated, ts_begin, eos, no_timestamps, max_initial):
    """WhisperTimeStampLogitsProcessor on one step's scores (in place): see reference/hf_whisper.py's
    timestamp_rules, here with max_initial None meaning no limit."""
    lg[no_timestamps] = NEG
    last_ts = len(generated) >= 1 and generated[-1] >= ts_begin
    penult_ts = len(generated) < 2 or generated[-2] >= ts_begin
    if last_ts:
        if penult_ts:
            lg[ts_begin:] = NEG
        else:
            lg[:eos] = NEG
    stamps = [t for t in generated if t >= ts_begin]
    if stamps:
        last = stamps[-1] if (last_ts and not penult_ts) else stamps[-1] + 1
        lg[ts_begin:last] = NEG
    if not generated:
        lg[:ts_begin] = NEG
        if max_initial is not None:
            lg[ts_begin + max_initial + 1:] = NEG
    lp = torch.log_softmax(lg.float(), -1)
    if lp[ts_begin:].logsumexp(-1) > lp[:ts_begin].max():
        lg[:ts_begin] = NEG
    return lg


class Generation:
    """generation_config.json's fields (over config.json's) and the options of one call."""

    def __init__(self, gen, config, timestamps=False, num_beams=1, temperatures=(0.0,), compression_ratio_threshold=None,
                 logprob_threshold=None, no_speech_threshold=None, top_k=50, seed=0):
        g = {**config, **gen}
        self.sot, self.eos = g["decoder_start_token_id"], g["eos_token_id"]
        self.nots = g.get("no_timestamps_token_id")
        self.ts_begin = None if self.nots is None else self.nots + 1
        self.langs = g.get("lang_to_id") or {}
        self.tasks = g.get("task_to_id") or {}
        self.suppress = [t for t in g.get("suppress_tokens") or [] if t < config["vocab_size"]]
        self.begin_suppress = [t for t in g.get("begin_suppress_tokens") or [] if t < config["vocab_size"]]
        self.max_length = g.get("max_length", 448)
        self.max_initial = g.get("max_initial_timestamp_index")
        self.max_target = config["max_target_positions"]
        self.vocab = config["vocab_size"]
        self.timestamps, self.num_beams, self.temperatures = timestamps, num_beams, tuple(temperatures)
        self.crt, self.lpt, self.nst = compression_ratio_threshold, logprob_threshold, no_speech_threshold
        self.top_k, self.rng = top_k, Rng(seed)

    def total_length(self, prompt_len):
        return min(self.max_length + min(self.max_target // 2 - 1, prompt_len - 1), self.max_target)

    def process(self, scores, generated):
        scores[self.suppress] = NEG
        if not generated:
            scores[self.begin_suppress] = NEG
        if self.timestamps:
            timestamp_rules(scores, generated, self.ts_begin, self.eos, self.nots, self.max_initial)
        return scores


def compression_ratio(tokens, vocab):
    width = int(math.log2(vocab) / 8) + 1
    data = b"".join(int(t).to_bytes(width, "little") for t in tokens)
    return len(data) / len(zlib.compress(data))


def avg_logprob(tokens, logprobs, eos):
    """transformers' _retrieve_avg_logprobs: the chosen tokens' log-probabilities, the end token not counted, over
    (tokens + 1)."""
    kept = [lp for t, lp in zip(tokens, logprobs) if t != eos]
    return sum(kept) / (len(kept) + 1)


def _logits(model, hidden):
    return model.logits(hidden[:, -1])  # (B, vocab)


def greedy_or_sample(model, enc, prompt, g, temperature):
    """Greedy (temperature 0) or sampling: (tokens after the prompt, each token's log-probability in the processed
    distribution (sampling: its top-k part at temperature 1, as transformers rescales it back))."""
    hidden, caches = model.model.decoder(torch.tensor([prompt]), enc)
    total = g.total_length(len(prompt))
    out, lps = [], []
    while len(prompt) + len(out) < total:
        scores = g.process(_logits(model, hidden)[0].clone(), out)
        if temperature > 0:
            s = scores / temperature
            kth = torch.topk(s, min(g.top_k, s.numel()))[0][-1]
            s[s < kth] = NEG
            p = torch.exp(s.double() - s.max().double())
            p[torch.isinf(s)] = 0
            c = torch.cumsum(p, 0)
            t = int(torch.searchsorted(c, g.rng.uniform() * c[-1], right=True))
            lp = float(torch.log_softmax(s * temperature, -1)[t])
        else:
            t = int(scores.argmax())
            lp = float(torch.log_softmax(scores, -1)[t])
        out.append(t)
        lps.append(lp)
        if t == g.eos:
            break
        hidden, caches = model.model.decoder(torch.tensor([[t]]), enc, caches)
    return out, lps


def _topk(values, k):
    """The k largest (value, index), ties to the lower index."""
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))[:k]
    return [(values[i], i) for i in order]


def beam_search(model, enc, prompt, g):
    """transformers' beam search for one input: (the best finished tokens after the prompt, their log-probabilities
    step by step in the processed distributions)."""
    nb, V, P = g.num_beams, g.vocab, len(prompt)
    total = g.total_length(P)
    f32 = lambda x: float(torch.tensor(x, dtype=torch.float32))  # noqa: E731
    hidden, caches = model.model.decoder(torch.tensor([prompt]), enc)
    first = g.process(torch.log_softmax(_logits(model, hidden)[0], -1).clone(), [])
    step_lps = [first] * nb  # every beam starts as the prompt (transformers repeats it num_beams times)
    caches = _select(caches, [0] * nb)
    running = [([], [], 0.0 if b == 0 else -1e9) for b in range(nb)]  # (tokens, logprobs, score)
    finished = []  # (normalised score, tokens, logprobs), the best nb
    unsatisfied = True
    cur = P
    while cur < total:
        flat = torch.stack([step_lps[b] + torch.tensor(running[b][2], dtype=torch.float32) for b in range(nb)]).view(-1)
        cands = []
        for v, i in _topk(flat.tolist(), 2 * nb):
            b, t = divmod(i, V)
            toks, lps, score = running[b]
            lp = float(step_lps[b][t])
            hits = t == g.eos or cur + 1 >= total
            cands.append((v, b, t, toks + [t], lps + [lp], hits))
        # finished: only the top nb candidates, normalised by their generated length
        new_fin = []
        if unsatisfied:
            for j, (v, b, t, toks, lps, hits) in enumerate(cands[:nb]):
                if hits:
                    new_fin.append((f32(v / ((cur + 1 - P) ** 1.0)), toks, lps))
        merged = finished + new_fin
        order = sorted(range(len(merged)), key=lambda i: (-merged[i][0], i))[:nb]
        finished = [merged[i] for i in order]
        # running: the best nb candidates that did not finish
        live = [c for c in cands if not c[5]]
        nxt = live[:nb]
        cur += 1
        if len(finished) == nb and nxt:
            best = f32(nxt[0][0] / ((cur - P) ** 1.0))
            unsatisfied = unsatisfied and best > min(f[0] for f in finished)
        if not unsatisfied or not nxt or cur >= total:
            break
        parents = [c[1] for c in nxt]
        running = [(c[3], c[4], c[0]) for c in nxt]
        caches = _select(caches, parents)
        hidden, caches = model.model.decoder(torch.tensor([[c[2]] for c in nxt]), enc.expand(nb, -1, -1), caches)
        step_lps = [g.process(torch.log_softmax(row, -1).clone(), running[b][0])
                    for b, row in enumerate(_logits(model, hidden))]
    return finished[0][1], finished[0][2]


def _select(caches, index):
    idx = torch.tensor(index)
    return [{"self": (c["self"][0][idx], c["self"][1][idx]), "cross": (c["cross"][0][idx], c["cross"][1][idx])}
            for c in caches]


def prompt_for(g, lang, task):
    p = [g.sot]
    if g.langs:
        p += [lang] + ([g.tasks[task]] if task in g.tasks else [])
    if g.nots is not None and not g.timestamps:
        p.append(g.nots)
    return p


def detect_language(model, enc, g):
    """(the language token likeliest after <|startoftranscript|>, the no-speech probability there)."""
    hidden, _ = model.model.decoder(torch.tensor([[g.sot]]), enc)
    lg = _logits(model, hidden)[0]
    ids = list(g.langs.values())
    lang = ids[int(lg[ids].argmax())] if ids else None
    no_speech = float(torch.softmax(lg, -1)[g.nots - 1]) if g.nots is not None else 0.0
    return lang, no_speech


def generate(model, features, g, language=None, task="transcribe", window=3000):
    """features (n_mels, frames) of the whole recording -> (segments, tokens, per-window records).  Segments are
    dicts of start, end, tokens; windows list each window's seek, temperature, avg log-prob and compression ratio."""
    total = features.shape[-1]
    if total > window:
        g.timestamps = True  # long-form needs the timestamp tokens to seek
    seek, segments, windows = 0, [], []
    lang = language
    while seek < total:
        n = min(window, total - seek)
        x = torch.zeros(features.shape[0], window)
        x[:, :n] = features[:, seek:seek + n]
        enc = model.model.encoder(x[None])[-1]
        detected, no_speech = detect_language(model, enc, g)
        if lang is None:
            lang = detected
        prompt = prompt_for(g, lang, task)
        final = seek + window >= total
        for i, temp in enumerate(g.temperatures):
            if temp == 0 and g.num_beams > 1:
                toks, lps = beam_search(model, enc, prompt, g)
            else:
                toks, lps = greedy_or_sample(model, enc, prompt, g, temp)
            if not final and toks and toks[-1] == g.eos:
                toks, lps = toks[:-1], lps[:-1]
            needs, skip = False, False
            cr = compression_ratio(toks, g.vocab)
            alp = avg_logprob(toks, lps, g.eos)
            if g.crt is not None and cr > g.crt:
                needs = True
            if g.lpt is not None and alp < g.lpt:
                needs = True
            if g.nst is not None and g.lpt is not None and alp < g.lpt and no_speech > g.nst:
                needs, skip = False, True
            if not needs or i == len(g.temperatures) - 1:
                break
        windows.append(dict(seek=seek, temperature=temp, avg_logprob=alp, compression_ratio=cr, no_speech=no_speech,
                            skipped=skip, tokens=toks))
        if skip:
            seek += n
            continue
        offset = seek * 0.01
        if not g.timestamps:
            segments.append(dict(start=offset, end=offset + n * 0.01, tokens=toks))
            seek += n
            continue
        segs, advance = split_segments(toks, g.ts_begin, offset, n)
        segments += segs
        seek += advance
    tokens = [t for s in segments for t in s["tokens"] if t != g.eos]
    return segments, tokens, windows


def split_segments(toks, ts_begin, offset, n):
    """transformers' _retrieve_segment: segments at timestamp pairs (the last complete one keeps the pair's second
    token), and how many frames to seek."""
    is_ts = [t >= ts_begin for t in toks]
    single = is_ts[-2:] == [False, True]
    pairs = [i + 1 for i in range(len(toks) - 1) if is_ts[i] and is_ts[i + 1]]
    if pairs:
        slices = list(pairs)
        if single:
            slices.append(len(toks))
        else:
            slices[-1] += 1
        segs, last = [], 0
        for cur in slices:
            s = toks[last:cur]
            segs.append(dict(start=offset + (s[0] - ts_begin) * 0.02, end=offset + (s[-1] - ts_begin) * 0.02,
                             tokens=s))
            last = cur
        advance = n if single else (toks[last - 1] - ts_begin) * 2
        return segs, advance
    stamps = [t for t in toks if t >= ts_begin]
    end = offset + n * 0.01
    if stamps and stamps[-1] != ts_begin:
        end = offset + (stamps[-1] - ts_begin) * 0.02
    return [dict(start=offset, end=end, tokens=toks)], n
