// Defaults for loading models, in one object a page or a service sets once (as transformers.js's `env`).  Every
// loadPretrained option not given is read from here at call time.

export interface PolymodalEnv {
  /**
   * Where loadPretrained fetches `<name>.json` and `<name>.safetensors` when no `baseUrl` is given.  null: in a
   * browser, the package's models/ next to the module (a bundle must set it: where you serve models/); in Node,
   * the package's models/ folder is read from disk.
   */
  baseUrl: string | URL | null;
  /** Keep fetched model files so the next load makes no request (browser: the Cache API; Node: `cacheDir`). */
  useCache: boolean;
  /** the Cache API cache that holds model files (browsers) */
  cacheName: string;
  /** Node: the folder of cached model files; null: `$XDG_CACHE_HOME/polymodal` or `~/.cache/polymodal` */
  cacheDir: string | null;
}

/**
 * @example
 * import { env, loadPretrained } from "polymodal";
 * env.baseUrl = "/models/";          // where the page serves models/
 * const clip = await loadPretrained("clip-scenes", { onProgress: (p) => bar.value = p.loaded / p.total });
 */
export const env: PolymodalEnv = {
  baseUrl: null,
  useCache: true,
  cacheName: "polymodal-models",
  cacheDir: null,
};
