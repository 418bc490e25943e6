import type { ActionParams } from "../../protocol/index.js";
import type { DataPlane } from "../dataplane/dataplane.js";
import type { ActionBackend } from "./executor.js";

/** Filtering actions go to the data plane; routing and the rest to the mesh (batman-adv or the simulator). */
export function routeActions(mesh: ActionBackend, dataplane: DataPlane): ActionBackend {
  return {
    apply(params: ActionParams, now: number): Promise<void> {
      if (params.kind === "isolate_source") return dataplane.isolate(params.source, params.ttlSeconds, now);
      if (params.kind === "rate_limit")
        return dataplane.rateLimit(params.source, params.packetsPerSecond, params.ttlSeconds, now);
      return mesh.apply(params, now);
    },
  };
}
