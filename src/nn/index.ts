// torch.nn-style layers whose field names are PyTorch's attribute names, so stateDict() keys are PyTorch's.
export { Module } from "./module.js";
export type { LoadOptions } from "./module.js";
export { Parameter, withoutInit } from "./parameter.js";
export { Layer } from "./layer.js";
export { Linear, Embedding } from "./linear.js";
export { Conv1d, Conv2d } from "./conv.js";
export {
  LayerNorm,
  GroupNorm,
  ReLU,
  Sigmoid,
  SiLU,
  GELU,
  Tanh,
  Dropout,
  Identity,
  Flatten,
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
} from "./basic.js";
export { Sequential, ModuleList, ModuleDict } from "./containers.js";
export { MultiheadAttention } from "./attention.js";
export { TransformerEncoderLayer, TransformerEncoder } from "./transformer.js";
export type { TransformerEncoderLayerOptions } from "./transformer.js";
export { LSTM } from "./lstm.js";
export { DynamicQuantizedLinear, DynamicQuantizedLSTM } from "./quantized.js";
export type { LSTMOptions, LSTMOutput } from "./lstm.js";
export { quantizeDynamic } from "./quantize.js";
export { MODALITIES, isEmbedder, isNamedForward, encoderFor } from "./embedder.js";
export type { Modality, ModalityEncoder, Embedder, NamedForward } from "./embedder.js";
