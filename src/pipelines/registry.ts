// One registry for every model a user can name: a shipped model by its name, a Hugging Face folder (a path in Node,
// or a URL) by its config.json's model_type; later, a Hub id.  It resolves a name to a ModelRef (what the model does,
// where it comes from: known before anything loads) and loads a ref into its Pipeline.  A ModelSet is the lineup a
// command or service works with: the shipped models, a folder in place of the shipped model of its space.
import { SHIPPED, isShipped, loadShipped, type LoadOptions, type ShippedName } from "./shipped.js";
import {
  folderArchitecture,
  loadHuggingFaceFolder,
  localFolder,
  remoteFolder,
  type FolderReader,
} from "./hf-folder.js";
import { isSpace, type EmbedSpace, type InputKind, type Pipeline, type Space, type Tasks } from "./pipeline.js";
import { isNode, nodeImport } from "../util/runtime.js";

export interface ModelRef {
  /** the name requests and results carry: a shipped model's, or a folder's own (its last path segment) */
  readonly name: string;
  readonly tasks: Tasks;
  readonly source: { readonly shipped: ShippedName } | { readonly folder: string };
  /** the shipped model a folder stands in for in a lineup: it answers to that name too */
  readonly replaces?: ShippedName;
}

/** A shipped model's ref. */
export function shippedRef(name: ShippedName): ModelRef {
  return { name, tasks: SHIPPED[name].tasks, source: { shipped: name } };
}

const isUrl = (s: string): boolean => /^(https?|file|blob):/.test(s);

/** The files of a folder named by a path (Node) or a URL. */
function reader(folder: string, options: LoadOptions): FolderReader {
  return isUrl(folder) || !isNode ? remoteFolder(folder, options) : localFolder(folder);
}

/** A name: a shipped model, or a folder (a path in Node, a URL) whose config.json names a known architecture. */
export async function resolveModel(name: string, options: LoadOptions = {}): Promise<ModelRef> {
  if (typeof name !== "string" || name === "")
    throw new Error(`loadPretrained: expected a shipped model's name or a model folder, got ${JSON.stringify(name)}`);
  if (isShipped(name)) return shippedRef(name);
  if (!isUrl(name) && isNode) {
    const fs = await nodeImport("fs");
    if (!fs.existsSync(name) || !fs.statSync(name).isDirectory()) {
      throw new Error(
        `loadPretrained: unknown model ${JSON.stringify(name)}; shipped: ${Object.keys(SHIPPED).join(", ")}, or ` +
          `give a Hugging Face model folder (no folder ${name})`,
      );
    }
  }
  const read = reader(name, options);
  const { arch } = await folderArchitecture(read, name);
  const segments = name.split(/[/\\]+/).filter(Boolean);
  const tasks = arch.tasksOf ? await arch.tasksOf(read, name) : arch.tasks;
  return { name: segments[segments.length - 1] ?? name, tasks, source: { folder: name } };
}

/** Loads what a ref names. */
export function loadModel(ref: ModelRef, options: LoadOptions = {}): Promise<Pipeline> {
  if ("shipped" in ref.source) return loadShipped(ref.source.shipped, options);
  return loadHuggingFaceFolder(reader(ref.source.folder, options), ref.source.folder, options);
}

/** The models a command or a service works with, each space served by one of them. */
export class ModelSet {
  private constructor(readonly refs: readonly ModelRef[]) {}

  /**
   * The shipped models (all of them, or those `present` says are there), each folder (`folder`, then `folders`) in
   * place of the shipped model that embeds into the same space; two folders for one space are refused.
   */
  static async lineup(
    o: { folder?: string; folders?: readonly string[]; present?: (name: ShippedName) => boolean } = {},
    options: LoadOptions = {},
  ): Promise<ModelSet> {
    const refs = (Object.keys(SHIPPED) as ShippedName[]).map(shippedRef);
    let lineup: ModelRef[] = refs.filter((r) => !o.present || o.present(r.name as ShippedName));
    const folders = [...(o.folder !== undefined ? [o.folder] : []), ...(o.folders ?? [])];
    const taken = new Map<string, string>();
    for (const folder of folders) {
      const f = await resolveModel(folder, options);
      const space = f.tasks.embed?.space;
      if (space !== undefined) {
        if (taken.has(space))
          throw new Error(`${taken.get(space)} and ${folder} both embed into the ${space} space: give one of them`);
        taken.set(space, folder);
      }
      const replaced = refs.find((r) => space !== undefined && r.tasks.embed?.space === space);
      lineup = [
        ...lineup.filter((r) => "folder" in r.source),
        { ...f, replaces: replaced?.name as ShippedName | undefined },
        ...lineup.filter((r) => !("folder" in r.source) && r !== replaced),
      ];
    }
    return new ModelSet(lineup);
  }

  /** Every name a model here answers to (a folder also answers to the shipped model it stands in for). */
  names(): string[] {
    return this.refs.flatMap((r) => (r.replaces ? [r.name, r.replaces] : [r.name]));
  }
  /** A model by its name, or by the name of the shipped model it stands in for. */
  get(name: string): ModelRef | undefined {
    return this.refs.find((r) => r.name === name) ?? this.refs.find((r) => r.replaces === name);
  }
  /** The model whose embeddings fill a space (or the "text" space of a text-only encoder). */
  forSpace(space: EmbedSpace): ModelRef | undefined {
    return this.refs.find((r) => r.tasks.embed?.space === space);
  }
  /**
   * The index spaces a query of this kind can be searched in, each with the model that embeds it there (a text-only
   * encoder's "text" vectors are not an index space yet).
   */
  spacesFor(kind: InputKind): Array<{ space: Space; ref: ModelRef }> {
    return this.refs.flatMap((ref) => {
      const e = ref.tasks.embed;
      return e?.kinds.includes(kind) && isSpace(e.space) ? [{ space: e.space, ref }] : [];
    });
  }
  /** The model that transcribes speech. */
  transcriber(): ModelRef | undefined {
    return this.refs.find((r) => r.tasks.transcribe);
  }
}
