// Crafted PNG files for the hostile-input tests and scripts/bombs.mjs: any IHDR with any IDAT payload, chunk CRCs
// computed (so the decoder must judge the contents), and resealing after bytes were flipped.
const TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc(b, start, end) {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG with IHDR (w, h, colour type, bit depth), one IDAT holding `idat` and IEND. */
export function craftPng(w, h, colorType, depth, idat) {
  const chunk = (type, body) => {
    const out = new Uint8Array(12 + body.length),
      dv = new DataView(out.buffer);
    dv.setUint32(0, body.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(body, 8);
    dv.setUint32(8 + body.length, crc(out, 4, 8 + body.length));
    return out;
  };
  const ihdr = new Uint8Array(13),
    dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const parts = [
    Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Recomputes every chunk's CRC in place (after bytes were changed). */
export function resealPng(b) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 8; o + 12 <= b.length; ) {
    const len = dv.getUint32(o);
    if (o + 12 + len > b.length) break;
    dv.setUint32(o + 8 + len, crc(b, o + 4, o + 8 + len));
    o += 12 + len;
  }
}
