"""Spoken word-sequence corpus synthesised with Debian's espeak-ng: sequences of 1-5 words from a 20-word
vocabulary (digits and commands), across espeak's English accents and voice variants, speeds, pitches, word
gaps and amplitudes.  Voices (variants) are split: the held-out variants never occur in training.
Two sets, both deterministic (every utterance is a pure function of (split, index)):
- `utterance`: the first release's set (speed 120-220 wpm, seven English accents);
- `utterance_wide`: the second release's additions: speed 80-400 wpm, New York English, and English read by
  voices of other languages (FOREIGN; FOREIGN_HELD_OUT never occur in training); the third release adds more
  of them at 280-400 wpm (`slowest=280`, indices after the second release's)."""
import os
import random
import subprocess

import numpy as np

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
VOCAB = ["<blank>"] + WORDS  # CTC blank is id 0, as the seed's decode_greedy assumes
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029"]
VARIANT_DIR = "/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v"
HELD_OUT = ["m4", "f4", "Andy", "belinda", "klatt3", "iven2", "Mike", "linda"]
FOREIGN = ["fr-fr", "it", "pl", "sv", "pt", "af", "hu", "ro", "el", "da", "fi", "cs"]
FOREIGN_HELD_OUT = ["de", "nl", "es"]
RATE = 22050  # espeak-ng's native output rate


def variants():
    names = sorted(os.listdir(VARIANT_DIR)) if os.path.isdir(VARIANT_DIR) else []
    if not names:
        raise SystemExit("espeak-ng voice variants not found: apt-get install espeak-ng")
    return [v for v in names if v not in HELD_OUT], [v for v in HELD_OUT if v in names]


def utterance(split, i):
    """-> (words, espeak args) for utterance i of split 'train' | 'test'."""
    rng = random.Random(f"{split}:{i}")
    train_v, test_v = variants()
    n = rng.randint(1, 5)
    words = [rng.choice(WORDS) for _ in range(n)]
    voice = f"{rng.choice(ACCENTS)}+{rng.choice(train_v if split == 'train' else test_v)}"
    args = ["-v", voice, "-s", str(rng.randint(120, 220)), "-p", str(rng.randint(20, 80)),
            "-g", str(rng.randint(0, 8)), "-a", str(rng.randint(60, 160))]
    return words, args


def utterance_wide(split, i, rate=None, foreign=None, slowest=80):
    """-> (words, espeak args) for wide utterance i of split 'train' | 'test': speeds `slowest`-400 wpm (or
    `rate`), a third of them read by another language's voice (`foreign` True/False forces the choice)."""
    rng = random.Random(f"{split}-wide:{i}")
    train_v, test_v = variants()
    n = rng.randint(1, 5)
    words = [rng.choice(WORDS) for _ in range(n)]
    if foreign is None:
        foreign = rng.random() < 1 / 3
    if foreign:
        accent = rng.choice(FOREIGN if split == "train" else FOREIGN_HELD_OUT)
    else:
        accent = rng.choice(ACCENTS + ["en-us-nyc"])
    voice = f"{accent}+{rng.choice(train_v if split == 'train' else test_v)}"
    speed = rng.randint(slowest, 400)
    args = ["-v", voice, "-s", str(rate or speed), "-p", str(rng.randint(20, 80)),
            "-g", str(rng.randint(0, 8)), "-a", str(rng.randint(60, 160))]
    return words, args


def synth(words, args):
    """-> int16 samples at 22,050 Hz."""
    out = subprocess.run(["espeak-ng", *args, "--stdout", " ".join(words)], check=True, capture_output=True).stdout
    # --stdout writes a streaming WAV header (sizes unset); the data chunk starts at byte 44
    return np.frombuffer(out[44:len(out) - (len(out) - 44) % 2], dtype="<i2").copy()


def write_wav(path, samples, rate=RATE):
    import struct
    data = samples.astype("<i2").tobytes()
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16))
        f.write(b"data" + struct.pack("<I", len(data)) + data)
