export { backoffDelay } from "./backoff.js";
export { createLogger, silentLogger } from "./log.js";
export { packageRoot } from "./package-root.js";
