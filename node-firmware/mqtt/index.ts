export { EmbeddedBroker } from "./broker.js";
export { disableNagle } from "./connect.js";
