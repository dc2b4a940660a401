import { type Buf, fromTensor, toTensor } from "../core/index.js";
import { Tensor, fmtShape } from "../tensor.js";
import { Module, scoped } from "./module.js";

/** Anything nn.Sequential can chain: a module with one scratch activation in and one out. */
export interface Runnable extends Module {
  run(x: Buf): Buf;
}

/** A module with one input and one output. */
export abstract class Layer extends Module implements Runnable {
  /** Runs on a scratch activation; used by enclosing modules. */
  abstract run(x: Buf): Buf;

  /** Tensor in, tensor out: copies x into WASM once and the result out once. */
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor))
      throw new Error(`${this.constructor.name}.forward: input must be a Tensor, got ${typeof x}`);
    return scoped(() => toTensor(this.run(fromTensor(`${this.constructor.name}.forward`, "input", x))));
  }
}

export function expectShape(who: string, what: string, b: Buf, ok: boolean, expected: string): void {
  if (!ok) throw new Error(`${who}: ${what} must be ${expected}, got shape ${fmtShape(b.shape)}`);
}

export function expectFloat(who: string, b: Buf): void {
  if (b.dtype !== "float32") throw new Error(`${who}: input must be float32, got ${b.dtype}`);
}
