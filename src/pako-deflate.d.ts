// pako's deflate alone (its package entry brings inflate too): zlib 1.2.x's deflate in plain JavaScript, the bytes
// zlib itself writes (the compression ratio Whisper's fallback checks must be the reference's on every engine).
declare module "pako/lib/deflate.js" {
  export function deflate(data: Uint8Array, options?: { level?: number }): Uint8Array;
}
