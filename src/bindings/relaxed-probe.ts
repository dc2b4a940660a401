// What this engine and CPU do with relaxed SIMD, asked of a 92-byte module:
//   (func (export "f") (result f32)
//     (f32x4.extract_lane 0 (f32x4.relaxed_madd (v128 a) (v128 b) (v128 -1))))
// with a = 1 + 2^-23 and b = 1 - 2^-24.  a * b = 1 + 2^-24 - 2^-47 rounds to 1 in float32, so mul-then-add gives 0
// and one fused multiply-add gives 2^-24 - 2^-47.  An engine without relaxed SIMD does not validate the module.

const lanes = (bytes: number[]): number[] => [0, 1, 2, 3].flatMap(() => bytes);
const v128Const = (le: number[]): number[] => [0xfd, 0x0c, ...lanes(le)];
const body = [
  0x00, // no locals
  ...v128Const([0x01, 0x00, 0x80, 0x3f]), // 1 + 2^-23
  ...v128Const([0xff, 0xff, 0x7f, 0x3f]), // 1 - 2^-24
  ...v128Const([0x00, 0x00, 0x80, 0xbf]), // -1
  ...[0xfd, 0x85, 0x02], // f32x4.relaxed_madd (0xfd 0x105)
  ...[0xfd, 0x1f, 0x00], // f32x4.extract_lane 0
  0x0b,
];
const PROBE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
  ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7d], // type: () -> f32
  ...[0x03, 0x02, 0x01, 0x00], // function 0 has type 0
  ...[0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00], // export "f"
  ...[0x0a, body.length + 2, 0x01, body.length, ...body],
]);

export interface RelaxedSimdSupport {
  /** The engine validates relaxed-SIMD instructions (Node 22+, Chromium 114+; Node 20 with a flag). */
  readonly supported: boolean;
  /** relaxed_madd is one fused multiply-add here (x86-64 with FMA3, arm64): the relaxed build's stated bits. */
  readonly fused: boolean;
}

let cached: RelaxedSimdSupport | null = null;

/** Whether this engine runs the relaxed build, and whether its multiply-add is fused on this CPU. */
export function relaxedSimdSupport(): RelaxedSimdSupport {
  cached ??= probe();
  return cached;
}

function probe(): RelaxedSimdSupport {
  if (!WebAssembly.validate(PROBE)) return { supported: false, fused: false };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(PROBE));
  return { supported: true, fused: (inst.exports.f as () => number)() !== 0 };
}
