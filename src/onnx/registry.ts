// The ONNX export registries: one writer per supported layer class and per supported model class, looked up by
// the module's class (its nearest registered ancestor).  The list of what can be exported is derived from them,
// so an Error naming what is supported can never go stale.
import type { Tensor } from "../tensor.js";
import type { Module } from "../nn/module.js";
import type { Graph } from "./graph.js";

export type Dims = Array<number | string>;
/** A model graph's inputs (name, sample, dims) and outputs (name, node, dims). */
export interface Spec {
  inputs: Array<[string, Tensor, Dims]>;
  outputs: Array<[string, string, Dims]>;
}

/** A class, by its prototype (so classes with private constructors register too). */
type Ctor<M> = { readonly prototype: M; readonly name: string };

/** Writes a layer's nodes after input x; returns its output node.  mask: an additive key mask node or null. */
export type LayerWriter<M extends Module> = (g: Graph, m: M, x: string, path: string, mask: string | null) => string;
/** Writes a whole model's forward on named sample inputs (which it runs first to check them); returns the I/O spec. */
export type ModelWriter<M extends Module> = (g: Graph, m: M, sample: Record<string, Tensor>, who: string) => Spec;

interface Entry<W> {
  ctor: Ctor<Module>;
  write: W;
  note: string;
  stackable: boolean;
}

const layers = new Map<Ctor<Module>, Entry<LayerWriter<Module>>>();
const models = new Map<Ctor<Module>, Entry<ModelWriter<Module>>>();

/**
 * Registers a layer writer.  note: what of the layer is supported, when not all of it; stackable: the layer may be
 * exported on its own or inside a Sequential (false for a layer whose forward does not return one tensor).
 */
export function registerLayer<M extends Module>(
  ctor: Ctor<M>,
  write: LayerWriter<M>,
  note = "",
  stackable = true,
): void {
  layers.set(ctor, { ctor, write: write as LayerWriter<Module>, note, stackable });
}

export function registerModel<M extends Module>(ctor: Ctor<M>, write: ModelWriter<M>): void {
  models.set(ctor, { ctor, write: write as ModelWriter<Module>, note: "", stackable: false });
}

function lookup<W>(reg: Map<Ctor<Module>, Entry<W>>, m: Module): Entry<W> | null {
  for (let p = Object.getPrototypeOf(m); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const e = reg.get(p.constructor);
    if (e) return e;
  }
  return null;
}

export const layerWriter = (m: Module): Entry<LayerWriter<Module>> | null => lookup(layers, m);
export const modelWriter = (m: Module): Entry<ModelWriter<Module>> | null => lookup(models, m);

/** What exportOnnx accepts, for Errors and docs: the model classes, then the layers a stack may hold. */
export function supported(): string {
  const ls = [...layers.values()]
    .filter((e) => e.stackable || e.note)
    .map((e) => (e.note ? `${e.ctor.name} (${e.note})` : e.ctor.name));
  return (
    `${[...models.values()].map((e) => e.ctor.name).join(", ")}, or a Sequential / single layer ` +
    `of ${ls.join(", ")}`
  );
}
