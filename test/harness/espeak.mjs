// Speech from Debian's espeak-ng for the speech tests and scripts/eval/asr-conditions.mjs: the committed test
// utterances' own espeak arguments (held-out voices) with another speed or another language's voice.
import { spawnSync } from "node:child_process";

/** Whether espeak-ng runs here (tests skip without it; .ci/run installs it). */
export const HAVE_ESPEAK = spawnSync("espeak-ng", ["--version"]).status === 0;

/**
 * espeak-ng's WAV for `text` spoken with `args` (e.g. "-v en-us+m4 -s 150").  `--stdout` streams a header
 * whose sizes are unset (0x7fff....): they are set to the real lengths, as a WAV file has them.
 */
export function espeakWav(args, text) {
  const r = spawnSync("espeak-ng", [...args.split(" "), "--stdout", text], { maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`espeak-ng ${args} failed: ${r.stderr}`);
  const wav = new Uint8Array(r.stdout.subarray(0, r.stdout.length - ((r.stdout.length - 44) % 2)));
  const dv = new DataView(wav.buffer);
  if (dv.getUint32(36, false) !== 0x64617461) throw new Error("espeak-ng's WAV header is not 44 bytes");
  dv.setUint32(4, wav.length - 8, true);
  dv.setUint32(40, wav.length - 44, true);
  return wav;
}

/** `args` with the option `flag` (e.g. "-s") given `value`. */
export function withArg(args, flag, value) {
  const a = args.split(" ");
  const i = a.indexOf(flag);
  if (i < 0) return `${args} ${flag} ${value}`;
  a[i + 1] = String(value);
  return a.join(" ");
}

/** The voice of `args` with its language replaced: "-v en-gb+m4" -> "-v de+m4". */
export function withLanguage(args, language) {
  const a = args.split(" ");
  const i = a.indexOf("-v");
  a[i + 1] = `${language}+${a[i + 1].split("+")[1]}`;
  return a.join(" ");
}
