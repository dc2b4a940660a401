// Streaming mel spectrogram: push chunks as they arrive (an AudioWorklet, a socket), get the frames that are
// complete; flush() at the end.  For any chunking, the concatenated frames equal the offline
// MelSpectrogram (center=True, reflect padding) bit for bit: each frame is computed by the same kernel from
// the same samples, and the kernel's SIMD lanes never mix frames.
import * as core from "../core/index.js";
import { Tensor } from "../tensor.js";
import { hannWindow, melscaleFbanks, sparseFbanks } from "../ops/audio.js";
import type { MelSpectrogramOptions } from "../ops/audio.js";

/** MelSpectrogram's options, centre reflect framing (what streaming reproduces), power 1 or 2. */
export type StreamingMelOptions = Pick<
  MelSpectrogramOptions,
  "sampleRate" | "nFft" | "winLength" | "hopLength" | "fMin" | "fMax" | "nMels" | "norm" | "melScale"
> & {
  power?: 1 | 2;
};

/**
 * @example
 * const stream = new StreamingMelSpectrogram({ sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 });
 * for (const chunk of chunks) handle(stream.push(chunk));  // (nMels, newFrames) each time
 * handle(stream.flush());
 */
export class StreamingMelSpectrogram {
  readonly nFft: number;
  readonly hop: number;
  readonly nMels: number;
  readonly power: 1 | 2;
  private readonly pad: number;
  private readonly window: Float32Array;
  private readonly fbIdx: Int32Array;
  private readonly fbW: Float32Array;
  private buf = new Float32Array(1024);
  private bufStart = 0; // absolute index of buf[0]
  private bufLen = 0; // valid samples in buf
  private head = new Float32Array(0); // the first pad + 1 samples, kept for the left reflection
  private total = 0; // samples pushed so far
  private next = 0; // next frame to emit
  private done = false;

  constructor(options: StreamingMelOptions = {}) {
    const sr = options.sampleRate ?? 16000;
    this.nFft = options.nFft ?? 400;
    const win = options.winLength ?? this.nFft;
    this.hop = options.hopLength ?? Math.floor(win / 2);
    this.nMels = options.nMels ?? 128;
    this.power = options.power ?? 2;
    if (![this.nFft, win, this.hop, this.nMels].every((v) => Number.isInteger(v) && v > 0) || win > this.nFft) {
      throw new Error(
        `StreamingMelSpectrogram: nFft, winLength <= nFft, hopLength and nMels must be positive integers`,
      );
    }
    if (this.power !== 1 && this.power !== 2)
      throw new Error(`StreamingMelSpectrogram: power must be 1 or 2, got ${this.power}`);
    this.pad = Math.floor(this.nFft / 2);
    const w = hannWindow(win).data as Float32Array;
    this.window = new Float32Array(this.nFft);
    this.window.set(w, Math.floor((this.nFft - win) / 2));
    const fb = melscaleFbanks(
      Math.floor(this.nFft / 2) + 1,
      options.fMin ?? 0,
      options.fMax ?? sr / 2,
      this.nMels,
      sr,
      options.norm ?? null,
      options.melScale ?? "htk",
    );
    const sp = sparseFbanks(fb);
    this.fbIdx = sp.idx;
    this.fbW = sp.w;
  }

  /** Appends samples; returns the frames completed by them, (nMels, n) with n >= 0. */
  push(chunk: Float32Array | Tensor): Tensor {
    if (this.done)
      throw new Error("StreamingMelSpectrogram.push: the stream was flushed; call reset() to start a new one");
    const x =
      chunk instanceof Tensor
        ? chunk.ndim === 1 && chunk.dtype === "float32"
          ? (chunk.data as Float32Array)
          : null
        : chunk instanceof Float32Array
          ? chunk
          : null;
    if (!x) throw new Error("StreamingMelSpectrogram.push: chunk must be a Float32Array or a 1-D float32 Tensor");
    for (let i = 0; i < x.length; i++)
      if (!Number.isFinite(x[i]))
        throw new Error(`StreamingMelSpectrogram.push: sample ${i} of the chunk is ${x[i]}; expected finite numbers`);
    this.append(x);
    // frame t needs absolute samples up to t*hop - pad + nFft - 1
    let end = this.next;
    // frame 0's left reflection reads sample `pad`, so nothing is complete before pad + 1 samples
    if (this.total > this.pad) while (end * this.hop - this.pad + this.nFft <= this.total) end++;
    return this.emit(end, -1);
  }

