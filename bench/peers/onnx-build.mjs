// A minimal ONNX ModelProto encoder (protobuf wire format by hand) for the benchmark graphs, so the
// onnxruntime-web peer runs without torch or a model download.
const enc = new TextEncoder();

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field, wire) => varint((field << 3) | wire);
const cat = (parts) => {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const u = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { u.set(p, o); o += p.length; }
  return u;
};
const fInt = (field, v) => Uint8Array.from([...key(field, 0), ...varint(v)]);
const fBytes = (field, bytes) => cat([Uint8Array.from([...key(field, 2), ...varint(bytes.length)]), bytes]);
const fStr = (field, s) => fBytes(field, enc.encode(s));
const fFloat = (field, v) => { const b = new Uint8Array(5); b[0] = (field << 3) | 5; new DataView(b.buffer).setFloat32(1, v, true); return b; };

function attr(name, value) {
  if (Array.isArray(value)) return cat([fStr(1, name), fInt(20, 7), ...value.map((v) => fInt(8, v))]);
  if (Number.isInteger(value)) return cat([fStr(1, name), fInt(20, 2), fInt(3, value)]);
  return cat([fStr(1, name), fInt(20, 1), fFloat(2, value)]);
}

export function node(op, inputs, outputs, attrs = {}) {
  return cat([...inputs.map((i) => fStr(1, i)), ...outputs.map((o) => fStr(2, o)), fStr(4, op),
    ...Object.entries(attrs).map(([k, v]) => fBytes(5, attr(k, v)))]);
}

/** A constant tensor: Float32Array -> FLOAT, BigInt64Array -> INT64. */
export function initializer(name, dims, data) {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const type = data instanceof BigInt64Array ? 7 : 1;
  return cat([...dims.map((d) => fInt(1, d)), fInt(2, type), fStr(8, name), fBytes(9, raw)]);
}

function valueInfo(name, dims) {
  const shape = cat(dims.map((d) => fBytes(1, typeof d === "string" ? fStr(2, d) : fInt(1, d))));
  const tensorType = cat([fInt(1, 1), fBytes(2, shape)]);
  return cat([fStr(1, name), fBytes(2, fBytes(1, tensorType))]);
}

/** graph: { nodes, initializers, inputs: [[name, dims]], outputs: [[name, dims]] } -> ModelProto bytes (opset 17). */
export function model({ nodes, initializers = [], inputs, outputs }) {
  const graph = cat([...nodes.map((n) => fBytes(1, n)), fStr(2, "g"), ...initializers.map((t) => fBytes(5, t)),
    ...inputs.map(([n, d]) => fBytes(11, valueInfo(n, d))), ...outputs.map(([n, d]) => fBytes(12, valueInfo(n, d)))]);
  const opset = cat([fStr(1, ""), fInt(2, 17)]);
  return cat([fInt(1, 8), fStr(2, "polymodal-bench"), fBytes(8, opset), fBytes(7, graph)]);
}
