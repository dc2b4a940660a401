// The ONNX graph being written: nodes, initializers and fresh names, plus small shape helpers the layer and
// model writers share.
import type { Tensor } from "../tensor.js";
import type { Parameter } from "../nn/parameter.js";
import { nodeProto, tensorProto, type AttrValue } from "./proto.js";

export class Graph {
  readonly nodes: Uint8Array[] = [];
  readonly initializers: Uint8Array[] = [];
  private n = 0;
  private fresh(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op.toLowerCase()));
    this.nodes.push(nodeProto(op, inputs, outs, attrs, this.fresh(op)));
    return outs;
  }
  op1(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(op, inputs, attrs)[0];
  }

  constF(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }
  constI(prefix: string, values: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, [values.length], BigInt64Array.from(values.map(BigInt))));
    return name;
  }
  /** A constant of a sample's dtype (int32 or float32). */
  constLike(prefix: string, t: Tensor, dims: number[], values: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push(
      tensorProto(name, dims, t.dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values)),
    );
    return name;
  }
  scalarI(prefix: string, v: number): string {
    const name = this.fresh(prefix);
    this.initializers.push(tensorProto(name, [], BigInt64Array.of(BigInt(v))));
    return name;
  }
  param(prefix: string, p: Parameter): string {
    return this.constF(prefix, [...p.shape], p.toTensor().data as Float32Array);
  }
}

/** W (out, in) -> W^T (in, out), for MatMul. */
export function transposed(p: Parameter): Float32Array {
  const [N, K] = p.shape,
    w = p.toTensor().data as Float32Array,
    t = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k];
  return t;
}

/** The first `n` dims of a tensor's shape, as an int64 (n) tensor. */
export function dimsOf(g: Graph, x: string, from: number, to: number): string {
  return g.op1("Slice", [g.op1("Shape", [x]), g.constI("start", [from]), g.constI("end", [to])]);
}

/** A (1, 1, D) token parameter repeated over the batch of x: (B, 1, D). */
export function batchToken(g: Graph, p: Parameter, x: string): string {
  return g.op1("Expand", [
    g.param("token", p),
    g.op1("Concat", [dimsOf(g, x, 0, 1), g.constI("one_d", [1, p.shape[2]])], { axis: 0 }),
  ]);
}

/** x / max(||x||, eps) per row, as F.normalize (the library's l2normalize). */
export function l2normalize(g: Graph, x: string): string {
  const n = g.op1("ReduceL2", [x], { axes: [-1], keepdims: 1 }); // (opset 17: axes is still an attribute here)
  return g.op1("Div", [x, g.op1("Max", [n, g.constF("eps", [], Float32Array.of(1e-12))])]);
}

/** The last time step of a (B, T, C) sequence: (B, C). */
export function lastStep(g: Graph, x: string): string {
  return g.op1("Squeeze", [g.op1("Gather", [x, g.constI("last", [-1])], { axis: 1 }), g.constI("axes", [1])]);
}
