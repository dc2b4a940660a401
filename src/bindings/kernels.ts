// The kernel table: the single source of truth for the WASM module's interface (XNNPACK / ggml style).
// Each row names a kernel's arguments (pointers are byte offsets into the module's memory, every other argument
// a number), what it returns, the src/core file that is its only caller, the tests that check it and the
// `npm run bench` group that times it, and which build computes it differently.  `KernelExports` is derived from
// it, and test/kernel-table.test.ts checks the table against all four compiled modules (names, arity, geometry, and
// which kernels hold relaxed-SIMD code) and checks that every named wrapper, test and benchmark exists — adding a
// kernel without a row, or a row without a kernel, fails there.
//
// A test reference is "<file under test/>: <text that file contains>" (an it() title, or a fixture op name for
// the PyTorch fixture files).

export interface KernelSpec {
  readonly args: readonly string[];
  readonly returns: "void" | "i32";
  /** the src/core/ file that calls it; null for a building block exported only for its own test */
  readonly core: string | null;
  readonly tests: readonly string[];
  /** bench group (`npm run bench -- <group>`) */
  readonly bench: string;
  /** worker threads may run it on a share of the output (bindings/threads.ts) */
  readonly parallel?: true;
  /**
   * The build column: "madd" where the relaxed build computes the kernel with relaxed SIMD's fused multiply-add
   * (assembly/madd.ts), so its bits there differ from the exact build's; "dot" where it uses the int8 dot product
   * on operands that keep it exact (the same integers as the exact build); absent where both builds run the same
   * code.
   */
  readonly relaxed?: "madd" | "dot";
}

const GEMM_TESTS = [
  'kernels.json: "linear"',
  "kernel-edges.test.ts: GEMM: edge sizes, strides, batch invariance",
] as const;