  /** Ends the stream: the remaining frames, with reflect padding at the end, as the offline transform. */
  flush(): Tensor {
    if (this.done) throw new Error("StreamingMelSpectrogram.flush: already flushed");
    const L = this.total;
    if (L <= this.pad)
      throw new Error(
        `StreamingMelSpectrogram.flush: reflect padding of ${this.pad} needs more than ${this.pad} samples, got ${L}`,
      );
    const T = 1 + Math.floor((L + 2 * this.pad - this.nFft) / this.hop);
    const out = this.emit(T, L);
    this.done = true;
    return out;
  }

  /** Forgets everything, ready for a new stream. */
  reset(): void {
    this.bufStart = this.bufLen = this.total = this.next = 0;
    this.head = new Float32Array(0);
    this.done = false;
  }

  private append(x: Float32Array): void {
    if (this.head.length < this.pad + 1) {
      const h = new Float32Array(Math.min(this.pad + 1, this.head.length + x.length));
      h.set(this.head);
      h.set(x.subarray(0, h.length - this.head.length), this.head.length);
      this.head = h;
    }
    // Drop samples no future frame reads.  Frame `next` starts at next*hop - pad; the right-edge reflection of
    // the last frame can reach just before its start, so keep a margin of nFft.
    const keepFrom = Math.max(0, this.next * this.hop - this.pad - this.nFft);
    if (keepFrom > this.bufStart) {
      const drop = Math.min(this.bufLen, keepFrom - this.bufStart);
      this.buf.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
    if (this.bufLen + x.length > this.buf.length) {
      const nb = new Float32Array(Math.max(this.buf.length * 2, this.bufLen + x.length));
      nb.set(this.buf.subarray(0, this.bufLen));
      this.buf = nb;
    }
    this.buf.set(x, this.bufLen);
    this.bufLen += x.length;
    this.total += x.length;
  }

  /** Sample at absolute padded-signal index p (offline: reflect-padded by pad on both sides, length L). */
  private sample(p: number, L: number): number {
    let i = p - this.pad;
    if (i < 0) return this.head[-i];
    if (L >= 0 && i >= L) i = 2 * (L - 1) - i;
    return this.buf[i - this.bufStart];
  }

  private emit(end: number, L: number): Tensor {
    const n = end - this.next;
    if (n <= 0) return new Tensor(new Float32Array(0), [this.nMels, 0]);
    const heap = core.heap();
    const plan = core.rfftPlan(this.nFft);
    const t0 = this.next;
    const span = (n - 1) * this.hop + this.nFft;
    const out = heap.scope(() => {
      const region = heap.alloc((span + this.nFft) * 4);
      const rv = heap.f32(region, span + this.nFft);
      rv.fill(0);
      for (let j = 0; j < span; j++) rv[j] = this.sample(t0 * this.hop + j, L);
      const pw = heap.put(this.window);
      const ws = core.fftWork(this.nFft);
      const pi = heap.put(this.fbIdx),
        pf = heap.put(this.fbW);
      const o = heap.alloc(this.nMels * n * 4);
      core.melFrames(plan, region, n, this.hop, pw, ws, pi, pf, this.nMels, o, this.power);
      return heap.takeF32(o, this.nMels * n);
    });
    this.next = end;
    return new Tensor(out, [this.nMels, n]);
  }
}
