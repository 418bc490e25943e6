import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { spansOfRequest, type CollectedSpan, type OtlpRequest } from "./otlp-json.js";

export type { CollectedSpan };

/** A span from the OpenTelemetry SDK's in-memory exporter, in the same shape. */
export function spanOfSdk(span: ReadableSpan): CollectedSpan {
  const parent = span.parentSpanContext;
  return {
    service: String(span.resource.attributes["service.name"]),
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(parent ? { parentSpanId: parent.spanId } : {}),
    name: span.name,
    kind: span.kind + 1,
    links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    attributes: { ...span.attributes },
    error: span.status.code === SpanStatusCode.ERROR,
  };
}

export interface Collector {
  /** The OTLP/HTTP traces endpoint. */
  url: string;
  spans: CollectedSpan[];
  /** The export requests' bodies, as JSON parsed them. */
  requests: unknown[];
  /** Export requests that were not OTLP JSON. */
  refused: number;
  close(): Promise<void>;
}

/**
 * An OpenTelemetry collector's OTLP/HTTP JSON receiver, keeping what it gets in memory. `busy`
 * answers the first requests with these statuses (and `Retry-After: 0`) without keeping them, as
 * a collector under load does.
 */
export async function startCollector(busy: readonly number[] = []): Promise<Collector> {
  const collector: Collector = { url: "", spans: [], requests: [], refused: 0, close: () => Promise.resolve() };
  const statuses = [...busy];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = statuses.shift();
      if (status !== undefined) {
        res.writeHead(status, { "retry-after": "0" }).end();
        return;
      }
      try {
        const body = Buffer.concat(chunks);
        const text = (req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body).toString();
        if (req.url !== "/v1/traces" || !req.headers["content-type"]?.startsWith("application/json"))
          throw new Error("not OTLP JSON");
        const request: unknown = JSON.parse(text);
        collector.requests.push(request);
        collector.spans.push(...spansOfRequest(request as OtlpRequest));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch {
        collector.refused++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  collector.url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/v1/traces`;
  collector.close = () =>
    new Promise((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  return collector;
}

/** The spans from `leaf` up to its trace's root, root first; throws where a parent is missing. */
export function ancestry(spans: readonly CollectedSpan[], leaf: CollectedSpan): CollectedSpan[] {
  const byId = new Map(spans.filter((s) => s.traceId === leaf.traceId).map((s) => [s.spanId, s]));
  const path = [leaf];
  for (let span = leaf; span.parentSpanId !== undefined;) {
    const parent = byId.get(span.parentSpanId);
    if (!parent)
      throw new Error(`span "${span.name}" (${span.service}) has parent ${span.parentSpanId}, which no one exported`);
    path.unshift(parent);
    span = parent;
  }
  return path;
}

export const describeSpan = (s: CollectedSpan) => `${s.service}: ${s.name}`;
