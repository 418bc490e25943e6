import type { InterfaceCounters, NeighborReading } from "../../protocol/index.js";
import type { ActionBackend } from "../execute/executor.js";

export interface MeshSample {
  neighbors: NeighborReading[];
  counters: InterfaceCounters;
}

/**
 * Where a node's view of the mesh comes from, and where its routing actions go: batman-adv on a
 * router (`batman-adv/`), a B.A.T.M.A.N. IV simulation for `npm start` and tests (`simulated/`).
 */
export interface MeshBackend extends ActionBackend {
  readonly kind: "batman-adv" | "simulated";
  /** Nodes with a direct link to this one now. */
  readonly neighborIds: readonly string[];
  /** Changes of this node's best next hop to any originator: batman-adv's path switches. */
  readonly pathSwitches: number;
  sample(now: number): MeshSample;
  close(): Promise<void>;
}
