import type { ActionParams } from "../../protocol/index.js";
import type { Anomaly } from "./analyze.js";

export interface GuardRails {
  /** No second action on the same target within this window. */
  cooldownMs: number;
  maxActionsPerNodePerMinute: number;
  /** Record plans without sending them. */
  dryRun: boolean;
  /** Hop penalty set on a link the node should route around (batman-adv default is 30). */
  reroutePenalty: number;
}

/** What the guard rails count per: one node, one kind of repair, one neighbor. */
export const targetKey = (nodeId: string, kind: string, neighbor = "") => `${nodeId}:${kind}:${neighbor}`;

export const DEFAULT_GUARD_RAILS: GuardRails = { cooldownMs: 60_000, maxActionsPerNodePerMinute: 3, dryRun: false, reroutePenalty: 150 };

/** Recent actions the guard rails weigh: by target key and by node. */
export interface RecentActions {
  lastAtByTarget: ReadonlyMap<string, number>;
  countLastMinuteByNode: ReadonlyMap<string, number>;
}

export type PlanDisposition = "send" | "dry-run" | "suppressed-cooldown" | "suppressed-rate" | "observe";

export interface PlannedDecision {
  anomaly: Anomaly;
  /** The action, when the rules call for one. */
  params?: ActionParams;
  target: string;
  disposition: PlanDisposition;
  why: string;
}

/** The rules: a degraded link is routed around; a dead node is recorded (batman-adv reroutes by itself). */
function rule(anomaly: Anomaly, rails: GuardRails): { params?: ActionParams; why: string } {
  if (anomaly.kind === "node_down") return { why: `${anomaly.nodeId} went offline (Last Will or goodbye); neighbors' routes adapt on their own` };
  const neighbor = anomaly.neighbor as string;
  return {
    params: { kind: "reroute", neighbor, hopPenalty: rails.reroutePenalty },
    why: `${anomaly.kind} on ${anomaly.nodeId}→${neighbor}: ${anomaly.metric ?? ""} ${anomaly.observed ?? ""} vs baseline ${anomaly.baseline?.toFixed(3) ?? ""} (score ${anomaly.score ?? ""}); raise hop penalty to ${rails.reroutePenalty}`,
  };
}

/** Turns anomalies into decisions, applying cooldown, per-node rate and dry-run. Pure: the caller stores and sends. */
export function plan(anomalies: readonly Anomaly[], recent: RecentActions, rails: GuardRails, now: number): PlannedDecision[] {
  const lastAt = new Map(recent.lastAtByTarget);
  const counts = new Map(recent.countLastMinuteByNode);
  return anomalies.map((anomaly) => {
    const { params, why } = rule(anomaly, rails);
    const target = targetKey(anomaly.nodeId, params?.kind ?? anomaly.kind, anomaly.neighbor);
    if (!params) return { anomaly, target, disposition: "observe", why };
    if (now - (lastAt.get(target) ?? -Infinity) < rails.cooldownMs) return { anomaly, params, target, disposition: "suppressed-cooldown", why };
    if ((counts.get(anomaly.nodeId) ?? 0) >= rails.maxActionsPerNodePerMinute) return { anomaly, params, target, disposition: "suppressed-rate", why };
    lastAt.set(target, now);
    counts.set(anomaly.nodeId, (counts.get(anomaly.nodeId) ?? 0) + 1);
    return { anomaly, params, target, disposition: rails.dryRun ? "dry-run" : "send", why };
  });
}
