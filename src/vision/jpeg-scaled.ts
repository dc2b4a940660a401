// A baseline JPEG decoded at 1/2, 1/4 or 1/8 of its size in the DCT domain, as libjpeg's scaled decoding does:
// each 8x8 block becomes N x N samples (N = 4, 2, 1), each the mean of the full-size block's pixels over its
// 8/N x 8/N share, computed straight from the coefficients (REDUCE below), so a 12 MP photo wanted at 224 px never
// exists at full size (1/64 of the pixels, no full IDCT).  A subsampled chroma component is reduced less (up to no
// reduction), so it comes out on the output grid as libjpeg's does; only a factor past that is replicated.
// Strict: every Huffman code, coefficient run, restart marker and the scan's length are checked, so corrupt data is
// an Error, not garbage.  Progressive, arithmetic-coded, 12-bit and CMYK files are not read here (decodeScaledJpeg
// returns null; callers decode them at full size).
//
// Arithmetic: float64 with constants written out (no Math.cos: the same bits on every engine); each sample is
// round(mean + 128) clamped to 0..255, then JFIF's YCbCr -> RGB.  Against libjpeg's own scaled decode: within
// rounding (mean <= 0.15 levels); after ImageProcessor's resize, about half a level from a full decode's
// (test/jpeg-scaled.test.ts measures and bounds both).
import { PolymodalError } from "../util/errors.js";
import type { DecodedImage } from "./png.js";

function corrupt(msg: string): never {
  throw new PolymodalError("bad_input", `decodeImage: corrupt JPEG data (${msg})`);
}

// zigzag order: ZZ[k] = the natural (row * 8 + col) index of the k-th coefficient
const ZZ = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63,
];
const ZZI = Int32Array.from(ZZ);

// the highest column (u) among zigzag positions 0..k
const ZMAXU = Int32Array.from(ZZ, (_, k) => Math.max(...ZZ.slice(0, k + 1).map((z) => z & 7)));

// Reduced inverse DCTs as libjpeg's scaled decoding means them: output sample g of n per block is the mean of the
// 8-point inverse DCT over its 8/n pixels, R_n[g][u] = (n/8) sum_{x in g} (1/2) c(u) cos((2x+1) u pi / 16), c(0) =
// 1/sqrt2 -- from all eight coefficients, so a reduced block is the box average of the full-size block (exactly,
// before rounding).  cos(k pi / 16) is written out (no Math.cos: the same bits on every engine).
const COS16_Q = [
  1,
  0.9807852804032304,
  0.9238795325112867,
  0.8314696123025452,
  Math.SQRT1_2,
  0.5555702330196022,
  0.3826834323650898,
  0.19509032201612825,
];
function cos16(k: number): number {
  // cos(k pi / 16)
  k %= 32;
  if (k > 16) k = 32 - k; // cos is even about pi
  return k <= 8 ? (k === 8 ? 0 : COS16_Q[k]) : -COS16_Q[16 - k];
}
const REDUCE: Record<number, Float64Array> = Object.fromEntries(
  [1, 2, 4, 8].map((n) => {
    const m = new Float64Array(n * 8),
      w = 8 / n;
    for (let g = 0; g < n; g++)
      for (let u = 0; u < 8; u++) {
        let sum = 0;
        for (let x = g * w; x < (g + 1) * w; x++) sum += 0.5 * (u === 0 ? Math.SQRT1_2 : 1) * cos16((2 * x + 1) * u);
        m[g * 8 + u] = sum / w;
      }
    return [n, m];
  }),
);

/**
 * A Huffman table: fast[next FAST bits] = length << 8 | symbol for codes of up to FAST bits (0: longer or none), and
 * the canonical tables for the rest (maxcode[len]: the largest code of that length, or -1; valptr: where its symbols
 * start).  For an AC table, coef[next FAST bits] also decodes the coefficient when its code and its extra bits fit in
 * FAST bits together (most of them in a photo): value << 16 | run << 4 | bits used (0: not such a case).
 */
interface Huff {
  fast: Int32Array;
  coef: Int32Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  symbols: Uint8Array;
}
const FAST = 10;
const FAST_MASK = (1 << FAST) - 1;

