import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatTraceparent, parseTraceparent, type BatchItem } from "../../protocol/index.js";
import { createApp } from "../../workers/app.js";
import { otlpTraceRequest } from "../../workers/tracing/otlp.js";
import { SpanKind } from "../../workers/tracing/span.js";
import { Tracer, type SpanExporter } from "../../workers/tracing/tracer.js";
import type { FinishedSpan } from "../../workers/tracing/span.js";
import { batchOf, statusItem, statusMessage, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { spansOfRequest, type CollectedSpan, type OtlpRequest } from "../helpers/otlp-json.js";
import { adminToken, bearer } from "./identity-client.js";

const COLLECTOR = "http://collector.test/v1/traces";
const app = createApp();
const realFetch = globalThis.fetch;
let exported: { body: OtlpRequest; contentType: string | null }[];
let collectorDown: boolean;
/** Statuses the collector answers before it takes a request (with Retry-After: 0), in order. */
let refusals: number[];
let attempts: number;

/** The Worker's exporter posts with the global fetch: this stands in for the collector. */
beforeEach(() => {
  exported = [];
  collectorDown = false;
  refusals = [];
  attempts = 0;
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.url !== COLLECTOR) return realFetch(input, init);
    attempts++;
    if (collectorDown) throw new Error("connection refused");
    const refusal = refusals.shift();
    if (refusal !== undefined) return new Response("busy", { status: refusal, headers: { "retry-after": "0" } });
    exported.push({ body: await request.json<OtlpRequest>(), contentType: request.headers.get("content-type") });
    return new Response("{}", { status: 200 });
  };
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** One request through the whole app with tracing configured, waiting for the spans to leave. */
async function traced(path: string, init: RequestInit = {}, vars: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const response = await app.request(
    path,
    init,
    { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: COLLECTOR, OTEL_BSP_SCHEDULE_DELAY: "0", ...vars },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { response, spans: exported.flatMap((e) => spansOfRequest(e.body)) };
}

const PARENT = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" };
const sampledParent = formatTraceparent({ ...PARENT, sampled: true });

/**
 * The isolate's span export counters as the control plane's /metrics shows them (asked untraced, so
 * as not to add a span).
 */
async function exportCounts(): Promise<{ exported: number; dropped: number }> {
  const headers = { ...bearer(await adminToken()), traceparent: formatTraceparent({ ...PARENT, sampled: false }) };
  const response = await app.request(
    "/metrics",
    { headers },
    { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: COLLECTOR },
    createExecutionContext(),
  );
  const text = await response.text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return {
    exported: value(/^x0_trace_spans_exported_total (\d+)$/m),
    dropped: value(/^x0_trace_spans_dropped_total\{reason="export_failed"\} (\d+)$/m),
  };
}

describe("request tracing (OTLP/HTTP JSON)", () => {
  it("continues the caller's traceparent with a server span named by route, exported as OTLP JSON", async () => {
    const { response, spans } = await traced("/healthz", { headers: { traceparent: sampledParent } });
    expect(response.status).toBe(200);
    expect(exported[0]?.contentType).toBe("application/json");
    expect(spans).toEqual([
      expect.objectContaining({
        service: "x0-control-plane",
        traceId: PARENT.traceId,
        parentSpanId: PARENT.spanId,
        name: "GET /healthz",
        kind: SpanKind.server,
        error: false,
        attributes: expect.objectContaining({
          "http.request.method": "GET",
          "http.route": "/healthz",
          "http.response.status_code": 200,
        }) as unknown,
      }),
    ]);
  });

  it("records nothing for an unsampled caller, starts a new trace for a malformed traceparent, and is off without an endpoint", async () => {
    expect(
      (await traced("/healthz", { headers: { traceparent: formatTraceparent({ ...PARENT, sampled: false }) } })).spans,
    ).toEqual([]);
    const { spans } = await traced("/healthz", { headers: { traceparent: "00-zz-not-a-trace-01" } });
    expect(spans).toHaveLength(1);
    expect(spans[0]?.parentSpanId).toBeUndefined();
    exported = [];
    const ctx = createExecutionContext();
    await app.request("/healthz", {}, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(exported).toEqual([]);
  });

  it("samples new traces by OTEL_TRACES_SAMPLER_ARG, while a sampled caller's trace is always followed", async () => {
    expect((await traced("/healthz", {}, { OTEL_TRACES_SAMPLER_ARG: "0" })).spans).toEqual([]);
    expect(
      (await traced("/healthz", { headers: { traceparent: sampledParent } }, { OTEL_TRACES_SAMPLER_ARG: "0" })).spans,
    ).toHaveLength(1);
  });

  it("gathers many requests' spans into one export after OTEL_BSP_SCHEDULE_DELAY", async () => {
    const vars = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: COLLECTOR, OTEL_BSP_SCHEDULE_DELAY: "200" };
    const contexts = [createExecutionContext(), createExecutionContext(), createExecutionContext()];
    for (const ctx of contexts) expect((await app.request("/healthz", {}, { ...env, ...vars }, ctx)).status).toBe(200);
    expect(exported).toEqual([]);
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    expect(exported).toHaveLength(1);
    expect(spansOfRequest(exported[0]?.body as OtlpRequest).map((s) => s.name)).toEqual([
      "GET /healthz",
      "GET /healthz",
      "GET /healthz",
    ]);
  });

  it("answers the request when the collector is down: three attempts, then those spans are lost and counted, nothing else", async () => {
    const before = await exportCounts();
    collectorDown = true;
    const { response } = await traced("/healthz", { headers: { traceparent: sampledParent } });
    expect(response.status).toBe(200);
    expect(attempts).toBe(3);
    expect(await exportCounts()).toEqual({ exported: before.exported, dropped: before.dropped + 1 });
  });

  it("sends again after a busy collector's Retry-After (503, 429), and drops at once what it refuses (400)", async () => {
    const before = await exportCounts();
    refusals = [503, 429];
    expect((await traced("/healthz", { headers: { traceparent: sampledParent } })).spans).toHaveLength(1);
    expect(attempts).toBe(3);
    refusals = [400];
    attempts = 0;
    await traced("/healthz", { headers: { traceparent: sampledParent } });
    expect(attempts).toBe(1);
    expect(await exportCounts()).toEqual({ exported: before.exported + 1, dropped: before.dropped + 1 });
  });

  it("records a refused request with its status, not as a failure of the control plane", async () => {
    const { spans } = await traced("/api/v1/mesh/nodes", { headers: { traceparent: sampledParent } });
    expect(spans[0]).toMatchObject({
      name: "GET /api/v1/mesh/nodes",
      error: false,
      attributes: { "http.response.status_code": 401 },
    });
  });
});

describe("MAPE-K cycle spans", () => {
  it("gives each traced item an Analyze (or Knowledge) span under its relay span, linked to the request's span", async () => {
    const item = (n: number) =>
      formatTraceparent({
        traceId: n.toString(16).padStart(32, "a"),
        spanId: n.toString(16).padStart(16, "b"),
        sampled: true,
      });
    const now = Date.now();
    const items: BatchItem[] = [
      { ...telemetryItem(telemetrySample("tr-1", { ts: now, seq: 0 })), traceparent: item(1) },
      telemetryItem(telemetrySample("tr-2", { ts: now, seq: 0 })),
      { ...statusItem(statusMessage("tr-3", "offline", now)), traceparent: item(3) },
      {
        kind: "result",
        result: {
          v: 1,
          nodeId: "tr-1",
          outcome: "applied",
          actionId: crypto.randomUUID(),
          decisionId: crypto.randomUUID(),
          ts: now,
        },
        traceparent: item(4),
      },
    ];
    const { response, spans } = await traced("/api/v1/mape/cycle", {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(await adminToken()), traceparent: sampledParent },
      body: JSON.stringify(batchOf(items)),
    });
    expect(response.status).toBe(200);
    const server = spans.find((s) => s.kind === SpanKind.server) as CollectedSpan;
    expect(server).toMatchObject({
      name: "POST /api/v1/mape/cycle",
      traceId: PARENT.traceId,
      parentSpanId: PARENT.spanId,
    });
    const under = (traceparent: string) => {
      const parent = parseTraceparent(traceparent);
      return spans.filter((s) => s.traceId === parent?.traceId && s.parentSpanId === parent.spanId);
    };
    expect(under(item(1))).toEqual([
      expect.objectContaining({
        name: "mape.analyze",
        links: [{ traceId: server.traceId, spanId: server.spanId }],
        attributes: expect.objectContaining({ "x0.node.id": "tr-1", "x0.anomalies": 0 }) as unknown,
      }),
    ]);
    const down = under(item(3));
    expect(down.map((s) => s.name)).toEqual(["mape.analyze"]);
    expect(down[0]?.attributes["x0.anomalies"]).toBe(1);
    // The node_down decision is planned under the status item's Analyze span.
    const plans = spans.filter((s) => s.name === "mape.plan" && s.parentSpanId === down[0]?.spanId);
    expect(plans.map((s) => s.attributes["x0.anomaly.kind"])).toEqual(["node_down"]);
    expect(plans[0]?.attributes["x0.decision.disposition"]).toBe("observe");
    expect(under(item(4)).map((s) => [s.name, s.attributes["x0.action.outcome"]])).toEqual([
      ["mape.knowledge", "applied"],
    ]);
    expect(spans.filter((s) => s.attributes["x0.node.id"] === "tr-2")).toEqual([]); // untraced item
  });
});

describe("OTLP JSON encoding", () => {
  it("writes ids as hex, times as nanosecond strings, typed attribute values, links and error status", () => {
    const span: FinishedSpan = {
      traceId: PARENT.traceId,
      spanId: "1111111111111111",
      parentSpanId: PARENT.spanId,
      name: "x",
      kind: SpanKind.client,
      startMs: 1_700_000_000_123,
      endMs: 1_700_000_000_456,
      attributes: { s: "a", i: 3, d: 0.5, b: true },
      links: [{ ...PARENT, sampled: true }],
      error: "boom",
    };
    const request = otlpTraceRequest({ "service.name": "svc" }, [span]);
    const encoded = request.resourceSpans[0]?.scopeSpans[0]?.spans[0];
    expect(encoded).toMatchObject({
      startTimeUnixNano: "1700000000123000000",
      endTimeUnixNano: "1700000000456000000",
      attributes: [
        { key: "s", value: { stringValue: "a" } },
        { key: "i", value: { intValue: "3" } },
        { key: "d", value: { doubleValue: 0.5 } },
        { key: "b", value: { boolValue: true } },
      ],
      links: [PARENT],
      status: { code: 2, message: "boom" },
    });
  });

  it("follows the parent's sampling decision and never records when no exporter is configured", () => {
    const memory: SpanExporter = { export: () => Promise.resolve() };
    const tracer = new Tracer(0, memory);
    expect(tracer.startSpan("root").context.sampled).toBe(false);
    expect(tracer.startSpan("child", { parent: { ...PARENT, sampled: true } }).context).toMatchObject({
      traceId: PARENT.traceId,
      sampled: true,
    });
    expect(new Tracer(1, undefined).startSpan("x", { parent: { ...PARENT, sampled: true } }).context.sampled).toBe(
      false,
    );
  });
});
