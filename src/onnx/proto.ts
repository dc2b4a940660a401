// A minimal ONNX ModelProto writer (protobuf wire format by hand; field numbers from onnx.proto3): nodes,
// float32 / int64 initializers, inputs and outputs with fixed or named (dynamic) dimensions, opset 17.
const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // two's complement, as protobuf writes negative int64
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
function cat(parts: Uint8Array[]): Uint8Array {
  const u = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    u.set(p, o);
    o += p.length;
  }
  return u;
}
const fInt = (field: number, v: number): Uint8Array => Uint8Array.from([...key(field, 0), ...varint(v)]);
const fBytes = (field: number, bytes: Uint8Array): Uint8Array =>
  cat([Uint8Array.from([...key(field, 2), ...varint(bytes.length)]), bytes]);
const fStr = (field: number, s: string): Uint8Array => fBytes(field, enc.encode(s));
function fFloat(field: number, v: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = (field << 3) | 5;
  new DataView(b.buffer).setFloat32(1, v, true);
  return b;
}

export type AttrValue = number | number[] | string | { float: number };

function attr(name: string, value: AttrValue): Uint8Array {
  if (Array.isArray(value)) return cat([fStr(1, name), fInt(20, 7), ...value.map((v) => fInt(8, v))]); // INTS
  if (typeof value === "string") return cat([fStr(1, name), fInt(20, 3), fBytes(4, enc.encode(value))]); // STRING
  if (typeof value === "object") return cat([fStr(1, name), fInt(20, 1), fFloat(2, value.float)]); // FLOAT
  if (!Number.isInteger(value)) return cat([fStr(1, name), fInt(20, 1), fFloat(2, value)]);
  return cat([fStr(1, name), fInt(20, 2), fInt(3, value)]); // INT
}

export function nodeProto(
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue>,
  name: string,
): Uint8Array {
  return cat([
    ...inputs.map((i) => fStr(1, i)),
    ...outputs.map((o) => fStr(2, o)),
    fStr(3, name),
    fStr(4, op),
    ...Object.entries(attrs).map(([k, v]) => fBytes(5, attr(k, v))),
  ]);
}

/** ONNX element type of a typed array: FLOAT 1, INT32 6, INT64 7. */
export function elemType(data: Float32Array | Int32Array | BigInt64Array): number {
  return data instanceof BigInt64Array ? 7 : data instanceof Int32Array ? 6 : 1;
}

/** A constant: Float32Array -> FLOAT, Int32Array -> INT32, BigInt64Array -> INT64. */
export function tensorProto(name: string, dims: number[], data: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return cat([...dims.map((d) => fInt(1, d)), fInt(2, elemType(data)), fStr(8, name), fBytes(9, raw)]);
}

export function valueInfo(name: string, dims: Array<number | string>, elemType = 1): Uint8Array {
  const shape = cat(dims.map((d) => fBytes(1, typeof d === "string" ? fStr(2, d) : fInt(1, d))));
  return cat([fStr(1, name), fBytes(2, fBytes(1, cat([fInt(1, elemType), fBytes(2, shape)])))]);
}

export function modelProto(graph: {
  nodes: Uint8Array[];
  initializers: Uint8Array[];
  inputs: Uint8Array[];
  outputs: Uint8Array[];
  name: string;
}): Uint8Array {
  const g = cat([
    ...graph.nodes.map((n) => fBytes(1, n)),
    fStr(2, graph.name),
    ...graph.initializers.map((t) => fBytes(5, t)),
    ...graph.inputs.map((v) => fBytes(11, v)),
    ...graph.outputs.map((v) => fBytes(12, v)),
  ]);
  const opset = cat([fStr(1, ""), fInt(2, 17)]);
  return cat([fInt(1, 8), fStr(2, "polymodal"), fBytes(8, opset), fBytes(7, g)]);
}