/**
 * A frame component: sampling factors, tables, its block grid (bw x bh, whole MCUs) and its samples at nh x nv per
 * block.
 */
interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  bw: number;
  bh: number;
  nh: number;
  nv: number;
  out: Uint8Array;
  ow: number;
  oh: number;
  pred: number;
  td: number;
  ta: number;
}

function huffman(counts: Uint8Array, symbols: Uint8Array): Huff {
  const fast = new Int32Array(1 << FAST),
    maxcode = new Int32Array(18).fill(-1),
    valptr = new Int32Array(17),
    mincode = new Int32Array(17);
  let code = 0,
    k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    for (let i = 0; i < counts[len - 1]; i++) {
      if (code >= 1 << len) corrupt("a Huffman table with more codes than its lengths allow");
      if (len <= FAST) fast.fill((len << 8) | symbols[k], code << (FAST - len), (code + 1) << (FAST - len));
      code++;
      k++;
    }
    if (counts[len - 1]) maxcode[len] = code - 1;
    code <<= 1;
  }
  const coef = new Int32Array(1 << FAST);
  for (let look = 0; look < 1 << FAST; look++) {
    const e = fast[look],
      len = e >> 8,
      r = (e >> 4) & 15,
      s = e & 15;
    if (e === 0 || s === 0 || len + s > FAST) continue;
    const v = (look >> (FAST - len - s)) & ((1 << s) - 1);
    coef[look] = (extend(v, s) << 16) | (r << 4) | (len + s);
  }
  return { fast, coef, maxcode, valptr, mincode, symbols: Uint8Array.from(symbols) };
}

/** JPEG's EXTEND: s raw bits as a signed magnitude-category value. */
function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

/** A code longer than FAST bits, from the next 16 bits: length << 8 | symbol, or -1 when no code matches. */
function slowCode(h: Huff, peek: number): number {
  for (let len = FAST + 1; len <= 16; len++) {
    const code = peek >>> (16 - len);
    if (h.maxcode[len] >= 0 && code <= h.maxcode[len] && code >= h.mincode[len])
      return (len << 8) | h.symbols[h.valptr[len] + code - h.mincode[len]];
  }
  return -1;
}

/**
 * Decodes a baseline (SOF0/SOF1, 8-bit, Huffman) JPEG at scale N/8 (N = 1, 2 or 4): RGB, width ceil(W N / 8), height
 * ceil(H N / 8).  null when the file is progressive, arithmetic-coded, 12-bit or not 1/3-component.
 * @example
 * const small = decodeScaledJpeg(bytes, 1); // a 4000x3000 photo -> 500x375
 */
