// Shared by the relaxed-build tests: how a child Node runs it, and where its committed hashes live.

/** Flags a child `node` needs for relaxed SIMD: Node 20 has it behind a V8 flag, Node 22+ ship it (and reject it). */
export const RELAXED_NODE_FLAGS: readonly string[] = process.versions.node.startsWith("20.")
  ? ["--experimental-wasm-relaxed-simd"]
  : [];

/** The relaxed build's output hashes on a CPU with FMA (test/threads.test.ts writes and checks them). */
export const RELAXED_HASHES = "test/fixtures/relaxed-hashes.json";
