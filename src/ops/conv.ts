// Convolution = im2col written straight into packed GEMM panels, then W (Cout/g, Cin/g*kh*kw) x cols.
import { heap as getHeap, convInto, convOutSize, type ConvGeometry } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { f32, fail, putFinite } from "./check.js";

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}
export interface Conv1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

function pair(
  op: string,
  name: string,
  v: number | [number, number] | undefined,
  dflt: number,
  min: number,
): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || p.some((x) => !Number.isInteger(x) || x < min)) {
    fail(op, `${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Shared 2-D core: x (B, C, H, W) viewed as images; conv1d calls it with H = 1. */
function convCore(
  op: string,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  B: number,
  C: number,
  H: number,
  W: number,
  KH: number,
  KW: number,
  s: [number, number],
  p: [number, number],
  d: [number, number],
  groups: number,
): { data: Float32Array; OH: number; OW: number; Cout: number } {
  const Cout = weight.shape[0];
  if (!Number.isInteger(groups) || groups < 1) fail(op, `groups must be a positive integer, got ${groups}`);
  if (C % groups !== 0 || Cout % groups !== 0) {
    fail(op, `in_channels (${C}) and out_channels (${Cout}) must both be divisible by groups (${groups})`);
  }
  const Cg = C / groups;
  if (weight.shape[1] !== Cg) {
    fail(
      op,
      `weight ${fmtShape(weight.shape)} expects ${weight.shape[1] * groups} input channels (groups=${groups}), ` +
        `input has ${C} (shape ${fmtShape(input.shape)})`,
    );
  }
  if (bias) {
    f32(op, "bias", bias);
    if (bias.ndim !== 1 || bias.shape[0] !== Cout)
      fail(op, `bias must have shape [${Cout}], got ${fmtShape(bias.shape)}`);
  }
  const g: ConvGeometry = { B, C, H, W, Cout, KH, KW, stride: s, padding: p, dilation: d, groups };
  const [OH, OW] = convOutSize(g);
  if (OH < 1 || OW < 1) {
    fail(
      op,
      `input spatial size ${fmtShape(input.shape.slice(2))} is too small for ` +
        `kernel ${KH === 1 && op === "F.conv1d" ? `[${KW}]` : `[${KH}, ${KW}]`} with padding ${JSON.stringify(p)} ` +
        `and dilation ${JSON.stringify(d)}`,
    );
  }
  const heap = getHeap();
  const data = heap.scope(() => {
    const px = putFinite(op, "input", input);
    const pw = putFinite(op, "weight", weight);
    const pb = bias ? putFinite(op, "bias", bias) : 0;
    const out = heap.alloc(B * Cout * OH * OW * 4);
    convInto(px, pw, pb, g, 0, out);
    return heap.takeF32(out, B * Cout * OH * OW);
  });
  return { data, OH, OW, Cout };
}

/**
 * 2-D convolution as torch.nn.functional.conv2d (zero padding).  input (B, C, H, W) or (C, H, W),
 * weight (Cout, C/groups, kh, kw).
 * @example
 * const y = F.conv2d(Tensor.zeros([1, 3, 224, 224]), Tensor.zeros([64, 3, 7, 7]), null, { stride: 2, padding: 3 });
 * y.shape; // [1, 64, 112, 112]
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  const op = "F.conv2d";
  f32(op, "input", input);
  f32(op, "weight", weight);
  if (input.ndim !== 3 && input.ndim !== 4)
    fail(op, `input must be 3-D (C, H, W) or 4-D (B, C, H, W), got shape ${fmtShape(input.shape)}`);
  if (weight.ndim !== 4)
    fail(op, `weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape ${fmtShape(weight.shape)}`);
  const batched = input.ndim === 4;
  const [B, C, H, W] = batched ? input.shape : [1, ...input.shape];
  const s = pair(op, "stride", options.stride, 1, 1);
  const p = pair(op, "padding", options.padding, 0, 0);
  const d = pair(op, "dilation", options.dilation, 1, 1);
  const r = convCore(
    op,
    input,
    weight,
    bias,
    B,
    C,
    H,
    W,
    weight.shape[2],
    weight.shape[3],
    s,
    p,
    d,
    options.groups ?? 1,
  );
  return new Tensor(r.data, batched ? [B, r.Cout, r.OH, r.OW] : [r.Cout, r.OH, r.OW]);
}

/**
 * 1-D convolution as torch.nn.functional.conv1d (zero padding).  input (B, C, L) or (C, L),
 * weight (Cout, C/groups, k).
 */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: Conv1dOptions = {}): Tensor {
  const op = "F.conv1d";
  f32(op, "input", input);
  f32(op, "weight", weight);
  if (input.ndim !== 2 && input.ndim !== 3)
    fail(op, `input must be 2-D (C, L) or 3-D (B, C, L), got shape ${fmtShape(input.shape)}`);
  if (weight.ndim !== 3)
    fail(op, `weight must be 3-D (out_channels, in_channels/groups, k), got shape ${fmtShape(weight.shape)}`);
  const batched = input.ndim === 3;
  const [B, C, L] = batched ? input.shape : [1, ...input.shape];
  const one = (name: string, v: number | undefined, dflt: number, min: number): number => {
    const x = v ?? dflt;
    if (!Number.isInteger(x) || x < min) fail(op, `${name} must be an integer >= ${min}, got ${v}`);
    return x;
  };
  const s = one("stride", options.stride, 1, 1),
    p = one("padding", options.padding, 0, 0),
    d = one("dilation", options.dilation, 1, 1);
  const r = convCore(
    op,
    input,
    weight,
    bias,
    B,
    C,
    1,
    L,
    1,
    weight.shape[2],
    [1, s],
    [0, p],
    [1, d],
    options.groups ?? 1,
  );
  return new Tensor(r.data, batched ? [B, r.Cout, r.OW] : [r.Cout, r.OW]);
}
