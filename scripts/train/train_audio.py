#!/usr/bin/env python3
"""Trains the shipped sound-event embedding: the seed's AudioFeatureExtractor (torchaudio log-mel, three
conv1d+ReLU, a transformer encoder, mean pooling, projection) at a small width, on procedural sound events
from scripts/sounds.mjs (8 kinds).  A linear head on the embedding is trained with cross-entropy and then
dropped; the card keeps per-kind prototype embeddings (mean of normalised training embeddings), so
classification is nearest-prototype and search is nearest-neighbour on the embedding alone.
Writes models/audio-events.safetensors, models/audio-events.json, test/fixtures/audio-events-reference.safetensors.
Run:  /usr/bin/python3 scripts/train/train_audio.py   (Debian python3-torch, python3-torchaudio)"""
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "seed"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
import seed_models as S  # noqa: E402
from safetensors_io import save  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(int(os.environ.get("THREADS", 2)))
N_TRAIN, N_EVAL = int(os.environ.get("N_TRAIN", 16000)), 1000
STEPS, BATCH = int(os.environ.get("STEPS", 1500)), int(os.environ.get("BATCH", 64))
KINDS = ["tone", "rising chirp", "falling chirp", "siren", "beeps", "clicks", "noise burst", "chord"]
CONFIG = dict(sample_rate=16000, n_mels=40, n_fft=400, hop_length=160, embed_dim=32,
              conv_channels=[32, 64, 64], num_layers=2, nhead=4, dim_feedforward=128)


class AudioFeatureExtractor(S.AudioFeatureExtractor):
    """The seed's class with its hard-coded widths made options (polymodal's AudioFeatureExtractorConfig)."""

    def __init__(self, sample_rate, n_mels, n_fft, hop_length, embed_dim, conv_channels, num_layers, nhead, dim_feedforward):
        super().__init__(sample_rate=sample_rate, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length, embed_dim=embed_dim)
        c1, c2, d = conv_channels
        self.conv_layers = nn.Sequential(nn.Conv1d(n_mels, c1, 3, padding=1), nn.ReLU(), nn.Conv1d(c1, c2, 3, padding=1), nn.ReLU(),
                                         nn.Conv1d(c2, d, 3, padding=1), nn.ReLU())
        layer = nn.TransformerEncoderLayer(d_model=d, nhead=nhead, dim_feedforward=dim_feedforward, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers=num_layers)
        self.projection = nn.Linear(d, embed_dim)


def sounds(n, first):
    base = f"/tmp/pm_sounds_{n}_{first}"
    if not os.path.exists(base + ".f32"):
        subprocess.run(["node", os.path.join(HERE, "gen_media_data.mjs"), "sounds", base, str(n), str(first)], check=True)
    x = torch.from_numpy(np.fromfile(base + ".f32", dtype="<f4").reshape(n, 16000))
    y = torch.tensor([KINDS.index(k) for k in json.load(open(base + ".json"))])
    return x, y


def embed(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([F.normalize(model(x[i:i + 250]), dim=-1) for i in range(0, len(x), 250)])


def metrics(model, protos, x, y):
    e = embed(model, x)
    acc = float(((e @ protos.T).argmax(1) == y).float().mean())
    sim = e @ e.T
    sim.fill_diagonal_(-2)
    r1 = float((y[sim.argmax(1)] == y).float().mean())
    return acc, r1


def prototypes(model, x, y):
    e = embed(model, x)
    return F.normalize(torch.stack([e[y == k].mean(0) for k in range(len(KINDS))]), dim=-1)


def main():
    tx, ty = sounds(N_TRAIN, 1)
    ex, ey = sounds(N_EVAL, 1_000_000)
    model = AudioFeatureExtractor(**CONFIG)
    head = nn.Linear(CONFIG["embed_dim"], len(KINDS))
    params = list(model.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    t0 = time.time()
    for step in range(STEPS):
        model.train()
        lr = 2e-3 * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, N_TRAIN, (BATCH,), generator=g)
        loss = F.cross_entropy(head(model(tx[idx])), ty[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
    protos = prototypes(model, tx[:4000], ty[:4000])
    acc, r1 = metrics(model, protos, ex, ey)
    model.eval()
    save({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(ROOT, "models", "audio-events.safetensors"))
    with torch.no_grad():
        save({"waveform": ex[:3], "embeds": model(ex[:3])}, os.path.join(ROOT, "test", "fixtures", "audio-events-reference.safetensors"))
    card = {
        "model": "AudioFeatureExtractor (seed architecture, small widths)", "config": CONFIG, "kinds": KINDS,
        "prototypes": [[round(float(v), 7) for v in p] for p in protos],
        "data": f"{N_TRAIN} procedural one-second sound events (scripts/sounds.mjs, seeds 1..{N_TRAIN}); held-out: {N_EVAL} from seed 1000000",
        "training": f"cross-entropy through a linear head (dropped), AdamW lr 2e-3 (100-step warm-up, cosine), weight decay 0.01, batch {BATCH}, {STEPS} steps, seed 0, torch {torch.__version__}",
        "metrics_pytorch": {"prototype_accuracy": acc, "audio_to_audio_recall_at_1": r1,
                            "criterion": "held-out sounds; recall@1: the nearest other held-out sound has the same kind"},
        "command": "/usr/bin/python3 scripts/train/train_audio.py",
    }
    from safetensors_io import card_files
    card["files"] = card_files(os.path.join(ROOT, "models", "audio-events.safetensors"))
    json.dump(card, open(os.path.join(ROOT, "models", "audio-events.json"), "w"), indent=1)
    print(f"final accuracy {acc:.4f} recall@1 {r1:.4f} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
