// Loads and instantiates the kernel module once per realm.  The default source is the module inlined into
// the package as base64, so init() works the same in Node, browsers and workers without fs, fetch or a
// bundler plugin.  A caller may pass its own bytes, a URL, a Response or a compiled WebAssembly.Module.
import { WASM_BASE64 } from "./wasm-inline.js";
import { ThreadPool } from "./threads.js";
import type { KernelExports } from "./exports.js";
import { Heap } from "./heap.js";
import { isNode } from "../util/runtime.js";
import { relaxedSimdSupport } from "./relaxed-probe.js";

export type WasmSource = BufferSource | WebAssembly.Module | URL | string | Response | Promise<Response>;

export interface InitOptions {
  /** Where the kernel module comes from; default: the copy inlined in the package. */
  wasm?: WasmSource;
  /** Initial WASM memory in 64 KiB pages (default 256 = 16 MiB); it grows on demand. */
  initialPages?: number;
  /**
   * Threads for the large kernels (default 1).  Above 1, the kernels run on a shared memory with workers
   * (Node worker_threads, or Web Workers in a cross-origin-isolated page); results are bit-identical to one
   * thread.  Ignores `wasm` (the threaded build is inlined too).
   */
  threads?: number;
  /**
   * With threads: the most the shared memory may grow to, in 64 KiB pages (default 65536 = 4 GiB, the wasm32
   * limit).  A shared memory reserves this much address space up front; lower it where that is scarce.
   */
  maximumPages?: number;
  /**
   * Which SIMD build runs the kernels (default "exact").  "exact": multiply then add, the same bits on every
   * engine, CPU and thread count.  "relaxed": the f32 products (linear layers, convolution, attention, LSTM) use
   * relaxed SIMD's fused multiply-add, rounded once: faster, and on CPUs with FMA (x86-64 with FMA3, arm64) the same
   * bits on every engine and thread count, but not the exact build's bits (docs/relaxed-simd.md).  Where the engine
   * lacks relaxed SIMD (Node 20 without --experimental-wasm-relaxed-simd) the exact build runs and
   * `Runtime.simdNote` says why.
   */
  simd?: SimdBuild;
}

export type SimdBuild = "exact" | "relaxed";
export const SIMD_BUILDS: readonly SimdBuild[] = ["exact", "relaxed"];

export interface Runtime {
  readonly k: KernelExports;
  readonly heap: Heap;
  /** Worker threads, when init({ threads > 1 }). */
  readonly pool: ThreadPool | null;
  /** The build running: "relaxed" only when asked for and the engine has relaxed SIMD. */
  readonly simd: SimdBuild;
  /** Why the build running is not the one asked for (null when it is). */
  readonly simdNote: string | null;
}

