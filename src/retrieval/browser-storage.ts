// A MultimodalIndex kept in the browser, where saveToFile has no file system: the origin private file system (OPFS)
// or, where a browser has none, IndexedDB.  The bytes are save()'s (the same format as saveToFile, checksummed, so
// a damaged copy loads as a clear Error), and a save replaces the old copy whole or not at all:
//   OPFS       a writable stream's changes go to a swap file and replace the file only on close(); a page closed
//              mid-write leaves the previous version;
//   IndexedDB  one put() in one readwrite transaction: it commits entirely or not at all.
import { MultimodalIndex } from "./multimodal-index.js";

export type BrowserStorage = "opfs" | "indexeddb";

export interface BrowserStorageOptions {
  /** which storage (default: OPFS where the browser has it, else IndexedDB) */
  storage?: BrowserStorage;
  /** IndexedDB database name (default "polymodal") */
  database?: string;
}

const STORE = "indexes";

/** The storage `o` asks for, or the best this browser has; an Error naming what is missing when it has neither. */
export function browserStorage(o: BrowserStorageOptions = {}): BrowserStorage {
  const g = globalThis as { navigator?: { storage?: { getDirectory?: unknown } }; indexedDB?: unknown };
  const opfs = typeof g.navigator?.storage?.getDirectory === "function",
    idb = typeof g.indexedDB === "object" && g.indexedDB !== null;
  const want = o.storage ?? (opfs ? "opfs" : "indexeddb");
  if (want === "opfs" && !opfs)
    throw new Error(
      "saveIndex: this browser has no origin private file system (navigator.storage.getDirectory); use { storage: " +
        '"indexeddb" }',
    );
  if (want === "indexeddb" && !idb)
    throw new Error("saveIndex: this environment has no IndexedDB (in Node, use MultimodalIndex.saveToFile)");
  return want;
}

function checkName(who: string, name: string): void {
  if (typeof name !== "string" || !/^[\w.-]{1,200}$/.test(name))
    throw new Error(`${who}: name must be 1 to 200 letters, digits, '.', '-' or '_', got ${JSON.stringify(name)}`);
}

function openDb(database: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(database, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore(STORE);
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error(`IndexedDB ${database}: ${r.error?.message ?? "cannot open"}`));
  });
}

function idbRequest<T>(db: IDBDatabase, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = f(tx.objectStore(STORE));
    let value: T;
    req.onsuccess = () => {
      value = req.result;
    };
    tx.oncomplete = () => resolve(value); // resolved once the transaction is durable, not when the request returns
    tx.onerror = tx.onabort = () =>
      reject(new Error(`IndexedDB: ${tx.error?.message ?? req.error?.message ?? "transaction aborted"}`));
  });
}

/**
 * Saves `index` as `name` in this browser; resolves once the new copy has replaced the old one whole.
 * @example
 * await saveIndex(myIndex, "photos");                 // OPFS, or IndexedDB where there is no OPFS
 * const again = await loadIndex("photos");            // after a reload: the same index, or null
 */
export async function saveIndex(
  index: MultimodalIndex,
  name: string,
  o: BrowserStorageOptions = {},
): Promise<BrowserStorage> {
  checkName("saveIndex", name);
  const storage = browserStorage(o),
    bytes = index.save();
  if (storage === "opfs") {
    const dir = await navigator.storage.getDirectory();
    const handle = await dir.getFileHandle(`${name}.pmx`, { create: true });
    const w = await handle.createWritable();
    try {
      await w.write(bytes as BufferSource);
      await w.close(); // the swap file replaces the old copy here, atomically
    } catch (e) {
      await w.abort().catch(() => {});
      throw new Error(`saveIndex ${name} (OPFS): ${(e as Error).message}; the previous copy is unchanged`);
    }
  } else {
    const db = await openDb(o.database ?? "polymodal");
    try {
      await idbRequest(db, "readwrite", (s) => s.put(bytes, name));
    } finally {
      db.close();
    }
  }
  return storage;
}

/** The index saved as `name` in this browser, or null when there is none; a damaged copy is an Error naming it. */
export async function loadIndex(name: string, o: BrowserStorageOptions = {}): Promise<MultimodalIndex | null> {
  checkName("loadIndex", name);
  const storage = browserStorage(o);
  let bytes: Uint8Array | null = null;
  if (storage === "opfs") {
    const dir = await navigator.storage.getDirectory();
    try {
      bytes = new Uint8Array(await (await (await dir.getFileHandle(`${name}.pmx`)).getFile()).arrayBuffer());
    } catch (e) {
      if ((e as DOMException).name !== "NotFoundError") throw e;
    }
  } else {
    const db = await openDb(o.database ?? "polymodal");
    try {
      const v = await idbRequest<unknown>(db, "readonly", (s) => s.get(name));
      bytes = v === undefined ? null : v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer);
    } finally {
      db.close();
    }
  }
  if (bytes === null) return null;
  try {
    return MultimodalIndex.load(bytes);
  } catch (e) {
    throw new Error(`loadIndex ${name} (${storage}): ${(e as Error).message}`);
  }
}

/** Removes the index saved as `name` (nothing when there is none). */
export async function deleteIndex(name: string, o: BrowserStorageOptions = {}): Promise<void> {
  checkName("deleteIndex", name);
  if (browserStorage(o) === "opfs") {
    await (await navigator.storage.getDirectory()).removeEntry(`${name}.pmx`).catch((e: DOMException) => {
      if (e.name !== "NotFoundError") throw e;
    });
    return;
  }
  const db = await openDb(o.database ?? "polymodal");
  try {
    await idbRequest(db, "readwrite", (s) => s.delete(name));
  } finally {
    db.close();
  }
}
