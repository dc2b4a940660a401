import * as core from "../core/index.js";
import { type Buf, view } from "../core/index.js";
import { Parameter, uniformInit, nextSeed } from "./parameter.js";
import { Layer, expectShape, expectFloat } from "./layer.js";

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : v);

export interface ConvOptions<P> {
  stride?: P;
  padding?: P;
  dilation?: P;
  groups?: number;
  bias?: boolean;
}

function checkConv(who: string, inC: number, outC: number, groups: number, vals: number[]): void {
  if (!Number.isInteger(groups) || groups < 1 || inC % groups || outC % groups) {
    throw new Error(`${who}: in_channels (${inC}) and out_channels (${outC}) must be divisible by groups (${groups})`);
  }
  if (vals.some((v) => !Number.isInteger(v) || v < 0))
    throw new Error(
      `${who}: kernel/stride/padding/dilation must be non-negative integers, got ${JSON.stringify(vals)}`,
    );
}

/** nn.Conv2d (zero padding).  State: weight (out, in/groups, kh, kw), bias (out). */
export class Conv2d extends Layer {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    o: ConvOptions<Pair> = {},
  ) {
    super();
    const ks = pair(kernelSize);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    checkConv("Conv2d", inChannels, outChannels, this.groups, [
      ...ks,
      ...this.stride,
      ...this.padding,
      ...this.dilation,
    ]);
    const bound = 1 / Math.sqrt(Math.max(1, (inChannels / this.groups) * ks[0] * ks[1]));
    this.weight = new Parameter(
      [outChannels, inChannels / this.groups, ks[0], ks[1]],
      "raw",
      uniformInit(bound, nextSeed()),
    );
    this.bias = (o.bias ?? true) ? new Parameter([outChannels], "raw", uniformInit(bound, nextSeed())) : null;
  }
  run(x: Buf, act = 0): Buf {
    expectFloat("Conv2d", x);
    expectShape(
      "Conv2d",
      "input",
      x,
      x.shape.length === 4 && x.shape[1] === this.inChannels,
      `(B, ${this.inChannels}, H, W)`,
    );
    const [, , KH, KW] = this.weight.shape;
    const OH = Math.floor((x.shape[2] + 2 * this.padding[0] - this.dilation[0] * (KH - 1) - 1) / this.stride[0]) + 1;
    const OW = Math.floor((x.shape[3] + 2 * this.padding[1] - this.dilation[1] * (KW - 1) - 1) / this.stride[1]) + 1;
    expectShape("Conv2d", "input", x, OH >= 1 && OW >= 1, `at least the ${KH}x${KW} kernel's extent`);
    return core.conv(x, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups, act);
  }
}

/** nn.Conv1d (zero padding).  State: weight (out, in/groups, k), bias (out).  Input (B, C, L). */
export class Conv1d extends Layer {
  weight: Parameter;
  bias: Parameter | null;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    o: ConvOptions<number> = {},
  ) {
    super();
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.dilation = o.dilation ?? 1;
    this.groups = o.groups ?? 1;
    checkConv("Conv1d", inChannels, outChannels, this.groups, [kernelSize, this.stride, this.padding, this.dilation]);
    const bound = 1 / Math.sqrt(Math.max(1, (inChannels / this.groups) * kernelSize));
    this.weight = new Parameter(
      [outChannels, inChannels / this.groups, kernelSize],
      "raw",
      uniformInit(bound, nextSeed()),
    );
    this.bias = (o.bias ?? true) ? new Parameter([outChannels], "raw", uniformInit(bound, nextSeed())) : null;
  }
  run(x: Buf, act = 0): Buf {
    expectFloat("Conv1d", x);
    expectShape(
      "Conv1d",
      "input",
      x,
      x.shape.length === 3 && x.shape[1] === this.inChannels,
      `(B, ${this.inChannels}, L)`,
    );
    const K = this.weight.shape[2];
    const L = Math.floor((x.shape[2] + 2 * this.padding - this.dilation * (K - 1) - 1) / this.stride) + 1;
    expectShape("Conv1d", "input", x, L >= 1, `long enough for kernel ${K}`);
    const [B, C, Lin] = x.shape;
    const y = core.conv(
      view(x, [B, C, 1, Lin]),
      this.weight,
      this.bias,
      [1, this.stride],
      [0, this.padding],
      [1, this.dilation],
      this.groups,
      act,
    );
    return view(y, [B, this.outChannels, L]);
  }
}
