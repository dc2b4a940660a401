#!/usr/bin/env python3
"""Trains the shipped speech recogniser: the seed's SpeechRecognitionModel (CTC, conv + 4-layer BiLSTM),
small config, on word sequences synthesised by espeak-ng (scripts/train/speech_corpus.py).
Pipeline (the same in polymodal): WAV -> mono float -> resample to 16 kHz (torchaudio sinc) ->
MelSpectrogram(n_fft 640, hop 320, 40 mels) -> log(x + 1e-6) -> (x - mean) / std -> model -> greedy CTC.
Four cosine cycles: two "clean" ones on the first release's corpus (gain and light white noise), then a
"robust" one on it plus the wide corpus (80-400 wpm, more accents) with what real recordings bring: white and
pink noise down to -2 dB SNR, the 8 kHz band (down to 8 kHz and back up with the resampler polymodal uses),
leading/trailing silence, and non-speech clips (silence, noise, tones, hum, clicks) whose transcript is empty;
then a shorter, gentler "robust" one with fast speech (280-400 wpm) added to the pool, which the third cycle
left behind (320 wpm WER 12.6% against 1.4% clean).
Deterministic: fixed seeds.  RESUME_FROM=<state_dict> RESUME_AFTER=<n> skips the first n cycles by loading
their result.  Writes models/asr-words.safetensors, models/asr-words.json, test/fixtures/speech/ (40
held-out-voice WAVs + transcripts) and test/fixtures/asr-reference.safetensors.
Run:  /usr/bin/python3 scripts/train/train_asr.py   (Debian python3-torch, python3-torchaudio, espeak-ng)"""
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "seed"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
sys.path.insert(0, HERE)
import seed_models as S  # noqa: E402
from safetensors_io import save  # noqa: E402
import speech_corpus as C  # noqa: E402

torch.manual_seed(0)
# PROCS=2 (the default) trains data-parallel over two single-threaded processes (torch.distributed, gloo on
# loopback): the small LSTM's matrices keep one thread busy, so two processes do 1.5x the steps of one
# process with two threads.  The first release's two cycles ran with PROCS=1 THREADS=2.
PROCS = int(os.environ.get("PROCS", 2))
THREADS = int(os.environ.get("THREADS", 2 if PROCS == 1 else 1))
N_TRAIN, N_TEST, N_SHIP = int(os.environ.get("N_TRAIN", 12000)), int(os.environ.get("N_TEST", 500)), 40
N_WIDE = int(os.environ.get("N_WIDE", 8000))
N_FAST = int(os.environ.get("N_FAST", 4000))  # wide utterances at 280-400 wpm, indices N_WIDE.. (cycle 4's pool)
STEPS, BATCH = int(os.environ.get("STEPS", 4000)), int(os.environ.get("BATCH", 32))
SR, N_FFT, HOP, N_MELS = 16000, 640, 320, 40
CONFIG = dict(vocab_size=len(C.VOCAB), n_mels=N_MELS, hidden_dim=128)
MEL = torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
# Cosine cycles (warm restarts, fresh optimizer each): (steps, peak lr, seed, augmentation profile, pool).
# Pools: "first" = the first release's N_TRAIN utterances, "wide" = + N_WIDE, "fast" = + N_FAST.
CYCLES = [(STEPS, 2e-3, 1, "clean", "first"), (int(os.environ.get("STEPS2", 3000)), 1e-3, 3, "clean", "first"),
          (int(os.environ.get("STEPS3", 2500)), 1e-3, 5, "robust", "wide"),
          (int(os.environ.get("STEPS4", 1000)), 5e-4, 7, "robust", "fast")]
POOLS = {"first": N_TRAIN, "wide": N_TRAIN + N_WIDE, "fast": N_TRAIN + N_WIDE + N_FAST}
NON_SPEECH = 0.08  # share of robust batches' items replaced by a clip with an empty transcript


def corpus(split, n, make=C.utterance, first=0, **kw):
    def one(i):
        words, args = make(split, i, **kw)
        x = torch.from_numpy(C.synth(words, args).astype(np.float32) / 32768.0)
        return words, args, x
    with ThreadPoolExecutor(4) as ex:
        items = list(ex.map(one, range(first, first + n)))
    return items


RESAMPLE = torchaudio.transforms.Resample(C.RATE, SR)  # torchaudio.functional.resample with its kernel cached
DOWN8K, UP8K = torchaudio.transforms.Resample(SR, 8000), torchaudio.transforms.Resample(8000, SR)


def to16k(x):
    return RESAMPLE(x)


def band8k(x):
    """16 kHz -> 8 kHz -> 16 kHz: what an 8 kHz recording looks like after polymodal's resampler."""
    return UP8K(DOWN8K(x))[: len(x)]


