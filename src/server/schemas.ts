// JSON schemas of every route: fastify validates requests with them (ajv, no coercion, no silent removal of unknown
// fields), serialises responses with them, and @fastify/swagger turns them into the OpenAPI document.
import { INPUT_KINDS, SPACES, type InputKind } from "../pipelines/pipeline.js";

export interface SchemaLimits {
  maxBatch: number;
  maxTextLength: number;
  maxK: number;
  models: string[];
}

const error = {
  type: "object",
  properties: {
    statusCode: { type: "integer" },
    error: { type: "string" },
    message: { type: "string" },
    field: { type: "string" },
  },
} as const;
export const errorResponses = {
  400: error,
  401: error,
  404: error,
  409: error,
  413: error,
  415: error,
  429: error,
  500: error,
  503: error,
  504: error,
};

const IMAGE_FILE = "an image file: PNG or JPEG; WebP, BMP, TIFF or GIF through ffmpeg";
const AUDIO_FILE = "an audio file: WAV; MP3, FLAC, Ogg, Opus or M4A through ffmpeg";
const VIDEO_FILE = "a video file: Y4M (YUV4MPEG2); MP4, WebM or MKV through ffmpeg";
/** Marks a schema node that holds a file: base64 in JSON, the file part itself in multipart/form-data. */ const BEAM =
  "beam width, 1 to 99: CTC prefix beams, or Whisper's beam search (default 1; Whisper: its num_beams)";
const TIMESTAMPS = "Whisper: the timed segments in the answer";
const FALLBACK =
  "Whisper: a window whose tokens repeat or are unlikely is decoded again at rising temperatures (0.2 to 1.0); " +
  "a likely-silent one is skipped";

export const FILE_NODE = Symbol("file");
// (no minLength: ajv counts a string's length code point by code point, milliseconds for a photo's base64;
// decodeBase64Field refuses an empty one)
const b64 = (what: string) => ({
  type: "string",
  description: `${what}, base64 (standard alphabet, padded)`,
  [FILE_NODE]: true,
});

/**
 * A JSON body schema as it applies to a multipart/form-data body (plugins/multipart.ts turns the form into the JSON
 * shape): the same, but a file node holds the part's bytes instead of base64.
 */
export function formVariant(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(formVariant);
  if (!schema || typeof schema !== "object") return schema;
  const node = schema as Record<string | symbol, unknown>;
  if (node[FILE_NODE]) return { description: `${node.description ?? "a file"}; in a form, the file part` };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, formVariant(v)]));
}

/** One input: exactly one of text / image / audio / video. */
const input = (l: SchemaLimits) => ({
  type: "object",
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  properties: {
    text: { type: "string", maxLength: l.maxTextLength },
    image: b64(IMAGE_FILE),
    audio: b64(AUDIO_FILE),
    video: b64(VIDEO_FILE),
  },
});

const metadata = {
  type: "object",
  maxProperties: 64,
  description: "any JSON object; returned with search results and matched by filter",
};
const vector = { type: "array", items: { type: "number" } };
const hits = {
  type: "array",
  items: {
    type: "object",
    properties: {
      id: { type: "string" },
      score: { type: "number" },
      modality: { type: "string" },
      space: { type: "string" },
      model: { type: "string" },
      metadata: { type: "object", additionalProperties: true },
    },
  },
} as const;

/** Content types a route takes as a raw body (the file's bytes; text/plain a text input). */
export const RAW_TYPES: Record<string, InputKind> = {
  "image/png": "image",
  "image/jpeg": "image",
  "audio/wav": "audio",
  "audio/x-wav": "audio",
  "audio/wave": "audio",
  "audio/vnd.wave": "audio",
  "video/x-yuv4mpeg2": "video",
  // decoded through ffmpeg on the server (pipelines/media-input.ts), as the CLI reads these files
  "image/webp": "image",
  "image/bmp": "image",
  "image/tiff": "image",
  "image/gif": "image",
  "audio/mpeg": "audio",
  "audio/flac": "audio",
  "audio/ogg": "audio",
  "audio/opus": "audio",
  "audio/mp4": "audio",
  "video/mp4": "video",
  "video/webm": "video",
  "video/x-matroska": "video",
  "text/plain": "text",
};

/**
 * A body schema per content type (fastify validates each against its own; a type not listed is a 415): the JSON
 * schema, and for raw bodies of the given kinds any bytes (the handler checks them).
 */
export function body(json: object, kinds: readonly InputKind[] = []) {
  const raw = Object.entries(RAW_TYPES).filter(([, k]) => kinds.includes(k));
  return {
    content: {
      "application/json": { schema: json },
      "multipart/form-data": { schema: formVariant(json) },
      ...Object.fromEntries(raw.map(([t]) => [t, { schema: {} }])),
    },
  };
}

