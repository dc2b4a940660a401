// Image decoding and preprocessing against torchvision 0.14 (libpng / libjpeg decoding, uint8 tensor resize with
// antialias, center crop, normalisation): scripts/fixtures/gen_images.py.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { init, loadSafetensors, decodeImage, ImageProcessor, fromImageData, type DecodedImage } from "../src/index.js";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const manifest = JSON.parse(readFileSync(join(dir, "images.json"), "utf8"));
const tensors = loadSafetensors(readFileSync(join(dir, "images.safetensors")));

beforeAll(async () => {
  await init();
});

/** reference (3, H, W) -> HWC RGB image */
function refImage(file: string): DecodedImage {
  const t = tensors[`${file}.decoded`];
  const [, H, W] = t.shape;
  const data = new Uint8Array(H * W * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) data[i * 3 + c] = t.data[c * H * W + i];
  return { width: W, height: H, channels: 3, data };
}

describe("decodeImage vs torchvision.io", () => {
  it.each(manifest.files as string[])("%s", (file) => {
    const img = decodeImage(readFileSync(join(dir, "images", file)));
    const ref = refImage(file);
    expect([img.width, img.height]).toEqual([ref.width, ref.height]);
    let maxErr = 0,
      sum = 0;
    for (let i = 0; i < ref.width * ref.height; i++)
      for (let c = 0; c < 3; c++) {
        const e = Math.abs(img.data[i * img.channels + c] - ref.data[i * 3 + c]);
        maxErr = Math.max(maxErr, e);
        sum += e;
      }
    const mean = sum / (ref.width * ref.height * 3);
    if (file.endsWith(".png")) {
      expect(maxErr, `${file}: PNG decoding is exact`).toBe(0);
    } else {
      // jpeg-js and libjpeg differ in IDCT rounding and in chroma upsampling (libjpeg's "fancy" triangle
      // filter): a level or two on average, more at sharp colour edges in 4:2:0 images.
      if (process.env.POLYMODAL_VERBOSE) console.log(`${file}: mean |diff| ${mean.toFixed(3)}, max ${maxErr}`);
      expect(mean, `${file} mean abs difference`).toBeLessThan(2);
    }
  });

  it("corrupt and unknown bytes give clear Errors", () => {
    const png = readFileSync(join(dir, "images", "rgb.png"));
    const broken = new Uint8Array(png);
    broken[50] ^= 0xff;
    expect(() => decodeImage(broken)).toThrow(/CRC mismatch in chunk "IDAT"|does not inflate/);
    expect(() => decodeImage(png.subarray(0, 1000))).toThrow(/truncated/);
    expect(() => decodeImage(new TextEncoder().encode("GIF89a..."))).toThrow(
      new RegExp(
        String.raw`unsupported image format \(expected PNG or JPEG, got GIF: readImag` +
          String.raw`eFile in Node decodes .*; the file starts with bytes 47 49 46 38\)`,
      ),
    );
    const jpg = new Uint8Array(readFileSync(join(dir, "images", "photo420.jpg")));
    expect(() => decodeImage(jpg.subarray(0, 300))).toThrow(/decodeImage: corrupt (or unsupported JPEG|JPEG data)/);
    expect(() => fromImageData({ width: 2, height: 2, data: new Uint8Array(3) })).toThrow(
      /must hold width \* height \* 4 = 16 bytes, got 3/,
    );
    // fuzz: flipped bytes never crash; each gives a whole image or an Error naming the decoder (a flip the CRCs
    // catch is most of them), and the count says every case was one or the other
    let s = 9,
      decoded = 0,
      refused = 0;
    for (let i = 0; i < 200; i++) {
      const b = new Uint8Array(png);
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      b[8 + (s % (b.length - 8))] ^= 1 + (s >>> 24);
      try {
        const img = decodeImage(b);
        expect(img.data.length).toBe(img.width * img.height * img.channels);
        decoded++;
      } catch (e) {
        expect((e as Error).message).toMatch(/^decode(Png|Image): /);
        refused++;
      }
    }
    expect([decoded + refused, refused > 150]).toEqual([200, true]);
  });
});

describe("ImageProcessor vs torchvision transforms", () => {
  it.each(
    (
      manifest.cases as Array<{
        file: string;
        interpolation: "bicubic" | "bilinear";
        size: number;
        crop: number;
        key: string;
        pixels: boolean;
      }>
    ).map((c) => [c.key, c] as const),
  )("%s", (_k, c) => {
    const img = refImage(c.file); // isolate preprocessing from decoder differences
    // resized uint8 image (no crop, no normalisation)
    const resized = new ImageProcessor({
      size: c.size,
      cropSize: null,
      interpolation: c.interpolation,
      normalize: false,
    }).process(img);
    const ref = tensors[`${c.key}.resized`];
    expect(resized.shape.slice(1)).toEqual(ref.shape);
    let maxErr = 0,
      off = 0;
    for (let i = 0; i < ref.size; i++) {
      const e = Math.abs(Math.round(resized.data[i] * 255) - ref.data[i]);
      maxErr = Math.max(maxErr, e);
      if (e) off++;
    }
    // Same float32 operations as torch's antialias kernel; a value sitting on a rounding boundary may still
    // land one level apart.
    if (process.env.POLYMODAL_VERBOSE) console.log(`${c.key}: max ${maxErr}, ${off} of ${ref.size} values differ`);
    expect(maxErr, c.key).toBeLessThanOrEqual(1);
    expect(off / ref.size, c.key).toBeLessThan(0.002);
    if (c.pixels) {
      const px = new ImageProcessor({ size: c.size, cropSize: c.crop, interpolation: c.interpolation }).process(img);
      const rp = tensors[`${c.key}.pixels`];
      expect(px.shape).toEqual([1, ...rp.shape]);
      let m = 0;
      for (let i = 0; i < rp.size; i++) m = Math.max(m, Math.abs(px.data[i] - rp.data[i]));
      expect(m, `${c.key} pixels`).toBeLessThanOrEqual(1 / 255 / 0.26 + 1e-6); // at most one uint8 level
    }
  });

  it("batches images of any size to one crop, and rejects bad options", () => {
    const p = new ImageProcessor({ size: 32, cropSize: 24 });
    const a = refImage("rgb.png"),
      b = decodeImage(readFileSync(join(dir, "images", "rgba.png")));
    expect(p.process([a, b]).shape).toEqual([2, 3, 24, 24]);
    expect(() => new ImageProcessor({ interpolation: "nearest" as never })).toThrow(
      /interpolation must be "bilinear" or "bicubic"/,
    );
    expect(() => new ImageProcessor({ size: 0 })).toThrow(/size must be a positive integer/);
    expect(() => new ImageProcessor({ size: 32, cropSize: null }).process([a, b])).toThrow(/different sizes/);
  });
});
