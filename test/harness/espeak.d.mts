export const HAVE_ESPEAK: boolean;
export function espeakWav(args: string, text: string): Uint8Array;
export function withArg(args: string, flag: string, value: string | number): string;
export function withLanguage(args: string, language: string): string;
