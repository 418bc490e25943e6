export { Reflexes } from "./reflexes.js";
