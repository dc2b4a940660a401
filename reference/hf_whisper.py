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


def log_mel(wave, n_mels=80, sampling_rate=16000, n_fft=400, hop_length=160, chunk_length=30):
    """One utterance (float32 samples) -> (n_mels, chunk_length * rate / hop) log-mel features, float32."""
    n = chunk_length * sampling_rate
    x = np.zeros(n, dtype=np.float32)
    w = np.asarray(wave, dtype=np.float32)[:n]
    x[: len(w)] = w
    spec = torch.stft(torch.from_numpy(x), n_fft, hop_length, window=torch.hann_window(n_fft), return_complex=True)
    power = spec[..., :-1].abs() ** 2
    mel = mel_filters(1 + n_fft // 2, n_mels, sampling_rate).T @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0
