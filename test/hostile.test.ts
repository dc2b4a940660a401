// Hostile and odd inputs (issue 12): every case here reproduces a measured finding, scaled down, and asserts a clean
// Error or bounded cost.
import { zlibSync } from "fflate";
import { beforeAll, describe, expect, it } from "vitest";
import {
  init, Tensor, decodeImage, encodePng, loadSafetensors, ctcBeamSearch, MultimodalIndex, MultimodalServingPipeline, memoryStats, resample,
} from "../src/index.js";
import { lcg } from "./harness/workloads.js";

beforeAll(async () => {
  await init();
});

/** A PNG with the given IHDR and IDAT payload (CRCs computed). */
function png(w: number, h: number, colorType: number, depth: number, idat: Uint8Array): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Uint8Array): number => { let c = 0xffffffff; for (const v of b) c = crcTable[(c ^ v) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + body.length), dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crc(out.subarray(4, 8 + body.length)));
    return out;
  };
  const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w); dv.setUint32(4, h); ihdr[8] = depth; ihdr[9] = colorType;
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

describe("image decoders: bounded by the header", () => {
  it("a PNG whose data inflates far beyond its IHDR stops at the image's size (the rest of the stream is never read)", () => {
    // 64x64 RGB needs 64 * (1 + 192) bytes; the stream holds 32 MB of zeros, and its tail is corrupted: a decoder that
    // inflated everything (as before: 2 MB inflating to 2 GiB took 49 s and 4.2 GB) would reach the corruption and fail
    const stream = zlibSync(new Uint8Array(32 << 20), { level: 9 });
    for (let i = stream.length - 2000; i < stream.length - 1000; i++) stream[i] ^= 0x5a;
    const img = decodeImage(png(64, 64, 2, 8, stream));
    expect([img.width, img.height, img.channels, img.data.length]).toEqual([64, 64, 3, 64 * 64 * 3]);
    expect(img.data.every((v) => v === 0)).toBe(true);
  });

  it("dimension bombs are rejected from the header, before any allocation", () => {
    const t0 = performance.now();
    expect(() => decodeImage(png(16384, 16384, 6, 16, zlibSync(new Uint8Array(1000))))).toThrow(/decodePng: image of 16384x16384 = 268435456 pixels exceeds the limit of 50000000 \(limits\.maxPixels\)/);
    // a 464-byte JPEG whose SOF claims 16000 x 16000 (before: 28 s and 2.5 GB to reject)
    const sof = [0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 16000 >> 8, 16000 & 255, 16000 >> 8, 16000 & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
    const jpeg = new Uint8Array(464); jpeg.set(sof); jpeg.set([0xff, 0xd9], 462);
    expect(() => decodeImage(jpeg)).toThrow(/JPEG of 16000x16000 = 256000000 pixels exceeds the limit of 50000000 \(limits\.maxPixels\)/);
    expect(performance.now() - t0).toBeLessThan(2000);
    // the limit is the caller's to raise or lower
    const small = encodePng({ width: 40, height: 30, channels: 3, data: new Uint8Array(40 * 30 * 3) });
    expect(() => decodeImage(small, { maxPixels: 1000 })).toThrow(/1200 pixels exceeds the limit of 1000/);
    expect(decodeImage(small, { maxPixels: 1200 }).width).toBe(40);
    expect(() => decodeImage(small, { maxPixels: 0 })).toThrow(/limits\.maxPixels must be a positive integer, got 0/);
  });
});

/** safetensors bytes from a header object and a data section. */
function st(header: unknown, data = new Uint8Array(0), headerText?: string): Uint8Array {
  const h = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8); out.set(data, 8 + h.length);
  return out;
}

