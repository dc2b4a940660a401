// safetensors read/write: round trip, the dtypes PyTorch writes, and corrupt input.
import { describe, expect, it } from "vitest";
import { Tensor, loadSafetensors, saveSafetensors } from "../src/index.js";

function build(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe("safetensors", () => {
  it("round-trips float32 and int32 tensors with metadata", () => {
    const dict = {
      "transformer.layers.0.self_attn.in_proj_weight": Tensor.from(
        new Float32Array([1.5, -2, 3e-8, 4e10, 0, -0]),
        [2, 3],
      ),
      ids: new Tensor(new Int32Array([1, -2, 2147483647]), [3]),
      scalar: Tensor.from(new Float32Array([7]), []),
      empty: Tensor.zeros([0, 4]),
    };
    const bytes = saveSafetensors(dict, { format: "pt" });
    const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + hlen) % 8).toBe(0);
    const back = loadSafetensors(bytes);
    expect(Object.keys(back).sort()).toEqual(Object.keys(dict).sort());
    for (const [k, t] of Object.entries(dict)) {
      expect(back[k].shape).toEqual(t.shape);
      expect(back[k].dtype).toBe(t.dtype);
      expect(Array.from(back[k].data)).toEqual(Array.from(t.data));
    }
  });

  it("reads F16, BF16, F64 and I64 as PyTorch writes them", () => {
    const data = new Uint8Array(2 * 3 + 2 * 2 + 8 + 8 * 2);
    const dv = new DataView(data.buffer);
    [0x3c00, 0xc000, 0x0001].forEach((v, i) => dv.setUint16(i * 2, v, true)); // 1, -2, 2^-24
    [0x3f80, 0x4049].forEach((v, i) => dv.setUint16(6 + i * 2, v, true)); // bf16 1.0, 3.140625
    dv.setFloat64(10, Math.PI, true);
    dv.setBigInt64(18, -5n, true);
    dv.setBigInt64(26, 123456789n, true);
    const t = loadSafetensors(
      build(
        {
          h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
          b: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
          d: { dtype: "F64", shape: [], data_offsets: [10, 18] },
          l: { dtype: "I64", shape: [2], data_offsets: [18, 34] },
        },
        data,
      ),
    );
    expect(Array.from(t.h.data)).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(t.b.data)).toEqual([1, 3.140625]);
    expect(t.d.data[0]).toBe(Math.fround(Math.PI));
    expect(t.l.dtype).toBe("int32");
    expect(Array.from(t.l.data)).toEqual([-5, 123456789]);
  });

  it.each([
    ["short file", new Uint8Array(4), /shorter than the 8-byte header length/],
    [
      "header past end",
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /header length 1000 does not fit in a file of 16 bytes/,
    ],
    ["bad json", build({}, new Uint8Array()).map((v, i) => (i === 8 ? 0x7b + 1 : v)), /header is not valid UTF-8 JSON/],
    [
      "bad dtype",
      build({ a: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /entry "a" has unsupported dtype "C64"/,
    ],
    [
      "size mismatch",
      build({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /entry "a" \(F32 \[3\]\) needs 12 bytes, data_offsets span 8/,
    ],
    [
      "truncated data",
      build({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)),
      /ends at byte 16 of the data section, which holds only 8 \(truncated file\?\)/,
    ],
    [
      "bad shape",
      build({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }, new Uint8Array(0)),
      /invalid shape \[-1\]/,
    ],
    [
      "I64 overflow",
      (() => {
        const d = new Uint8Array(8);
        new DataView(d.buffer).setBigInt64(0, 1n << 40n, true);
        return build({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, d);
      })(),
      /holds 1099511627776 at index 0, outside int32/,
    ],
  ])("%s gives a clear Error", (_n, bytes, msg) => {
    expect(() => loadSafetensors(bytes)).toThrow(msg);
  });

  it("fuzz: random corruption and truncation never crash, hang or allocate without bound", () => {
    const good = saveSafetensors({
      "a.weight": Tensor.from(
        new Float32Array(64).map((_, i) => i),
        [8, 8],
      ),
      "a.bias": Tensor.from(new Float32Array(8), [8]),
      ids: new Tensor(new Int32Array(5), [5]),
    });
    let s = 12345;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    // per mode (truncated, data bytes changed, header bytes changed): how many loaded and how many were refused
    const ok = [0, 0, 0],
      errors = [0, 0, 0];
    for (let iter = 0; iter < 3000; iter++) {
      let b = good.slice();
      const mode = rnd(3);
      if (mode === 0) b = b.subarray(0, rnd(b.length));
      else if (mode === 1) for (let j = 0, n = 1 + rnd(8); j < n; j++) b[rnd(b.length)] = rnd(256);
      else b[rnd(Math.min(b.length, 8 + 200))] = rnd(256); // header bytes
      try {
        const t = loadSafetensors(b);
        let bytes = 0;
        for (const v of Object.values(t)) {
          expect(v).toBeInstanceOf(Tensor);
          expect(v.size).toBe(v.shape.reduce((x, y) => x * y, 1));
          bytes += v.size * 4;
        }
        expect(bytes).toBeLessThanOrEqual(b.length); // nothing read from beyond the file
        ok[mode]++;
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        expect((e as Error).message).toMatch(/^loadSafetensors: /);
        errors[mode]++;
      }
    }
    expect(ok[0]).toBe(0); // every truncated file is refused: its last tensor's bytes are missing
    expect(errors[0]).toBeGreaterThan(900);
    expect(errors[2]).toBeGreaterThan(100); // a changed header byte mostly breaks its JSON or its numbers
  });
});
