// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then raw little-endian bytes.  This is the file a PyTorch user writes from a state_dict (see README).
import { Tensor, fmtShape, numel } from "../tensor.js";

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, F64: 8, I8: 1, U8: 1, BOOL: 1 };
// Default header limit (limits.maxSafetensorsHeaderBytes, 16 MiB): a real state_dict's header is kilobytes (thousands
// of tensors); JSON.parse of a huge one costs seconds and gigabytes.
import { limits } from "../util/limits.js";
/** The largest dimension accepted (a larger one cannot be a real tensor's). */
const MAX_DIM = 2 ** 31 - 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bad(msg: string): never {
  throw new Error(`loadSafetensors: ${msg}`);
}

let f16Values: Float32Array | null = null;
/** Every half-precision value, decoded once (256 KB): a checkpoint's hundreds of millions of halves become lookups. */
function f16Table(): Float32Array {
  if (!f16Values) {
    f16Values = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Values[h] = f16ToF32(h);
  }
  return f16Values;
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The first top-level key of a JSON object's text that appears twice (after decoding escapes), or null; linear. */
function duplicateTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 34) j += text.charCodeAt(j) === 92 ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k])) k++;
        if (text[k] === ":") {
          const key = JSON.parse(text.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    } else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  return null;
}

/**
 * Parses safetensors bytes into tensors: F32/F16/BF16/F64 become float32, I32/I64/I8/U8/BOOL int32
 * (I64 values must fit in int32).  Corrupt or truncated input throws an Error saying what is wrong.
 * @example
 * const dict = loadSafetensors(new Uint8Array(await (await fetch("model.safetensors")).arrayBuffer()));
 */
export function loadSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  options: { maxHeaderBytes?: number } = {},
): Record<string, Tensor> {
  const maxHeader = options.maxHeaderBytes ?? limits.maxSafetensorsHeaderBytes;
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.length < 8) bad(`file is ${u8.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen > maxHeader) bad(`header of ${hlen} bytes exceeds the limit of ${maxHeader} bytes (options.maxHeaderBytes)`);
  if (8 + hlen > u8.length) bad(`header length ${hlen} does not fit in a file of ${u8.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(u8.subarray(8, 8 + hlen)));
  } catch (e) {
    bad(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) bad("header must be a JSON object");
  // JSON.parse keeps the last of duplicate keys silently: read the top-level names from the text (escapes decoded,
  // so "bia\u0073" is "bias") and refuse any that repeats
  const dup = duplicateTopLevelKey(new TextDecoder().decode(u8.subarray(8, 8 + hlen)));
  if (dup !== null) bad(`header holds the tensor name ${JSON.stringify(dup).slice(0, 200)} more than once`);
  const dataStart = 8 + hlen;
  const dataLen = u8.length - dataStart;
  const out: Record<string, Tensor> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (name === "__proto__" || name === "constructor" || name === "prototype")
      bad(`entry name ${JSON.stringify(name)} is not allowed`);
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t !== "object") bad(`entry "${name}" must be an object`);
    const dtype = t.dtype as string;
    if (typeof dtype !== "string" || !(dtype in BYTES))
      bad(
        `entry "${name}" has unsupported dtype ${JSON.stringify(t.dtype)} ` +
          `(supported: ${Object.keys(BYTES).join(", ")})`,
      );
    const shape = t.shape as number[];
    if (!Array.isArray(shape) || shape.length > 16 || shape.some((d) => !Number.isInteger(d) || d < 0 || d > MAX_DIM))
      bad(
        `entry "${name}" has invalid shape ${JSON.stringify(t.shape)} (expected at most 16 integer dimensions ` +
          `from 0 to ${MAX_DIM})`,
      );
    const offs = t.data_offsets as number[];
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      offs.some((o) => !Number.isInteger(o) || o < 0) ||
      offs[1] < offs[0]
    ) {
      bad(`entry "${name}" has invalid data_offsets ${JSON.stringify(t.data_offsets)}`);
    }
    const n = numel(shape);
    const nbytes = n * BYTES[dtype];
    if (offs[1] - offs[0] !== nbytes)
      bad(
        `entry "${name}" (${dtype} ${fmtShape(shape)}) needs ${nbytes} bytes, data_offsets span ${offs[1] - offs[0]}`,
      );
    if (offs[1] > dataLen)
      bad(`entry "${name}" ends at byte ${offs[1]} of the data section, which holds only ${dataLen} (truncated file?)`);
    spans.push([offs[0], offs[1], name]);
    const view = new DataView(u8.buffer, u8.byteOffset + dataStart + offs[0], nbytes);
    out[name] = decode(name, dtype, view, n, shape);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < spans.length; i++) {
    const [s, , n] = spans[i],
      [, e, p] = spans[i - 1];
    if (s < e) bad(`entries "${p}" and "${n}" overlap in the data section (bytes ${s} to ${Math.min(e, spans[i][1])})`);
  }
  return out;
}

function decode(name: string, dtype: string, v: DataView, n: number, shape: number[]): Tensor {
  switch (dtype) {
    case "F32": {
      // little-endian hosts (every target): one bulk copy instead of a DataView call per value
      if (LITTLE_ENDIAN) return new Tensor(new Float32Array(v.buffer.slice(v.byteOffset, v.byteOffset + n * 4)), shape);
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = v.getFloat32(i * 4, true);
      return new Tensor(a, shape);
    }
    case "I32": {
      if (LITTLE_ENDIAN) return new Tensor(new Int32Array(v.buffer.slice(v.byteOffset, v.byteOffset + n * 4)), shape);
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = v.getInt32(i * 4, true);
      return new Tensor(a, shape);
    }
    case "F64": {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = v.getFloat64(i * 8, true);
      return new Tensor(a, shape);
    }
    case "F16": {
      const a = new Float32Array(n),
        t = f16Table();
      for (let i = 0; i < n; i++) a[i] = t[v.getUint16(i * 2, true)];
      return new Tensor(a, shape);
    }
    case "BF16": {
      const a = new Float32Array(n);
      const u = new Uint32Array(a.buffer);
      for (let i = 0; i < n; i++) u[i] = v.getUint16(i * 2, true) << 16;
      return new Tensor(a, shape);
    }
    case "I64": {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = v.getBigInt64(i * 8, true);
        if (x > 2147483647n || x < -2147483648n) bad(`entry "${name}" holds ${x} at index ${i}, outside int32`);
        a[i] = Number(x);
      }
      return new Tensor(a, shape);
    }
    default: {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = dtype === "I8" ? v.getInt8(i) : v.getUint8(i);
      return new Tensor(a, shape);
    }
  }
}

/** Serialises tensors (float32 as F32, int32 as I32) in sorted key order, 8-byte aligned data. */
export function saveSafetensors(dict: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(dict).sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const name of names) {
    const t = dict[name];
    if (!(t instanceof Tensor)) throw new Error(`saveSafetensors: "${name}" must be a Tensor`);
    const nbytes = t.data.byteLength;
    header[name] = {
      dtype: t.dtype === "float32" ? "F32" : "I32",
      shape: [...t.shape],
      data_offsets: [off, off + nbytes],
    };
    off += nbytes;
  }
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json).length;
  json += " ".repeat((8 - (raw % 8)) % 8); // data starts 8-byte aligned
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  const dv = new DataView(out.buffer, 8 + hb.length);
  let p = 0;
  for (const name of names) {
    const t = dict[name];
    for (let i = 0; i < t.size; i++, p += 4) {
      if (t.dtype === "float32") dv.setFloat32(p, t.data[i], true);
      else dv.setInt32(p, t.data[i], true);
    }
  }
  return out;
}
