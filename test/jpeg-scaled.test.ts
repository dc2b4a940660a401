// JPEGs decoded at 1/2, 1/4 and 1/8 scale in the DCT domain (src/vision/jpeg-scaled.ts) against libjpeg's own scaled
// decodes (djpeg -scale, fixtures from scripts/fixtures/gen_jpegs.py), against the box average of a full decode, and
// through ImageProcessor against a full decode + the same resize; corrupt and truncated data are Errors.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import encodeJpeg from "jpeg-js/lib/encoder.js";
import { decodeImage, ImageProcessor } from "../src/index.js";
import { decodeScaledJpeg } from "../src/vision/jpeg-scaled.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures/images/jpeg");
const jpeg = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, `${name}.jpg`)));

/** A binary PPM/PGM (djpeg's output) as RGB bytes. */
function pnm(file: string): { width: number; height: number; rgb: Uint8Array } {
  const b = readFileSync(join(dir, file));
  const head = b.subarray(0, 40).toString("latin1").split(/\s+/);
  const [magic, w, h] = [head[0], Number(head[1]), Number(head[2])];
  const px = b.subarray(b.length - w * h * (magic === "P5" ? 1 : 3));
  const rgb =
    magic === "P5" ? Uint8Array.from({ length: w * h * 3 }, (_, i) => px[Math.floor(i / 3)]) : new Uint8Array(px);
  return { width: w, height: h, rgb };
}

function diff(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  let sum = 0,
    max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / a.length, max };
}

const SCALES = [
  [1, "1_8"],
  [2, "1_4"],
  [4, "1_2"],
] as const;

describe("JPEG decoded at a reduced DCT scale", () => {
  // libjpeg's reduced IDCTs are fixed-point: its samples and ours (float64, then rounded) differ by rounding only
  for (const name of ["s444", "s420", "grey", "restart"]) {
    it(`${name}: libjpeg's scaled decode within rounding (mean <= 0.15, max <= 3 levels)`, () => {
      for (const [n, tag] of SCALES) {
        const ref = pnm(`${name}.${tag}.ppm`),
          got = decodeScaledJpeg(jpeg(name), n)!;
        expect([got.width, got.height]).toEqual([ref.width, ref.height]);
        const d = diff(got.data, ref.rgb);
        expect(d.mean, `${name} 1/${8 / n}: mean ${d.mean}`).toBeLessThanOrEqual(0.15);
        expect(d.max, `${name} 1/${8 / n}`).toBeLessThanOrEqual(3);
      }
    });
  }

  it(
    "each reduced pixel is the mean of its full-size block (4:2:2 too): within a level on average of a full " +
      "decode's box average",
    () => {
      for (const name of ["s444", "s422", "s420"]) {
        const full = decodeImage(jpeg(name));
        for (const [n] of SCALES) {
          const s = decodeScaledJpeg(jpeg(name), n)!,
            k = 8 / n;
          // interior pixels only: an edge block's mean includes the encoder's padding beyond the picture
          const got: number[] = [],
            box: number[] = [];
          for (let y = 0; (y + 2) * k * 2 <= full.height; y++)
            for (let x = 0; (x + 2) * k * 2 <= full.width; x++)
              for (let c = 0; c < 3; c++) {
                let acc = 0;
                for (let dy = 0; dy < k; dy++)
                  for (let dx = 0; dx < k; dx++)
                    acc += full.data[((y * k + dy) * full.width + x * k + dx) * full.channels + c];
                box.push(acc / (k * k));
                got.push(s.data[(y * s.width + x) * 3 + c]);
              }
          const d = diff(got, box);
          expect(d.mean, `${name} 1/${k}: mean ${d.mean}`).toBeLessThanOrEqual(1);
          expect(d.max, `${name} 1/${k}: max ${d.max}`).toBeLessThanOrEqual(12);
        }
      }
    },
  );

  it("progressive files are left to the full decoder (null)", () => {
    expect(decodeScaledJpeg(jpeg("progressive"), 1)).toBeNull();
    expect(decodeImage(jpeg("progressive")).width).toBe(203);
  });

  it("corrupt or truncated coded data is an Error, never silent garbage", () => {
    for (const name of ["s444", "s420", "restart"]) {
      const b = jpeg(name);
      let seed = 99,
        caught = 0;
      for (let trial = 0; trial < 5; trial++) {
        const bad = Uint8Array.from(b);
        for (let i = 0; i < 20; i++) {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          bad[700 + (seed % (bad.length - 800))] ^= 0x5a;
        }
        try {
          decodeImage(bad);
        } catch (e) {
          if (/corrupt JPEG data/.test((e as Error).message)) caught++;
        }
      }
      expect(`${name}: ${caught} of 5`).toBe(`${name}: 5 of 5`);
      expect(() => decodeImage(b.subarray(0, Math.floor(b.length * 0.7)))).toThrow(
        /corrupt JPEG data \((the scan runs past the end of the file|no marker after the scan)/,
      );
    }
  });
});

describe("ImageProcessor decodes a large JPEG at the scale its resize needs", () => {
  it("a 1600x1200 photo to 224: within half a level on average (max 4) of a full decode + the same resize", () => {
    const W = 1600,
      H = 1200,
      data = new Uint8Array(W * H * 4);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 4;
        data[i] = 128 + 100 * Math.sin(x / 37) * Math.cos(y / 23);
        data[i + 1] = 128 + 90 * Math.sin((x + y) / 61);
        data[i + 2] = 128 + 80 * Math.cos(x / 17 - y / 29);
        data[i + 3] = 255;
      }
    const bytes = new Uint8Array(encodeJpeg({ data, width: W, height: H }, 90).data);
    const on = new ImageProcessor({ size: 224, cropSize: 224 }).process([bytes]);
    const off = new ImageProcessor({ size: 224, cropSize: 224, jpegScaling: false }).process([bytes]);
    expect(on.shape).toEqual(off.shape);
    // back to 0..255 levels: x * std * 255 (std ~ 0.27)
    const d = diff(
      Array.from(on.data, (v) => v * 0.27 * 255),
      Array.from(off.data, (v) => v * 0.27 * 255),
    );
    expect(d.mean, `mean ${d.mean}`).toBeLessThanOrEqual(0.75);
    expect(d.max, `max ${d.max}`).toBeLessThanOrEqual(4);
  });
});

