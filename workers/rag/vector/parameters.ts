import { RAG_DIMENSIONS } from "../../../protocol/index.js";

/** The index's HNSW parameters (the design's M=16, efConstruction=200), shared by the shards and the benchmark. */
export const HNSW_PARAMETERS = { dimensions: RAG_DIMENSIONS, m: 16, efConstruction: 200 } as const;
