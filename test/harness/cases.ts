// Runs one fixture case (scripts/fixtures/gen_kernels.py) through polymodal's public API.  The same table
// serves the Node tests, the browser parity page and the determinism checks.
import { Tensor, F } from "../../src/index.js";

export interface Case {
  id: string;
  op: string;
  inputs: string[];
  outputs: string[];
  opts: Record<string, any>;
}

export interface Tolerance {
  /** max |a - ref| / max(1, |ref|) */
  scaled: number;
  nmse: number;
  /** spectral outputs: max relative error where |ref| > relFloor x max|ref| */
  rel?: number;
  relFloor?: number;
  /** outputs are (..., 2) complex pairs: rel is measured on complex magnitudes */
  complex?: boolean;
  exact?: boolean;
}

/**
 * Tolerances.  f32 rounding error of a K-term dot product grows like sqrt(K) x 2^-24 for random signs and at
 * worst like K x 2^-24; 1e-5 covers K < 1000 with margin (the bound), and it grows as sqrt(K/1000)
 * beyond.  Transcendentals are within a few ulp (6e-8 relative each).  Spectra are compared relatively above
 * 1e-6 of their maximum, where the FFT's error (~log2(n) ulp of the largest bin) does not swamp the entry.
 */
export function tolerance(c: Case): Tolerance {
  const K: number = c.opts.K ?? 1;
  const grow = Math.max(1, Math.sqrt(K / 1000));
  switch (c.op) {
    case "int8_gemm":
      return { scaled: 0, nmse: 0, exact: true };
    case "stft":
      // Complex bins: |X - ref| / |ref| where |ref| > 1e-3 max|ref| (= 1e-6 of the peak power).
      return { scaled: 1e-4, nmse: 1e-9, rel: 1e-4, relFloor: 1e-3, complex: true };
    case "spectrogram":
    case "mel":
      return { scaled: 1e-4, nmse: 1e-9, rel: 1e-4, relFloor: 1e-6 };
    case "log_mel":
      // log(x + 1e-6): d(log) = dx / (x + 1e-6), so a 1e-4 relative error of x is <= 1e-4 absolute.
      return { scaled: 1e-4, nmse: 1e-10 };
    case "fbanks":
      // Weights are (f - p[m]) / (p[m+1] - p[m]): one ulp of difference between torch's powf and ours in a
      // mel point p is amplified by f / (p[m+1] - p[m]), up to ~20 ulp of the weight.
      return { scaled: 5e-6, nmse: 1e-10 };
    case "lstm":
    case "lstm_cell":
    case "mha":
      return { scaled: 2e-5 * grow, nmse: 1e-10 };
    default:
      return { scaled: 1e-5 * grow, nmse: 1e-10 };
  }
}

type Inputs = Record<string, Tensor>;

export function runCase(c: Case, t: Inputs): Record<string, Tensor> {
  const out = runOp(c, t);
  if (c.outputs.includes("y64")) out.y64 = out.y;
  return out;
}

