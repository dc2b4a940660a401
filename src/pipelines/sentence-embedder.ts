// Sentence embeddings as sentence-transformers computes them (SentenceTransformer.encode): a text (with the prompt
// its config names, prepended) -> the folder's tokenizer, truncated at max_seq_length, a batch padded to its longest
// -> the encoder's token states -> Pooling (mean, CLS, max or last token over the real tokens) -> Normalize when the
// folder has that module.  Embeddings go to the "text" space: they compare with each other, by model name.
import { Tensor } from "../tensor.js";
import * as core from "../core/index.js";
import { scoped } from "../nn/module.js";
import { PolymodalError } from "../util/errors.js";
import { MultimodalModelOptimizer } from "../optimize/optimizer.js";
import { normalize } from "../ops/norm.js";
import type { Module } from "../nn/module.js";
import { BertModel } from "../models/hf-bert.js";
import { HF_BERT_WRITERS } from "../onnx/hf-bert.js";
import type { Buf } from "../core/index.js";
import { poolTokens, type PoolingMode } from "../models/sentence-pooling.js";
import type { Tokenizer } from "../text/tokenizer.js";
import { textBatch, tokenizeTexts, type TextReader } from "./embedders.js";
import {
  UnsupportedTaskError,
  allValues,
  type InputKind,
  type Inputs,
  type Outcome,
  type Pipeline,
  type Tasks,
  type TokenizedText,
  type DocumentReader,
  type TextRole,
} from "./pipeline.js";

/** The encoder a SentenceEmbedder pools: BertModel (BERT, RoBERTa, XLM-RoBERTa) or MPNetModel. */
export interface SentenceEncoder extends Module {
  readonly config: { readonly hiddenSize: number; readonly padTokenId: number };
  encodeTokens(ids: Buf, mask: Buf | null): Buf;
}

export interface SentenceSettings {
  /** tokens per text, special tokens included (sentence_bert_config.json's max_seq_length) */
  maxSeqLength: number;
  pooling: PoolingMode;
  /** a Normalize module follows the pooling */
  normalize: boolean;
  /** config_sentence_transformers.json's prompts ("query" -> "query: ") and the one used by default */
  prompts: Record<string, string>;
  defaultPrompt: string | null;
}

export interface SentenceEncodeOptions {
  /** a prompt of the folder's by name ("query", "passage"), as sentence-transformers' prompt_name */
  promptName?: string;
  /** a prompt's text itself (sentence-transformers' prompt) */
  prompt?: string;
}

/**
 * A role's prompt as sentence-transformers' encode_query / encode_document choose it: the prompt named "query" (a
 * document: "document", "passage" or "corpus"), else the default prompt, else none.
 */
function rolePrompt(s: Pick<SentenceSettings, "prompts" | "defaultPrompt">, role: TextRole): string {
  const names = role === "query" ? ["query"] : ["document", "passage", "corpus"];
  const name = names.find((n) => Object.hasOwn(s.prompts, n)) ?? s.defaultPrompt;
  return name === null ? "" : s.prompts[name];
}

/** A sentence encoder's tasks: the "text" space, with the prompts of its two roles. */
export function sentenceTasks(s: Pick<SentenceSettings, "prompts" | "defaultPrompt">): Tasks {
  return {
    embed: {
      space: "text",
      kinds: ["text"],
      prompts: { query: rolePrompt(s, "query"), document: rolePrompt(s, "document") },
    },
    transcribe: false,
  };
}

export class SentenceEmbedder implements Pipeline, TextReader {
  readonly tasks: Tasks;
  readonly padding = "longest" as const;
  readonly documents: DocumentReader;
  constructor(
    readonly model: SentenceEncoder,
    readonly tokenizer: Tokenizer,
    readonly settings: SentenceSettings,
  ) {
    this.tasks = sentenceTasks(settings);
    const specials = tokenizer.encode("", {}).ids.length;
    const prompt = this.tasks.embed!.prompts!.document;
    const count = (t: string): number => tokenizer.encode(t, { addSpecialTokens: false }).ids.length;
    this.documents = {
      countTokens: count,
      maxTokens: Math.max(1, settings.maxSeqLength - specials - (prompt ? count(prompt) : 0)),
    };
  }

