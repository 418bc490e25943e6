export { CYCLE_PATH } from "./edge-client.js";
