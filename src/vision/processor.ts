// ImageProcessor: torchvision's preprocessing on uint8 tensors (what CLIP pipelines run): drop alpha ->
// Resize(size, interpolation, antialias=True) rounded back to uint8 -> CenterCrop -> /255 -> Normalize.
import { Tensor } from "../tensor.js";
import {
  decodeImage,
  fromImageData,
  jpegSize,
  isJpegBytes,
  checkJpegPixels,
  jpegOrientation,
  applyOrientation,
  type DecodedImage,
  type ImageDataLike,
} from "./image.js";
import { decodeScaledJpeg } from "./jpeg-scaled.js";
import { resizePlanar, type Interpolation } from "./resize.js";

const f = Math.fround;

export interface ImageProcessorOptions {
  /** shorter side after resizing (int), or [height, width]; null: no resize (default 224) */
  size?: number | [number, number] | null;
  interpolation?: Interpolation;
  /** center crop [height, width] or a square side; null: no crop (default 224) */
  cropSize?: number | [number, number] | null;
  /** per-channel mean and std (default CLIP's) */
  mean?: [number, number, number];
  std?: [number, number, number];
  normalize?: boolean;
  /**
   * Decode a JPEG at 1/2, 1/4 or 1/8 scale in the DCT domain when the resize target allows (default true): a 12 MP
   * photo to 224 px in a fraction of the time and memory.  Each reduced pixel is the mean of the full-size block's
   * pixels, so after the resize the values differ from a full decode's by about half a level on average (a few
   * levels at most; measured in test/jpeg-scaled.test.ts).  false: always decode at full size, as torchvision.
   */
  jpegScaling?: boolean;
  /**
   * Turn a JPEG as its EXIF orientation says (PIL's ImageOps.exif_transpose) before anything else (default false:
   * torchvision's decode_image ignores EXIF, and so does the default here).
   */
  exifTranspose?: boolean;
}

export type ImageInput = DecodedImage | ImageDataLike | Uint8Array | ArrayBuffer;

