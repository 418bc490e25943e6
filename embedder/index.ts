export { checkModelFolder, type ModelFolder } from "./model.js";
export { loadEmbedder, ModelFolderError, type Embedder } from "./transformers.js";
export { embedderHandler } from "./service.js";
export { writeTinyModel } from "./tiny-model.js";
