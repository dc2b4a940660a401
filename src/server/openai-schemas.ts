// JSON schemas of the routes that speak other servers' APIs: OpenAI's POST /v1/embeddings and GET /v1/models (the
// shapes its SDKs send and read, https://platform.openai.com/docs/api-reference/embeddings), and POST /tokenize.
import { INPUT_KINDS } from "../pipelines/pipeline.js";
import { FILE_NODE, body, errorResponses, type SchemaLimits } from "./schemas.js";

/** OpenAI's error body: { error: { message, type, param, code } }. */
const openaiError = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: {
        message: { type: "string" },
        type: { type: "string" },
        param: { type: ["string", "null"] },
        code: { type: ["string", "null"] },
      },
    },
  },
} as const;
const openaiErrors = Object.fromEntries([400, 401, 404, 413, 415, 429, 500, 503, 504].map((s) => [s, openaiError]));

const model = {
  type: "object",
  properties: {
    id: { type: "string" },
    object: { type: "string", enum: ["model"] },
    created: { type: "integer" },
    owned_by: { type: "string" },
  },
} as const;

export function openaiSchemas(l: SchemaLimits) {
  const text = { type: "string", maxLength: l.maxTextLength };
  // an entry may be a file as a data: URL, so its length is the body's limit here (a text's is checked by the route);
  // in a form, a file part
  const entry = { type: "string", [FILE_NODE]: true };
  const ids = {
    type: "array",
    minItems: 1,
    maxItems: l.maxTextLength,
    items: { type: "integer", minimum: 0 },
    description: "token ids in the model's own vocabulary (as POST /tokenize gives them)",
  };
  return {
    embeddings: {
      summary: "OpenAI-compatible embeddings (text, token ids, and images, sounds or videos as data: URLs)",
      description:
        "The body OpenAI's SDKs send. A string is text; with `modality` image, audio or video each string is a " +
        "data: URL (data:image/jpeg;base64,...) or plain base64 of the file; without `modality` a data: URL of a " +
        "media type is that file. prompt_tokens counts the tokens the model read (special tokens included; 0 for " +
        "files).",
      body: body({
        type: "object",
        required: ["input", "model"],
        additionalProperties: false,
        properties: {
          input: {
            anyOf: [
              entry,
              { type: "array", minItems: 1, maxItems: l.maxBatch, items: entry },
              ids,
              { type: "array", minItems: 1, maxItems: l.maxBatch, items: ids },
            ],
          },
          model: { type: "string", description: `one of ${l.models.join(", ")}` },
          encoding_format: { type: "string", enum: ["float", "base64"], default: "float" },
          dimensions: { type: "integer", minimum: 1, description: "must be the model's own width (none shortens)" },
          user: { type: "string", maxLength: 256, description: "accepted and ignored" },
          modality: { type: "string", enum: [...INPUT_KINDS] },
        },
      }),
      response: {
        200: {
          type: "object",
          properties: {
            object: { type: "string", enum: ["list"] },
            data: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  object: { type: "string", enum: ["embedding"] },
                  index: { type: "integer" },
                  embedding: {
                    anyOf: [{ type: "array", items: { type: "number" } }, { type: "string" }],
                    description: "floats, or base64 of little-endian float32 (encoding_format base64)",
                  },
                },
              },
            },
            model: { type: "string" },
            usage: {
              type: "object",
              properties: { prompt_tokens: { type: "integer" }, total_tokens: { type: "integer" } },
            },
          },
        },
        ...openaiErrors,
      },
    },
    models: {
      summary: "The served models (OpenAI's list shape)",
      response: {
        200: { type: "object", properties: { object: { type: "string" }, data: { type: "array", items: model } } },
        ...openaiErrors,
      },
    },
    model: {
      summary: "One served model (OpenAI's shape)",
      params: { type: "object", properties: { model: { type: "string" } } },
      response: { 200: model, ...openaiErrors },
    },
    tokenize: {
      summary: "Texts as a model reads them: ids and tokens (special tokens included, truncated at its length)",
      body: {
        type: "object",
        required: ["model", "inputs"],
        additionalProperties: false,
        properties: {
          model: { type: "string", enum: l.models },
          inputs: { anyOf: [text, { type: "array", minItems: 1, maxItems: l.maxBatch, items: text }] },
        },
      },
      response: {
        200: {
          type: "object",
          properties: {
            model: { type: "string" },
            tokens: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  ids: { type: "array", items: { type: "integer" } },
                  tokens: { type: "array", items: { type: "string" } },
                },
              },
            },
          },
        },
        ...errorResponses,
      },
    },
  };
}
