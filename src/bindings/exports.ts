// Typed view of the kernel module's exports (assembly/index.ts).  Pointers are byte offsets into the
// module's memory; every function is pure over that memory.
export interface KernelExports {
  HEAP_BASE: WebAssembly.Global;
  sgemm_packed_size(K: number, N: number): number;
  sgemm_pack_b(src: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  sgemm_packed_a_size(M: number, K: number): number;
  sgemm_pack_a(src: number, lda: number, M: number, K: number, dst: number): void;
  sgemm_packed(
    M: number, N: number, K: number, A: number, lda: number, Ap: number, Bp: number, C: number, ldc: number,
    bias: number, biasMode: number, act: number,
  ): void;
  sgemv_packed(N: number, K: number, a: number, Bp: number, C: number, bias: number, biasMode: number, reverse: number): void;
  im2col_pack(
    x: number, C: number, H: number, W: number, KH: number, KW: number, sh: number, sw: number,
    ph: number, pw: number, dh: number, dw: number, OH: number, OW: number, dst: number,
  ): void;
  unary_f32(op: number, x: number, out: number, n: number): void;
  binary_f32(op: number, a: number, b: number, out: number, rows: number, cols: number, bRows: number): void;
  affine_f32(x: number, out: number, n: number, s: number, t: number): void;
  log_eps_f32(x: number, out: number, n: number, eps: number): void;
  count_nonfinite_f32(x: number, n: number): number;
  softmax_f32(x: number, out: number, rows: number, n: number, mask: number, maskRows: number, log: number): void;
  layernorm_f32(x: number, out: number, rows: number, n: number, w: number, b: number, eps: number): void;
  mean_mid_f32(x: number, out: number, B: number, T: number, C: number): void;
  adaptive_avg_pool2d_f32(x: number, out: number, P: number, H: number, W: number, OH: number, OW: number): void;
  l2_normalize_f32(x: number, out: number, rows: number, n: number, eps: number): void;
  lstm_cell_f32(B: number, H: number, gh: number, gx: number, ldgx: number, c: number, hout: number, ldh: number): void;
  lstm_steps_f32(B: number, T: number, H: number, gx: number, whh: number, bhh: number, biasMode: number, reverse: number, out: number, ldo: number, colOff: number, h0: number, c: number, gh: number): void;
  cfft_plan_size(n: number): number;
  cfft_work_size(n: number): number;
  cfft_plan_init(n: number, plan: number, ws: number): void;
  cfft4(plan: number, x: number, out: number, ws: number): void;
  rfft_plan_size(nfft: number): number;
  rfft_work_size(nfft: number): number;
  rfft_plan_init(nfft: number, plan: number, ws: number): void;
  stft_complex_f32(plan: number, x: number, T: number, hop: number, window: number, ws: number, out: number): void;
  spectrogram_f32(plan: number, x: number, T: number, hop: number, window: number, ws: number, out: number, power: number): void;
  mel_spectrogram_f32(
    plan: number, x: number, T: number, hop: number, window: number, ws: number,
    fbIdx: number, fbW: number, nMels: number, out: number, power: number,
  ): void;
  pad_reflect_f32(x: number, n: number, pad: number, out: number): void;
  hann_window_f32(n: number, periodic: number, out: number): void;
  melscale_fbanks_f32(
    nFreqs: number, fMin: number, fMax: number, nMels: number, sampleRate: number, norm: number, htk: number,
    work: number, fb: number,
  ): void;
  i8_dequant_f32(M: number, N: number, acc: number, sa: number, saStride: number, sw: number, swStride: number, bias: number, C: number): void;
  quantize_rows_i8(x: number, rows: number, n: number, q: number, scale: number): void;
  resample_poly_f32(x: number, origFreq: number, newFreq: number, kernel: number, K: number, lo: number, len: number, out: number, target: number): void;
  sinc_resample_kernel(origFreq: number, newFreq: number, width: number, lowpassWidth: number, baseFreq: number, out: number): void;
  amplitude_to_db_f32(x: number, out: number, n: number, multiplier: number, amin: number): void;
  clamp_min_f32(x: number, out: number, n: number, floor: number): void;
  pow_f32(x: number, out: number, n: number, p: number): void;
  create_dct_f32(nMfcc: number, nMels: number, ortho: number, out: number): void;
  quantize_dynamic_u8(x: number, n: number, reduceRange: number, q: number, params: number): void;
  quantize_weight_i8(w: number, n: number, q: number, scale: number): void;
  qgemm_nt_i32(M: number, N: number, K: number, A: number, W: number, acc: number, ldc: number): void;
  dq_linear_epilogue(acc: number, M: number, N: number, zp: number, colSum: number, scale: number, bias: number, relu: number, y: number): void;
  scan_f32(q: number, X: number, N: number, D: number, ld: number, scores: number): void;
  scan_i8(q: number, X: number, N: number, D: number, ld: number, scores: number): void;
  scan_i8_scaled(q: number, X: number, N: number, D: number, ld: number, scales: number, scores: number): void;
  widen_i8_i16(src: number, n: number, dst: number): void;
  scan_i8t_scaled(q16: number, X: number, N: number, D: number, scales: number, scores: number): void;
  pack_i8_tiles(src: number, rows: number, n: number, D: number, dst: number, slot: number): void;
  unpack_i8_tiles(src: number, slot: number, rows: number, D: number, n: number, dst: number): void;
  scan_f32_ids(q: number, X: number, D: number, ld: number, ids: number, n: number, scores: number): void;
  normalize_seed_f32(x: number, out: number, rows: number, n: number): void;
  topk_f32(scores: number, N: number, k: number, mask: number, outScore: number, outIndex: number): number;
}

/** Op codes shared with assembly/elementwise.ts. */
export const UnaryOp = { relu: 0, gelu: 1, sigmoid: 2, tanh: 3, exp: 4, log: 5 } as const;
export const BinaryOp = { add: 0, sub: 1, mul: 2, div: 3 } as const;
