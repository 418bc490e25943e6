import {
  reflexAction,
  type Action,
  type BatchItem,
  type CycleResponse,
  type Reflex,
  type TelemetryBatch,
} from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import type { Authority } from "../identity/authority.js";
import { planIngest } from "../telemetry/ingest.js";
import { screenRevoked } from "../telemetry/revoked.js";
import { loadKnownNodes, writePlan } from "../telemetry/store.js";
import {
  FLAP_WINDOW_MS,
  baselineKey,
  flapping,
  floods,
  nodeDown,
  observe,
  type Anomaly,
  type Baseline,
  type DetectorSettings,
  type Metric,
} from "./analyze.js";
import type { Span } from "../tracing/span.js";
import type { Tracer } from "../tracing/tracer.js";
import { CycleTrace } from "./cycle-trace.js";
import { judgeOutcomes, missedIncidents } from "./knowledge.js";
import { plan, targetKey, type GuardRails, type PlannedDecision } from "./plan.js";
import {
  baselineUpserts,
  decisionInsert,
  isolationState,
  loadBaselines,
  recentActions,
  recentDowns,
  suppressedRepeat,
} from "./store.js";
import { signAction } from "./sign-action.js";
import type { RecordedDecision } from "../rag/decisions.js";

const METRICS: Metric[] = ["latency", "loss", "tq"];
const ACTION_TTL_MS = 30_000;

export interface CycleContext {
  db: Database;
  authority: Authority;
  trustDomain: string;
  rails: GuardRails;
  /** The detector's settings: the defaults, with the link threshold the mesh policy sets. */
  detector: DetectorSettings;
  now: number;
  tracer: Tracer;
  /** The HTTP request's span, which the cycle's spans link to. */
  requestSpan: Span;
  /** Told of the decisions this cycle recorded, once they are stored (RAG attaches evidence). */
  onRecorded?: (decisions: RecordedDecision[]) => void;
}

interface Analysis {
  anomalies: Anomaly[];
  /** Repairs nodes made on their own, reported with their samples. */
  reflexes: { nodeId: string; reflex: Reflex }[];
}

/** Analyze: new samples against their links' baselines, and offline statuses. */
function analyze(
  batch: TelemetryBatch,
  known: Awaited<ReturnType<typeof loadKnownNodes>>,
  baselines: Map<string, Baseline>,
  rails: GuardRails,
  detector: DetectorSettings,
  now: number,
  trace: CycleTrace,
): Analysis {
  const anomalies: Anomaly[] = [];
  const reflexes: Analysis["reflexes"] = [];
  const newest = new Map([...known].map(([id, k]) => [id, k.lastTelemetryTs ?? -1]));
  const found = (item: BatchItem, anomaly: Anomaly) => {
    anomalies.push(anomaly);
    trace.found(anomaly, item);
  };
  for (const item of batch.items) {
    if (item.kind === "status") {
      const down = nodeDown(item.status, now);
      if (down) found(item, down);
      continue;
    }
    if (item.kind !== "telemetry") continue;
    const sample = item.telemetry;
    if (sample.ts <= (newest.get(sample.nodeId) ?? -1)) continue; // a replay was analyzed the first time
    newest.set(sample.nodeId, sample.ts);
    for (const reflex of sample.reflexes ?? []) reflexes.push({ nodeId: sample.nodeId, reflex });
    for (const flood of floods(sample, rails.floodPps, Math.min(sample.ts, now))) found(item, flood);
    for (const reading of sample.neighbors) {
      for (const metric of METRICS) {
        const key = baselineKey(sample.nodeId, reading.neighbor, metric);
        const { anomaly, next } = observe(
          baselines.get(key),
          reading,
          metric,
          sample.nodeId,
          Math.min(sample.ts, now),
          detector,
        );
        baselines.set(key, next);
        if (anomaly) found(item, anomaly);
      }
    }
  }
  return { anomalies, reflexes };
}

/** Nodes going down again and again: each down in this batch, counted with those recorded in the window. */
async function flappingNodes(
  db: Database,
  anomalies: readonly Anomaly[],
  now: number,
  trace: CycleTrace,
): Promise<Anomaly[]> {
  const downs = anomalies.filter((a) => a.kind === "node_down");
  if (downs.length === 0) return [];
  const recorded = await recentDowns(db, [...new Set(downs.map((d) => d.nodeId))], now - FLAP_WINDOW_MS);
  const seen = new Map<string, number>();
  return downs.flatMap((down) => {
    const count = (recorded.get(down.nodeId) ?? 0) + (seen.get(down.nodeId) ?? 0) + 1;
    seen.set(down.nodeId, (seen.get(down.nodeId) ?? 0) + 1);
    const flap = flapping(down, count);
    if (!flap) return [];
    trace.derived(flap, down);
    return [flap];
  });
}

const reflexTarget = (nodeId: string, reflex: Reflex) =>
  targetKey(nodeId, reflex.kind, reflex.kind === "reroute" ? reflex.neighbor : reflex.source);

function actionFor(decisionId: string, decision: PlannedDecision, now: number): Action | null {
  if (decision.disposition !== "send" || !decision.params) return null;
  return {
    v: 1,
    id: crypto.randomUUID(),
    nodeId: decision.anomaly.nodeId,
    issuedAt: now,
    expiresAt: now + ACTION_TTL_MS,
    idempotencyKey: decisionId,
    decisionId,
    params: decision.params,
  };
}

