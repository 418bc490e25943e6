import type { InterfaceCounters, NeighborReading } from "../../protocol/index.js";

export interface MeshSample {
  neighbors: NeighborReading[];
  counters: InterfaceCounters;
}

/** Where a node's view of the mesh comes from: a simulation here, batman-adv and eBPF on a router. */
export interface MeshBackend {
  readonly kind: "simulated";
  sample(now: number): MeshSample;
}
