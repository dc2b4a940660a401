// Retrieval: the production MultimodalIndex (flat float32, flat int8, HNSW) and the CLIP-based retriever.
export { MultimodalIndex } from "./multimodal-index.js";
export type { IndexKind, IndexOptions, RetrievalResult, SearchOptions, MetadataFilter } from "./multimodal-index.js";
export { CrossModalRetriever } from "./retriever.js";
export { cacheEmbeddings, cacheEmbeddingsInto } from "./cache.js";
export type { ImageTextModel } from "./retriever.js";
export {
  MemoryStore,
  StoreVersionError,
  checkVersion,
  filterFunction,
  jsonlLine,
  validateItems,
} from "./embedding-store.js";
export type {
  EmbeddingStore,
  StoredItem,
  StoreHit,
  StoreSearchOptions,
  FilterValue,
  EntryOptions,
} from "./embedding-store.js";
export { saveIndex, loadIndex, deleteIndex, browserStorage } from "./browser-storage.js";
export type { BrowserStorage, BrowserStorageOptions } from "./browser-storage.js";
