export { BatmanIvMesh } from "./batman-iv.js";
export { prng } from "./prng.js";
export { SimulatedMesh, buildTopology, simulateMesh } from "./simulated.js";