export const KERNELS = {
  // f32 GEMM over packed panels (assembly/gemm.ts)
  sgemm_packed_size: { args: ["K", "N"], returns: "i32", core: "gemm.ts", tests: GEMM_TESTS, bench: "gemm" },
  sgemm_pack_b: {
    args: ["src", "rs", "cs", "K", "N", "dst"],
    returns: "void",
    core: "gemm.ts",
    tests: GEMM_TESTS,
    bench: "gemm",
  },
  sgemm_packed_a_size: { args: ["M", "K"], returns: "i32", core: "gemm.ts", tests: GEMM_TESTS, bench: "gemm" },
  sgemm_pack_a: {
    args: ["src", "lda", "M", "K", "dst"],
    returns: "void",
    core: "gemm.ts",
    tests: GEMM_TESTS,
    bench: "gemm",
  },
  sgemm_packed: {
    args: ["M", "N", "K", "A", "lda", "Ap", "Bp", "C", "ldc", "bias", "biasMode", "act"],
    returns: "void",
    core: "gemm.ts",
    tests: [...GEMM_TESTS, "threads.test.ts: 1, 2 and 3 threads give identical bits"],
    bench: "gemm",
    parallel: true,
    relaxed: "madd",
  },
  // the one-row GEMV inside lstm_steps_f32, exported so its test can compare it with sgemm directly
  sgemv_packed: {
    args: ["N", "K", "a", "Bp", "C", "bias", "biasMode", "reverse"],
    returns: "void",
    core: null,
    tests: ["kernel-edges.test.ts: the GEMV kernel (LSTM steps) gives sgemm's bits"],
    bench: "models",
    relaxed: "madd",
  },
  // convolution (assembly/conv.ts)
  im2col_pack: {
    args: ["x", "C", "H", "W", "KH", "KW", "sh", "sw", "ph", "pw", "dh", "dw", "OH", "OW", "dst"],
    returns: "void",
    core: "conv.ts",
    tests: ['kernels.json: "conv2d"', 'kernels.json: "conv1d"'],
    bench: "conv",
  },
  // elementwise (assembly/elementwise.ts)
  unary_f32: {
    args: ["op", "x", "out", "n"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "gelu"', "kernel-edges.test.ts: unary kernels: edge sizes"],
    bench: "models",
  },
  binary_f32: {
    args: ["op", "a", "b", "out", "rows", "cols", "bRows"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "sdpa"', 'kernels.json: "mha"'],
    bench: "models",
  },
  affine_f32: {
    args: ["x", "out", "n", "s", "t"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "spectrogram"', 'kernels.json: "silu"', "models.test.ts: models match PyTorch"],
    bench: "audio",
  },
  log_eps_f32: {
    args: ["x", "out", "n", "eps"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "log_mel"'],
    bench: "audio",
  },
  count_nonfinite_f32: {
    args: ["x", "n"],
    returns: "i32",
    core: "buf.ts",
    tests: ["errors.test.ts: names the NaN/inf count"],
    bench: "models",
  },
  // row kernels (assembly/rows.ts)
  softmax_f32: {
    args: ["x", "out", "rows", "n", "mask", "maskRows", "log"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "softmax"', "kernel-edges.test.ts: softmax / log_softmax vs float64"],
    bench: "models",
  },
  layernorm_f32: {
    args: ["x", "out", "rows", "n", "w", "b", "eps"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "layer_norm"', "kernel-edges.test.ts: layer norm vs float64"],
    bench: "models",
  },
  mean_mid_f32: {
    args: ["x", "out", "B", "T", "C"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "mean"'],
    bench: "models",
  },
  adaptive_avg_pool2d_f32: {
    args: ["x", "out", "P", "H", "W", "OH", "OW"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "adaptive_avg_pool2d"', 'kernels.json: "adaptive_avg_pool1d"'],
    bench: "models",
  },
  l2_normalize_f32: {
    args: ["x", "out", "rows", "n", "eps"],
    returns: "void",
    core: "elementwise.ts",
    tests: ['kernels.json: "normalize"'],
    bench: "models",
  },
  // LSTM (assembly/lstm.ts)
  lstm_cell_f32: {
    args: ["B", "H", "gh", "gx", "ldgx", "c", "hout", "ldh"],
    returns: "void",
    core: "lstm.ts",
    tests: ['kernels.json: "lstm_cell"', 'kernels.json: "lstm"'],
    bench: "models",
    relaxed: "madd",
  },
  lstm_steps_f32: {
    args: ["B", "T", "H", "gx", "whh", "bhh", "biasMode", "reverse", "out", "ldo", "colOff", "h0", "c", "gh"],
    returns: "void",
    core: "lstm.ts",
    tests: ['kernels.json: "lstm"', "threads.test.ts: 1, 2 and 3 threads give identical bits"],
    bench: "models",
    parallel: true,
    relaxed: "madd",
  },
  // FFT, STFT and mel (assembly/stft.ts, mel.ts)
  rfft_plan_size: {
    args: ["nfft"],
    returns: "i32",
    core: "spectral.ts",
    tests: ['kernels.json: "stft"'],
    bench: "audio",
  },
  rfft_work_size: {
    args: ["nfft"],
    returns: "i32",
    core: "spectral.ts",
    tests: ['kernels.json: "stft"'],
    bench: "audio",
  },
  rfft_plan_init: {
    args: ["nfft", "plan", "ws"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "stft"'],
    bench: "audio",
  },
  stft_complex_f32: {
    args: ["plan", "x", "T", "hop", "window", "ws", "out"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "stft"'],
    bench: "audio",
  },
  spectrogram_f32: {
    args: ["plan", "x", "T", "hop", "window", "ws", "out", "power"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "spectrogram"', 'audio.json: "spectrogram"'],
    bench: "audio",
  },
  mel_spectrogram_f32: {
    args: ["plan", "x", "T", "hop", "window", "ws", "fbIdx", "fbW", "nMels", "out", "power"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "mel"', "audio.test.ts: equals the offline transform bit for bit"],
    bench: "audio",
  },
  pad_reflect_f32: {
    args: ["x", "n", "pad", "out"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "stft"'],
    bench: "audio",
  },
  hann_window_f32: {
    args: ["n", "periodic", "out"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "stft"'],
    bench: "audio",
  },
  melscale_fbanks_f32: {
    args: ["nFreqs", "fMin", "fMax", "nMels", "sampleRate", "norm", "htk", "work", "fb"],
    returns: "void",
    core: "spectral.ts",
    tests: ['kernels.json: "fbanks"'],
    bench: "audio",
  },
  // torchaudio extras (assembly/spectral.ts, resample.ts)
  amplitude_to_db_f32: {
    args: ["x", "out", "n", "multiplier", "amin"],
    returns: "void",
    core: "spectral.ts",
    tests: ['audio.json: "amplitude_to_db"'],
    bench: "audio",
  },
  clamp_min_f32: {
    args: ["x", "out", "n", "floor"],
    returns: "void",
    core: "spectral.ts",
    tests: ['audio.json: "amplitude_to_db"'],
    bench: "audio",
  },
  pow_f32: {
    args: ["x", "out", "n", "p"],
    returns: "void",
    core: "spectral.ts",
    tests: ['audio.json: "spectrogram"'],
    bench: "audio",
  },
  create_dct_f32: {
    args: ["nMfcc", "nMels", "ortho", "out"],
    returns: "void",
    core: "spectral.ts",
    tests: ['audio.json: "mfcc"'],
    bench: "audio",
  },
  sinc_resample_taps: {
    args: ["origFreq", "newFreq", "width", "lowpassWidth", "baseFreq", "j", "i0", "n", "out"],
    returns: "void",
    core: "spectral.ts",
    tests: ['audio.json: "resample"', "hostile.test.ts: odd sample rates"],
    bench: "audio",
  },
  resample_poly_f32: {
    args: ["x", "origFreq", "newFreq", "kernel", "offs", "lo", "len", "out", "target"],
    returns: "void",
    core: "spectral.ts",
    tests: ['audio.json: "resample"', "hostile.test.ts: odd sample rates"],
    bench: "audio",
  },
  // int8 (assembly/int8.ts, qdynamic.ts)
  quantize_rows_i8: {
    args: ["x", "rows", "n", "q", "scale"],
    returns: "void",
    core: "quant.ts",
    tests: ["int8-scan.test.ts: quantizePerRow: scale = max|row| / 127"],
    bench: "retrieval",
  },
  i8_dequant_f32: {
    args: ["M", "N", "acc", "sa", "saStride", "sw", "swStride", "bias", "C"],
    returns: "void",
    core: "quant.ts",
    tests: ["int8-scan.test.ts: linearInt8 approximates the float product"],
    bench: "quantized",
  },
  quantize_dynamic_u8: {
    args: ["x", "n", "reduceRange", "q", "params", "width"],
    returns: "void",
    core: "quant.ts",
    tests: ["quantized.test.ts: quantizeModel matches torch.quantization.quantize_dynamic"],
    bench: "quantized",
  },
  quantize_weight_i8: {
    args: ["w", "n", "q", "scale"],
    returns: "void",
    core: "quant.ts",
    tests: ["quantized.test.ts: quantizeModel matches torch.quantization.quantize_dynamic"],
    bench: "quantized",
  },
  qgemm_nt_i32: {
    args: ["M", "N", "K", "A", "W", "acc", "ldc"],
    returns: "void",
    core: "quant.ts",
    tests: [
      "int8-scan.test.ts: qgemm (int16 activation codes x int8 weights) is exact",
      "threads.test.ts: 1, 2 and 3 threads give identical bits",
    ],
    bench: "quantized",
    parallel: true,
  },
  // torch's x86 (reduce_range) activation codes as bytes: relaxed SIMD's int8 dot product, exact for them
  qgemm_nt_u7_i32: {
    args: ["M", "N", "K", "A", "W", "acc", "ldc"],
    returns: "void",
    core: "quant.ts",
    tests: [
      "int8-scan.test.ts: qgemm u7 (uint8 activation codes 0..127 x int8 weights: relaxed int8 dot) is exact",
      "threads.test.ts: 1, 2 and 3 threads give identical bits",
    ],
    bench: "quantized",
    parallel: true,
    relaxed: "dot",
  },
  dq_linear_epilogue: {
    args: ["acc", "M", "N", "zp", "colSum", "scale", "bias", "relu", "y"],
    returns: "void",
    core: "quant.ts",
    tests: ["quantized.test.ts: quantizeModel matches torch.quantization.quantize_dynamic"],
    bench: "quantized",
  },
  widen_i8_i16: {
    args: ["src", "n", "dst"],
    returns: "void",
    core: "quant.ts",
    tests: ["int8-scan.test.ts: matmulInt8 is exact"],
    bench: "retrieval",
  },
  // retrieval scans (assembly/scan.ts)
  scan_f32: {
    args: ["q", "X", "N", "D", "ld", "scores"],
    returns: "void",
    core: "scan.ts",
    tests: ["int8-scan.test.ts: f32 scan equals the float64 dot product", 'kernels.json: "scan"'],
    bench: "retrieval",
    parallel: true,
  },
  scan_i8: {
    args: ["q", "X", "N", "D", "ld", "scores"],
    returns: "void",
    core: "scan.ts",
    tests: ["int8-scan.test.ts: int8 scan is exact"],
    bench: "retrieval",
  },
  scan_i8t_scaled: {
    args: ["q16", "X", "N", "D", "scales", "scores"],
    returns: "void",
    core: "scan.ts",
    tests: ["int8-scan.test.ts: tiled int8 scan: exact and scaled"],
    bench: "retrieval",
    parallel: true,
  },
  pack_i8_tiles: {
    args: ["src", "rows", "n", "D", "dst", "slot"],
    returns: "void",
    core: "scan.ts",
    tests: ["int8-scan.test.ts: tiled int8 scan: exact and scaled"],
    bench: "retrieval",
  },
  unpack_i8_tiles: {
    args: ["src", "slot", "rows", "D", "n", "dst"],
    returns: "void",
    core: "scan.ts",
    tests: ["int8-scan.test.ts: tiled int8 scan: exact and scaled"],
    bench: "retrieval",
  },
  scan_f32_ids: {
    args: ["q", "X", "D", "ld", "ids", "n", "scores"],
    returns: "void",
    core: "scan.ts",
    tests: ["retrieval.test.ts: MultimodalIndex search vs float64 brute force"],
    bench: "retrieval",
  },
  normalize_seed_f32: {
    args: ["x", "out", "rows", "n"],
    returns: "void",
    core: "scan.ts",
    tests: ["retrieval.test.ts: MultimodalIndex search vs float64 brute force"],
    bench: "retrieval",
  },
  topk_f32: {
    args: ["scores", "N", "k", "mask", "outScore", "outIndex"],
    returns: "i32",
    core: "scan.ts",
    tests: ["int8-scan.test.ts: topk matches a full sort"],
    bench: "retrieval",
  },
} as const satisfies Record<string, KernelSpec>;

/** Layout constants the module exports as globals (read by src/core/geometry.ts, never restated in TypeScript). */
export const GEOMETRY = [
  "SGEMM_PANEL_COLS",
  "SGEMM_TILE_ROWS",
  "I8_TILE_ROWS",
  "I8_TILE_BYTES",
  "QGEMM_TILE_COLS",
] as const;

export type KernelName = keyof typeof KERNELS;

/** Kernels a worker thread can run (derived from the table). */
export type ParallelKernel = {
  [K in KernelName]: (typeof KERNELS)[K] extends { parallel: true } ? K : never;
}[KernelName];
export const PARALLEL_KERNELS = (Object.keys(KERNELS) as KernelName[]).filter(
  (k): k is ParallelKernel => (KERNELS[k] as KernelSpec).parallel === true,
);
type Numbers<A> = A extends readonly unknown[] ? { -readonly [I in keyof A]: number } : never;
type Fn<S extends KernelSpec> = (...args: Numbers<S["args"]>) => S["returns"] extends "void" ? void : number;

/** The module's exports, typed from the table. */
export type KernelExports = { [K in KernelName]: Fn<(typeof KERNELS)[K]> } & {
  readonly HEAP_BASE: WebAssembly.Global;
} & { readonly [G in (typeof GEOMETRY)[number]]: WebAssembly.Global };
