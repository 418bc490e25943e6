import { signAction, type Action, type CycleResponse, type TelemetryBatch } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import type { Authority } from "../identity/authority.js";
import { planIngest } from "../telemetry/ingest.js";
import { loadKnownNodes, writePlan } from "../telemetry/store.js";
import { nodeDown, observe, type Anomaly, type Baseline, type Metric } from "./analyze.js";
import { plan, type GuardRails, type PlannedDecision } from "./plan.js";
import { baselineKey, baselineUpserts, decisionInsert, loadBaselines, recentActions } from "./store.js";

const METRICS: Metric[] = ["latency", "loss", "tq"];
const ACTION_TTL_MS = 30_000;

export interface CycleContext {
  db: Database;
  authority: Authority;
  trustDomain: string;
  rails: GuardRails;
  now: number;
}

/** Analyze: new samples against their links' baselines, and offline statuses. */
function analyze(batch: TelemetryBatch, known: Awaited<ReturnType<typeof loadKnownNodes>>, baselines: Map<string, Baseline>, now: number): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const newest = new Map([...known].map(([id, k]) => [id, k.lastTelemetryTs ?? -1]));
  for (const item of batch.items) {
    if (item.kind === "status") {
      const down = nodeDown(item.status, now);
      if (down) anomalies.push(down);
      continue;
    }
    if (item.kind !== "telemetry") continue;
    const sample = item.telemetry;
    if (sample.ts <= (newest.get(sample.nodeId) ?? -1)) continue; // a replay was analyzed the first time
    newest.set(sample.nodeId, sample.ts);
    for (const reading of sample.neighbors) {
      for (const metric of METRICS) {
        const key = baselineKey(sample.nodeId, reading.neighbor, metric);
        const { anomaly, next } = observe(baselines.get(key), reading, metric, sample.nodeId, Math.min(sample.ts, now));
        baselines.set(key, next);
        if (anomaly) anomalies.push(anomaly);
      }
    }
  }
  return anomalies;
}

function actionFor(decisionId: string, decision: PlannedDecision, now: number): Action | null {
  if (decision.disposition !== "send" || !decision.params) return null;
  return { v: 1, id: crypto.randomUUID(), nodeId: decision.anomaly.nodeId, issuedAt: now, expiresAt: now + ACTION_TTL_MS, idempotencyKey: decisionId, decisionId, params: decision.params };
}

/**
 * One MAPE-K cycle for a gateway's batch: ingest (Monitor's data into Knowledge), Analyze, Plan
 * with guard rails, and signed actions back for the gateway to deliver. All writes in one D1 batch.
 */
export async function runCycle(ctx: CycleContext, batch: TelemetryBatch): Promise<CycleResponse> {
  const { db, now } = ctx;
  const known = await loadKnownNodes(db, batch.items);
  const ingest = planIngest(batch, known, ctx.trustDomain, now);
  const baselines = await loadBaselines(db, [...new Set(batch.items.flatMap((i) => (i.kind === "telemetry" ? [i.telemetry.nodeId] : [])))]);
  const anomalies = analyze(batch, known, baselines, now);
  const decisions = anomalies.length > 0 ? plan(anomalies, await recentActions(db, now - ctx.rails.cooldownMs, now - 60_000), ctx.rails, now) : [];

  const signer = ctx.authority.actionSigner;
  const actions: CycleResponse["actions"] = [];
  const rows = [];
  for (const decision of decisions) {
    const id = crypto.randomUUID();
    const action = signer ? actionFor(id, decision, now) : null;
    if (action && signer) actions.push({ nodeId: action.nodeId, action: await signAction(action, signer.privateKey, signer.kid) });
    const disposition = decision.disposition === "send" && !action ? "unsigned-no-action-key" : decision.disposition;
    rows.push(
      decisionInsert(db, {
        id,
        ts: now,
        nodeId: decision.anomaly.nodeId,
        kind: decision.params?.kind ?? decision.anomaly.kind,
        what: { disposition, target: decision.target, params: decision.params ?? null, actionId: action?.id ?? null },
        why: decision.why,
        inputs: decision.anomaly,
        outcome: disposition === "send" ? null : disposition,
        outcomeAt: disposition === "send" ? null : now,
      }),
    );
  }
  await writePlan(db, ingest, [...baselineUpserts(db, baselines, now), ...rows]);
  return { accepted: ingest.accepted, duplicates: ingest.duplicates, actions };
}
