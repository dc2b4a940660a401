// Audio files in Node: WAV natively (decodeWav), and everything else -- MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC, and WAVs
// in encodings decodeWav does not read (mu-law, A-law, ADPCM) -- through the system's ffmpeg, asked for the file's
// own rate and channels as 32-bit float, so resampling and downmixing stay polymodal's (torchaudio's arithmetic).
import { PolymodalError } from "../util/errors.js";
import { decodeWav, defaultAudioLimits, type AudioLimits, type DecodedAudio } from "./wav.js";
import { nodeModules, runFfmpeg, ffprobeFor, readMediaFile, extensionOf } from "../io/ffmpeg.js";
import { limits } from "../util/limits.js";

/** The audio formats read through ffmpeg, by extension (their names for messages). */
export const FFMPEG_AUDIO: Record<string, string> = {
  ".mp3": "MP3",
  ".flac": "FLAC",
  ".ogg": "Ogg",
  ".oga": "Ogg",
  ".opus": "Opus",
  ".m4a": "M4A (AAC/ALAC)",
  ".aac": "AAC",
  ".wma": "WMA",
};

export interface ReadAudioOptions extends AudioLimits {
  /** ffmpeg executable (default "ffmpeg" on PATH); ffprobe is looked up beside it */
  ffmpegPath?: string;
  /** ffmpeg / ffprobe are stopped after this many milliseconds (default limits.videoTimeoutMs) */
  timeoutMs?: number;
}

/**
 * The most bytes a file with this start may hold within maxSeconds: for a WAV, its header's byte rate times the
 * limit (and 1 MiB for other chunks), so a 600 MB WAV over the limit is refused before it is read; for other
 * formats (compressed: ffmpeg decodes them under its own byte budget) 2 GiB.
 */
function wavByteBudget(head: Uint8Array, maxSeconds: number): number {
  const tag = (at: number): string => String.fromCharCode(...head.subarray(at, at + 4));
  const other = 2 ** 31;
  if (head.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return other;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  for (let at = 12; at + 8 <= head.length; ) {
    const size = dv.getUint32(at + 4, true);
    if (tag(at) === "fmt " && at + 16 <= head.length) {
      const byteRate = dv.getUint32(at + 16, true);
      return byteRate > 0 ? Math.ceil(maxSeconds * byteRate) + (1 << 20) : other;
    }
    at += 8 + size + (size & 1);
  }
  return other;
}

/**
 * Reads an audio file's samples: one Float32Array per channel at the file's own rate.
 * @example
 * const { sampleRate, channels } = await readAudioFile("voice-note.m4a");
 * asr.transcribe({ waveform: downmix(channels), sampleRate });
 */
export async function readAudioFile(file: string, options: ReadAudioOptions = {}): Promise<DecodedAudio> {
  const { path } = await nodeModules("readAudioFile", "in a browser decode audio with decodeWav or the Web Audio API");
  const lim = { ...defaultAudioLimits(), ...options };
  const bytes = await readMediaFile("readAudioFile", file, (head) => wavByteBudget(head, lim.maxSeconds));
  const riff =
    bytes.length >= 12 &&
    String.fromCharCode(...bytes.subarray(0, 4)) === "RIFF" &&
    String.fromCharCode(...bytes.subarray(8, 12)) === "WAVE";
  let format: string;
  if (riff) {
    try {
      return decodeWav(bytes, lim);
    } catch (e) {
      // an encoding decodeWav does not read goes to ffmpeg; a broken or over-limit file is an error as it is
      const m = /unsupported encoding: format (\d+)/.exec((e as Error).message);
      if (!m) throw e;
      const names: Record<string, string> = { 2: "MS ADPCM", 6: "A-law", 7: "mu-law", 17: "IMA ADPCM" };
      format = `WAV in encoding ${names[m[1]] ?? `format ${m[1]}`}`;
    }
  } else if (extensionOf(file) === ".wav" || extensionOf(file) === ".wave") {
    return decodeWav(bytes, lim); // not RIFF/WAVE at all: decodeWav's Error says what it starts with
  } else {
    format = FFMPEG_AUDIO[extensionOf(file)] ?? `${extensionOf(file) || "extensionless"} audio`;
  }
  const ffmpeg = options.ffmpegPath ?? "ffmpeg";
  const timeoutMs = options.timeoutMs ?? limits.videoTimeoutMs;
  const fix = "or convert it to WAV (PCM or float)";
  const probe = JSON.parse(
    new TextDecoder().decode(
      await runFfmpeg({
        exe: ffprobeFor(ffmpeg, path),
        args: [
          "-v",
          "error",
          "-select_streams",
          "a:0",
          "-show_entries",
          "stream=sample_rate,channels:format=duration",
          "-of",
          "json",
          file,
        ],
        what: `reading ${format} (${file})`,
        who: "readAudioFile",
        timeoutMs,
        fix,
      }),
    ),
  );
  const s = probe.streams?.[0];
  const rate = Number(s?.sample_rate),
    ch = Number(s?.channels),
    seconds = Number(probe.format?.duration);
  if (!(rate > 0) || !(ch > 0))
    throw new PolymodalError("bad_input", `readAudioFile: ${file} has no audio stream ffmpeg can read (${format})`);
  if (rate < lim.minSampleRate || rate > lim.maxSampleRate)
    throw new Error(
      `readAudioFile: ${file}: sample rate ${rate} Hz is outside ${lim.minSampleRate}..${lim.maxSampleRate} Hz ` +
        `(limits.minSampleRate / maxSampleRate)`,
    );
  if (ch > lim.maxChannels)
    throw new Error(
      `readAudioFile: ${file}: ${ch} channels exceed the limit of ${lim.maxChannels} (limits.maxChannels)`,
    );
  if (seconds > lim.maxSeconds)
    throw new PolymodalError(
      "too_large",
      `readAudioFile: ${file}: ${seconds.toFixed(1)} s exceeds the limit of ${lim.maxSeconds} s ` +
        `(limits.maxAudioSeconds, or the maxSeconds option)`,
    );
  // the byte budget holds even when the container's duration lies
  const maxBytes = Math.ceil(lim.maxSeconds * rate) * ch * 4;
  const raw = await runFfmpeg({
    exe: ffmpeg,
    args: [
      "-v",
      "error",
      "-i",
      file,
      "-map",
      "0:a:0",
      "-f",
      "f32le",
      "-acodec",
      "pcm_f32le",
      "-ar",
      String(rate),
      "-ac",
      String(ch),
      "-",
    ],
    what: `decoding ${format} (${file})`,
    who: "readAudioFile",
    timeoutMs,
    maxBytes,
    fix,
  });
  const n = Math.floor(raw.length / 4 / ch);
  if (n === 0) throw new PolymodalError("bad_input", `readAudioFile: ${file} decodes to no samples (${format})`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const channels = Array.from({ length: ch }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) for (let c = 0; c < ch; c++) channels[c][i] = dv.getFloat32((i * ch + c) * 4, true);
  return { sampleRate: rate, channels };
}
