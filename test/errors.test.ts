// Bad input gets an Error that names what was expected and what came, before any kernel runs.
import { beforeAll, describe, expect, it } from "vitest";
import { init, Tensor, F } from "../src/index.js";

beforeAll(async () => {
  await init();
});

const z = (...s: number[]): Tensor => Tensor.zeros(s);
const ids = (...s: number[]): Tensor => Tensor.zeros(s, "int32");

describe("shape and dtype errors", () => {
  it.each([
    [
      "linear in_features",
      () => F.linear(z(2, 5), z(4, 3)),
      /F\.linear: input must have last dimension 3 \(weight is \[4, 3\]\), got shape \[2, 5\]/,
    ],
    ["linear weight rank", () => F.linear(z(2, 3), z(3)), /weight must be 2-D .* got shape \[3\]/],
    ["linear bias", () => F.linear(z(2, 3), z(4, 3), z(5)), /bias must have shape \[4\], got \[5\]/],
    ["linear dtype", () => F.linear(ids(2, 3), z(4, 3)), /input must be float32, got int32/],
    ["linear non-tensor", () => F.linear([1, 2] as unknown as Tensor, z(4, 3)), /input must be a Tensor, got object/],
    [
      "matmul inner",
      () => F.matmul(z(2, 3), z(4, 5)),
      /inner dimensions differ: a is \[2, 3\], b is \[4, 5\] \(3 vs 4\)/,
    ],
    ["matmul batch", () => F.matmul(z(2, 3, 4), z(3, 4, 5)), /batch dimensions do not broadcast/],
    [
      "conv2d channels",
      () => F.conv2d(z(1, 4, 8, 8), z(6, 3, 3, 3)),
      /expects 3 input channels \(groups=1\), input has 4/,
    ],
    [
      "conv2d rank",
      () => F.conv2d(z(4, 8), z(6, 3, 3, 3)),
      /input must be 3-D \(C, H, W\) or 4-D \(B, C, H, W\), got shape \[4, 8\]/,
    ],
    ["conv2d too small", () => F.conv2d(z(1, 3, 4, 4), z(6, 3, 7, 7)), /too small for kernel \[7, 7\]/],
    ["conv2d groups", () => F.conv2d(z(1, 4, 8, 8), z(6, 2, 3, 3), null, { groups: 4 }), /divisible by groups \(4\)/],
    [
      "conv2d stride",
      () => F.conv2d(z(1, 3, 8, 8), z(6, 3, 3, 3), null, { stride: 0 }),
      /stride must be an integer >= 1/,
    ],
    ["conv1d rank", () => F.conv1d(z(1, 2, 3, 4), z(6, 2, 3)), /input must be 2-D \(C, L\) or 3-D \(B, C, L\)/],
    ["layerNorm shape", () => F.layerNorm(z(2, 5), [4]), /trailing dimensions must be \[4\], got shape \[2, 5\]/],
    ["layerNorm weight", () => F.layerNorm(z(2, 5), 5, z(4)), /weight must have shape \[5\], got \[4\]/],
    ["softmax dim", () => F.softmax(z(2, 5), 2), /dim must be in \[-2, 1\], got 2/],
    [
      "attention key",
      () => F.scaledDotProductAttention(z(2, 3, 8), z(2, 4, 7), z(2, 4, 8)),
      /key must have shape \[2, 4, 8\], got \[2, 4, 7\]/,
    ],
    [
      "attention mask",
      () => F.scaledDotProductAttention(z(2, 3, 8), z(2, 4, 8), z(2, 4, 8), { keyPaddingMask: ids(2, 3) }),
      /keyPaddingMask must have shape \[2, 4\] \(batch, keys\), got \[2, 3\]/,
    ],
    [
      "lstm weights",
      () => F.lstmLayer(z(1, 5, 3), { weightIh: z(16, 4), weightHh: z(16, 4) }),
      /weightIh must have shape \[16, 3\], got \[16, 4\]/,
    ],
    [
      "lstm hh",
      () => F.lstmLayer(z(1, 5, 3), { weightIh: z(12, 3), weightHh: z(12, 4) }),
      /weightHh must have shape \[4\*hidden, hidden\], got \[12, 4\]/,
    ],
    [
      "stft short",
      () => F.stft(z(100), { nFft: 400 }),
      /reflect padding of 200 needs more than 200 samples per signal, got 100/,
    ],
    [
      "stft window",
      () => F.stft(z(1000), { nFft: 400, window: z(300) }),
      /window must have shape \[400\] \(winLength\), got \[300\]/,
    ],
    ["stft nFft", () => F.stft(z(1000), { nFft: 0 }), /nFft must be an integer >= 1, got 0/],
    ["mel power", () => F.melSpectrogram(z(1000), { power: 3 }), /power must be 1 or 2 in this build, got 3/],
    ["fbanks range", () => F.melscaleFbanks(201, 9000, 8000, 80, 16000), /need 0 <= f_min < f_max/],
    ["pool rank", () => F.adaptiveAvgPool2d(z(5), 1), /input must be 3-D \(C, H, W\) or 4-D/],
    ["topk k", () => F.topk(z(5), 0), /k must be an integer >= 1, got 0/],
    ["scan dim", () => F.similarityScan(z(3), z(10, 4)), /query must have shape \[4\], got \[3\]/],
    ["add broadcast", () => F.add(z(2, 3), z(2)), /must be equal or the second must match the trailing dimensions/],
    ["tensor shape", () => Tensor.from(new Float32Array(5), [2, 3]), /shape \[2, 3\] holds 6 elements, data has 5/],
    [
      "tensor data",
      () => new Tensor([1, 2] as unknown as Float32Array, [2]),
      /data must be a Float32Array or Int32Array/,
    ],
    ["reshape", () => z(2, 3).reshape([4, 2]), /cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/],
  ])("%s", (_name, fn, msg) => {
    expect(fn).toThrow(msg);
  });
});

