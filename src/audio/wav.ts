// WAV (RIFF/WAVE) decoding and encoding.  Samples are scaled to [-1, 1) as torchaudio.load(normalize=True)
// does: 8-bit unsigned (x - 128) / 128, 16/24/32-bit signed x / 2^(bits-1), float as stored.
// Every read is bounds-checked and sizes are validated against the file before anything is allocated, so a
// corrupt or truncated file gives an Error, never a hang or an unbounded allocation.

export interface DecodedAudio {
  sampleRate: number;
  /** one Float32Array per channel */
  channels: Float32Array[];
}

import { PolymodalError } from "../util/errors.js";
import { limits } from "../util/limits.js";

const PCM = 1,
  FLOAT = 3,
  EXTENSIBLE = 0xfffe;

/** Resource limits of decodeWav, checked from the header before any sample is read (a breach names the limit). */
export interface AudioLimits {
  /** longest audio decoded, in seconds (default 3,600) */
  maxSeconds?: number;
  /** most channels (default 64) */
  maxChannels?: number;
  /** accepted sample rates in Hz (default 1,000 to 768,000: a 1 Hz "file" of an hour's samples is not audio) */
  minSampleRate?: number;
  maxSampleRate?: number;
}
/** The current defaults (from the global `limits`). */
export const defaultAudioLimits = (): Required<AudioLimits> => ({
  maxSeconds: limits.maxAudioSeconds,
  maxChannels: limits.maxChannels,
  minSampleRate: limits.minSampleRate,
  maxSampleRate: limits.maxSampleRate,
});

function bad(msg: string, code: "bad_input" | "too_large" = "bad_input"): never {
  throw new PolymodalError(code, `decodeWav: ${msg}`);
}

/**
 * Decodes a WAV file's bytes.
 * @example
 * const { sampleRate, channels } = decodeWav(new Uint8Array(await (await fetch("speech.wav")).arrayBuffer()));
 */
export function decodeWav(bytes: Uint8Array | ArrayBuffer, options: AudioLimits = {}): DecodedAudio {
  const lim = { ...defaultAudioLimits(), ...options };
  const u8 =
    bytes instanceof Uint8Array
      ? bytes
      : bytes instanceof ArrayBuffer
        ? new Uint8Array(bytes)
        : bad("expected a Uint8Array or ArrayBuffer");
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const tag = (o: number): string => String.fromCharCode(u8[o], u8[o + 1], u8[o + 2], u8[o + 3]);
  if (u8.length < 12) bad(`file is ${u8.length} bytes, too short for a RIFF header`);
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE")
    bad(`not a RIFF/WAVE file (starts with ${JSON.stringify(tag(0))}, form ${JSON.stringify(tag(8))})`);
  let fmt: { format: number; channels: number; rate: number; bits: number; align: number } | null = null;
  let data: { off: number; len: number } | null = null;
  let off = 12;
  // Chunks: 4-byte id, 4-byte little-endian size, payload, pad byte when the size is odd.
  while (off + 8 <= u8.length) {
    const id = tag(off);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === "fmt ") {
      if (size < 16 || body + size > u8.length) bad(`fmt chunk of ${size} bytes is truncated or too short (needs 16)`);
      let format = dv.getUint16(body, true);
      const channels = dv.getUint16(body + 2, true),
        rate = dv.getUint32(body + 4, true);
      const align = dv.getUint16(body + 12, true),
        bits = dv.getUint16(body + 14, true);
      if (format === EXTENSIBLE) {
        if (size < 40) bad(`WAVE_FORMAT_EXTENSIBLE fmt chunk must be 40 bytes, got ${size}`);
        format = dv.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { format, channels, rate, bits, align };
    } else if (id === "data") {
      const avail = u8.length - body;
      if (size > avail) bad(`data chunk declares ${size} bytes but only ${avail} follow (truncated file)`);
      data = { off: body, len: size };
      if (fmt) break;
    }
    off = body + size + (size & 1);
  }
  if (!fmt) bad("no fmt chunk");
  if (!data) bad("no data chunk");
  const { format, channels, rate, bits, align } = fmt;
  if (channels < 1) bad("channel count is 0");
  if (channels > lim.maxChannels)
    bad(`${channels} channels exceed the limit of ${lim.maxChannels} (limits.maxChannels)`);
  if (rate < lim.minSampleRate || rate > lim.maxSampleRate)
    bad(
      `sample rate ${rate} Hz is outside ${lim.minSampleRate} to ${lim.maxSampleRate} Hz (limits.minSampleRate / ` +
        `maxSampleRate)`,
    );
  const valid =
    (format === PCM && [8, 16, 24, 32].includes(bits)) || (format === FLOAT && (bits === 32 || bits === 64));
  if (!valid)
    bad(
      `unsupported encoding: format ${format} with ${bits} bits (supported: PCM 8/16/24/32-bit, IEEE float 32/64-bit)`,
    );
  const bps = bits / 8;
  if (align !== bps * channels) bad(`block align ${align} does not match ${channels} channel(s) of ${bits} bits`);
  const frames = Math.floor(data.len / align);
  if (frames / rate > lim.maxSeconds)
    bad(
      `${(frames / rate).toFixed(1)} s of audio exceeds the limit of ${lim.maxSeconds} s (limits.maxAudioSeconds, ` +
        `or the maxSeconds option)`,
      "too_large",
    );
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  let p = data.off;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++, p += bps) {
      let v: number;
      if (format === FLOAT) v = bits === 32 ? dv.getFloat32(p, true) : dv.getFloat64(p, true);
      else if (bits === 8) v = (u8[p] - 128) / 128;
      else if (bits === 16) v = dv.getInt16(p, true) / 32768;
      else if (bits === 24) v = (((u8[p + 2] << 24) | (u8[p + 1] << 16) | (u8[p] << 8)) >> 8) / 8388608;
      else v = dv.getInt32(p, true) / 2147483648;
      out[c][i] = v;
    }
  }
  return { sampleRate: rate, channels: out };
}