/** Judging costs a query: each isolate does it at most every few seconds, whatever the batch rate. */
const JUDGE_EVERY_MS = 5_000;
let judgedAt = 0;

async function judgeWhenDue(db: Database, now: number) {
  if (now - judgedAt < JUDGE_EVERY_MS) return [];
  judgedAt = now;
  return judgeOutcomes(db, now);
}

/**
 * One MAPE-K cycle for a gateway's batch: ingest (Monitor's data into Knowledge), Analyze, Plan
 * with guard rails, and signed actions back for the gateway to deliver. All writes in one D1 batch.
 */
export async function runCycle(ctx: CycleContext, received: TelemetryBatch): Promise<CycleResponse> {
  const { db, now } = ctx;
  const { batch, revoked, denyListRevision } = await screenRevoked(db, received, ctx.trustDomain, now);
  const reporting = [...new Set(batch.items.flatMap((i) => (i.kind === "telemetry" ? [i.telemetry.nodeId] : [])))];
  const [known, baselines] = await Promise.all([loadKnownNodes(db, batch.items), loadBaselines(db, reporting)]);
  const ingest = planIngest(batch, known, ctx.trustDomain, now);
  const trace = new CycleTrace(ctx.tracer, ctx.requestSpan, batch.items);
  const { anomalies, reflexes } = analyze(batch, known, baselines, ctx.rails, ctx.detector, now, trace);
  anomalies.push(...(await flappingNodes(db, anomalies, now, trace)));
  let decisions: PlannedDecision[] = [];
  const suppressedRows = new Map<string, string>();
  if (anomalies.length > 0) {
    const recent = await recentActions(
      db,
      [...new Set(anomalies.map((a) => a.nodeId))],
      now - ctx.rails.cooldownMs,
      now - 60_000,
    );
    for (const [target, id] of recent.suppressedRowByTarget) suppressedRows.set(target, id);
    // A node that already routed around a link by reflex needs no second order for it. A reflex
    // isolation is short-lived by design: the edge confirms it at once if the flood goes on.
    const lastAtByTarget = new Map(recent.lastAtByTarget);
    for (const { nodeId, reflex } of reflexes)
      if (reflex.kind === "reroute") lastAtByTarget.set(reflexTarget(nodeId, reflex), reflex.ts);
    const isolation = anomalies.some((a) => a.kind === "traffic_flood")
      ? await isolationState(db, now - ctx.rails.isolateTtlS * 1000)
      : undefined;
    for (const { reflex } of reflexes) if (reflex.kind === "isolate_source") isolation?.sources.add(reflex.source); // already isolated: confirming takes no more of the mesh
    decisions = plan(anomalies, { ...recent, lastAtByTarget, ...(isolation ? { isolation } : {}) }, ctx.rails, now);
  }

  const signer = ctx.authority.actionSigner;
  const actions: CycleResponse["actions"] = [];
  const rows = [];
  const recorded: RecordedDecision[] = [];
  for (const decision of decisions) {
    const open = decision.disposition === "suppressed-cooldown" ? suppressedRows.get(decision.target) : undefined;
    if (open) {
      trace.plan(decision, open, undefined);
      rows.push(suppressedRepeat(db, open, now));
      continue;
    }
    const id = crypto.randomUUID();
    if (decision.disposition === "suppressed-cooldown") suppressedRows.set(decision.target, id);
    const action = signer ? actionFor(id, decision, now) : null;
    const traceparent = trace.plan(decision, id, action?.id);
    if (action && signer)
      actions.push({
        nodeId: action.nodeId,
        action: await signAction(action, signer.privateKey, signer.kid),
        ...(traceparent ? { traceparent } : {}),
      });
    const disposition = decision.disposition === "send" && !action ? "unsigned-no-action-key" : decision.disposition;
    recorded.push({
      id,
      nodeId: decision.anomaly.nodeId,
      kind: decision.params?.kind ?? decision.anomaly.kind,
      why: decision.why,
      metric: decision.anomaly.metric,
      neighbor: decision.anomaly.neighbor,
    });
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
  for (const { nodeId, reflex } of reflexes) {
    rows.push(
      decisionInsert(db, {
        id: crypto.randomUUID(),
        ts: Math.min(reflex.ts, now),
        nodeId,
        kind: `reflex:${reflex.kind}`,
        what: {
          disposition: "reflex",
          target: reflexTarget(nodeId, reflex),
          params: reflexAction(reflex),
          actionId: null,
        },
        why: reflex.reason,
        inputs: reflex,
        outcome: "applied",
        outcomeAt: Math.min(reflex.ts, now),
      }),
    );
  }
  const feedback = [...(await missedIncidents(db, reflexes, anomalies)), ...(await judgeWhenDue(db, now))];
  await writePlan(db, ingest, [...baselineUpserts(db, baselines, now), ...rows, ...feedback]);
  if (recorded.length > 0) ctx.onRecorded?.(recorded);
  trace.end();
  return { accepted: ingest.accepted, duplicates: ingest.duplicates, revoked, denyListRevision, actions };
}