describe("EXIF orientation (exifTranspose, off by default as in torchvision)", () => {
  /** The JPEG with an APP1 Exif segment saying `orientation` right after its SOI. */
  function withOrientation(b: Uint8Array, orientation: number): Uint8Array {
    const tiff = [
      0x49,
      0x49,
      0x2a,
      0x00,
      8,
      0,
      0,
      0,
      1,
      0,
      0x12,
      0x01,
      3,
      0,
      1,
      0,
      0,
      0,
      orientation,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
    ];
    const body = [...Array.from("Exif\u0000\u0000", (ch) => ch.charCodeAt(0)), ...tiff];
    const seg = [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];
    return Uint8Array.from([0xff, 0xd8, ...seg, ...b.subarray(2)]);
  }
  it("reads the tag, and turns the picture as PIL's exif_transpose would (6: a quarter turn clockwise)", async () => {
    const { jpegOrientation, applyOrientation } = await import("../src/index.js");
    const b = jpeg("s444");
    for (const o of [1, 3, 6, 8]) expect(jpegOrientation(withOrientation(b, o))).toBe(o);
    expect(jpegOrientation(b)).toBe(1);
    const img = decodeImage(b),
      turned = applyOrientation(img, 6);
    expect([turned.width, turned.height]).toEqual([img.height, img.width]);
    // orientation 6: the top-left pixel shown is the source's bottom-left
    expect(Array.from(turned.data.subarray(0, 3))).toEqual(
      Array.from(img.data.subarray((img.height - 1) * img.width * 3, (img.height - 1) * img.width * 3 + 3)),
    );
    const p = (o: object) => new ImageProcessor({ size: 64, cropSize: 64, jpegScaling: false, ...o });
    const tagged = withOrientation(b, 6);
    expect(Array.from(p({ exifTranspose: true }).process([tagged]).data)).toEqual(
      Array.from(p({}).process([turned]).data),
    );
    // off: as torchvision
    expect(Array.from(p({}).process([tagged]).data)).toEqual(Array.from(p({}).process([b]).data));
  });
});