describe("safetensors: strict", () => {
  const f32 = (n: number, off: number) => ({ dtype: "F32", shape: [n], data_offsets: [off, off + 4 * n] });

  it("rejects overlapping data, duplicate names, absurd shapes and prototype keys, naming them", () => {
    expect(() => loadSafetensors(st({ a: f32(4, 0), b: f32(4, 8) }, new Uint8Array(24)))).toThrow(/loadSafetensors: entries "a" and "b" overlap in the data section/);
    const dup = `{"w":${JSON.stringify(f32(2, 0))},"w":${JSON.stringify(f32(2, 8))}}`;
    expect(() => loadSafetensors(st(null, new Uint8Array(16), dup))).toThrow(/duplicate tensor names \(2 entries declared, 1 distinct\)/);
    expect(() => loadSafetensors(st({ x: { dtype: "F32", shape: [1e300, 0], data_offsets: [0, 0] } }))).toThrow(/entry "x" has invalid shape \[1e\+300,0\]/);
    const proto = `{"__proto__":${JSON.stringify(f32(1, 0))}}`;
    expect(() => loadSafetensors(st(null, new Uint8Array(4), proto))).toThrow(/entry name "__proto__" is not allowed/);
    expect(Object.getPrototypeOf(loadSafetensors(st({ a: f32(1, 0) }, new Uint8Array(4))))).toBe(Object.prototype);
  });

  it("a header beyond the limit is refused before parsing, and says so", () => {
    const big = st(null, new Uint8Array(0), `{"__metadata__":{"x":"${"y".repeat(20 << 20)}"}}`);
    expect(() => loadSafetensors(big)).toThrow(/header of \d+ bytes exceeds the limit of 16777216 bytes \(options\.maxHeaderBytes\)/);
    expect(Object.keys(loadSafetensors(big, { maxHeaderBytes: 32 << 20 }))).toEqual([]);
  });
});

describe("audio: nothing pinned by input", () => {
  it("odd sample rates cost time and memory in proportion to the audio, and cached kernels stay bounded", () => {
    // before: a 1-second tone at 44,101 Hz took 25.6 s and left 2.83 GB pinned; 32,003 Hz 2.05 GB
    const start = memoryStats();
    const t0 = performance.now();
    for (const rate of [44101, 32003, 44099, 47999, 22051, 11027, 8009, 16001, 96001, 12007]) {
      const y = resample(Tensor.from(lcg(rate, rate)), rate, 16000);
      expect(y.shape).toEqual([16000]);
    }
    expect(performance.now() - t0).toBeLessThan(10_000);
    const end = memoryStats();
    // at most RESAMPLE_CACHE_SIZE (8) compact kernels stay: a few MB, whatever the rates were
    expect(end.persistentBytes - start.persistentBytes).toBeLessThan(32 << 20);
    expect(end.wasmBytes).toBeLessThan(256 << 20);
  });
});

describe("bounded parameters", () => {
  it("beam search refuses an unbounded beam (beam 1e9 used to abort Node)", () => {
    const lp = new Tensor(new Float32Array(10 * 5).fill(Math.log(0.2)), [1, 10, 5]);
    expect(() => ctcBeamSearch(lp, { beamWidth: 1e9 })).toThrow(/beamWidth must be an integer from 1 to 1024, got 1000000000/);
    expect(() => ctcBeamSearch(lp, { beamWidth: 4, nBest: 5 })).toThrow(/nBest must be an integer from 1 to beamWidth \(4\), got 5/);
    expect(ctcBeamSearch(lp, { beamWidth: 1024 })[0]).toHaveLength(1);
  });

  it("topK is clamped to the index size (k = 1e8 used to grow WASM memory to ~4 GB for good)", () => {
    for (const kind of ["flat", "int8", "hnsw"] as const) {
      const ix = new MultimodalIndex(16, { kind });
      ix.addBatch(Array.from({ length: 50 }, (_, i) => `v${i}`), lcg(50 * 16, 3), "image");
      const before = memoryStats().wasmBytes;
      const r = ix.search(lcg(16, 4), 1e8);
      expect(r.length, kind).toBe(50);
      expect(memoryStats().wasmBytes - before, kind).toBeLessThan(16 << 20);
      ix.dispose();
    }
  });

  it("serving refuses waits a timer cannot hold and absurd batch sizes", () => {
    expect(() => new MultimodalServingPipeline({}, { maxWaitMs: 2 ** 31 })).toThrow(/maxWaitMs must be from 0 to 2147483647, got 2147483648/);
    expect(() => new MultimodalServingPipeline({}, { batchSize: 1e7 })).toThrow(/batchSize must be an integer from 1 to 4096, got 10000000/);
  });
});
