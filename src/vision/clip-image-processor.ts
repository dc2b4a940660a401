// Hugging Face's CLIPImageProcessor, configured by the preprocessor_config.json beside a checkpoint: convert to RGB
// (alpha dropped, as PIL's convert("RGB")), shortest-edge resize through PIL (pil-resize.ts, bit-exact), centre
// crop with floor division, rescale in float64 then float32, normalise in float32 -- transformers' steps and
// arithmetic, so pixel values equal theirs exactly.
import { Tensor } from "../tensor.js";
import { applyOrientation, decodeImage, fromImageData, jpegOrientation } from "./image.js";
import { resizePIL, PIL_FILTERS } from "./pil-resize.js";
import type { ImageInput } from "./processor.js";

const f = Math.fround;

export interface CLIPImageProcessorConfig {
  doResize: boolean;
  /** the shorter side after resizing, or an exact [height, width] */
  size: { shortestEdge: number } | { height: number; width: number };
  /** PIL's resample code (2 bilinear, 3 bicubic, 4 box) */
  resample: number;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

const KNOWN_TYPES = ["CLIPImageProcessor", "CLIPFeatureExtractor"];

function bad(msg: string): never {
  throw new Error(`preprocessor_config.json: ${msg}`);
}

const posInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** The processor a parsed preprocessor_config.json describes (transformers' defaults for omitted fields). */
export function clipImageProcessorConfig(json: unknown): CLIPImageProcessorConfig {
  if (!json || typeof json !== "object" || Array.isArray(json)) bad("must be a JSON object");
  const j = json as Record<string, unknown>;
  const type = j.image_processor_type ?? j.feature_extractor_type;
  if (type !== undefined && !KNOWN_TYPES.includes(type as string))
    bad(`processor type ${JSON.stringify(type)} is not supported (supported: ${KNOWN_TYPES.join(", ")})`);
  const bool = (k: string, d: boolean): boolean => {
    const v = j[k] ?? d;
    if (typeof v !== "boolean") bad(`${k} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const rawSize = j.size ?? { shortest_edge: 224 };
  let size: CLIPImageProcessorConfig["size"];
  if (posInt(rawSize)) size = { shortestEdge: rawSize };
  else if (rawSize && typeof rawSize === "object" && posInt((rawSize as any).shortest_edge))
    size = { shortestEdge: (rawSize as any).shortest_edge };
  else if (rawSize && typeof rawSize === "object" && posInt((rawSize as any).height) && posInt((rawSize as any).width))
    size = { height: (rawSize as any).height, width: (rawSize as any).width };
  else
    bad(`size must be an integer, {"shortest_edge": n} or {"height": h, "width": w}, got ${JSON.stringify(rawSize)}`);
  const rawCrop = j.crop_size ?? { height: 224, width: 224 };
  let cropSize: CLIPImageProcessorConfig["cropSize"];
  if (posInt(rawCrop)) cropSize = { height: rawCrop, width: rawCrop };
  else if (rawCrop && typeof rawCrop === "object" && posInt((rawCrop as any).height) && posInt((rawCrop as any).width))
    cropSize = { height: (rawCrop as any).height, width: (rawCrop as any).width };
  else bad(`crop_size must be an integer or {"height": h, "width": w}, got ${JSON.stringify(rawCrop)}`);
  const resample = j.resample ?? 3;
  // an own property of the table only ("__proto__" or "toString" must not find Object's)
  if (!Number.isInteger(resample) || !Object.hasOwn(PIL_FILTERS, resample as number))
    bad(
      `resample ${JSON.stringify(resample)} is not supported (supported: ${Object.entries(PIL_FILTERS)
        .map(([k, v]) => `${k} ${v.name}`)
        .join(", ")})`,
    );
  const triple = (k: string, d: [number, number, number]): [number, number, number] => {
    const v = j[k] ?? d;
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== "number" || !Number.isFinite(x)))
      bad(`${k} must be three numbers, got ${JSON.stringify(v)}`);
    return v as [number, number, number];
  };
  const rescaleFactor = j.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== "number" || !(rescaleFactor > 0))
    bad(`rescale_factor must be a positive number, got ${JSON.stringify(rescaleFactor)}`);
  const imageStd = triple("image_std", [0.26862954, 0.26130258, 0.27577711]);
  if (imageStd.some((s) => !(s > 0))) bad("image_std must be positive");
  if (bool("do_convert_rgb", true) === false)
    bad("do_convert_rgb false is not supported (images are always converted to RGB)");
  return {
    doResize: bool("do_resize", true),
    size,
    resample: resample as number,
    doCenterCrop: bool("do_center_crop", true),
    cropSize,
    doRescale: bool("do_rescale", true),
    rescaleFactor,
    doNormalize: bool("do_normalize", true),
    imageMean: triple("image_mean", [0.48145466, 0.4578275, 0.40821073]),
    imageStd,
  };
}

/**
 * transformers' CLIPImageProcessor: images in, pixel values (B, 3, H, W) out, equal to what Python's
 * `CLIPImageProcessor(**preprocessor_config)(images)` gives for the same decoded pixels.
 * @example
 * const proc = CLIPImageProcessor.fromJSON(JSON.parse(readFileSync("clip/preprocessor_config.json", "utf8")));
 * const pixelValues = proc.process([readFileSync("cat.jpg")]); // (1, 3, 224, 224)
 */
export class CLIPImageProcessor {
  /** exifTranspose: turn a JPEG as its EXIF orientation says first (PIL's exif_transpose; default false) */
  constructor(
    readonly config: CLIPImageProcessorConfig,
    readonly options: { exifTranspose?: boolean } = {},
  ) {}

  static fromJSON(json: unknown, options: { exifTranspose?: boolean } = {}): CLIPImageProcessor {
    return new CLIPImageProcessor(clipImageProcessorConfig(json), options);
  }

  /** One image -> interleaved RGB uint8 (h, w, 3) after resize and crop. */
  private prepare(input: ImageInput): { rgb: Uint8Array; h: number; w: number } {
    const bytes = input instanceof Uint8Array ? input : input instanceof ArrayBuffer ? new Uint8Array(input) : null;
    const other = input as Exclude<ImageInput, Uint8Array | ArrayBuffer>;
    const decoded = bytes ? decodeImage(bytes) : "channels" in other ? other : fromImageData(other);
    const img = bytes && this.options.exifTranspose ? applyOrientation(decoded, jpegOrientation(bytes)) : decoded;
    const { width: W, height: H, channels: C, data } = img;
    let rgb: Uint8Array = data,
      h = H,
      w = W;
    if (C !== 3) {
      // convert("RGB"): alpha dropped
      rgb = new Uint8Array(H * W * 3);
      for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * C + c];
    }
    const c = this.config;
    if (c.doResize) {
      let oh: number, ow: number;
      if ("shortestEdge" in c.size) {
        // get_resize_output_image_size(default_to_square=False)
        const s = c.size.shortestEdge;
        if (w <= h) {
          ow = s;
          oh = Math.trunc((s * h) / w);
        } else {
          oh = s;
          ow = Math.trunc((s * w) / h);
        }
      } else ({ height: oh, width: ow } = c.size);
      if (oh !== h || ow !== w) {
        rgb = resizePIL(rgb, h, w, 3, oh, ow, c.resample);
        h = oh;
        w = ow;
      }
    }
    if (c.doCenterCrop) {
      const { height: ch, width: cw } = c.cropSize;
      // transformers' center_crop: (size - crop) // 2; where the crop is larger it pads with zeros by ceil(d / 2)
      // first, which puts the same image rows at the same output rows
      const top = Math.floor((h - ch) / 2),
        left = Math.floor((w - cw) / 2);
      const out = new Uint8Array(ch * cw * 3);
      for (let y = 0; y < ch; y++) {
        const sy = top + y;
        if (sy < 0 || sy >= h) continue;
        for (let x = 0; x < cw; x++) {
          const sx = left + x;
          if (sx >= 0 && sx < w) for (let k = 0; k < 3; k++) out[(y * cw + x) * 3 + k] = rgb[(sy * w + sx) * 3 + k];
        }
      }
      rgb = out;
      h = ch;
      w = cw;
    }
    return { rgb, h, w };
  }

  /** Images -> float32 pixel values (B, 3, H, W). */
  process(images: ImageInput | ImageInput[]): Tensor {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new Error("CLIPImageProcessor.process: no images");
    const prepared = list.map((im) => this.prepare(im));
    const { h, w } = prepared[0];
    if (prepared.some((p) => p.h !== h || p.w !== w))
      throw new Error(
        "CLIPImageProcessor.process: images end up with different sizes (no center crop and no fixed size); they " +
          "cannot be batched",
      );
    const c = this.config;
    const out = new Float32Array(list.length * 3 * h * w);
    prepared.forEach((p, b) => {
      for (let ch = 0; ch < 3; ch++) {
        const m = f(c.imageMean[ch]),
          s = f(c.imageStd[ch]);
        for (let i = 0; i < h * w; i++) {
          const u = p.rgb[i * 3 + ch];
          // rescale: uint8 * factor in float64, then float32; normalize: (x - mean) / std in float32
          const v = c.doRescale ? f(u * c.rescaleFactor) : u;
          out[(b * 3 + ch) * h * w + i] = c.doNormalize ? f(f(v - m) / s) : v;
        }
      }
    });
    return new Tensor(out, [list.length, 3, h, w]);
  }
}
