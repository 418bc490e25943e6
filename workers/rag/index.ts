// What tools (bench/) use of RAG: the vector index itself, pure code without bindings.
export { Hnsw, type HnswOptions, type Candidate } from "./vector/hnsw.js";
export { HNSW_PARAMETERS } from "./vector/parameters.js";
export { dot, normalize } from "./vector/quantize.js";
export { arrayCodeSpace, wasmCodeSpace, type CodeSpace } from "./vector/codes.js";
