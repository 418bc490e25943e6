export { BatmanIvMesh } from "./simulated/batman-iv.js";
export { prng } from "./simulated/prng.js";
export { SimulatedMesh, buildTopology, simulateMesh } from "./simulated/mesh.js";
export { parseOriginators } from "./batman-adv/batctl.js";
