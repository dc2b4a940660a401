#!/usr/bin/env python3
"""Trains the shipped speech recogniser: the seed's SpeechRecognitionModel (CTC, conv + 4-layer BiLSTM),
small config, on word sequences synthesised by espeak-ng (scripts/train/speech_corpus.py).
Pipeline (the same in polymodal): WAV -> mono float -> resample to 16 kHz (torchaudio sinc) ->
MelSpectrogram(n_fft 640, hop 320, 40 mels) -> log(x + 1e-6) -> (x - mean) / std -> model -> greedy CTC.
Deterministic: fixed seeds.  Writes models/asr-words.safetensors, models/asr-words.json,
test/fixtures/speech/ (40 held-out-voice WAVs + transcripts) and test/fixtures/asr-reference.safetensors.
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
torch.set_num_threads(int(os.environ.get("THREADS", 2)))
N_TRAIN, N_TEST, N_SHIP = int(os.environ.get("N_TRAIN", 12000)), int(os.environ.get("N_TEST", 500)), 40
STEPS, BATCH = int(os.environ.get("STEPS", 4000)), int(os.environ.get("BATCH", 32))
SR, N_FFT, HOP, N_MELS = 16000, 640, 320, 40
CONFIG = dict(vocab_size=len(C.VOCAB), n_mels=N_MELS, hidden_dim=128)
MEL = torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)


def corpus(split, n):
    def one(i):
        words, args = C.utterance(split, i)
        x = torch.from_numpy(C.synth(words, args).astype(np.float32) / 32768.0)
        return words, args, x
    with ThreadPoolExecutor(4) as ex:
        items = list(ex.map(one, range(n)))
    return items


RESAMPLE = torchaudio.transforms.Resample(C.RATE, SR)  # torchaudio.functional.resample with its kernel cached


def to16k(x):
    return RESAMPLE(x)


def logmel(wave):  # (B, samples) -> (B, n_mels, frames)
    return torch.log(MEL(wave) + 1e-6)


def batch_features(waves, noise_gen=None):
    n = max(len(w) for w in waves)
    x = torch.zeros(len(waves), n)
    for i, w in enumerate(waves):
        x[i, : len(w)] = w
    if noise_gen is not None:  # augmentation: gain +-6 dB, white noise at 15-45 dB SNR, random leading silence
        b = len(waves)
        gain = 10 ** ((torch.rand(b, 1, generator=noise_gen) * 12 - 6) / 20)
        snr = torch.rand(b, 1, generator=noise_gen) * 30 + 15
        power = torch.stack([w.pow(2).mean() for w in waves]).unsqueeze(1)
        x = x * gain + torch.randn(x.shape, generator=noise_gen) * torch.sqrt(power * gain ** 2 / 10 ** (snr / 10))
    lengths = torch.tensor([1 + len(w) // HOP for w in waves])
    return logmel(x), lengths


def targets(words_list):
    ids = [[C.VOCAB.index(w) for w in ws] for ws in words_list]
    return torch.tensor([t for s in ids for t in s]), torch.tensor([len(s) for s in ids])


def edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def wer(model, waves, words_list, norm):
    """Word error rate with each utterance on its own (unpadded), as polymodal's SpeechRecognizer runs it: zero
    padding in a batch would reach the BiLSTM's backward direction and cost accuracy."""
    model.eval()
    errs = total = 0
    with torch.no_grad():
        for w, ref in zip(waves, words_list):
            feats, _ = batch_features([w])
            hyp = [C.VOCAB[t] for t in model.decode_greedy(model((feats - norm[0]) / norm[1]))[0]]
            errs += edit_distance(ref, hyp)
            total += len(ref)
    return errs / total


# Cosine cycles (warm restarts, fresh optimizer each): (steps, peak lr, seed)
CYCLES = [(STEPS, 2e-3, 1), (int(os.environ.get("STEPS2", 3000)), 1e-3, 3)]