describe("non-finite inputs", () => {
  it.each([
    ["linear", () => F.linear(Tensor.from([1, NaN, 3], [1, 3]), z(2, 3))],
    ["conv2d weight", () => F.conv2d(z(1, 1, 4, 4), Tensor.from([Infinity], [1, 1, 1, 1]))],
    ["softmax", () => F.softmax(Tensor.from([0, -Infinity, 1]))],
    ["mel", () => F.melSpectrogram(Tensor.from(new Float32Array(1000).fill(NaN)))],
    ["attention", () => F.scaledDotProductAttention(Tensor.from([NaN, 1], [1, 1, 2]), z(1, 1, 2), z(1, 1, 2))],
    ["silu", () => F.silu(Tensor.from([1, -Infinity]))],
  ])("%s names the NaN/inf count", (_n, fn) => {
    expect(fn).toThrow(/holds \d+ NaN or infinite values?; expected finite numbers/);
  });
});

describe("the error family's code tables", () => {
  it("map every code once, in cli/ and in server/, and anything outside the family as a failure", async () => {
    const { ERROR_CODES, PolymodalError } = await import("../src/util/errors.js");
    const { EXIT_CODES, exitCodeOf } = await import("../src/cli/exit-codes.js");
    const { HTTP_STATUS, httpStatusOf } = await import("../src/server/http-status.js");
    expect(Object.keys(EXIT_CODES).sort()).toEqual([...ERROR_CODES, "internal"].sort());
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_CODES, "internal"].sort());
    expect([
      exitCodeOf(new PolymodalError("bad_input", "x")),
      exitCodeOf(new PolymodalError("usage", "x")),
      exitCodeOf(new Error("x")),
    ]).toEqual([3, 2, 1]);
    expect([
      httpStatusOf(new PolymodalError("version_mismatch", "x")),
      httpStatusOf(new PolymodalError("busy", "x")),
      httpStatusOf(new TypeError("x")),
    ]).toEqual([409, 429, 500]);
  });
});
