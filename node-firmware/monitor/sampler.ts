import { RELEASE, type NodeTelemetry, type Role } from "../../protocol/index.js";
import type { DataPlane } from "../dataplane/dataplane.js";
import { SourceRates, readDataPlane } from "../dataplane/source-rates.js";
import type { MeshBackend } from "../mesh/backend.js";
import { ProcessStatsReader } from "./process-stats.js";
import { readTcpHealth, type TcpHealthReader } from "./tcp.js";

/** The Monitor step: one telemetry message per call, numbered from 0. */
export class TelemetrySampler {
  private seq = 0;
  private readonly startedAt = Date.now();
  private readonly processStats = new ProcessStatsReader();
  private readonly rates = new SourceRates();

  constructor(
    private readonly nodeId: string,
    private readonly role: Role,
    private readonly backend: MeshBackend,
    private readonly dataplane: DataPlane,
    private readonly tcp?: TcpHealthReader,
  ) {}

  async next(now = Date.now()): Promise<NodeTelemetry> {
    const { neighbors, counters } = this.backend.sample(now);
    const [{ reading, snapshot }, tcp] = await Promise.all([
      readDataPlane(this.dataplane, this.rates, now),
      this.tcp ? readTcpHealth(this.tcp) : undefined,
    ]);
    return {
      v: 1,
      nodeId: this.nodeId,
      role: this.role,
      seq: this.seq++,
      ts: now,
      firmware: RELEASE,
      uptimeS: Math.max(0, (now - this.startedAt) / 1000),
      neighbors,
      // A data plane on a real interface counts that interface; otherwise the mesh model does.
      counters: snapshot.interfaceCounters ?? counters,
      process: this.processStats.read(),
      dataplane: reading,
      ...(tcp === undefined ? {} : { tcp }),
    };
  }
}
