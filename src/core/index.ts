// The op core's public surface: the only way code above src/core/ reaches the kernels.  Everything here takes
// pointers into WASM memory or scratch Bufs and assumes its caller checked shapes (F does, for users; layers
// and models check their own inputs).  kernels() itself is not exported: test/layers.test.ts fails if any file
// outside src/core/ and src/bindings/ imports the kernel exports.
export { heap, pool, threadCount, simdBuild, scope } from "./runtime.js";
export { panelCols, tileRows, i8TileRows, i8TileBytes, qgemmTileCols } from "./geometry.js";
export {
  type Buf,
  type WeightRef,
  size,
  empty,
  zeros,
  countNonfinite,
  putFinite,
  put,
  fromTensor,
  toTensor,
  view,
  rows,
  copy,
} from "./buf.js";
export {
  Bias,
  gemmNT,
  gemmNN,
  matmulBatch,
  gemmPacked,
  packedSize,
  packB,
  packWeightScratch,
  unpackWeight,
  linear,
  linearRaw,
} from "./gemm.js";
export {
  type Unary,
  type Binary,
  unary,
  binary,
  affine,
  silu,
  logEps,
  softmaxRows,
  layerNormRows,
  l2NormalizeRows,
  meanMid,
  adaptiveAvgPool,
  unaryInPlace,
  addInPlace,
  layerNorm,
  meanAxis1,
  l2normalize,
  transpose12,
} from "./elementwise.js";
export { type ConvGeometry, convOutSize, convInto, conv } from "./conv.js";
export {
  type HeadLayout,
  attention,
  attentionContiguous,
  divideRows,
  attentionCore,
  paddingMaskBuf,
} from "./attention.js";
export { type LSTMDirection, lstmCellStep, lstmRecurrence, lstmBidirectional, lstmLayerRowMajor } from "./lstm.js";
export {
  rfftPlan,
  fftWork,
  hannWindowInto,
  melFrames,
  melscaleFbanksInto,
  amplitudeToDb,
  clampMin,
  powInto,
  createDct,
  type ResampleKernel,
  resampleKernel,
  resamplePoly,
  type FrameSpec,
  type SpectralOutput,
  type SpectralPost,
  framesOf,
  spectra,
  spectraThen,
} from "./spectral.js";
export { quantizeRows, widenI8, qgemm, int8Products, linearInt8Rows, quantizeWeight, dynamicLinear } from "./quant.js";
export {
  i8RowBytes,
  scanF32,
  scanI8,
  scanI8Tiled,
  packI8Tiles,
  unpackI8Tiles,
  scanF32Ids,
  normalizeSeedRows,
  topkPairs,
} from "./scan.js";