/** torch.round: halves to even. */
function roundHalfEven(x: number): number {
  const fl = Math.floor(x),
    d = x - fl;
  if (d > 0.5) return fl + 1;
  if (d < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** Python's round() on a float (half to even), as torchvision's center_crop uses. */
const pyRound = roundHalfEven;

/**
 * @example
 * const proc = new ImageProcessor({ size: 224, cropSize: 224, interpolation: "bicubic" });
 * const pixels = proc.process([decodeImage(pngBytes), decodeImage(jpegBytes)]); // (2, 3, 224, 224)
 * const emb = clip.encodeImage(pixels);
 */
export class ImageProcessor {
  readonly options: Required<ImageProcessorOptions>;
  constructor(options: ImageProcessorOptions = {}) {
    const o = {
      size: options.size === undefined ? 224 : options.size,
      interpolation: options.interpolation ?? "bicubic",
      cropSize: options.cropSize === undefined ? 224 : options.cropSize,
      mean: options.mean ?? [0.48145466, 0.4578275, 0.40821073],
      std: options.std ?? [0.26862954, 0.26130258, 0.27577711],
      normalize: options.normalize ?? true,
      jpegScaling: options.jpegScaling ?? true,
      exifTranspose: options.exifTranspose ?? false,
    } as Required<ImageProcessorOptions>;
    if (o.interpolation !== "bilinear" && o.interpolation !== "bicubic")
      throw new Error(
        `ImageProcessor: interpolation must be "bilinear" or "bicubic", got ${JSON.stringify(o.interpolation)}`,
      );
    for (const [n, v] of [
      ["size", o.size],
      ["cropSize", o.cropSize],
    ] as const) {
      const vals = v === null ? [] : typeof v === "number" ? [v] : v;
      if (vals.some((x) => !Number.isInteger(x) || x < 1))
        throw new Error(`ImageProcessor: ${n} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
    }
    if (o.std.some((s) => !(s > 0))) throw new Error("ImageProcessor: std must be positive");
    this.options = o;
  }

  /** One image -> planar uint8-valued float (3, H, W) after resize and crop. */
  private prepare(input: ImageInput): { data: Float32Array; h: number; w: number } {
    const bytes = input instanceof Uint8Array ? input : input instanceof ArrayBuffer ? new Uint8Array(input) : null;
    // the resize target comes from the image's own size (a JPEG's from its header), whatever scale it is decoded at
    const header = bytes && isJpegBytes(bytes) ? jpegSize(bytes) : null;
    const orientation = bytes && this.options.exifTranspose ? jpegOrientation(bytes) : 1;
    // the size as shown: a quarter turn swaps the sides
    const full = header && orientation >= 5 ? { width: header.height, height: header.width } : header;
    const target = (w: number, h: number): [number, number] | null => {
      const size = this.options.size;
      if (size === null) return null;
      if (typeof size !== "number") return size;
      // torchvision: the shorter side becomes `size`, the longer int(size * long / short)
      return w <= h ? [Math.trunc((size * h) / w), size] : [size, Math.trunc((size * w) / h)];
    };
    let img: DecodedImage | null = null;
    const t = full ? target(full.width, full.height) : null;
    if (bytes && full && t && this.options.jpegScaling) {
      // decode at the smallest DCT scale (1/8, 1/4, 1/2) still at least the target size, as libjpeg can
      checkJpegPixels(full);
      for (const n of [1, 2, 4] as const) {
        if (Math.ceil((full.width * n) / 8) >= t[1] && Math.ceil((full.height * n) / 8) >= t[0]) {
          img = decodeScaledJpeg(bytes, n);
          break;
        }
      }
    }
    img ??= bytes
      ? decodeImage(bytes)
      : "channels" in (input as object)
        ? (input as DecodedImage)
        : fromImageData(input as ImageDataLike);
    img = applyOrientation(img, orientation);
    const { width: W, height: H, channels: C, data } = img;
    const planar = (): Float32Array => {
      const p = new Float32Array(3 * H * W);
      for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) p[c * H * W + i] = data[i * C + c];
      return p;
    };
    let plane: Float32Array | null = null;
    let h = H,
      w = W;
    const size = this.options.size;
    if (size !== null) {
      const [oh, ow] = t ?? target(W, H)!;
      if (oh !== h || ow !== w) {
        // a width change reads the decoded pixels as they are; a height-only change needs the planar copy
        const r =
          ow !== w
            ? resizePlanar(data, 3, h, w, oh, ow, this.options.interpolation, C)
            : resizePlanar(planar(), 3, h, w, oh, ow, this.options.interpolation);
        for (let i = 0; i < r.length; i++) r[i] = Math.min(255, Math.max(0, roundHalfEven(r[i])));
        plane = r;
        h = oh;
        w = ow;
      }
    }
    plane ??= planar();
    const crop = this.options.cropSize;
    if (crop !== null) {
      const [ch, cw] = typeof crop === "number" ? [crop, crop] : crop;
      const top = pyRound((h - ch) / 2),
        left = pyRound((w - cw) / 2);
      const out = new Float32Array(3 * ch * cw); // zeros where the crop leaves the image (torchvision pads)
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < ch; y++) {
          const sy = top + y;
          if (sy < 0 || sy >= h) continue;
          for (let x = 0; x < cw; x++) {
            const sx = left + x;
            if (sx >= 0 && sx < w) out[(c * ch + y) * cw + x] = plane[(c * h + sy) * w + sx];
          }
        }
      plane = out;
      h = ch;
      w = cw;
    }
    return { data: plane, h, w };
  }

  /** Images -> a float32 batch (B, 3, H, W) ready for a vision encoder. */
  process(images: ImageInput | ImageInput[]): Tensor {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new Error("ImageProcessor.process: no images");
    const prepared = list.map((im) => this.prepare(im));
    const { h, w } = prepared[0];
    if (prepared.some((p) => p.h !== h || p.w !== w))
      throw new Error(
        "ImageProcessor.process: images end up with different sizes; set size as [height, width] or a cropSize to " +
          "batch them",
      );
    const out = new Float32Array(list.length * 3 * h * w);
    const { mean, std, normalize } = this.options;
    prepared.forEach((p, b) => {
      for (let c = 0; c < 3; c++) {
        const m = f(mean[c]),
          s = f(std[c]);
        for (let i = 0; i < h * w; i++) {
          const v = f(p.data[c * h * w + i] / 255);
          out[(b * 3 + c) * h * w + i] = normalize ? f(f(v - m) / s) : v;
        }
      }
    });
    return new Tensor(out, [list.length, 3, h, w]);
  }
}
