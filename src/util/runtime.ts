// The one place that asks where the code runs and loads Node's built-in modules.  The specifiers are built at run
// time so a browser bundler neither resolves nor inlines them; browsers never reach these imports.

/** Whether this is Node (or a Node worker thread), as opposed to a browser page or Web Worker. */
export const isNode: boolean =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/** `node:<name>` as a string a bundler leaves alone. */
export function nodeSpecifier(name: string): string {
  return ["node", name].join(":");
}

/** A Node built-in module, imported on first use (Node only). */
export function nodeImport<T = any>(name: string): Promise<T> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  return import(/* @vite-ignore */ nodeSpecifier(name)) as Promise<T>;
}
