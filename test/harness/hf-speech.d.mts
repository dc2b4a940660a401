export const HF_SPEECH_FIXTURES: string;
export const HF_SPEECH: {
  vocab: Record<string, number>;
  utterances: Array<[string, number]>;
  decodes: Array<{ ids: number[]; text: string }>;
  greedy: Record<string, { text: string; min_top2_margin: number }>;
  chunked: { samples: number; chunk: number; stride: number };
  models: Record<string, { config: Record<string, any>; preprocessor: Record<string, any> }>;
};
export function utterance(key: string, n: number): Float32Array;
export function ctcKeys(config: Record<string, any>): Array<[string, number[]]>;
export function writeCTCFolder(
  dir: string,
  name: string,
  options?: {
    weightNorm?: "g_v" | "parametrizations";
    dtype?: "F32" | "F16" | "BF16";
    drop?: string[];
    extra?: Array<[string, number[]]>;
  },
): string;
export function whisperKeys(config: Record<string, any>): Array<[string, number[]]>;
export function whisperTokenizer(timestamps?: number): Record<string, unknown>;
export function writeWhisperFolder(
  dir: string,
  spec: Record<string, any>,
  options?: { projOut?: boolean; dtype?: "F32" | "F16" | "BF16" },
): string;
