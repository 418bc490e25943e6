import { createRoute } from "@hono/zod-openapi";
import {
  CycleResponse,
  DecisionList,
  DecisionQuery,
  Knowledge,
  RagEvidence,
  TelemetryBatch,
  type PolicySettings,
} from "../../protocol/index.js";
import { openDatabase } from "../db/client.js";
import { readSettings, type Env } from "../env.js";
import { ANY_IDENTITY, guard } from "../http/guard.js";
import { createRouter, jsonBody, jsonResponse, problemResponses } from "../http/openapi.js";
import { loadAuthority } from "../identity/authority.js";
import { runCycle } from "./cycle.js";
import { indexClosedDecisions, relateToKnowledge } from "./evidence.js";
import type { RecordedDecision } from "../rag/decisions.js";
import { DEFAULT_GUARD_RAILS, type GuardRails } from "./plan.js";
import { DEFAULT_DETECTOR, type DetectorSettings } from "./analyze.js";
import { loadPolicy } from "../dao/policy.js";
import { knowledgeSummary, listDecisions } from "./store.js";

const tags = ["mape"];

function guardRails(env: Env): GuardRails {
  const number = (raw: string | undefined, fallback: number) =>
    raw === undefined || raw === "" || !Number.isFinite(Number(raw)) ? fallback : Number(raw);
  return {
    ...DEFAULT_GUARD_RAILS,
    dryRun: env.MAPE_DRY_RUN === "true",
    cooldownMs: number(env.MAPE_COOLDOWN_S, DEFAULT_GUARD_RAILS.cooldownMs / 1000) * 1000,
    maxActionsPerNodePerMinute: number(
      env.MAPE_MAX_ACTIONS_PER_NODE_PER_MIN,
      DEFAULT_GUARD_RAILS.maxActionsPerNodePerMinute,
    ),
    floodPps: number(env.MAPE_FLOOD_PPS, DEFAULT_GUARD_RAILS.floodPps),
    isolateTtlS: number(env.MAPE_ISOLATE_TTL_S, DEFAULT_GUARD_RAILS.isolateTtlS),
    maxIsolatedShare: number(env.MAPE_MAX_ISOLATED_SHARE, DEFAULT_GUARD_RAILS.maxIsolatedShare),
  };
}
/** The guard rails and detector with what executed governance proposals set over the configuration. */
function underPolicy(rails: GuardRails, policy: PolicySettings): { rails: GuardRails; detector: DetectorSettings } {
  return {
    rails: {
      ...rails,
      cooldownMs: policy.cooldownSeconds === undefined ? rails.cooldownMs : policy.cooldownSeconds * 1000,
      maxActionsPerNodePerMinute: policy.actionsPerNodePerMinute ?? rails.maxActionsPerNodePerMinute,
      floodPps: policy.floodPps ?? rails.floodPps,
      isolateTtlS: policy.isolateTtlSeconds ?? rails.isolateTtlS,
      maxIsolatedShare: policy.maxIsolatedShare ?? rails.maxIsolatedShare,
    },
    detector: { ...DEFAULT_DETECTOR, threshold: policy.linkZscore ?? DEFAULT_DETECTOR.threshold },
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const cycleRoute = createRoute({
  method: "post",
  path: "/api/v1/mape/cycle",
  summary: "Ingest a gateway's batch, Analyze and Plan; answers with the signed actions to deliver",
  tags,
  ...guard(["gateway", "admin"], { json: true }),
  request: { body: jsonBody(TelemetryBatch) },
  responses: {
    200: jsonResponse(CycleResponse, "Ingest figures and signed actions"),
    ...problemResponses(400, 401, 403, 413, 415),
  },
});

const decisionsRoute = createRoute({
  method: "get",
  path: "/api/v1/mape/decisions",
  summary: "The Knowledge base: anomalies, plans, actions and their outcomes, newest first",
  tags,
  ...guard(ANY_IDENTITY),
  request: { query: DecisionQuery },
  responses: { 200: jsonResponse(DecisionList, "Decisions"), ...problemResponses(400, 401, 403) },
});

const knowledgeRoute = createRoute({
  method: "get",
  path: "/api/v1/mape/knowledge",
  summary: "Outcomes of the loop's actions and the thresholds feedback has tuned",
  tags,
  ...guard(ANY_IDENTITY),
  responses: { 200: jsonResponse(Knowledge, "Knowledge"), ...problemResponses(401, 403) },
});

export const mapeRoutes = createRouter()
  .openapi(cycleRoute, async (c) => {
    const settings = readSettings(c.env);
    const db = openDatabase(c.env.DB);
    const policy = await loadPolicy(db);
    const { rails, detector } = underPolicy(guardRails(c.env), policy.settings);
    const ctx = {
      db,
      authority: await loadAuthority(c.env.X0_CA),
      trustDomain: settings.trustDomain,
      rails,
      detector,
      now: Date.now(),
      tracer: c.var.tracer,
      requestSpan: c.var.requestSpan,
      onRecorded: (recorded: RecordedDecision[]) => {
        c.executionCtx.waitUntil(relateToKnowledge(c.env, recorded));
      },
    };
    const response = await runCycle(ctx, c.req.valid("json"));
    c.executionCtx.waitUntil(indexClosedDecisions(c.env));
    return c.json({ ...response, policyRevision: policy.revision }, 200);
  })
  .openapi(knowledgeRoute, async (c) => {
    const db = openDatabase(c.env.DB);
    const { verdicts, tuned } = await knowledgeSummary(db);
    const { detector } = underPolicy(guardRails(c.env), (await loadPolicy(db)).settings);
    const count = (v: string | null) => verdicts.find((r) => r.verdict === v)?.n ?? 0;
    return c.json(
      {
        outcomes: { recovered: count("recovered"), notRecovered: count("not-recovered"), unjudged: count(null) },
        detector: { threshold: detector.threshold, warmup: detector.warmup, alpha: detector.alpha },
        tunedLinks: tuned.map((l) => ({
          from: l.fromNode,
          to: l.toNode,
          metric: l.metric,
          threshold: l.threshold ?? detector.threshold,
        })),
      },
      200,
    );
  })
  .openapi(decisionsRoute, async (c) => {
    const q = c.req.valid("query");
    const rows = await listDecisions(openDatabase(c.env.DB), {
      ...(q.node ? { nodeId: q.node } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.since ? { since: Date.parse(q.since) } : {}),
      limit: q.limit,
    });
    const decisions = rows.map(({ ragIndexedAt: _indexed, ...r }) => ({
      ...r,
      ts: new Date(r.ts).toISOString(),
      outcomeAt: iso(r.outcomeAt),
      verdictAt: iso(r.verdictAt),
      evidence: RagEvidence.nullable().parse(r.evidence),
    }));
    return c.json({ decisions }, 200);
  });
