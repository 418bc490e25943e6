import { RELEASE, type NodeTelemetry, type Role } from "../../protocol/index.js";
import type { MeshBackend } from "../mesh/backend.js";
import { ProcessStatsReader } from "./process-stats.js";

/** The Monitor step: one telemetry message per call, numbered from 0. */
export class TelemetrySampler {
  private seq = 0;
  private readonly startedAt = Date.now();
  private readonly processStats = new ProcessStatsReader();

  constructor(
    private readonly nodeId: string,
    private readonly role: Role,
    private readonly backend: MeshBackend,
  ) {}

  next(now = Date.now()): NodeTelemetry {
    const { neighbors, counters } = this.backend.sample(now);
    return {
      v: 1,
      nodeId: this.nodeId,
      role: this.role,
      seq: this.seq++,
      ts: now,
      firmware: RELEASE,
      uptimeS: Math.max(0, (now - this.startedAt) / 1000),
      neighbors,
      counters,
      process: this.processStats.read(),
    };
  }
}
