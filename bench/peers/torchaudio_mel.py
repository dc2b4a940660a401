"""torchaudio 0.13 timings on the benchmark's signal (a raw float32 file), single-threaded, for
bench/audio.mjs: kind "mel" (MelSpectrogram 400/160/80), "mfcc" (MFCC 40 on that mel), "resample" (44.1 -> 16 kHz).
Prints one JSON line {"median_ms": ..., "best_ms": ...}."""
import json
import sys
import time

import numpy as np
import torch
import torchaudio
import torchaudio.functional as AF

torch.set_num_threads(1)
sig = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.float32))
kind = sys.argv[2] if len(sys.argv) > 2 else "mel"
if kind == "mel":
    t = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80)
elif kind == "mfcc":
    t = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=40, melkwargs=dict(n_fft=400, hop_length=160, n_mels=80))
else:
    def t(x):
        return AF.resample(x, 44100, 16000)
with torch.no_grad():
    for _ in range(3):
        t(sig)
    times = []
    for _ in range(15 if kind != "resample" else 7):
        t0 = time.perf_counter()
        t(sig)
        times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({"median_ms": times[len(times) // 2], "best_ms": times[0]}))
