import {
  spiffeIdOf,
  type ActionResult,
  type NodeStatus,
  type NodeTelemetry,
  type TelemetryBatch,
} from "../../protocol/index.js";
import type { links, nodes, telemetryRollups } from "../db/schema.js";

export type NodeRow = typeof nodes.$inferInsert;
export type LinkRow = typeof links.$inferInsert;
export type RollupRow = typeof telemetryRollups.$inferInsert;

/** What the store knows of a node before the batch. */
export interface KnownNode {
  firstSeen: number;
  lastSeen: number;
  lastTelemetryTs: number | null;
  lastTelemetrySeq: number | null;
}

export interface IngestPlan {
  /** Action results from nodes: they close the decisions they answer. */
  results: ActionResult[];
  nodes: NodeRow[];
  links: LinkRow[];
  rollups: RollupRow[];
  accepted: number;
  duplicates: number;
}

const MINUTE_MS = 60_000;

/**
 * Folds a batch, in arrival order, into the rows to write. Telemetry no newer than what is
 * stored is a replay and changes nothing, so a gateway may resend a batch safely.
 * Node clocks are not trusted to be ahead of ours: times are clamped to `now`.
 */
export function planIngest(
  batch: TelemetryBatch,
  known: ReadonlyMap<string, KnownNode>,
  trustDomain: string,
  now: number,
): IngestPlan {
  const nodeRows = new Map<string, NodeRow>();
  const linkRows = new Map<string, LinkRow>();
  const rollupRows = new Map<string, RollupRow>();
  let accepted = 0;
  let duplicates = 0;

  const rowFor = (message: NodeStatus | NodeTelemetry, ts: number): NodeRow => {
    const existing = nodeRows.get(message.nodeId);
    if (existing) return existing;
    const prior = known.get(message.nodeId);
    const row: NodeRow = {
      id: message.nodeId,
      spiffeId: spiffeIdOf[message.role](trustDomain, message.nodeId),
      role: message.role,
      status: "online",
      firstSeen: prior?.firstSeen ?? ts,
      lastSeen: prior?.lastSeen ?? ts,
      firmwareVersion: message.firmware,
      lastTelemetryTs: prior?.lastTelemetryTs ?? null,
      lastTelemetrySeq: prior?.lastTelemetrySeq ?? null,
      // Increments: the store adds them to what it holds.
      samplesStored: 0,
      samplesMissing: 0,
    };
    nodeRows.set(message.nodeId, row);
    return row;
  };

  const results: ActionResult[] = [];
  for (const item of batch.items) {
    if (item.kind === "result") {
      results.push(item.result);
      accepted++;
      continue;
    }
    if (item.kind === "status") {
      const status = item.status;
      const ts = Math.min(status.ts, now);
      const row = rowFor(status, ts);
      row.status = status.state;
      row.role = status.role;
      row.firmwareVersion = status.firmware;
      // A Last Will carries its connect time, so only `online` says when the node was last heard.
      if (status.state === "online") row.lastSeen = Math.max(row.lastSeen, ts);
      accepted++;
      continue;
    }
    const sample = item.telemetry;
    const ts = Math.min(sample.ts, now);
    const row = rowFor(sample, ts);
    if (row.lastTelemetryTs != null && ts <= row.lastTelemetryTs) {
      duplicates++;
      continue;
    }
    row.status = "online";
    row.role = sample.role;
    row.firmwareVersion = sample.firmware;
    row.lastSeen = Math.max(row.lastSeen, ts);
    row.lastTelemetryTs = ts;
    row.samplesMissing = (row.samplesMissing ?? 0) + missingBefore(row.lastTelemetrySeq ?? null, sample.seq);
    row.samplesStored = (row.samplesStored ?? 0) + 1;
    row.lastTelemetrySeq = sample.seq;
    for (const n of sample.neighbors) {
      linkRows.set(`${sample.nodeId}>${n.neighbor}`, {
        fromNode: sample.nodeId,
        toNode: n.neighbor,
        tq: n.tq,
        latencyMs: n.latencyMs,
        loss: n.loss,
        updatedAt: ts,
      });
    }
    addToRollup(rollupRows, sample, ts);
    accepted++;
  }
  return {
    results,
    nodes: [...nodeRows.values()],
    links: [...linkRows.values()],
    rollups: [...rollupRows.values()],
    accepted,
    duplicates,
  };
}

/** Samples skipped between two stored ones; a seq that did not grow is an agent restart, not a loss. */
function missingBefore(lastSeq: number | null, seq: number): number {
  return lastSeq !== null && seq > lastSeq + 1 ? seq - lastSeq - 1 : 0;
}

function addToRollup(rollups: Map<string, RollupRow>, sample: NodeTelemetry, ts: number): void {
  const minute = Math.floor(ts / MINUTE_MS) * MINUTE_MS;
  const key = `${sample.nodeId}@${minute}`;
  const row = rollups.get(key) ?? {
    nodeId: sample.nodeId,
    minute,
    samples: 0,
    linkSamples: 0,
    tqSum: 0,
    latencyMsSum: 0,
    lossSum: 0,
    rxBytes: 0,
    txBytes: 0,
    rxDropped: 0,
    txDropped: 0,
    rssBytesMax: 0,
    cpuPercentSum: 0,
  };
  row.samples += 1;
  row.linkSamples += sample.neighbors.length;
  for (const n of sample.neighbors) {
    row.tqSum += n.tq;
    row.latencyMsSum += n.latencyMs;
    row.lossSum += n.loss;
  }
  row.rxBytes = Math.max(row.rxBytes, sample.counters.rxBytes);
  row.txBytes = Math.max(row.txBytes, sample.counters.txBytes);
  row.rxDropped = Math.max(row.rxDropped, sample.counters.rxDropped);
  row.txDropped = Math.max(row.txDropped, sample.counters.txDropped);
  row.rssBytesMax = Math.max(row.rssBytesMax, sample.process.rssBytes);
  row.cpuPercentSum += sample.process.cpuPercent;
  rollups.set(key, row);
}
