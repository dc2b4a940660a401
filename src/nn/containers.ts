import type { Buf } from "../core/index.js";
import { Module } from "./module.js";
import { Layer, type Runnable } from "./layer.js";

/**
 * nn.Sequential: children named "0", "1", ...; run chains them.  forward returns the last child's main
 * output (for Sequential(Embedding, LSTM), the LSTM output sequence).
 */
export class Sequential extends Layer {
  [index: number]: Runnable;
  declare readonly length: number;
  constructor(...layers: Runnable[]) {
    super();
    layers.forEach((l, i) => {
      (this as unknown as Record<string, Runnable>)[String(i)] = l;
    });
    Object.defineProperty(this, "length", { value: layers.length, enumerable: false });
  }
  run(x: Buf): Buf {
    let y = x;
    for (let i = 0; i < this.length; i++) y = this[i].run(y);
    return y;
  }
}

/** nn.ModuleList: children named "0", "1", ... */
export class ModuleList<T extends Module> extends Module {
  [index: number]: T;
  declare readonly length: number;
  constructor(modules: T[]) {
    super();
    modules.forEach((m, i) => {
      (this as unknown as Record<string, T>)[String(i)] = m;
    });
    Object.defineProperty(this, "length", { value: modules.length, enumerable: false });
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this[i];
  }
}

/** nn.ModuleDict: children named by key. */
export class ModuleDict<T extends Module> extends Module {
  constructor(modules: Record<string, T>) {
    super();
    for (const [k, m] of Object.entries(modules)) (this as unknown as Record<string, T>)[k] = m;
  }
  get(key: string): T {
    const m = (this as unknown as Record<string, T>)[key];
    if (!(m instanceof Module)) throw new Error(`ModuleDict: no module "${key}" (have ${this.keys().join(", ")})`);
    return m;
  }
  keys(): string[] {
    return this.namedChildren().map(([k]) => k);
  }
}
