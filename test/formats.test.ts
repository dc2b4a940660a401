// Media formats a user's own files come in (generated here with Debian's ffmpeg; the ffmpeg cases skip cleanly
// without it): MP3, FLAC, Ogg Vorbis/Opus, M4A and mu-law/A-law/ADPCM WAVs read through ffmpeg transcribe as the
// WAV does (FLAC sample for sample); BMP and TIFF give the PNG's pixels exactly, WebP and GIF (first frame) decode;
// HEIC, empty files, too-short audio and a missing ffmpeg are Errors naming the format and the fix.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  init,
  loadPretrained,
  readAudioFile,
  readImageFile,
  decodeWav,
  decodeImage,
  downmix,
  encodeWav,
  type SpeechRecognizer,
} from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hasFfmpeg = (() => {
  try {
    execFileSync("ffmpeg", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const tmp = mkdtempSync(join(tmpdir(), "pm-formats-"));
const speech = JSON.parse(readFileSync(join(root, "test/fixtures/speech/transcripts.json"), "utf8")) as Array<{
  file: string;
  text: string;
}>;
const wav = join(root, "test/fixtures/speech", speech[0].file);
const png = join(root, "test/fixtures/images/rgb.png");
let asr: SpeechRecognizer;
const ff = (...args: string[]): void => {
  execFileSync("ffmpeg", ["-v", "error", "-y", ...args], { stdio: "ignore" });
};

beforeAll(async () => {
  await init();
  asr = await loadPretrained("asr-words");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const transcribeFile = async (f: string): Promise<string> => {
  const a = await readAudioFile(f);
  return asr.transcribe({ waveform: downmix(a.channels), sampleRate: a.sampleRate }).text;
};

describe.skipIf(!hasFfmpeg)("audio through ffmpeg", () => {
  it("MP3, FLAC, Ogg Vorbis, Opus and M4A (AAC) transcribe as the WAV does; FLAC gives the WAV's samples " +
    "exactly", async () => {
    expect(await transcribeFile(wav)).toBe(speech[0].text);
    for (const ext of ["mp3", "flac", "ogg", "opus", "m4a"]) {
      const f = join(tmp, `speech.${ext}`);
      ff("-i", wav, f);
      expect(`${ext}: ${await transcribeFile(f)}`).toBe(`${ext}: ${speech[0].text}`);
    }
    const flac = await readAudioFile(join(tmp, "speech.flac")),
      ref = decodeWav(readFileSync(wav));
    expect(flac.sampleRate).toBe(ref.sampleRate);
    expect(Array.from(flac.channels[0])).toEqual(Array.from(ref.channels[0]));
  }, 60_000);

  it("WAVs in mu-law, A-law and IMA ADPCM (which decodeWav refuses) decode through ffmpeg", async () => {
    for (const codec of ["pcm_mulaw", "pcm_alaw", "adpcm_ima_wav"]) {
      const f = join(tmp, `${codec}.wav`);
      ff("-i", wav, "-c:a", codec, f);
      expect(() => decodeWav(readFileSync(f))).toThrow(/unsupported encoding: format \d+/);
      expect(`${codec}: ${await transcribeFile(f)}`).toBe(`${codec}: ${speech[0].text}`);
    }
  }, 60_000);

  it("without ffmpeg: one Error naming the format and the fix (exit code 3 in the CLI)", async () => {
    const f = join(tmp, "speech.mp3");
    ff("-i", wav, f);
    const e = await readAudioFile(f, { ffmpegPath: "/nonexistent/ffmpeg" }).catch((x) => x);
    expect(e.message).toMatch(
      new RegExp(
        String.raw`readAudioFile: reading MP3 \(.*speech\.mp3\) needs \/nonexistent\/ffprobe, which w` +
          String.raw`as not found; install ffmpeg \(Debian: apt-get install ffmpeg\).*convert it to WAV`,
      ),
    );
    expect(e.code).toBe("unsupported_input"); // exit code 3 in the CLI
    const r = spawnSync(
      process.execPath,
      [join(root, "bin/polymodal.js"), "transcribe", f, "--ffmpeg", "/nonexistent/ffmpeg"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(3);
  }, 60_000);
});

describe("audio that cannot be used says so", () => {
  it("too short for the model's window: an Error with the length needed (exit 3 in the CLI)", () => {
    const short = encodeWav([new Float32Array(8).fill(0.1)], 16000);
    expect(() => asr.transcribe(short)).toThrow(
      new RegExp(
        String.raw`the audio is too short: 0\.5 ms \(8 samples at 16000 Hz\); the m` +
          String.raw`odel's 640-sample window needs at least 321 samples \(20\.1 ms\)`,
      ),
    );
    const f = join(tmp, "short.wav");
    writeFileSync(f, short);
    const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "transcribe", f], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect([r.status, r.stderr]).toEqual([3, expect.stringMatching(/too short/)]);
  });
  it("an empty file", async () => {
    const f = join(tmp, "empty.mp3");
    writeFileSync(f, "");
    await expect(readAudioFile(f)).rejects.toThrow(/empty\.mp3 is empty \(0 bytes\)/);
  });
});

describe("images", () => {
  it.skipIf(!hasFfmpeg)(
    "BMP and TIFF give the PNG's pixels exactly; WebP and GIF (its first frame) decode",
    async () => {
      const ref = decodeImage(readFileSync(png));
      for (const ext of ["bmp", "tiff"]) {
        const f = join(tmp, `img.${ext}`);
        ff("-i", png, f);
        const got = await readImageFile(f);
        expect([ext, got.width, got.height]).toEqual([ext, ref.width, ref.height]);
        const rgb = (im: typeof got) =>
          Array.from(
            { length: im.width * im.height * 3 },
            (_, i) => im.data[Math.floor(i / 3) * im.channels + (i % 3)],
          );
        expect(rgb(got)).toEqual(rgb(ref));
      }
      for (const ext of ["webp", "gif"]) {
        const f = join(tmp, `img.${ext}`);
        ff("-i", png, f);
        const got = await readImageFile(f);
        expect([ext, got.width, got.height]).toEqual([ext, ref.width, ref.height]);
      }
      // an animated GIF: the first frame
      const anim = join(tmp, "anim.gif");
      ff(
        "-f",
        "lavfi",
        "-i",
        "color=c=red:s=16x16:d=0.2,format=rgb24",
        "-f",
        "lavfi",
        "-i",
        "color=c=blue:s=16x16:d=0.2",
        "-filter_complex",
        "[0][1]concat=n=2:v=1",
        "-r",
        "10",
        anim,
      );
      const first = await readImageFile(anim);
      expect([first.data[0] > 200, first.data[2] < 60]).toEqual([true, true]);
    },
    60_000,
  );

  it(
    "HEIC is refused by name, an empty file says it is empty, and decodeImage names a format it " + "recognises",
    async () => {
      const heic = join(tmp, "photo.heic");
      writeFileSync(heic, Buffer.from("000000186674797068656963", "hex"));
      await expect(readImageFile(heic)).rejects.toThrow(/HEIC images are not supported; convert them to JPEG or PNG/);
      const empty = join(tmp, "empty.png");
      writeFileSync(empty, "");
      await expect(readImageFile(empty)).rejects.toThrow(/empty\.png is empty \(0 bytes\)/);
      expect(() => decodeImage(new Uint8Array(0))).toThrow(/the image is empty \(0 bytes\)/);
      expect(() => decodeImage(Buffer.from("RIFF\x10\x00\x00\x00WEBPVP8 ", "latin1"))).toThrow(
        /expected PNG or JPEG, got WebP: readImageFile in Node decodes WebP/,
      );
    },
  );

  it.skipIf(!hasFfmpeg)(
    "polymodal index: a GIF is an image, MP3 and FLAC are sounds, HEIC is listed as unreadable with its reason",
    () => {
      const dir = join(tmp, "folder");
      execFileSync("mkdir", ["-p", dir]);
      ff("-i", png, join(dir, "a.gif"));
      ff("-i", png, join(dir, "b.webp"));
      ff("-i", wav, join(dir, "c.mp3"));
      ff("-i", wav, join(dir, "d.flac"));
      writeFileSync(join(dir, "e.heic"), Buffer.from("000000186674797068656963", "hex"));
      const r = spawnSync(process.execPath, [join(root, "bin/polymodal.js"), "index", dir, "--quiet"], {
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/warning: skipped e\.heic: readImageFile: .*HEIC images are not supported/);
      expect(r.stdout).toMatch(/indexed 4 new or changed files \(0 unchanged, 1 skipped as unreadable, 0 not media\)/);
      expect(r.stdout).toMatch(/2 images, 2 sounds, 0 videos/);
    },
    120_000,
  );
});
