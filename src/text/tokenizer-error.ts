// What every part of the tokenizer.json reader shares: the error every malformed or unsupported part raises.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export function bad(msg: string): never {
  throw new Error(`Tokenizer: ${msg}`);
}
