import { createRoute, z } from "@hono/zod-openapi";
import type { SpanExportStats } from "../../otlp/index.js";
import { openDatabase } from "../db/client.js";
import { readSettings } from "../env.js";
import { guard } from "../http/guard.js";
import { createRouter, problemResponses } from "../http/openapi.js";
import { EXPOSITION_CONTENT_TYPE, renderExposition, type MetricFamily } from "./exposition.js";
import { spanExportStats } from "../tracing/otlp.js";
import { requestCounter } from "./requests.js";
import { meshCounts } from "./store.js";
import { queryStats, ragFamilies } from "../rag/metrics.js";
import { daoFamilies } from "../dao/metrics.js";

const getMetrics = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics: the mesh from D1, decisions, identities, security events, requests",
  tags: ["system"],
  ...guard(["admin", "service"]),
  responses: {
    200: { description: "Prometheus text format 0.0.4", content: { "text/plain": { schema: z.string() } } },
    ...problemResponses(401, 403),
  },
});

const ALL_STATUSES = ["online", "offline", "stale"];
const ALL_BANDS = ["good", "fair", "poor"];
const ALL_VERDICTS = ["recovered", "not-recovered"];

/** Every listed label value gets a sample, zero when D1 has none: a series does not vanish when it empties. */
const complete = <K extends string>(
  label: K,
  values: readonly string[],
  rows: readonly ({ n: number } & Record<K, string>)[],
) => values.map((value) => ({ labels: { [label]: value }, value: rows.find((r) => r[label] === value)?.n ?? 0 }));

export const metricsRoutes = createRouter().openapi(getMetrics, async (c) => {
  const now = Date.now();
  const settings = readSettings(c.env);
  const counts = await meshCounts(openDatabase(c.env.DB), now - settings.nodeStaleAfterMs, now - settings.linkTtlMs);
  const families: MetricFamily[] = [
    {
      name: "x0_nodes",
      type: "gauge",
      help: "Nodes by status (stale: online but silent past NODE_STALE_AFTER_S)",
      samples: complete("status", ALL_STATUSES, counts.byStatus),
    },
    {
      name: "x0_links",
      type: "gauge",
      help: "Links measured within LINK_TTL_S, by TQ band (good >= 200, fair >= 100, poor)",
      samples: complete("band", ALL_BANDS, counts.byBand),
    },
    {
      name: "x0_decisions_total",
      type: "counter",
      help: "MAPE-K decisions recorded, by kind and outcome",
      samples: counts.byDecision.map((d) => ({ labels: { kind: d.kind, outcome: d.outcome }, value: d.n })),
    },
    {
      name: "x0_decision_verdicts_total",
      type: "counter",
      help: "Actions judged after the fact: recovered (the anomaly went away) or not-recovered",
      samples: complete("verdict", ALL_VERDICTS, counts.verdicts),
    },
    { name: "x0_svids_issued_total", type: "counter", help: "X.509-SVIDs issued", samples: [{ value: counts.issued }] },
    {
      name: "x0_svids_revoked_total",
      type: "counter",
      help: "Revocations recorded",
      samples: [{ value: counts.revoked }],
    },
    {
      name: "x0_audit_events_total",
      type: "counter",
      help: "Security events of the audit log (attestations, tokens, revocations), by action and outcome",
      samples: counts.audits.map((a) => ({ labels: { action: a.action, outcome: a.outcome }, value: a.n })),
    },
    {
      name: "x0_refusals_total",
      type: "counter",
      help: "Anonymous requests refused and items of revoked identities refused, by reason (kept for the audit retention)",
      samples: counts.refused.map((r) => ({ labels: { reason: r.reason }, value: r.n })),
    },
    {
      name: "x0_telemetry_samples_stored_total",
      type: "counter",
      help: "Telemetry samples stored in D1",
      samples: [{ value: counts.samples.stored }],
    },
    {
      name: "x0_telemetry_samples_missing_total",
      type: "counter",
      help: "Telemetry samples known missing from gaps in nodes' sequence numbers",
      samples: [{ value: counts.samples.missing }],
    },
    {
      name: "x0_http_requests_total",
      type: "counter",
      help: "Requests this isolate answered, by route, method and status class (empty when counted in Analytics Engine)",
      samples: requestCounter(c.env)
        .snapshot()
        .map((r) => ({ labels: { route: r.route, method: r.method, status: r.status }, value: r.count })),
    },
    ...(await ragFamilies(openDatabase(c.env.DB))),
    ...(await daoFamilies(openDatabase(c.env.DB))),
    ...queryStats.families(),
    ...(c.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? spanExportFamilies(spanExportStats) : []),
  ];
  return c.body(renderExposition(families), 200, { "content-type": EXPOSITION_CONTENT_TYPE });
});

/** Under the agents' names; a Worker's exporter drops only what the collector would not take. */
function spanExportFamilies(stats: SpanExportStats): MetricFamily[] {
  return [
    {
      name: "x0_trace_spans_exported_total",
      type: "counter",
      help: "Spans this isolate exported to the OTLP collector",
      samples: [{ value: stats.exported }],
    },
    {
      name: "x0_trace_spans_dropped_total",
      type: "counter",
      help: "Spans this isolate gave up exporting, by reason",
      samples: [{ labels: { reason: "export_failed" }, value: stats.dropped.export_failed }],
    },
  ];
}
