export { validateConfig } from "./load.js";
export { type AgentConfig } from "./schema.js";