let runtime: Runtime | null = null;
let pending: Promise<Runtime> | null = null;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The shipped bytes as a module.  Node compiles them synchronously: 1-2 ms, where an asynchronous compile waits for
 * V8's background threads and left a CLI run idle for ~30 ms on a 2-core machine (busy compiling the command's
 * JavaScript).  Browsers keep the asynchronous compile (a page's main thread refuses synchronous ones over 4 KB).
 */
function compileShipped(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | Promise<WebAssembly.Module> {
  return isNode ? new WebAssembly.Module(bytes) : WebAssembly.compile(bytes);
}

async function compile(src: WasmSource | undefined): Promise<WebAssembly.Module> {
  if (src === undefined) return compileShipped(decodeBase64(WASM_BASE64));
  if (src instanceof WebAssembly.Module) return src;
  if (typeof src === "string" || src instanceof URL) src = fetch(src);
  if (src instanceof Promise || (typeof Response !== "undefined" && src instanceof Response)) {
    const res = await src;
    if (!res.ok) throw new Error(`polymodal.init: fetching the wasm module failed: HTTP ${res.status}`);
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(src as BufferSource);
}

/** The build init() runs: the one asked for, or the exact one with the reason where relaxed SIMD is missing. */
function chooseBuild(options: InitOptions): { simd: SimdBuild; simdNote: string | null } {
  const asked = options.simd ?? "exact";
  if (asked === "exact") return { simd: "exact", simdNote: null };
  if (options.wasm !== undefined)
    throw new Error(
      'polymodal.init: simd: "relaxed" runs the relaxed build shipped in the package; `wasm` supplies a module of ' +
        "your own, so pass one of them",
    );
  if (relaxedSimdSupport().supported) return { simd: "relaxed", simdNote: null };
  return {
    simd: "exact",
    simdNote:
      "relaxed SIMD asked for, but this engine does not validate relaxed-SIMD instructions (Node 22+, Chromium " +
      `114+ have them; Node 20 needs --experimental-wasm-relaxed-simd): running the exact build`,
  };
}

/**
 * The shipped module of a build other than the default.  Each is its own module, so the browser bundle fetches it
 * as its own chunk, only when asked for.
 */
async function shippedBytes(simd: SimdBuild, threads: number): Promise<Uint8Array<ArrayBuffer>> {
  if (simd === "relaxed")
    return decodeBase64(
      threads > 1
        ? (await import("./wasm-relaxed-threads-inline.js")).WASM_RELAXED_THREADS_BASE64
        : (await import("./wasm-relaxed-inline.js")).WASM_RELAXED_BASE64,
    );
  return decodeBase64((await import("./wasm-threads-inline.js")).WASM_THREADS_BASE64);
}

/**
 * Loads the WASM kernels.  Call once (later calls return the same runtime) before any op.
 * @example
 * import { init, Tensor, F } from "polymodal";
 * await init();
 * const y = F.relu(Tensor.from(new Float32Array([-1, 2]), [2]));
 */
export async function init(options: InitOptions = {}): Promise<Runtime> {
  if (options.simd !== undefined && !SIMD_BUILDS.includes(options.simd))
    throw new Error(`polymodal.init: simd must be "exact" or "relaxed", got ${JSON.stringify(options.simd)}`);
  if (runtime) {
    const have = runtime.pool?.size ?? 1;
    if (options.threads !== undefined && options.threads !== have) {
      throw new Error(
        `polymodal.init: already initialised with ${have} thread${have > 1 ? "s" : ""}; a page or process has one ` +
          `runtime, so ask for threads in the first init()`,
      );
    }
    if (options.simd !== undefined && options.simd !== runtime.simd && runtime.simdNote === null) {
      throw new Error(
        `polymodal.init: already initialised with the ${runtime.simd} SIMD build; a page or process has one ` +
          `runtime, so ask for simd: "${options.simd}" in the first init()`,
      );
    }
    return runtime;
  }
  if (pending) return pending;
  pending = (async () => {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`polymodal.init: threads must be a positive integer, got ${threads}`);
    if (threads > 1 && typeof SharedArrayBuffer === "undefined") {
      throw new Error(
        "polymodal.init: threads need SharedArrayBuffer (in a browser: a cross-origin-isolated page, COOP " +
          "same-origin + COEP require-corp)",
      );
    }
    const { simd, simdNote } = chooseBuild(options);
    const module =
      simd === "exact" && threads === 1
        ? await compile(options.wasm)
        : await compileShipped(await shippedBytes(simd, threads));
    const initial = options.initialPages ?? 256;
    const maximum = options.maximumPages ?? 65536;
    if (threads > 1 && (!Number.isInteger(maximum) || maximum < initial || maximum > 65536)) {
      throw new Error(
        `polymodal.init: maximumPages must be an integer from initialPages (${initial}) to 65536, got ${maximum}`,
      );
    }
    let memory: WebAssembly.Memory;
    try {
      memory =
        threads > 1 ? new WebAssembly.Memory({ initial, maximum, shared: true }) : new WebAssembly.Memory({ initial });
    } catch (e) {
      throw new Error(
        `polymodal.init: could not ` +
          `reserve ${threads > 1 ? `a shared memory of up to ${maximum} pages` : `${initial} pages`} ` +
          `(${(e as Error).message}); ` +
          (threads > 1 ? "pass a smaller maximumPages" : "pass a smaller initialPages"),
      );
    }
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const k = instance.exports as unknown as KernelExports;
    const heapBase = (k.HEAP_BASE as WebAssembly.Global).value as number;
    const pool =
      threads > 1
        ? await ThreadPool.create(threads, module, memory, instance.exports as Record<string, unknown>)
        : null;
    runtime = { k, heap: new Heap(memory, heapBase), pool, simd, simdNote };
    return runtime;
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

/** The loaded runtime; throws a clear Error when init() has not finished. */
export function rt(): Runtime {
  if (!runtime) throw new Error("polymodal: call `await init()` before using any op");
  return runtime;
}

/** Bytes of the single-thread kernel module shipped inside the package. */
export function kernelModuleBytes(): number {
  return (
    Math.floor((WASM_BASE64.length * 3) / 4) - (WASM_BASE64.endsWith("==") ? 2 : WASM_BASE64.endsWith("=") ? 1 : 0)
  );
}

/** The single-thread kernel module as shipped (base64): what a build stamp hashes (both builds give the same bits). */
export function kernelModuleBase64(): string {
  return WASM_BASE64;
}

export function isInitialized(): boolean {
  return runtime !== null;
}