export function schemas(l: SchemaLimits) {
  return {
    embed: {
      summary: "Embed inputs with a model",
      description:
        "JSON with base64 media, or a raw body (Content-Type image/png, image/jpeg, audio/wav, video/x-yuv4mpeg2 " +
        "or text/plain) with ?model=.",
      querystring: {
        type: "object",
        additionalProperties: false,
        properties: { model: { type: "string", enum: l.models } },
      },
      body: body(
        {
          type: "object",
          required: ["model", "inputs"],
          additionalProperties: false,
          properties: {
            model: { type: "string", enum: l.models },
            inputs: { type: "array", minItems: 1, maxItems: l.maxBatch, items: input(l) },
          },
        },
        INPUT_KINDS,
      ),
      response: {
        200: {
          type: "object",
          properties: {
            model: { type: "string" },
            version: { type: "string" },
            dim: { type: "integer" },
            embeddings: { type: "array", items: vector },
          },
        },
        ...errorResponses,
      },
    },
    search: {
      summary: "Search the index by text, an image, a sound or a video",
      body: {
        type: "object",
        required: ["query"],
        additionalProperties: false,
        properties: {
          query: input(l),
          k: { type: "integer", minimum: 1, maximum: l.maxK, default: 10 },
          modality: { type: "string", enum: [...SPACES] },
          filter: {
            type: "object",
            maxProperties: 16,
            additionalProperties: {
              anyOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }, { type: "null" }],
            },
            description: "metadata field -> value every result must have",
          },
        },
      },
      response: {
        200: {
          type: "object",
          properties: {
            groups: {
              type: "array",
              description:
                "one ranked list per space searched (a text query: images and videos, each with its own model); " +
                "scores of different spaces are not comparable, so they are never merged",
              items: {
                type: "object",
                properties: { space: { type: "string" }, model: { type: "string" }, results: hits },
              },
            },
            results: { ...hits, description: "the one list, when the query searched one space" },
          },
        },
        ...errorResponses,
      },
    },
    index: {
      summary: "Add or replace items in the index, then save it",
      body: body({
        type: "object",
        required: ["items"],
        additionalProperties: false,
        properties: {
          items: {
            type: "array",
            minItems: 1,
            maxItems: l.maxBatch,
            items: {
              type: "object",
              required: ["id"],
              additionalProperties: false,
              minProperties: 2,
              properties: {
                id: { type: "string", minLength: 1, maxLength: 1024 },
                image: b64(IMAGE_FILE),
                audio: b64(AUDIO_FILE),
                video: b64(VIDEO_FILE),
                text: {
                  type: "string",
                  minLength: 1,
                  maxLength: l.maxTextLength,
                  description: "a passage for the text space (the text model's document prompt is prepended)",
                },
                metadata,
              },
            },
          },
        },
      }),
      response: {
        200: {
          type: "object",
          properties: {
            added: { type: "integer" },
            counts: { type: "object", additionalProperties: { type: "integer" } },
          },
        },
        ...errorResponses,
      },
    },
    transcribe: {
      summary: "Transcribe a WAV (JSON with base64, or a raw audio/wav body)",
      querystring: {
        type: "object",
        additionalProperties: false,
        properties: {
          beam: { type: "string", pattern: "^[1-9][0-9]?$", description: BEAM },
          model: { type: "string", maxLength: 256, description: "the recogniser (default: the first served)" },
          language: { type: "string", maxLength: 32, description: "Whisper: the spoken language (default detected)" },
          task: { type: "string", enum: ["transcribe", "translate"], description: "Whisper: translate into English" },
          timestamps: { type: "string", enum: ["true", "false"], description: TIMESTAMPS },
          fallback: { type: "string", enum: ["true", "false"], description: FALLBACK },
        },
      },
      body: body(
        {
          type: "object",
          required: ["audio"],
          additionalProperties: false,
          properties: {
            audio: b64(AUDIO_FILE),
            beam: { type: "integer", minimum: 1, maximum: 99, description: BEAM },
            model: { type: "string", maxLength: 256, description: "the recogniser (default: the first served)" },
            language: { type: "string", maxLength: 32, description: "Whisper: the spoken language (default detected)" },
            task: { type: "string", enum: ["transcribe", "translate"], description: "Whisper: translate into English" },
            timestamps: { type: "boolean", description: TIMESTAMPS },
            fallback: { type: "boolean", description: FALLBACK },
          },
        },
        ["audio"],
      ),
      response: {
        200: {
          type: "object",
          properties: {
            text: { type: "string", description: "the words, space-separated; empty when there is no speech" },
            words: { type: "array", items: { type: "string" } },
            speech: { type: "boolean", description: "whether voice activity found speech" },
            wordConfidences: {
              type: "array",
              items: { type: "number" },
              description: "per word, the model's probability for it (0 to 1)",
            },
            confidence: { type: "number", description: "the lowest word confidence (1 for no words)" },
            wordTimes: {
              type: "array",
              items: { type: "object", properties: { start: { type: "number" }, end: { type: "number" } } },
              description: "per word, its start and end in seconds (character CTC models)",
            },
            segments: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  start: { type: "number" },
                  end: { type: "number" },
                  text: { type: "string" },
                  temperature: { type: "number" },
                  avgLogprob: { type: "number" },
                  compressionRatio: { type: "number" },
                  noSpeechProb: { type: "number" },
                },
              },
              description: "Whisper with timestamps: the timed segments, and how their window was decoded",
            },
            warnings: { type: "array", items: { type: "string" }, description: "e.g. audio recorded below 16 kHz" },
          },
        },
        ...errorResponses,
      },
    },
    healthz: {
      summary: "The process is alive (no auth)",
      response: { 200: { type: "object", properties: { status: { type: "string" } } } },
    },
    readyz: {
      summary: "Models loaded, index open, cache reachable",
      response: {
        200: { type: "object", additionalProperties: true },
        503: { type: "object", additionalProperties: true },
      },
    },
    metrics: { summary: "Prometheus metrics (text format)", produces: ["text/plain"] },
  };
}
