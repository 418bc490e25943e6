import type { SimulatedMesh } from "../../node-firmware/mesh/simulated/mesh.js";
import type { Mesh } from "../../node-firmware/mesh/open.js";

/** The agent's mesh, which the test configured as the simulation (fault injection, controls). */
export function simulatedMeshOf(agent: { mesh: Mesh }): SimulatedMesh {
  if (agent.mesh.kind !== "simulated") throw new Error(`the agent runs ${agent.mesh.kind}, not the simulation`);
  return agent.mesh;
}
