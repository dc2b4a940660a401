#!/usr/bin/env python3
"""Trains the shipped video-text model: the seed's VideoTextModel (VideoEncoder: per-frame conv net, temporal
transformer, CLS token; BiLSTM text encoder; contrastive projection) with a byte-token vocabulary, on
procedural clips from scripts/clips.mjs ("a red circle that grows": 3 shapes x 6 colours x 5 actions), so
that text -> video search works and telling "grows" from "shrinks" needs the frames' order.
Frames: 8 of each 24-frame clip, the centres of 8 equal segments (polymodal's VideoProcessor), (x/255-0.5)/0.25.
Writes models/video-text.safetensors, models/video-text.json, test/fixtures/video-text-reference.safetensors.
Run:  /usr/bin/python3 scripts/train/train_video.py   (Debian python3-torch)"""
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
N_TRAIN, N_EVAL = int(os.environ.get("N_TRAIN", 12000)), 1000
STEPS, BATCH = int(os.environ.get("STEPS", 2000)), int(os.environ.get("BATCH", 64))
SIZE, CLIP_FRAMES, FRAMES, MAXLEN = 32, 24, 8, 32
CONFIG = dict(video_dim=64, text_dim=64, projection_dim=64, vocab_size=259)
FRAME_IDX = [((2 * i + 1) * CLIP_FRAMES) // (2 * FRAMES) for i in range(FRAMES)]  # segment centres


class VideoTextModel(S.VideoTextModel):
    """The seed's class with its hard-coded 10,000-token embedding made an option (polymodal's vocabSize)."""

    def __init__(self, video_dim, text_dim, projection_dim, vocab_size):
        super().__init__(video_dim=video_dim, text_dim=text_dim, projection_dim=projection_dim)
        self.text_encoder[0] = nn.Embedding(vocab_size, 256)


def clips(n, first):
    base = f"/tmp/pm_clips_{n}_{first}"
    if not os.path.exists(base + ".u8"):
        subprocess.run(["node", os.path.join(HERE, "gen_media_data.mjs"), "clips", base, str(n), str(first)], check=True)
    px = np.fromfile(base + ".u8", dtype=np.uint8).reshape(n, CLIP_FRAMES, SIZE, SIZE, 3)[:, FRAME_IDX]
    return np.ascontiguousarray(px), json.load(open(base + ".json"))


def videos(px):  # (B, T, H, W, 3) uint8 -> (B, T, 3, H, W)
    x = torch.from_numpy(px).float().permute(0, 1, 4, 2, 3)
    return (x / 255.0 - 0.5) / 0.25


def tokens(caps):  # ByteTokenizer: 1, bytes + 3, 2, padded with 0 to MAXLEN
    ids = np.zeros((len(caps), MAXLEN), dtype=np.int64)
    for i, c in enumerate(caps):
        t = [1] + [b + 3 for b in c.encode()][: MAXLEN - 2] + [2]
        ids[i, : len(t)] = t
    return torch.from_numpy(ids)


def recall(model, px, caps):
    model.eval()
    with torch.no_grad():
        ve = torch.cat([model.encode_video(videos(px[i:i + 250])) for i in range(0, len(caps), 250)])
        te = torch.cat([model.encode_text(tokens(caps[i:i + 250])) for i in range(0, len(caps), 250)])
    sim = te @ ve.T
    c = np.array(caps)
    return float(np.mean(c[sim.argmax(1).numpy()] == c)), float(np.mean(c[sim.argmax(0).numpy()] == c))


def main():
    tr_px, tr_caps = clips(N_TRAIN, 1)
    ev_px, ev_caps = clips(N_EVAL, 1_000_000)
    model = VideoTextModel(**CONFIG)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    t0 = time.time()
    for step in range(STEPS):
        model.train()
        lr = 1e-3 * min(1.0, (step + 1) / 100) * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, N_TRAIN, (BATCH,), generator=g).numpy()
        caps = [tr_caps[i] for i in idx]
        out = model(videos(tr_px[idx]), tokens(caps))
        # captions repeat inside a batch: every pair with the same caption is a positive
        same = torch.tensor([[a == b for b in caps] for a in caps], dtype=torch.float32)
        target = same / same.sum(1, keepdim=True)
        logits = out["logits"]
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target.T / target.T.sum(1, keepdim=True))) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            msg = f"step {step} loss {loss.item():.3f} lr {lr:.2e} {time.time() - t0:.0f}s"
            if step % 500 == 0 or step == STEPS - 1:
                msg += " recall t2v/v2t %.3f/%.3f" % recall(model, ev_px, ev_caps)
            print(msg, flush=True)
    t2v, v2t = recall(model, ev_px, ev_caps)
    model.eval()
    save({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(ROOT, "models", "video-text.safetensors"))
    with torch.no_grad():
        save({"video": videos(ev_px[:3]), "input_ids": tokens(ev_caps[:3]), "video_embeds": model.encode_video(videos(ev_px[:3])),
              "text_embeds": model.encode_text(tokens(ev_caps[:3]))}, os.path.join(ROOT, "test", "fixtures", "video-text-reference.safetensors"))
    card = {
        "model": "VideoTextModel (seed architecture; byte-token vocabulary)", "config": CONFIG,
        "frames": {"numFrames": FRAMES, "sampling": "centres of numFrames equal segments", "size": SIZE},
        "tokenizer": f"ByteTokenizer (UTF-8 bytes + 3; 1 start, 2 end, 0 pad), padded to {MAXLEN}",
        "preprocessing": f"{SIZE}x{SIZE} RGB, (x / 255 - 0.5) / 0.25",
        "processor": {"numFrames": FRAMES, "size": SIZE, "cropSize": SIZE, "interpolation": "bilinear", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        "text": {"tokenizer": "byte", "maxLength": MAXLEN},
        "data": f"{N_TRAIN} procedural 24-frame clips (scripts/clips.mjs, seeds 1..{N_TRAIN}); held-out: {N_EVAL} from seed 1000000",
        "training": f"symmetric contrastive loss (same-caption pairs positive), AdamW lr 1e-3 (100-step warm-up, cosine), weight decay 0.01, batch {BATCH}, {STEPS} steps, seed 0, torch {torch.__version__}",
        "metrics_pytorch": {"text_to_video_recall_at_1": t2v, "video_to_text_recall_at_1": v2t,
                            "criterion": "a hit when the retrieved item's caption equals the query's caption (captions repeat)"},
        "command": "/usr/bin/python3 scripts/train/train_video.py",
    }
    from safetensors_io import card_files
    card["files"] = card_files(os.path.join(ROOT, "models", "video-text.safetensors"))
    json.dump(card, open(os.path.join(ROOT, "models", "video-text.json"), "w"), indent=1)
    print(f"final recall t2v {t2v:.3f} v2t {v2t:.3f} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
