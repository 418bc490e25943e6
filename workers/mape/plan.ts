import type { ActionParams } from "../../protocol/index.js";
import { FLAP_WINDOW_MS, type Anomaly } from "./analyze.js";

export interface GuardRails {
  /** No second action on the same target within this window. */
  cooldownMs: number;
  maxActionsPerNodePerMinute: number;
  /** Record plans without sending them. */
  dryRun: boolean;
  /** Hop penalty set on a link the node should route around (batman-adv default is 30). */
  reroutePenalty: number;
  /** A source arriving faster than this at one node is a flood. */
  floodPps: number;
  /** How long an isolation ordered (or confirmed) by the edge lasts. */
  isolateTtlS: number;
  /** Never more sources isolated at once than this share of the mesh's nodes (at least one). */
  maxIsolatedShare: number;
}

/** What the guard rails count per: one node, one kind of repair, one neighbor. */
export const targetKey = (nodeId: string, kind: string, subject = "") => `${nodeId}:${kind}:${subject}`;

export const DEFAULT_GUARD_RAILS: GuardRails = {
  cooldownMs: 60_000,
  maxActionsPerNodePerMinute: 3,
  dryRun: false,
  reroutePenalty: 150,
  floodPps: 5000,
  isolateTtlS: 300,
  maxIsolatedShare: 0.2,
};

/** Recent actions the guard rails weigh: by target key and by node. */
export interface RecentActions {
  lastAtByTarget: ReadonlyMap<string, number>;
  countLastMinuteByNode: ReadonlyMap<string, number>;
  /** Sources isolated anywhere in the mesh now, and how many nodes the mesh has. */
  isolation?: { sources: ReadonlySet<string>; meshSize: number };
}

export type PlanDisposition =
  "send" | "dry-run" | "suppressed-cooldown" | "suppressed-rate" | "suppressed-share" | "observe";

export interface PlannedDecision {
  anomaly: Anomaly;
  /** The action, when the rules call for one. */
  params?: ActionParams;
  target: string;
  disposition: PlanDisposition;
  why: string;
}

function floodRule(anomaly: Anomaly, rails: GuardRails): { params: ActionParams; why: string } {
  const source = anomaly.source as string;
  const rate = `${String(Math.round(anomaly.observed ?? 0))} packets/s against a limit of ${String(rails.floodPps)}`;
  const why = anomaly.blocked
    ? `confirms ${anomaly.nodeId}'s isolation of ${source}: it still sends ${rate}; blocked for ${String(rails.isolateTtlS)} s`
    : `${source} floods ${anomaly.nodeId} with ${rate}; isolate it for ${String(rails.isolateTtlS)} s`;
  return { params: { kind: "isolate_source", source, ttlSeconds: rails.isolateTtlS }, why };
}

/**
 * The rules: a degraded link is routed around; a flooding source is isolated (or the node's own
 * isolation confirmed, for longer); a dead node is recorded (batman-adv reroutes by itself).
 */
function rule(anomaly: Anomaly, rails: GuardRails): { params?: ActionParams; why: string } {
  if (anomaly.kind === "node_down")
    return { why: `${anomaly.nodeId} went offline (Last Will or goodbye); neighbors' routes adapt on their own` };
  if (anomaly.kind === "node_flapping") {
    return {
      why: `${anomaly.nodeId} went down ${String(anomaly.observed)} times in ${String(FLAP_WINDOW_MS / 60_000)} min: flapping (power, radio or a crash loop); no routing change helps, it needs a look`,
    };
  }
  if (anomaly.kind === "traffic_flood") return floodRule(anomaly, rails);
  const neighbor = anomaly.neighbor as string;
  return {
    params: { kind: "reroute", neighbor, hopPenalty: rails.reroutePenalty },
    why: `${anomaly.kind} on ${anomaly.nodeId}→${neighbor}: ${anomaly.metric ?? ""} ${anomaly.observed ?? ""} vs baseline ${anomaly.baseline?.toFixed(3) ?? ""} (score ${anomaly.score ?? ""}); raise hop penalty to ${rails.reroutePenalty}`,
  };
}

/** Isolating one more source would take more of the mesh out than the rails allow. */
function overIsolationShare(params: ActionParams, isolated: Set<string>, meshSize: number, rails: GuardRails): boolean {
  if (params.kind !== "isolate_source" || isolated.has(params.source)) return false;
  return isolated.size + 1 > Math.max(1, Math.floor(rails.maxIsolatedShare * meshSize));
}

/**
 * Turns anomalies into decisions, applying cooldown, per-node rate, isolation share and dry-run.
 * Pure: the caller stores and sends.
 */
export function plan(
  anomalies: readonly Anomaly[],
  recent: RecentActions,
  rails: GuardRails,
  now: number,
): PlannedDecision[] {
  const lastAt = new Map(recent.lastAtByTarget);
  const counts = new Map(recent.countLastMinuteByNode);
  const isolated = new Set(recent.isolation?.sources);
  const meshSize = recent.isolation?.meshSize ?? 0;
  return anomalies.map((anomaly) => {
    const { params, why } = rule(anomaly, rails);
    const target = targetKey(anomaly.nodeId, params?.kind ?? anomaly.kind, anomaly.neighbor ?? anomaly.source);
    if (!params) return { anomaly, target, disposition: "observe", why };
    if (now - (lastAt.get(target) ?? -Infinity) < rails.cooldownMs)
      return { anomaly, params, target, disposition: "suppressed-cooldown", why };
    if ((counts.get(anomaly.nodeId) ?? 0) >= rails.maxActionsPerNodePerMinute)
      return { anomaly, params, target, disposition: "suppressed-rate", why };
    if (overIsolationShare(params, isolated, meshSize, rails))
      return { anomaly, params, target, disposition: "suppressed-share", why };
    if (params.kind === "isolate_source") isolated.add(params.source);
    lastAt.set(target, now);
    counts.set(anomaly.nodeId, (counts.get(anomaly.nodeId) ?? 0) + 1);
    return { anomaly, params, target, disposition: rails.dryRun ? "dry-run" : "send", why };
  });
}
