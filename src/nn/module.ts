// Module: a plain class whose fields are PyTorch's attribute names.  Parameters and child modules are found
// by walking the fields, so state_dict keys come from field names and nowhere else (as tinygrad's
// get_state_dict does); loadStateDict() checks every key and shape before writing anything.
import * as core from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { Parameter } from "./parameter.js";

export interface LoadOptions {
  /** Reject missing and unexpected keys (default true). Shape mismatches are always rejected. */
  strict?: boolean;
}

export abstract class Module {
  /** Fields that are never children or parameters (e.g. a shared layer template). */
  protected static readonly skipFields: ReadonlySet<string> = new Set();

  /** Child modules and parameters in field order, with PyTorch's names. */
  protected entries(): Array<[string, Module | Parameter]> {
    const out: Array<[string, Module | Parameter]> = [];
    for (const [name, v] of Object.entries(this)) {
      if (v instanceof Module || v instanceof Parameter) out.push([name, v]);
    }
    return out;
  }

  /** (dotted name, parameter) for every parameter below this module, as torch's named_parameters(). */
  namedParameters(prefix = ""): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    for (const [name, v] of this.entries()) {
      const key = prefix + name;
      if (v instanceof Parameter) out.push([key, v]);
      else out.push(...v.namedParameters(key + "."));
    }
    return out;
  }

  /** Named child modules, as torch's named_children(). */
  namedChildren(): Array<[string, Module]> {
    return this.entries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** A JS-owned copy of every parameter, keyed exactly as PyTorch's state_dict(). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, p] of this.namedParameters()) out[k] = p.toTensor();
    return out;
  }

  /**
   * Loads weights keyed as PyTorch's state_dict (e.g. from loadSafetensors).  All keys and shapes are checked
   * first; one Error lists every missing key, unexpected key and shape mismatch, and nothing is written then.
   * @example
   * model.loadStateDict(loadSafetensors(bytes));
   */
  loadStateDict(dict: Record<string, Tensor>, options: LoadOptions = {}): void {
    const strict = options.strict ?? true;
    if (!dict || typeof dict !== "object")
      throw new Error(
        `loadStateDict: expected an object of name -> Tensor, got ${dict === null ? "null" : typeof dict}`,
      );
    const params = new Map(this.namedParameters());
    const missing: string[] = [],
      unexpected: string[] = [],
      mismatched: string[] = [],
      badType: string[] = [];
    for (const [key, _p] of params) if (!(key in dict)) missing.push(key);
    for (const [key, t] of Object.entries(dict)) {
      const p = params.get(key);
      if (!p) {
        unexpected.push(key);
        continue;
      }
      if (!(t instanceof Tensor)) {
        badType.push(`${key}: expected a Tensor, got ${typeof t}`);
        continue;
      }
      if (t.dtype !== "float32") {
        badType.push(`${key}: expected float32, got ${t.dtype}`);
        continue;
      }
      if (t.ndim !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        mismatched.push(`${key}: expected ${fmtShape(p.shape)}, got ${fmtShape(t.shape)}`);
      }
    }
    const problems: string[] = [];
    // every bad key is named, up to 50 of each kind (a checkpoint of 5,000 layers must not make a 4 MB message)
    const list = (xs: string[]): string =>
      `${xs.slice(0, 50).join("\n    ")}${xs.length > 50 ? `\n    ... and ${xs.length - 50} more` : ""}`;
    if (mismatched.length) problems.push(`shape mismatch for ${mismatched.length} key(s):\n    ${list(mismatched)}`);
    if (badType.length) problems.push(`wrong type for ${badType.length} key(s):\n    ${list(badType)}`);
    if (strict && missing.length) problems.push(`missing ${missing.length} key(s):\n    ${list(missing)}`);
    if (strict && unexpected.length) problems.push(`unexpected ${unexpected.length} key(s):\n    ${list(unexpected)}`);
    if (problems.length) throw new Error(`loadStateDict(${this.constructor.name}): ${problems.join("\n  ")}`);
    const heap = core.heap();
    for (const [key, t] of Object.entries(dict)) {
      const p = params.get(key);
      if (!p) continue;
      const bad = heap.scope(() => core.countNonfinite(heap.put(t.data), t.size));
      if (bad) throw new Error(`loadStateDict(${this.constructor.name}): ${key} holds ${bad} NaN or infinite values`);
    }
    for (const [key, t] of Object.entries(dict)) params.get(key)?.set(t.data as Float32Array);
  }

  /** Frees every parameter's WASM memory now (otherwise it is freed when the module is garbage collected). */
  dispose(): void {
    for (const [, v] of this.entries()) v.dispose();
  }

  /** Number of scalar parameters (a quantised layer counts its int8 weights). */
  numParameters(): number {
    return this.entries().reduce((s, [, v]) => s + (v instanceof Parameter ? v.numel : v.numParameters()), 0);
  }
}

/** Runs fn in one scratch frame: the entry point of every public forward. */
export function scoped<T>(fn: () => T): T {
  return core.heap().scope(fn);
}
