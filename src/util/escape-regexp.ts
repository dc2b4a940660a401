// Text as a RegExp that matches it literally (tokenizer patterns and added tokens, store file names).
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
