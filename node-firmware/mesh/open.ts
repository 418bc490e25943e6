import type { AgentConfig } from "../config/schema.js";
import type { Logger } from "../lib/log.js";
import { Batctl } from "./batman-adv/batctl.js";
import { BatmanAdvMesh } from "./batman-adv/mesh.js";
import type { NodeDirectory } from "./batman-adv/node-directory.js";
import { SimulatedMesh } from "./simulated/mesh.js";

export type Mesh = BatmanAdvMesh | SimulatedMesh;

/**
 * The configured mesh: batman-adv on a router (read through batctl; a batctl or batman-adv that
 * is not there fails the start, with batctl's own words), or the simulation.
 */
export async function openMesh(config: AgentConfig, directory: NodeDirectory, log: Logger): Promise<Mesh> {
  const section = config.mesh;
  if (section.backend === "simulated")
    return new SimulatedMesh(config.nodeId, section.peers, section.seed, section.neighbors);
  return BatmanAdvMesh.open(
    new Batctl(section.meshInterface, section.batctl),
    directory,
    {
      refreshMs: section.refreshMs,
      silentAfterMs: section.silentAfterMs,
      probeIntervalMs: section.probeIntervalMs,
      counterInterfaces: [section.meshInterface],
    },
    log,
  );
}