export interface EncodeWavOptions {
  /** 16-bit PCM (default), 24/32-bit PCM, or 32-bit float */
  format?: "pcm16" | "pcm24" | "pcm32" | "float32";
}

/** Encodes channels (equal lengths, values in [-1, 1]; PCM clips) as a WAV file. */
export function encodeWav(channels: Float32Array[], sampleRate: number, options: EncodeWavOptions = {}): Uint8Array {
  if (!Array.isArray(channels) || channels.length < 1) throw new Error("encodeWav: need at least one channel");
  const n = channels[0].length;
  if (channels.some((c) => !(c instanceof Float32Array) || c.length !== n))
    throw new Error("encodeWav: channels must be Float32Arrays of equal length");
  if (!Number.isInteger(sampleRate) || sampleRate < 1)
    throw new Error(`encodeWav: sampleRate must be a positive integer, got ${sampleRate}`);
  const format = options.format ?? "pcm16";
  const bits = format === "pcm16" ? 16 : format === "pcm24" ? 24 : 32;
  const bps = bits / 8,
    C = channels.length,
    dataLen = n * C * bps;
  const out = new Uint8Array(44 + dataLen + (dataLen & 1));
  const dv = new DataView(out.buffer);
  const put = (o: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  dv.setUint32(4, out.length - 8, true);
  put(8, "WAVE");
  put(12, "fmt ");
  dv.setUint32(16, 16, true);
  dv.setUint16(20, format === "float32" ? FLOAT : PCM, true);
  dv.setUint16(22, C, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * C * bps, true);
  dv.setUint16(32, C * bps, true);
  dv.setUint16(34, bits, true);
  put(36, "data");
  dv.setUint32(40, dataLen, true);
  let p = 44;
  const full = 2 ** (bits - 1);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++, p += bps) {
      const v = channels[c][i];
      if (format === "float32") {
        dv.setFloat32(p, v, true);
        continue;
      }
      // round half up (Math.round: exact, not a transcendental), clip to the integer range
      const q = Math.max(-full, Math.min(full - 1, Math.round(Math.max(-1, Math.min(1, v)) * full)));
      if (bits === 16) dv.setInt16(p, q, true);
      else if (bits === 32) dv.setInt32(p, q, true);
      else {
        out[p] = q & 255;
        out[p + 1] = (q >> 8) & 255;
        out[p + 2] = (q >> 16) & 255;
      }
    }
  }
  return out;
}

/** Mean of the channels (torchaudio users' waveform.mean(0)). */
export function downmix(channels: Float32Array[]): Float32Array {
  if (!Array.isArray(channels) || channels.length < 1) throw new Error("downmix: need at least one channel");
  const n = channels[0].length;
  if (channels.length === 1) return channels[0].slice();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const c of channels) s = Math.fround(s + c[i]);
    out[i] = Math.fround(s / channels.length);
  }
  return out;
}
