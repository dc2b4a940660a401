// The default resource limits of every decoder and loader, in one place a user (or the CLI's flags) can raise or
// lower.  Each decoder also takes its own `limits` argument; what it does not set comes from here, read at call time.
// A breach is an Error naming the limit.

export interface Limits {
  /** images: most pixels (width x height) decoded (default 50 million, a 50 MP photo) */
  maxPixels: number;
  /** WAV: longest audio decoded, in seconds (default 3,600) */
  maxAudioSeconds: number;
  /** WAV: most channels (default 64) */
  maxChannels: number;
  /** WAV: accepted sample rates in Hz (default 1,000 to 768,000) */
  minSampleRate: number;
  maxSampleRate: number;
  /** video: most pixels per frame (default 4096 x 4096) */
  maxVideoPixels: number;
  /** video: most bytes of decoded RGB frames returned (default 1 GiB) */
  maxVideoBytes: number;
  /** video: ffmpeg / ffprobe are stopped after this many milliseconds (default 120,000) */
  videoTimeoutMs: number;
  /** safetensors: largest JSON header in bytes (default 16 MiB) */
  maxSafetensorsHeaderBytes: number;
  /**
   * model folders: most parameters a config.json may describe (default 1e9: 4 GB as float32, all of wasm32's
   * memory)
   */
  maxParameters: number;
  /** text documents (an index's .txt / .md files): largest file read, in bytes (default 10 MB) */
  maxTextBytes: number;
}

/**
 * The defaults, mutable: `limits.maxPixels = 100e6` lets every later decodeImage take 100 MP images.
 * @example
 * import { limits } from "polymodal";
 * limits.maxAudioSeconds = 4 * 3600; // four-hour recordings
 */
export const limits: Limits = {
  maxPixels: 50_000_000,
  maxAudioSeconds: 3600,
  maxChannels: 64,
  minSampleRate: 1000,
  maxSampleRate: 768_000,
  maxVideoPixels: 4096 * 4096,
  maxVideoBytes: 2 ** 30,
  videoTimeoutMs: 120_000,
  maxSafetensorsHeaderBytes: 16 * 1024 * 1024,
  maxParameters: 1_000_000_000,
  maxTextBytes: 10_000_000,
};
