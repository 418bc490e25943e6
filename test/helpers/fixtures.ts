import type { BatchItem, NodeStatus, NodeTelemetry, TelemetryBatch } from "../../protocol/index.js";

export function telemetrySample(nodeId: string, overrides: Partial<NodeTelemetry> = {}): NodeTelemetry {
  return {
    v: 1,
    nodeId,
    role: "node",
    seq: 0,
    ts: Date.now(),
    firmware: "0.1.0",
    uptimeS: 12,
    neighbors: [],
    counters: { rxBytes: 1000, txBytes: 2000, rxPackets: 10, txPackets: 20, rxDropped: 0, txDropped: 0 },
    process: { rssBytes: 40_000_000, cpuPercent: 1.5 },
    ...overrides,
  };
}

export function statusMessage(nodeId: string, state: NodeStatus["state"], ts = Date.now()): NodeStatus {
  return { v: 1, nodeId, role: "node", state, ts, firmware: "0.1.0" };
}

export const telemetryItem = (telemetry: NodeTelemetry): BatchItem => ({ kind: "telemetry", telemetry });
export const statusItem = (status: NodeStatus): BatchItem => ({ kind: "status", status });

export function batchOf(items: BatchItem[], gatewayId = "gw-1"): TelemetryBatch {
  return { gatewayId, sentAt: Date.now(), items };
}