function runOp(c: Case, t: Inputs): Record<string, Tensor> {
  const o = c.opts;
  switch (c.op) {
    case "linear":
      return { y: F.linear(t.x, t.w, t.b) };
    case "matmul":
      return { y: F.matmul(t.a, t.b) };
    case "conv2d":
      return {
        y: F.conv2d(t.x, t.w, t.b, { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups }),
      };
    case "conv1d":
      return {
        y: F.conv1d(t.x, t.w, t.b, { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups }),
      };
    case "softmax":
      return { y: F.softmax(t.x, o.dim) };
    case "log_softmax":
      return { y: F.logSoftmax(t.x, o.dim) };
    case "layer_norm":
      return { y: F.layerNorm(t.x, o.shape, t.w, t.b, o.eps) };
    case "relu":
      return { y: F.relu(t.x) };
    case "gelu":
      return { y: F.gelu(t.x) };
    case "sigmoid":
      return { y: F.sigmoid(t.x) };
    case "silu":
      return { y: F.silu(t.x) };
    case "tanh":
      return { y: F.tanh(t.x) };
    case "exp":
      return { y: F.exp(t.x) };
    case "log":
      return { y: F.log(t.x) };
    case "normalize":
      return { y: F.normalize(t.x, o.dim) };
    case "adaptive_avg_pool2d":
      return { y: F.adaptiveAvgPool2d(t.x, o.size) };
    case "adaptive_avg_pool1d":
      return { y: F.adaptiveAvgPool1d(t.x, o.size) };
    case "mean":
      return { y: F.mean(t.x, o.dim) };
    case "sdpa":
      return { y: F.scaledDotProductAttention(t.q, t.k, t.v, { keyPaddingMask: t.kpm }) };
    case "mha":
      return { y: mhaForward(t, o.heads) };
    case "lstm": {
      const r = F.lstmLayer(
        t.x,
        { weightIh: t.w_ih, weightHh: t.w_hh, biasIh: t.b_ih, biasHh: t.b_hh },
        { reverse: o.reverse },
      );
      return { y: r.output, h: r.h, c: r.c };
    }
    case "lstm_cell":
      return F.lstmCell(t.x, t.h0, t.c0, { weightIh: t.w_ih, weightHh: t.w_hh, biasIh: t.b_ih, biasHh: t.b_hh });
    case "stft": {
      const win = o.win_length ?? o.n_fft;
      return { y: F.stft(t.x, { nFft: o.n_fft, hopLength: o.hop, winLength: win, window: F.hannWindow(win) }) };
    }
    case "spectrogram":
      return { y: F.spectrogram(t.x, { nFft: o.n_fft, hopLength: o.hop, power: o.power }) };
    case "mel":
    case "log_mel": {
      const m = F.melSpectrogram(t.x, {
        sampleRate: o.sample_rate,
        nFft: o.n_fft,
        hopLength: o.hop,
        nMels: o.n_mels,
        fMin: o.f_min,
        fMax: o.f_max,
        norm: o.norm ?? null,
        melScale: o.mel_scale,
        power: o.power,
      });
      return { y: c.op === "log_mel" ? F.logEps(m, 1e-6) : m };
    }
    case "fbanks":
      return { y: F.melscaleFbanks(o.n_freqs, o.f_min, o.f_max, o.n_mels, o.sample_rate, o.norm, o.mel_scale) };
    case "int8_gemm": {
      const a = Int8Array.from(t.a.data),
        b = Int8Array.from(t.b.data);
      return { y: new Tensor(F.matmulInt8(a, b, o.M, o.N, o.K), [o.M, o.N]) };
    }
    case "scan":
      return { y: F.similarityScan(t.q, t.X) };
    default:
      throw new Error(`no runner for op ${c.op}`);
  }
}

/** nn.MultiheadAttention(batch_first) forward composed from F ops, as torch 1.13 computes it. */
function mhaForward(t: Inputs, heads: number): Tensor {
  const [B, L, E] = t.x.shape;
  const D = E / heads;
  const qkv = F.linear(t.x, t.in_proj_weight, t.in_proj_bias); // (B, L, 3E)
  const split = (which: number): Tensor => {
    const out = new Float32Array(B * heads * L * D);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < L; i++)
          for (let d = 0; d < D; d++)
            out[((b * heads + h) * L + i) * D + d] = qkv.data[(b * L + i) * 3 * E + which * E + h * D + d];
    return new Tensor(out, [B, heads, L, D]);
  };
  const att = F.scaledDotProductAttention(split(0), split(1), split(2), { keyPaddingMask: t.kpm }); // (B, H, L, D)
  const merged = new Float32Array(B * L * E);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < L; i++)
        for (let d = 0; d < D; d++) merged[(b * L + i) * E + h * D + d] = att.data[((b * heads + h) * L + i) * D + d];
  return F.linear(new Tensor(merged, [B, L, E]), t.out_proj_weight, t.out_proj_bias);
}
