export { defaultObjectPath } from "./open.js";
export { SimulatedDataPlane } from "./simulated.js";
export { SourceRates } from "./source-rates.js";
