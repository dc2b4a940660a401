// VideoProcessor: frames -> the (B, T, 3, H, W) batch VideoEncoder / VideoTextModel take.  T frames are sampled
// uniformly (the centres of T equal segments of the clip, as TSN-style test sampling does), each preprocessed
// by an ImageProcessor.
import { Tensor } from "../tensor.js";
import { ImageProcessor, type ImageProcessorOptions, type ImageInput } from "../vision/processor.js";

export interface VideoProcessorOptions extends ImageProcessorOptions {
  /** frames per clip (the reference design's VideoEncoder default: 16) */
  numFrames?: number;
}

/**
 * Indices of numFrames frames out of frameCount: floor((2i + 1) * frameCount / (2 * numFrames)); repeats frames of
 * clips shorter than numFrames.
 */
export function sampleFrameIndices(frameCount: number, numFrames: number): number[] {
  if (!Number.isInteger(frameCount) || frameCount < 1)
    throw new Error(`sampleFrameIndices: the video has ${frameCount} frames; need at least one`);
  if (!Number.isInteger(numFrames) || numFrames < 1)
    throw new Error(`sampleFrameIndices: numFrames must be a positive integer, got ${numFrames}`);
  return Array.from({ length: numFrames }, (_, i) => Math.floor(((2 * i + 1) * frameCount) / (2 * numFrames)));
}

/**
 * @example
 * const proc = new VideoProcessor({ numFrames: 8, size: null, cropSize: null, mean: [0.5, 0.5, 0.5], std: [0.25,
 * 0.25, 0.25] });
 * const video = proc.process(decodeY4M(bytes).frames); // (1, 8, 3, H, W)
 * const emb = model.encodeVideo(video);
 */
export class VideoProcessor {
  readonly numFrames: number;
  readonly image: ImageProcessor;
  constructor(options: VideoProcessorOptions = {}) {
    const { numFrames = 16, ...img } = options;
    if (!Number.isInteger(numFrames) || numFrames < 1)
      throw new Error(`VideoProcessor: numFrames must be a positive integer, got ${numFrames}`);
    this.numFrames = numFrames;
    this.image = new ImageProcessor(img);
  }

  /**
   * One clip's decoded frames (all of them, or already sampled: any count) -> (1, numFrames, 3, H, W); several
   * clips -> (B, ...).
   */
  process(clips: ImageInput[] | ImageInput[][]): Tensor {
    if (!Array.isArray(clips) || clips.length === 0)
      throw new Error("VideoProcessor.process: expected an array of frames (one clip) or of clips");
    const list = (Array.isArray(clips[0]) ? clips : [clips]) as ImageInput[][];
    const parts = list.map((frames, b) => {
      if (!Array.isArray(frames) || frames.length === 0)
        throw new Error(`VideoProcessor.process: clip ${b} has no frames`);
      const idx = sampleFrameIndices(frames.length, this.numFrames);
      return this.image.process(idx.map((i) => frames[i])); // (T, 3, H, W)
    });
    const [, C, H, W] = parts[0].shape;
    if (parts.some((p) => p.shape[2] !== H || p.shape[3] !== W))
      throw new Error(
        "VideoProcessor.process: clips end up with different frame sizes; set size/cropSize to batch them",
      );
    const out = new Float32Array(list.length * this.numFrames * C * H * W);
    parts.forEach((p, b) => out.set(p.data as Float32Array, b * p.size));
    return new Tensor(out, [list.length, this.numFrames, C, H, W]);
  }
}
