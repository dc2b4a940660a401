#!/usr/bin/env python3
"""Trains the shipped CLIP (the seed's CLIPModel, small config) on procedural scenes from scripts/scenes.mjs.
Deterministic: fixed seeds, one thread order.  Writes models/clip-scenes.safetensors (the state_dict, unchanged
keys), models/clip-scenes.json (config, tokenizer, preprocessing, metrics) and a few reference outputs.
Run:  /usr/bin/python3 scripts/train/train_clip.py   (Debian python3-torch; about 60 minutes on two cores with Debian's OpenBLAS: apt-get install libopenblas0-pthread)"""
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "seed"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
import seed_models as S  # noqa: E402
from safetensors_io import save  # noqa: E402

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(int(os.environ.get("THREADS", 2)))
SIZE, MAXLEN = 48, 48
N_TRAIN, N_EVAL = int(os.environ.get("N_TRAIN", 40000)), 1000
BATCH = int(os.environ.get("BATCH", 128))
CONFIG = dict(vision_config=dict(image_size=SIZE, patch_size=8, in_channels=3, embed_dim=96, num_heads=4, num_layers=2),
              text_config=dict(vocab_size=259, max_seq_len=MAXLEN, embed_dim=96, num_heads=4, num_layers=2), projection_dim=64)


def scenes(n, first):
    base = f"/tmp/pm_scenes_{n}_{first}"
    if not os.path.exists(base + ".u8"):
        subprocess.run(["node", os.path.join(ROOT, "scripts", "train", "gen_scene_data.mjs"), base, str(n), str(first)], check=True)
    px = np.fromfile(base + ".u8", dtype=np.uint8).reshape(n, SIZE, SIZE, 3)
    caps = json.load(open(base + ".json"))
    return px, caps


def images(px):  # the ImageProcessor's normalisation: (x / 255 - 0.5) / 0.25, (B, 3, H, W)
    x = torch.from_numpy(px).float().permute(0, 3, 1, 2)
    return (x / 255.0 - 0.5) / 0.25


def tokens(caps):  # ByteTokenizer: 1, bytes + 3, 2, padded with 0
    ids = np.zeros((len(caps), MAXLEN), dtype=np.int64)
    mask = np.zeros((len(caps), MAXLEN), dtype=np.int64)
    for i, c in enumerate(caps):
        t = [1] + [b + 3 for b in c.encode()][: MAXLEN - 2] + [2]
        ids[i, : len(t)] = t
        mask[i, : len(t)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def recall(model, px, caps):
    model.eval()
    with torch.no_grad():
        ie = torch.cat([model.encode_image(images(px[i:i + 250])) for i in range(0, len(caps), 250)])
        ids, mask = tokens(caps)
        te = torch.cat([model.encode_text(ids[i:i + 250], mask[i:i + 250]) for i in range(0, len(caps), 250)])
    sim = te @ ie.T
    c = np.array(caps)
    t2i = float(np.mean(c[sim.argmax(1).numpy()] == c))
    i2t = float(np.mean(c[sim.argmax(0).numpy()] == c))
    return t2i, i2t


# Two cosine cycles (a warm restart): 3,000 steps at lr 2e-3 from scratch, then 2,000 at 1e-3 with a fresh
# optimizer.  STAGE1_FROM=<safetensors> skips the first cycle by loading its result (the model shipped before
# the second cycle existed), which is what the first cycle recomputes: training is deterministic.
STAGES = [(int(os.environ.get("STEPS", 3000)), 2e-3, 1), (int(os.environ.get("STEPS2", 2000)), 1e-3, 2)]


def train_cycle(model, tr_px, tr_caps, ev_px, ev_caps, steps, peak, seed, t0):
    opt = torch.optim.AdamW(model.parameters(), lr=peak, weight_decay=0.01)
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        model.train()
        lr = peak * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, N_TRAIN, (BATCH,), generator=g).numpy()
        ids, mask = tokens([tr_caps[i] for i in idx])
        out = model(images(tr_px[idx]), ids, mask)
        loss = model.compute_loss(out)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == steps - 1:
            msg = f"cycle {seed} step {step} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t0:.0f}s"
            if step % 1000 == 0 or step == steps - 1:
                msg += " recall t2i/i2t %.3f/%.3f" % recall(model, ev_px, ev_caps)
            print(msg, flush=True)


def main():
    tr_px, tr_caps = scenes(N_TRAIN, 1)
    ev_px, ev_caps = scenes(N_EVAL, 1_000_000)
    model = S.CLIPModel(**CONFIG)
    t0 = time.time()
    start = os.environ.get("STAGE1_FROM")
    if start:
        from safetensors_io import load
        model.load_state_dict(load(start))
        print(f"cycle 1 loaded from {start}: recall t2i/i2t %.3f/%.3f" % recall(model, ev_px, ev_caps), flush=True)
    for k, (steps, peak, seed) in enumerate(STAGES):
        if k == 0 and start:
            continue
        train_cycle(model, tr_px, tr_caps, ev_px, ev_caps, steps, peak, seed, t0)
    t2i, i2t = recall(model, ev_px, ev_caps)
    model.eval()
    os.makedirs(os.path.join(ROOT, "models"), exist_ok=True)
    save({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(ROOT, "models", "clip-scenes.safetensors"))
    with torch.no_grad():
        ids, mask = tokens(ev_caps[:4])
        ref = {"image_embeds": model.encode_image(images(ev_px[:4])), "text_embeds": model.encode_text(ids, mask)}
    save(ref, os.path.join(ROOT, "test", "fixtures", "clip-scenes-reference.safetensors"))
    card = {
        "model": "CLIPModel (seed architecture)", "config": CONFIG,
        "data": f"{N_TRAIN} procedural scenes (scripts/scenes.mjs, seeds 1..{N_TRAIN}); held-out: {N_EVAL} scenes from seed 1000000",
        "tokenizer": "ByteTokenizer (UTF-8 bytes + 3; 1 start, 2 end, 0 pad), max length 48",
        "preprocessing": "48x48 RGB, (x / 255 - 0.5) / 0.25",
        "processor": {"size": SIZE, "cropSize": SIZE, "interpolation": "bilinear", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        "text": {"tokenizer": "byte", "maxLength": MAXLEN},
        "training": f"AdamW, weight decay 0.01, batch {BATCH}, two cosine cycles with 100-step warm-up: {STAGES[0][0]} steps at lr 2e-3, then {STAGES[1][0]} at lr 1e-3 (fresh optimizer), seed 0, torch {torch.__version__}" + (f"; cycle 1 loaded from {os.path.basename(start)}" if start else ""),
        "metrics_pytorch": {"text_to_image_recall_at_1": t2i, "image_to_text_recall_at_1": i2t,
                            "criterion": "a hit when the retrieved item's caption equals the query's caption (captions repeat)"},
        "command": "/usr/bin/python3 scripts/train/train_clip.py",
    }
    from safetensors_io import card_files
    card["files"] = card_files(os.path.join(ROOT, "models", "clip-scenes.safetensors"))
    json.dump(card, open(os.path.join(ROOT, "models", "clip-scenes.json"), "w"), indent=1)
    print("final recall t2i %.3f i2t %.3f" % (t2i, i2t))


if __name__ == "__main__":
    main()
