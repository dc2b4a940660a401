// torch.quantization.quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=torch.qint8) over a module tree: a copy
// whose Linear and LSTM children are their dynamic int8 versions (quantized.ts), everything else cloned.
import { Module } from "./module.js";
import { Parameter } from "./parameter.js";
import { Linear } from "./linear.js";
import { LSTM } from "./lstm.js";
import { MultiheadAttention } from "./attention.js";
import { DynamicQuantizedLinear, DynamicQuantizedLSTM } from "./quantized.js";

export interface QuantizeOptions {
  /**
   * Activation codes in [0, 127] (true, default: torch's x86 engines fbgemm and onednn) or [0, 255] (false:
   * torch's qnnpack, the ARM/mobile engine, reproduced bit for bit).
   */
  reduceRange?: boolean;
}

const ROOT = {}; // the parent of the model being quantised

/**
 * A quantised copy of model (model itself is left as it was): every nn.Linear and nn.LSTM child becomes its dynamic
 * int8 version, except a MultiheadAttention's out_proj, which torch leaves in float too, and the model itself (torch
 * swaps a model's children, so quantise a lone layer as `new nn.Sequential(layer)`).  Shared children stay shared.
 * @example
 * const q = quantizeDynamic(new nn.Sequential(new nn.Linear(64, 32)));
 */
export function quantizeDynamic<T extends Module>(model: T, options: QuantizeOptions = {}): T {
  const seen = new Map<object, unknown>();
  const copy = (v: unknown, parent: object, field: string): unknown => {
    if (!(v instanceof Module) && !(v instanceof Parameter)) return v;
    if (seen.has(v)) return seen.get(v);
    let out: unknown;
    if (v instanceof Parameter) {
      out = v.clone();
    } else if (
      v.constructor === Linear &&
      parent !== ROOT &&
      !(parent instanceof MultiheadAttention && field === "out_proj")
    ) {
      out = DynamicQuantizedLinear.fromFloat(v as Linear, options);
    } else if (v.constructor === LSTM && parent !== ROOT) {
      out = DynamicQuantizedLSTM.fromFloat(v as LSTM, options);
    } else {
      const m = Object.create(Object.getPrototypeOf(v)) as object;
      seen.set(v, m);
      for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(v))) {
        Object.defineProperty(m, name, "value" in d ? { ...d, value: copy(d.value, v, name) } : d);
      }
      out = m;
    }
    seen.set(v, out);
    return out;
  };
  return copy(model, ROOT, "") as T;
}