def train_cycle(model, tr_w, tr_words, te_w, te_words, norm, order, steps, peak, seed, t0):
    opt = torch.optim.AdamW(model.parameters(), lr=peak, weight_decay=0.01)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    g = torch.Generator().manual_seed(seed)
    ng = torch.Generator().manual_seed(seed + 1)
    for step in range(steps):
        model.train()
        lr = peak * min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in opt.param_groups:
            group["lr"] = lr
        start = int(torch.randint(0, N_TRAIN - BATCH * 4, (1,), generator=g))
        idx = order[start + torch.randperm(BATCH * 4, generator=g)[:BATCH].numpy()]
        feats, lengths = batch_features([tr_w[i] for i in idx], ng)
        lp = model((feats - norm[0]) / norm[1])  # (B, T, V)
        tg, tl = targets([tr_words[i] for i in idx])
        loss = ctc(lp.transpose(0, 1), tg, lengths, tl)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if step % 200 == 0 or step == steps - 1:
            msg = f"cycle {seed} step {step} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t0:.0f}s"
            if step % 1000 == 0 or step == steps - 1:
                msg += f" held-out WER {wer(model, te_w[:200], te_words[:200], norm):.4f}"
            print(msg, flush=True)


def main():
    t0 = time.time()
    train = corpus("train", N_TRAIN)
    test = corpus("test", N_TEST)
    print(f"synthesised {N_TRAIN}+{N_TEST} utterances in {time.time() - t0:.0f}s", flush=True)
    tr_w = [to16k(x) for _, _, x in train]
    te_w = [to16k(x) for _, _, x in test]
    tr_words = [w for w, _, _ in train]
    te_words = [w for w, _, _ in test]
    # global feature normalisation from 500 clean training utterances
    f, lens = batch_features(tr_w[:500])
    mask = (torch.arange(f.shape[2]).unsqueeze(0) < lens.unsqueeze(1)).unsqueeze(1).expand_as(f)
    norm = (float(f[mask].mean()), float(f[mask].std()))
    print(f"feature mean {norm[0]:.4f} std {norm[1]:.4f}", flush=True)

    model = S.SpeechRecognitionModel(**CONFIG)
    start = os.environ.get("STAGE1_FROM")
    if start:  # skip cycle 1 by loading its result (deterministic training recomputes the same weights)
        from safetensors_io import load
        model.load_state_dict(load(start))
        print(f"cycle 1 loaded from {start}: held-out WER {wer(model, te_w[:200], te_words[:200], norm):.4f}", flush=True)
    order = np.argsort([len(w) for w in tr_w])  # length buckets: batches of similar length waste less padding
    for c, (steps, peak, seed) in enumerate(CYCLES):
        if c == 0 and start:
            continue
        train_cycle(model, tr_w, tr_words, te_w, te_words, norm, order, steps, peak, seed, t0)
    test_wer = wer(model, te_w, te_words, norm)
    model.eval()
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
        "data": f"{N_TRAIN} espeak-ng utterances of 1-5 words (train variants: all but {C.HELD_OUT}); held-out: {N_TEST} utterances in the held-out variants",
        "training": f"CTC, AdamW, weight decay 0.01, batch {BATCH}, gain/noise augmentation, cosine cycles with 200-step warm-up (steps, peak lr): {[(n, p) for n, p, _ in CYCLES if n]}, seed 0, torch {torch.__version__}" + (f"; cycle 1 loaded from {os.path.basename(start)}" if start else ""),
        "metrics_pytorch": {"held_out_wer": test_wer, "held_out_utterances": N_TEST},
        "command": "/usr/bin/python3 scripts/train/train_asr.py",
    }
    from safetensors_io import card_files
    card["files"] = card_files(os.path.join(ROOT, "models", "asr-words.safetensors"))
    json.dump(card, open(os.path.join(ROOT, "models", "asr-words.json"), "w"), indent=1)
    print(f"final held-out WER {test_wer:.4f} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