def logmel(wave):  # (B, samples) -> (B, n_mels, frames)
    return torch.log(MEL(wave) + 1e-6)


def uniform(g, lo, hi):
    return lo + (hi - lo) * float(torch.rand(1, generator=g))


def pink(n, g):
    """Unit-variance noise with a 1/f power spectrum (white noise shaped in the frequency domain)."""
    spec = torch.fft.rfft(torch.randn(n, generator=g))
    f = torch.arange(spec.shape[0], dtype=torch.float32)
    spec = spec / f.clamp(min=1).sqrt()
    spec[0] = 0
    x = torch.fft.irfft(spec, n)
    return x / x.std().clamp(min=1e-12)


def noise(kind, n, g):
    return torch.randn(n, generator=g) if kind == "white" else pink(n, g)


def non_speech(g):
    """A clip of 0.3-4 s with no speech in it: silence, white or pink noise, a tone, mains hum or clicks, at
    -10 to -70 dB RMS.  Its transcript is empty."""
    n = int(SR * uniform(g, 0.3, 4.0))
    kind = ["silence", "white", "pink", "tone", "hum", "clicks"][int(torch.randint(0, 6, (1,), generator=g))]
    t = torch.arange(n, dtype=torch.float32) / SR
    if kind == "silence":
        return torch.zeros(n)
    if kind in ("white", "pink"):
        x = noise(kind, n, g)
    elif kind == "tone":
        f0 = uniform(g, 100, 3000)
        x = torch.sin(2 * math.pi * f0 * t) + 0.5 * torch.sin(2 * math.pi * (f0 * uniform(g, 1.2, 2.0)) * t)
    elif kind == "hum":
        f0 = 50.0 if uniform(g, 0, 1) < 0.5 else 60.0
        x = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 6))
    else:
        x = torch.zeros(n)
        x[torch.randint(0, n, (max(1, n // 4000),), generator=g)] = 1.0
    x = x / x.pow(2).mean().sqrt().clamp(min=1e-12)
    return x * 10 ** (-uniform(g, 10, 70) / 20)


def robust(w, g):
    """Speech as recordings bring it: up to 0.3 s of silence either side, gain +-10 dB, white or pink noise at
    -2..30 dB SNR (three in four), then the 8 kHz band (three in ten).  SNR is against the utterance's own
    power, as scripts/eval/asr-conditions.mjs measures it."""
    lead, trail = int(SR * uniform(g, 0, 0.3)), int(SR * uniform(g, 0, 0.3))
    gain = 10 ** (uniform(g, -10, 10) / 20)
    x = torch.cat([torch.zeros(lead), w, torch.zeros(trail)]) * gain
    if uniform(g, 0, 1) < 0.75:
        power = w.pow(2).mean() * gain ** 2
        kind = "white" if uniform(g, 0, 1) < 0.5 else "pink"
        x = x + noise(kind, len(x), g) * torch.sqrt(power / 10 ** (uniform(g, -2, 30) / 10))
    if uniform(g, 0, 1) < 0.3:
        x = band8k(x)
    return x


def batch_features(waves, noise_gen=None):
    n = max(len(w) for w in waves)
    x = torch.zeros(len(waves), n)
    for i, w in enumerate(waves):
        x[i, : len(w)] = w
    if noise_gen is not None:  # "clean" profile: gain +-6 dB, white noise at 15-45 dB SNR
        b = len(waves)
        gain = 10 ** ((torch.rand(b, 1, generator=noise_gen) * 12 - 6) / 20)
        snr = torch.rand(b, 1, generator=noise_gen) * 30 + 15
        power = torch.stack([w.pow(2).mean() for w in waves]).unsqueeze(1)
        x = x * gain + torch.randn(x.shape, generator=noise_gen) * torch.sqrt(power * gain ** 2 / 10 ** (snr / 10))
    lengths = torch.tensor([1 + len(w) // HOP for w in waves])
    return logmel(x), lengths


def targets(words_list):
    ids = [[C.VOCAB.index(w) for w in ws] for ws in words_list]
    return torch.tensor([t for s in ids for t in s], dtype=torch.long), torch.tensor([len(s) for s in ids])


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def condition(name, w, g):
    """The listening conditions of scripts/eval/asr-conditions.mjs (noise drawn here, not bit-equal to it)."""
    if name == "8 kHz":
        return band8k(w)
    if name.startswith(("white", "pink")):
        kind, snr = name.split()[0], float(name.split()[1])
        return w + noise(kind, len(w), g) * torch.sqrt(w.pow(2).mean() / 10 ** (snr / 10))
    return w


def wer(model, waves, words_list, norm, cond="clean"):
    """Word error rate with each utterance on its own (unpadded), as polymodal's SpeechRecognizer runs it: zero
    padding in a batch would reach the BiLSTM's backward direction and cost accuracy."""
    model.eval()
    errs = total = 0
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for w, ref in zip(waves, words_list):
            feats, _ = batch_features([condition(cond, w, g)])
            hyp = [C.VOCAB[t] for t in model.decode_greedy(model((feats - norm[0]) / norm[1]))[0]]
            errs += edit_distance(ref, hyp)
            total += len(ref)
    return errs / total


def progress(model, sets, norm):
    return " ".join(f"{name} {wer(model, *s, norm, cond):.3f}" for name, (s, cond) in sets.items())


def train_cycle(model, net, rank, tr_w, tr_words, order, n_pool, sets, norm, steps, peak, seed, profile, t0):
    """`net` is `model` or its DistributedDataParallel wrapper; every rank draws the same batch and trains on its
    share of it (rank r: items r, r + PROCS, ...), with its own augmentation stream."""
    opt = torch.optim.AdamW(model.parameters(), lr=peak, weight_decay=0.01)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    g = torch.Generator().manual_seed(seed)
    ng = torch.Generator().manual_seed(seed + 1 + 100 * rank)
    for step in range(steps):
        model.train()
        lr = peak * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in opt.param_groups:
            group["lr"] = lr
        start = int(torch.randint(0, n_pool - BATCH * 4, (1,), generator=g))
        idx = order[start + torch.randperm(BATCH * 4, generator=g)[:BATCH].numpy()][rank::PROCS]
        if profile == "clean":
            words = [tr_words[i] for i in idx]
            feats, lengths = batch_features([tr_w[i] for i in idx], ng)
        else:
            waves, words = [], []
            for i in idx:
                if uniform(ng, 0, 1) < NON_SPEECH:
                    waves.append(non_speech(ng))
                    words.append([])
                else:
                    waves.append(robust(tr_w[i], ng))
                    words.append(tr_words[i])
            feats, lengths = batch_features(waves)
        lp = net((feats - norm[0]) / norm[1])  # (B / PROCS, T, V)
        tg, tl = targets(words)
        loss = ctc(lp.transpose(0, 1), tg, lengths, tl)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if rank == 0 and (step % 200 == 0 or step == steps - 1):
            msg = f"cycle {seed} step {step} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t0:.0f}s"
            if step % 1000 == 0 or step == steps - 1:
                msg += " held-out WER " + progress(model, sets, norm)
            print(msg, flush=True)


def main(rank=0):
    torch.set_num_threads(THREADS)
    if PROCS > 1:
        import torch.distributed as dist
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29533")
        dist.init_process_group("gloo", rank=rank, world_size=PROCS)
    t0 = time.time()
    train = corpus("train", N_TRAIN) + corpus("train", N_WIDE, C.utterance_wide) + \
        corpus("train", N_FAST, C.utterance_wide, first=N_WIDE, slowest=280)
    test = corpus("test", N_TEST)
    slow = corpus("test", 200, C.utterance_wide, rate=80, foreign=False)
    fast = corpus("test", 200, C.utterance_wide, rate=320, foreign=False)
    print(f"synthesised {len(train)}+{N_TEST}+400 utterances in {time.time() - t0:.0f}s", flush=True)
    tr_w = [to16k(x) for _, _, x in train]
    te_w = [to16k(x) for _, _, x in test]
    tr_words = [w for w, _, _ in train]
    te_words = [w for w, _, _ in test]
    # global feature normalisation from 500 clean training utterances
    f, lens = batch_features(tr_w[:500])
    mask = (torch.arange(f.shape[2]).unsqueeze(0) < lens.unsqueeze(1)).unsqueeze(1).expand_as(f)
    norm = (float(f[mask].mean()), float(f[mask].std()))
    print(f"feature mean {norm[0]:.4f} std {norm[1]:.4f}", flush=True)
    held = (te_w[:200], te_words[:200])
    speed = lambda items: ([to16k(x) for _, _, x in items], [w for w, _, _ in items])  # noqa: E731
    sets = {"clean": (held, "clean"), "8k": (held, "8 kHz"), "white5": (held, "white 5"), "pink5": (held, "pink 5"),
            "80wpm": (speed(slow[:100]), "clean"), "320wpm": (speed(fast[:100]), "clean")}

    model = S.SpeechRecognitionModel(**CONFIG)
    net = torch.nn.parallel.DistributedDataParallel(model) if PROCS > 1 else model
    resume, after = os.environ.get("RESUME_FROM"), int(os.environ.get("RESUME_AFTER", 0))
    if resume:  # skip the first cycles by loading their result (deterministic training recomputes the same weights)
        from safetensors_io import load
        model.load_state_dict(load(resume))
        if rank == 0:
            print(f"cycles 1-{after} loaded from {resume}: held-out WER {progress(model, sets, norm)}", flush=True)
    for c, (steps, peak, seed, profile, pool) in enumerate(CYCLES):
        if c < after or not steps:
            continue
        n_pool = POOLS[pool]
        order = np.argsort([len(w) for w in tr_w[:n_pool]])  # length buckets: less padding per batch
        train_cycle(model, net, rank, tr_w, tr_words, order, n_pool, sets, norm, steps, peak, seed, profile, t0)
        if rank == 0:
            save({k: v.contiguous() for k, v in model.state_dict().items()}, f"/tmp/asr-cycle{c + 1}.safetensors")
    if rank != 0:
        return
    model.eval()
    test_wer = wer(model, te_w, te_words, norm)
    conditions = {cond: wer(model, te_w, te_words, norm, cond) for cond in ["8 kHz", "white 5", "pink 5", "white 0", "pink 0"]}
    for name, items in (("80 wpm", slow), ("320 wpm", fast)):
        conditions[name] = wer(model, *speed(items), norm)
    print(f"final held-out WER {test_wer:.4f}; " + ", ".join(f"{k} {v:.4f}" for k, v in conditions.items()), flush=True)
    save({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(ROOT, "models", "asr-words.safetensors"))
    # held-out WAVs: 40 committed for the test suite, all N_TEST to /tmp for scripts/eval/asr.mjs
    fx = os.path.join(ROOT, "test", "fixtures", "speech")
    os.makedirs(fx, exist_ok=True)
    os.makedirs("/tmp/pm_asr_test", exist_ok=True)
    listing = []
    for i, (words, args, x) in enumerate(test):
        pcm = (x * 32768).round().clamp(-32768, 32767).to(torch.int16).numpy()
        C.write_wav(f"/tmp/pm_asr_test/{i:04d}.wav", pcm)
        entry = {"file": f"{i:04d}.wav", "text": " ".join(words), "espeak": " ".join(args)}
        listing.append(entry)
        if i < N_SHIP:
            C.write_wav(os.path.join(fx, entry["file"]), pcm)
    json.dump(listing, open("/tmp/pm_asr_test/transcripts.json", "w"), indent=0)
    json.dump(listing[:N_SHIP], open(os.path.join(fx, "transcripts.json"), "w"), indent=0)
    with torch.no_grad():
        feats, _ = batch_features(te_w[:2])
        x = (feats - norm[0]) / norm[1]
        save({"features": x, "log_probs": model(x), "wave16k": te_w[0]}, os.path.join(ROOT, "test", "fixtures", "asr-reference.safetensors"))
    card = {
        "model": "SpeechRecognitionModel (seed architecture)", "config": CONFIG,
        "vocabulary": C.VOCAB,
        "features": {"sampleRate": SR, "nFft": N_FFT, "hopLength": HOP, "nMels": N_MELS, "log": "log(mel + 1e-6)",
                     "mean": norm[0], "std": norm[1]},
        "data": f"{N_TRAIN} espeak-ng utterances of 1-5 words at 120-220 wpm plus {N_WIDE} at 80-400 wpm and {N_FAST} at 280-400 wpm (a third read by other languages' voices: {C.FOREIGN}); train variants: all but {C.HELD_OUT}; held-out: {N_TEST} utterances in the held-out variants",
        "training": f"CTC, AdamW, weight decay 0.01, batch {BATCH} over {PROCS} processes, cosine cycles with 200-step warm-up (steps, peak lr, augmentation, pool): {[(n, p, a, pool) for n, p, _, a, pool in CYCLES if n]}; robust: silence padding, gain +-10 dB, white/pink noise at -2..30 dB SNR, 8 kHz band, {NON_SPEECH:.0%} non-speech clips with empty transcripts; seed 0, torch {torch.__version__}" + (f"; cycles 1-{after} loaded from {os.path.basename(resume)}" if resume else ""),
        "metrics_pytorch": {"held_out_wer": test_wer, "held_out_utterances": N_TEST,
                            "conditions_wer": conditions},
        "command": "/usr/bin/python3 scripts/train/train_asr.py",
    }
    from safetensors_io import card_files
    card["files"] = card_files(os.path.join(ROOT, "models", "asr-words.safetensors"))
    json.dump(card, open(os.path.join(ROOT, "models", "asr-words.json"), "w"), indent=1)
    print(f"done ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    if PROCS > 1:
        import torch.multiprocessing as mp
        mp.spawn(main, nprocs=PROCS)
    else:
        main()
