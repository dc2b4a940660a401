#!/usr/bin/env python3
"""Exports the benchmarked seed models to ONNX for the onnxruntime-web peer (bench/models.mjs), with the same
procedural weights polymodal loads (scripts/fixtures/procedural.py), into bench/.cache/ (not committed).
Needs Debian's python3-torch; run by `npm run bench` when the exports are missing."""
import os
import sys
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "seed"))
warnings.filterwarnings("ignore")
import seed_models as S  # noqa: E402
from procedural import fill_state_dict  # noqa: E402

OUT = os.path.join(ROOT, "bench", ".cache")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)


class EncodeImage(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, x):
        return self.clip.encode_image(x)


class EncodeMel(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, mel):
        return self.m.encode_mel(mel)


def export(name, model, args):
    path = os.path.join(OUT, name + ".onnx")
    if os.path.exists(path):
        return
    model.eval()
    # Grad enabled (weights require grad) keeps torch 1.13 off its fused inference kernel, which ONNX cannot
    # express; the exported graph is the same math (MatMul/Softmax/LayerNorm...).
    with torch.enable_grad():
        torch.onnx.export(model, args, path, opset_version=17, do_constant_folding=True)
    print("exported", path, flush=True)


which = sys.argv[1:] or ["clip4", "vitb", "audio", "asr"]
if "clip4" in which:
    clip = S.CLIPModel(vision_config={"image_size": 224, "patch_size": 16, "num_layers": 4},
                       text_config={"vocab_size": 10000, "num_layers": 4}, projection_dim=256)
    fill_state_dict(clip)
    for b in (1, 8):
        export(f"clip4_image_b{b}", EncodeImage(clip), (torch.zeros(b, 3, 224, 224),))
if "vitb" in which:
    vit = S.VisionEncoder()
    fill_state_dict(vit)
    export("vitb16_b1", vit, (torch.zeros(1, 3, 224, 224),))
if "audio" in which:
    a = S.AudioFeatureExtractor()
    fill_state_dict(a)
    export("audio_mel_10s", EncodeMel(a), (torch.zeros(1, 80, 1001),))
if "asr" in which:
    asr = S.SpeechRecognitionModel()
    fill_state_dict(asr)
    export("asr_1000", asr, (torch.zeros(1, 80, 1000),))