  get dim(): number {
    return this.model.config.hiddenSize;
  }
  get maxLength(): number {
    return this.settings.maxSeqLength;
  }

  /** The prompt a call asks for (by name or text), else the folder's default ("" for none). */
  promptFor(o: SentenceEncodeOptions = {}): string {
    if (o.prompt !== undefined && o.promptName !== undefined)
      throw new PolymodalError("bad_input", "SentenceEmbedder: give prompt or promptName, not both");
    if (o.prompt !== undefined) return o.prompt;
    const name = o.promptName ?? this.settings.defaultPrompt;
    if (name === null) return "";
    const p = this.settings.prompts[name];
    if (p === undefined)
      throw new PolymodalError(
        "bad_input",
        `SentenceEmbedder: no prompt named ${JSON.stringify(name)}; this model has ` +
          (Object.keys(this.settings.prompts).join(", ") || "none"),
      );
    return p;
  }

  /** Texts -> their embeddings (unit-norm when the folder normalises), as SentenceTransformer.encode. */
  embedTexts(texts: readonly string[], options: SentenceEncodeOptions = {}): Float32Array[] {
    const prompt = this.promptFor(options);
    return allValues(this.embedBatch("text", prompt ? texts.map((t) => prompt + t) : texts));
  }

  embedBatch<K extends InputKind>(kind: K, inputs: ReadonlyArray<Inputs[K]>): Array<Outcome<Float32Array>> {
    if (kind !== "text") throw new UnsupportedTaskError("SentenceEmbedder", `embed ${kind}`, this.tasks);
    return textBatch(inputs, this, (b) => this.encode(b.inputIds, b.attentionMask));
  }

  /** ids and mask (B, T) -> the pooled (and normalised) embeddings (B, H). */
  encode(ids: Tensor, mask: Tensor): Tensor {
    const [B, T] = ids.shape,
      H = this.dim;
    // padding is the model's pad_token_id whatever the tokenizer pads with (RoBERTa counts positions past it)
    const m = mask.data as Int32Array,
      padded = (ids.data as Int32Array).map((id, i) => (m[i] ? id : this.model.config.padTokenId));
    ids = new Tensor(padded, [B, T]);
    const states = scoped(() => {
      const h = this.model.encodeTokens(
        core.fromTensor("SentenceEmbedder", "ids", ids),
        core.fromTensor("SentenceEmbedder", "mask", mask),
      );
      return core
        .heap()
        .f32(h.ptr, B * T * H)
        .slice();
    });
    const pooled = new Tensor(poolTokens(states, mask.data as Int32Array, B, T, H, this.settings.pooling), [B, H]);
    return this.settings.normalize ? normalize(pooled) : pooled;
  }

  tokenizeBatch(texts: readonly string[]): Array<Outcome<TokenizedText>> {
    return tokenizeTexts(texts, this);
  }
  transcribeBatch(): never {
    throw new UnsupportedTaskError("SentenceEmbedder", "transcribe speech", this.tasks);
  }
  quantized(): SentenceEmbedder {
    return new SentenceEmbedder(MultimodalModelOptimizer.quantizeModel(this.model), this.tokenizer, this.settings);
  }
  /** The encoder's export (BERT / RoBERTa / XLM-RoBERTa): input_ids and attention_mask -> last_hidden_state. */
  exportSample(): { module: Module; inputs: Record<string, Tensor> } {
    void HF_BERT_WRITERS;
    if (!(this.model instanceof BertModel))
      throw new PolymodalError(
        "unsupported_task",
        `ONNX export of ${this.model.constructor.name} is not supported yet`,
      );
    const T = 8,
      ids = new Int32Array(T).fill(this.model.config.padTokenId + 1);
    return {
      module: this.model,
      inputs: { input_ids: new Tensor(ids, [1, T]), attention_mask: new Tensor(new Int32Array(T).fill(1), [1, T]) },
    };
  }
}
