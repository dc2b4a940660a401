// The op core's handle on the loaded kernel module.  src/core/ is the only code that calls kernels: everything
// above it (F, nn, models, audio, retrieval, ...) calls core functions, which take pointers and Bufs.  A test
// (test/layers.test.ts) fails if a file outside src/core/ or src/bindings/ reaches the kernel exports.
import { rt, type SimdBuild } from "../bindings/module.js";
import type { KernelExports } from "../bindings/exports.js";
import type { Heap } from "../bindings/heap.js";
import type { ThreadPool } from "../bindings/threads.js";

/** The kernel exports (core only). */
export const kernels = (): KernelExports => rt().k;

/** The WASM memory owner (scratch frames and persistent blocks); throws before init(). */
export const heap = (): Heap => rt().heap;

/** The worker pool when init({ threads > 1 }), else null. */
export const pool = (): ThreadPool | null => rt().pool;

/** The kernel build running: "exact", or "relaxed" (init({ simd: "relaxed" }) where the engine has it). */
export const simdBuild = (): SimdBuild => rt().simd;

/** Threads the runtime runs kernels on (1 without a pool). */
export const threadCount = (): number => rt().pool?.size ?? 1;

/** Runs fn in a scratch frame: everything it allocates is released when it returns or throws. */
export const scope = <T>(fn: () => T): T => rt().heap.scope(fn);
