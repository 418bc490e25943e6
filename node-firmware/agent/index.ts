export { startAgent } from "./run.js";