export function decodeScaledJpeg(b: Uint8Array, N: 1 | 2 | 4): DecodedImage | null {
  if (!(N === 1 || N === 2 || N === 4))
    throw new Error(`decodeScaledJpeg: scale must be 1, 2 or 4 (eighths), got ${N}`);
  const qt: Array<Float64Array | undefined> = [];
  const dc: Array<Huff | undefined> = [],
    ac: Array<Huff | undefined> = [];
  let comps: Component[] = [],
    W = 0,
    H = 0,
    hmax = 1,
    vmax = 1,
    restart = 0,
    adobe: number | null = null,
    frame = false,
    scans = 0;
  const mcux = (): number => Math.ceil(W / (8 * hmax)),
    mcuy = (): number => Math.ceil(H / (8 * vmax));
  let o = 2;
  const u16 = (p: number): number =>
    p + 1 < b.length ? (b[p] << 8) | b[p + 1] : corrupt(`the file ends inside a marker at byte ${p}`);
  while (o < b.length) {
    if (b[o] !== 0xff) corrupt(`expected a marker at byte ${o}`);
    const m = b[o + 1];
    if (m === 0xff) {
      o++;
      continue;
    }
    if (m === 0xd9) break; // EOI
    if (m === 0xd8 || (m >= 0xd0 && m <= 0xd7) || m === 0x01) {
      o += 2;
      continue;
    }
    const len = u16(o + 2),
      p = o + 4,
      end = o + 2 + len;
    if (len < 2 || end > b.length) corrupt(`a marker segment at byte ${o} runs past the end of the file`);
    // progressive, lossless, arithmetic...
    if (m === 0xc2 || m === 0xc3 || (m >= 0xc5 && m <= 0xcf && m !== 0xc8 && m !== 0xcc)) return null;
    if (m === 0xdb) {
      // DQT
      for (let q = p; q < end; ) {
        const pq = b[q] >> 4,
          tq = b[q] & 15,
          t = new Float64Array(64);
        if (tq > 3) corrupt(`quantisation table ${tq}`);
        for (let k = 0; k < 64; k++) t[ZZ[k]] = pq ? (b[q + 1 + 2 * k] << 8) | b[q + 2 + 2 * k] : b[q + 1 + k];
        qt[tq] = t;
        q += 1 + (pq ? 128 : 64);
      }
    } else if (m === 0xc4) {
      // DHT
      for (let q = p; q < end; ) {
        const tc = b[q] >> 4,
          th = b[q] & 15;
        const counts = b.subarray(q + 1, q + 17);
        const n = counts.reduce((a, x) => a + x, 0);
        if (th > 3 || tc > 1 || q + 17 + n > end) corrupt("a Huffman table");
        (tc ? ac : dc)[th] = huffman(counts, b.subarray(q + 17, q + 17 + n));
        q += 17 + n;
      }
    } else if (m === 0xc0 || m === 0xc1) {
      // SOF0/SOF1: baseline / extended Huffman
      if (b[p] !== 8) return null; // 12-bit
      H = u16(p + 1);
      W = u16(p + 3);
      const nc = b[p + 5];
      if (nc !== 1 && nc !== 3) return null; // CMYK and the like
      if (W === 0 || H === 0) return null; // height from a DNL marker: rare, let the full decoder handle it
      comps = [];
      for (let i = 0; i < nc; i++) {
        const q = p + 6 + 3 * i;
        comps.push({
          id: b[q],
          h: b[q + 1] >> 4,
          v: b[q + 1] & 15,
          tq: b[q + 2],
          bw: 0,
          bh: 0,
          nh: 0,
          nv: 0,
          out: new Uint8Array(0),
          ow: 0,
          oh: 0,
          pred: 0,
          td: 0,
          ta: 0,
        });
      }
      if (comps.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)) corrupt("sampling factors outside 1..4");
      hmax = Math.max(...comps.map((c) => c.h));
      vmax = Math.max(...comps.map((c) => c.v));
      for (const c of comps) {
        c.bw = mcux() * c.h;
        c.bh = mcuy() * c.v; // blocks, padded to whole MCUs
        // a subsampled component is reduced less, so it comes out on the output grid (as libjpeg does) when it can
        c.nh = Math.min(8, (N * hmax) / c.h);
        c.nv = Math.min(8, (N * vmax) / c.v);
        if (
          !Number.isInteger(c.nh) ||
          !Number.isInteger(c.nv) ||
          ![1, 2, 4, 8].includes(c.nh) ||
          ![1, 2, 4, 8].includes(c.nv)
        )
          return null; // odd factors (3): full decode
        c.ow = c.bw * c.nh;
        c.oh = c.bh * c.nv;
        c.out = new Uint8Array(c.ow * c.oh);
      }
      frame = true;
    } else if (m === 0xdd) {
      restart = u16(p);
    } else if (m === 0xee && len >= 14 && String.fromCharCode(...b.subarray(p, p + 5)) === "Adobe") {
      adobe = b[p + 11];
    } else if (m === 0xda) {
      // SOS: the entropy-coded data follows
      if (!frame) corrupt("scan before the frame header");
      const ns = b[p];
      const sc: Component[] = [];
      for (let i = 0; i < ns; i++) {
        const c = comps.find((x) => x.id === b[p + 1 + 2 * i]);
        if (!c) corrupt(`scan names component ${b[p + 1 + 2 * i]}, which the frame does not have`);
        c.td = b[p + 2 + 2 * i] >> 4;
        c.ta = b[p + 2 + 2 * i] & 15;
        if (!dc[c.td] || !ac[c.ta] || !qt[c.tq]) corrupt(`component ${c.id} uses a table that was not defined`);
        sc.push(c);
      }
      o = decodeScan(
        b,
        end,
        sc,
        restart,
        ns === 1 ? Math.ceil(Math.ceil((W * sc[0].h) / hmax) / 8) : mcux(),
        ns === 1 ? Math.ceil(Math.ceil((H * sc[0].v) / vmax) / 8) : mcuy(),
        qt,
        dc,
        ac,
      );
      scans++;
      continue;
    }
    o = end;
  }
  if (!frame || scans === 0) corrupt("no frame or no scan");
  // assemble RGB at the scaled size: components replicated to the luma grid, cropped
  const ow = Math.ceil((W * N) / 8),
    oh = Math.ceil((H * N) / 8);
  const rgb = new Uint8Array(ow * oh * 3);
  // output pixel (x, y) at scale N -> the component's sample at its own scale (the same one, or replicated when
  // capped at 8): its column and row offsets, once per component
  const cols = comps.map((c) => Int32Array.from({ length: ow }, (_, x) => Math.floor((x * c.h * c.nh) / (hmax * N))));
  const rows = comps.map((c) =>
    Int32Array.from({ length: oh }, (_, y) => Math.floor((y * c.v * c.nv) / (vmax * N)) * c.ow),
  );
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
  const transform = comps.length === 3 && adobe !== 0; // Adobe transform 0: the three components are R, G, B
  if (comps.length === 1) {
    const g = comps[0].out,
      cx = cols[0];
    for (let y = 0, i = 0; y < oh; y++)
      for (let x = 0, r = rows[0][y]; x < ow; x++, i += 3) rgb[i] = rgb[i + 1] = rgb[i + 2] = g[r + cx[x]];
    return { width: ow, height: oh, channels: 3, data: rgb };
  }
  const [cy, cb, cr] = comps.map((c) => c.out);
  for (let y = 0, i = 0; y < oh; y++) {
    const ry = rows[0][y],
      rb = rows[1][y],
      rr = rows[2][y];
    for (let x = 0; x < ow; x++, i += 3) {
      const Y = cy[ry + cols[0][x]],
        Cb = cb[rb + cols[1][x]] - 128,
        Cr = cr[rr + cols[2][x]] - 128;
      if (!transform) {
        rgb[i] = Y;
        rgb[i + 1] = Cb + 128;
        rgb[i + 2] = Cr + 128;
        continue;
      }
      rgb[i] = clamp(Y + 1.402 * Cr);
      rgb[i + 1] = clamp(Y - 0.344136 * Cb - 0.714136 * Cr);
      rgb[i + 2] = clamp(Y + 1.772 * Cb);
    }
  }
  return { width: ow, height: oh, channels: 3, data: rgb };
}

