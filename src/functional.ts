// The functional API, mirroring torch.nn.functional (camelCase), exported as `F`.
export { linear, matmul } from "./ops/linear.js";
export { conv1d, conv2d } from "./ops/conv.js";
export type { Conv1dOptions, Conv2dOptions } from "./ops/conv.js";
export { relu, gelu, sigmoid, silu, tanh, exp, log, add, sub, mul, div } from "./ops/elementwise.js";
export { softmax, logSoftmax } from "./ops/softmax.js";
export { layerNorm, normalize } from "./ops/norm.js";
export { adaptiveAvgPool1d, adaptiveAvgPool2d, mean } from "./ops/pooling.js";
export { scaledDotProductAttention } from "./ops/attention.js";
export type { AttentionOptions } from "./ops/attention.js";
export { lstmLayer, lstmCell } from "./ops/lstm.js";
export type { LSTMWeights } from "./ops/lstm.js";
export { stft, spectrogram, melSpectrogram, melscaleFbanks, hannWindow, logEps } from "./ops/audio.js";
export type { STFTOptions, SpectrogramOptions, MelSpectrogramOptions, MelNorm, MelScale } from "./ops/audio.js";
export { quantizePerRow, linearInt8, matmulInt8 } from "./ops/quant.js";
export type { QuantizedRows } from "./ops/quant.js";
export { similarityScan, similarityScanInt8, topk } from "./ops/scan.js";