/**
 * One scan's entropy-coded data from `start`; returns the offset of the marker after it.
 *
 * The decoder's hot loop (a 12 MP photo is ~5 MB of it), so: the bit buffer lives in this function's own locals (a
 * closure over them makes V8 keep them in a heap context, every bit read a load and a store, a 32-bit buffer a boxed
 * number), which is why the byte refill is written out where it is needed rather than called; most coefficients are
 * decoded by one table lookup (Huff.coef); and each is folded into its block's column sums as it is read, never
 * stored.  Together 2.7x faster than the closure-based loop before it on a 5 MB 12 MP photo (1.6x on a cold
 * start), with the same bits.
 */
function decodeScan(
  b: Uint8Array,
  start: number,
  sc: Component[],
  restart: number,
  mx: number,
  my: number,
  qt: Array<Float64Array | undefined>,
  dc: Array<Huff | undefined>,
  ac: Array<Huff | undefined>,
): number {
  const size = b.length;
  // bits: the next nbits bits of the stream in its low bits (25..32 after a refill; the bits above are stale, and
  // every read masks them).  At a marker or the file's end zero bytes are fed (fed counts their bits); consuming one
  // means the scan was cut short (at the file's end: at once an Error).
  let o = start,
    bits = 0,
    nbits = 0,
    marker = -1,
    fed = 0,
    overrun = false;
  for (const c of sc) c.pred = 0;
  // one MCU's blocks in order: a non-interleaved scan has one block per MCU on the component's own grid
  const one = sc.length === 1;
  const slots = one
    ? [{ c: sc[0], h: 0, v: 0 }]
    : sc.flatMap((c) => Array.from({ length: c.h * c.v }, (_, i) => ({ c, h: i % c.h, v: Math.floor(i / c.h) })));
  // one block's column sums, tmp[gy][u] = sum_v Rv[gy][v] F(v, u) (the first half of its reduced inverse DCT),
  // accumulated as its coefficients are read: zigzag order visits each column's rows in ascending order, so every
  // sum adds the same terms in the same order as a dense loop over the block (whose other terms are zeros, which
  // change no bits)
  const tmp = new Float64Array(64);
  const total = mx * my;
  let rst = 0;
  for (let mcu = 0; mcu < total; mcu++) {
    if (restart && mcu > 0 && mcu % restart === 0) {
      // a restart marker must come here, the next in sequence; the leftover padding bits are dropped, predictions reset
      if (overrun) corrupt(`the data before restart marker ${rst & 7} ended early`);
      if (marker < 0 && b[o] === 0xff && b[o + 1] >= 0xd0 && b[o + 1] <= 0xd7) marker = b[o + 1];
      if (marker !== 0xd0 + (rst & 7))
        corrupt(
          `expected restart marker ${rst & 7} at MCU ${mcu}, ` +
            `found ${marker < 0 ? "coded data" : `marker ${marker.toString(16)}`}`,
        );
      o += 2;
      rst++;
      marker = -1;
      bits = 0;
      nbits = 0;
      fed = 0;
      for (const c of sc) c.pred = 0;
    }
    const mxi = mcu % mx,
      myi = Math.floor(mcu / mx);
    for (const slot of slots) {
      const c = slot.c,
        q = qt[c.tq]!,
        hd = dc[c.td]!,
        ha = ac[c.ta]!,
        acCoef = ha.coef,
        acFast = ha.fast;
      // DC: a code, then t bits of difference from the previous block's
      while (nbits <= 24) {
        let v = 0;
        if (marker >= 0 || o >= size) fed += 8;
        else {
          v = b[o++];
          if (v === 0xff) {
            const m = o < size ? b[o] : -1;
            if (m === 0x00) o++;
            else {
              if (m > 0) {
                marker = m;
                o--;
              }
              v = 0;
              fed += 8;
            }
          }
        }
        bits = (bits << 8) | v;
        nbits += 8;
      }
      let e = hd.fast[(bits >>> (nbits - FAST)) & FAST_MASK];
      if (e === 0) e = slowCode(hd, (bits >>> (nbits - 16)) & 0xffff);
      if (e < 0) corrupt(`invalid Huffman code near byte ${o}`);
      nbits -= e >> 8;
      const t = e & 255;
      if (t > 11) corrupt(`DC magnitude category ${t}`);
      if (t > 0) {
        if (nbits < t) {
          while (nbits <= 24) {
            let v = 0;
            if (marker >= 0 || o >= size) fed += 8;
            else {
              v = b[o++];
              if (v === 0xff) {
                const m = o < size ? b[o] : -1;
                if (m === 0x00) o++;
                else {
                  if (m > 0) {
                    marker = m;
                    o--;
                  }
                  v = 0;
                  fed += 8;
                }
              }
            }
            bits = (bits << 8) | v;
            nbits += 8;
          }
        }
        c.pred += extend((bits >>> (nbits - t)) & ((1 << t) - 1), t);
        nbits -= t;
      }
      if (nbits < fed) {
        if (o >= size && marker < 0) corrupt("the scan runs past the end of the file");
        overrun = true;
        fed = nbits;
      }
      const dq = c.pred * q[0],
        nv = c.nv,
        Rv = REDUCE[nv];
      for (let gy = 0; gy < nv; gy++) {
        tmp[gy * 8] = Rv[gy * 8] * dq;
        for (let u = 1; u < 8; u++) tmp[gy * 8 + u] = 0;
      }
      // AC: (run, size) codes and size bits each, dequantised as read
      let last = 0;
      for (let k = 1; k < 64; ) {
        while (nbits <= 24) {
          let v = 0;
          if (marker >= 0 || o >= size) fed += 8;
          else {
            v = b[o++];
            if (v === 0xff) {
              const m = o < size ? b[o] : -1;
              if (m === 0x00) o++;
              else {
                if (m > 0) {
                  marker = m;
                  o--;
                }
                v = 0;
                fed += 8;
              }
            }
          }
          bits = (bits << 8) | v;
          nbits += 8;
        }
        const look = (bits >>> (nbits - FAST)) & FAST_MASK;
        const f = acCoef[look];
        let value: number;
        if (f !== 0) {
          // code and value in one lookup
          nbits -= f & 15;
          k += (f >> 4) & 15;
          value = f >> 16;
        } else {
          let e = acFast[look];
          if (e === 0) e = slowCode(ha, (bits >>> (nbits - 16)) & 0xffff);
          if (e < 0) corrupt(`invalid Huffman code near byte ${o}`);
          nbits -= e >> 8;
          const r = (e >> 4) & 15,
            s = e & 15;
          if (s === 0) {
            if (nbits < fed) {
              if (o >= size && marker < 0) corrupt("the scan runs past the end of the file");
              overrun = true;
              fed = nbits;
            }
            if (r === 15) {
              k += 16; // ZRL
              continue;
            }
            break; // EOB
          }
          k += r;
          if (nbits < s) {
            while (nbits <= 24) {
              let v = 0;
              if (marker >= 0 || o >= size) fed += 8;
              else {
                v = b[o++];
                if (v === 0xff) {
                  const m = o < size ? b[o] : -1;
                  if (m === 0x00) o++;
                  else {
                    if (m > 0) {
                      marker = m;
                      o--;
                    }
                    v = 0;
                    fed += 8;
                  }
                }
              }
              bits = (bits << 8) | v;
              nbits += 8;
            }
          }
          value = extend((bits >>> (nbits - s)) & ((1 << s) - 1), s);
          nbits -= s;
        }
        if (nbits < fed) {
          if (o >= size && marker < 0) corrupt("the scan runs past the end of the file");
          overrun = true;
          fed = nbits;
        }
        if (k > 63) corrupt(`coefficient run past the end of a block near byte ${o}`);
        const z = ZZI[k];
        const dz = value * q[z],
          u = z & 7,
          v = z >> 3;
        for (let gy = 0; gy < nv; gy++) tmp[gy * 8 + u] += Rv[gy * 8 + v] * dz;
        last = k;
        k++;
      }
      const bx = one ? mxi : mxi * c.h + slot.h,
        by = one ? myi : myi * c.v + slot.v;
      reduceBlock(c, dq, tmp, last, bx, by);
    }
  }
  if (overrun) corrupt("the scan ended early (its coded data is shorter than its blocks need)");
  // the next marker (after any padding byte of ones); left: the first byte no block used
  const left = o - ((nbits - fed) >> 3);
  if (marker < 0) while (o < size && !(b[o] === 0xff && b[o + 1] !== 0x00 && b[o + 1] !== 0xff)) o++;
  // an encoder pads the last byte with ones: more coded data than the blocks used means the data is not what it says
  if (o - left > 8) corrupt(`${o - left} bytes of coded data after the last block`);
  if (o + 1 >= size) corrupt("no marker after the scan (the file is truncated)");
  return o;
}

/**
 * One block -> its nv x nh samples in c.out, from its dequantised DC coefficient dq, its column sums tmp and the
 * zigzag position of its last nonzero coefficient: out[gy][gx] = sum_u Rh[gx][u] tmp[gy][u].
 */
function reduceBlock(c: Component, dq: number, tmp: Float64Array, last: number, bx: number, by: number): void {
  const nh = c.nh,
    nv = c.nv,
    Rh = REDUCE[nh];
  if (last === 0) {
    // DC only: a flat block
    const v = dq / 8 + 128,
      px = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    for (let y = 0; y < nv; y++) c.out.fill(px, (by * nv + y) * c.ow + bx * nh, (by * nv + y) * c.ow + bx * nh + nh);
    return;
  }
  const mu = ZMAXU[last]; // the highest column a coefficient up to zigzag `last` can be in (tmp is zero past it)
  for (let gy = 0; gy < nv; gy++)
    for (let gx = 0; gx < nh; gx++) {
      let s = 0;
      for (let u = 0; u <= mu; u++) s += Rh[gx * 8 + u] * tmp[gy * 8 + u];
      const v = s + 128;
      c.out[(by * nv + gy) * c.ow + bx * nh + gx] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
}
