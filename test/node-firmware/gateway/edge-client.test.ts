import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseTraceparent, type BatchItem, type SpanContext } from "../../../protocol/index.js";
import type { GatewayConfig } from "../../../node-firmware/config/schema.js";
import { DiskQueue } from "../../../node-firmware/buffer/disk-queue.js";
import { EdgeClient } from "../../../node-firmware/gateway/edge-client.js";
import { backoffDelay } from "../../../node-firmware/lib/backoff.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import { remoteContext } from "../../../node-firmware/tracing/propagation.js";
import { startTracing } from "../../../node-firmware/tracing/tracing.js";
import { telemetryItem, telemetrySample } from "../../helpers/fixtures.js";
import { acceptBatch, startFakeEdge, type FakeEdge } from "../../helpers/edge.js";
import { useTempDirs } from "../../helpers/tmp.js";

const dir = useTempDirs("x0-edge-queue-");
import { waitFor } from "../../helpers/mqtt.js";
import { ManualClock } from "../../helpers/clock.js";

let edge: FakeEdge;
beforeEach(async () => {
  edge = await startFakeEdge();
});
afterEach(() => edge.close());

function config(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    edgeUrl: edge.url,
    shareGroup: "g",
    batch: { maxItems: 10, maxDelayMs: 50 },
    retry: { initialMs: 10, maxMs: 40, requestTimeoutMs: 2000 },
    maxQueuedItems: 1000,
    queueSyncMs: 1000,
    ...overrides,
  };
}

const ITEM_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const items = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => telemetryItem(telemetrySample("n-1", { seq: from + i })));
const seqs = () => edge.batches.flatMap((b) => b.items.map((i) => (i.kind === "telemetry" ? i.telemetry.seq : -1)));

describe("EdgeClient", () => {
  it("delivers in order, in batches bounded by size", async () => {
    const client = await EdgeClient.open(
      "gw-1",
      config({ batch: { maxItems: 4, maxDelayMs: 50 } }),
      await dir(),
      silentLogger,
    );
    void client.enqueue(items(0, 3));
    void client.enqueue(items(3, 3));
    await client.drained();
    expect(seqs()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(edge.batches.map((b) => b.items.length)).toEqual([4, 2]);
    expect(edge.batches[0]?.gatewayId).toBe("gw-1");
    expect(client.stats).toMatchObject({ batchesSent: 2, itemsSent: 6, retries: 0 });
    await client.stop();
  });

  it("sends a batch that does not fill once its oldest item is maxDelayMs old, with what arrived meanwhile", async () => {
    const clock = new ManualClock();
    const client = await EdgeClient.open(
      "gw-1",
      config({ batch: { maxItems: 100, maxDelayMs: 80 } }),
      await dir(),
      silentLogger,
      { clock },
    );
    await client.enqueue(items(0, 1));
    await clock.advance(79);
    await client.enqueue(items(1, 1));
    await waitFor(() => clock.timers === 1, 5000, "the batch waiting for its age");
    expect(edge.batches).toEqual([]);
    await clock.advance(1);
    await client.drained();
    expect(edge.batches.map((b) => b.items.length)).toEqual([2]);
    await client.stop();
  });

  it("resolves an enqueue once its items are on disk: a client opened on the same folder finds them", async () => {
    edge.respond = (_batch, res) => {
      res.writeHead(503).end();
    };
    const queueDir = await dir();
    const client = await EdgeClient.open(
      "gw-1",
      config({ retry: { initialMs: 60_000, maxMs: 60_000, requestTimeoutMs: 2000 } }),
      queueDir,
      silentLogger,
    );
    await client.enqueue(items(0, 5));
    const onDisk = await DiskQueue.open<BatchItem>({ dir: queueDir, maxItems: 1000 });
    expect((await onDisk.peek(10)).items.map((i) => (i.kind === "telemetry" ? i.telemetry.seq : -1))).toEqual([
      0, 1, 2, 3, 4,
    ]);
    await onDisk.close();
    await client.stop();
  });

  it("retries with backoff while the edge fails, then delivers everything in order", async () => {
    let failures = 4;
    edge.respond = (batch, res) => {
      if (failures-- > 0) res.writeHead(503).end();
      else acceptBatch(batch, res);
    };
    const client = await EdgeClient.open("gw-1", config(), await dir(), silentLogger);
    void client.enqueue(items(0, 2));
    void client.enqueue(items(2, 2));
    await client.drained();
    expect(seqs()).toEqual([0, 1, 2, 3]);
    expect(client.stats.retries).toBe(4);
    expect(client.stats.retriesByReason).toEqual({ http_5xx: 4 });
  });

  it("counts each retry by why it failed: throttled, timed out at the edge, or no answer in time", async () => {
    const answers = [429, 408, 0];
    edge.respond = (batch, res) => {
      const status = answers.shift();
      if (status === undefined) acceptBatch(batch, res);
      else if (status > 0) res.writeHead(status).end();
      else setTimeout(() => res.writeHead(503).end(), 1000); // past the request timeout
    };
    const client = await EdgeClient.open(
      "gw-1",
      config({ retry: { initialMs: 10, maxMs: 40, requestTimeoutMs: 300 } }),
      await dir(),
      silentLogger,
    );
    void client.enqueue(items(0, 2));
    await client.drained();
    expect(seqs()).toEqual([0, 1]);
    expect(client.stats.retriesByReason).toEqual({ http_429: 1, http_408: 1, timeout: 1 });
  });

  it("retries when nothing listens, until the edge comes back", async () => {
    const url = edge.url;
    await edge.close();
    const client = await EdgeClient.open("gw-1", config({ edgeUrl: url }), await dir(), silentLogger);
    void client.enqueue(items(0, 2));
    await waitFor(() => client.stats.retries >= 2);
    await client.stop();
    expect(client.queued).toBe(2);
    expect(client.stats.retriesByReason).toEqual({ network: client.stats.retries });
    edge = await startFakeEdge();
  });

  it("keeps what the edge has not acknowledged across a gateway restart, and sends it first", async () => {
    const queueDir = await dir();
    edge.respond = (_batch, res) => {
      res.writeHead(503).end();
    };
    // No second attempt before the stop: one still under way when the edge comes back would deliver twice.
    const before = await EdgeClient.open(
      "gw-1",
      config({ retry: { initialMs: 60_000, maxMs: 60_000, requestTimeoutMs: 2000 } }),
      queueDir,
      silentLogger,
    );
    void before.enqueue(items(0, 3));
    await waitFor(() => before.stats.retries >= 1);
    await before.stop();
    edge.respond = acceptBatch;
    const after = await EdgeClient.open("gw-1", config(), queueDir, silentLogger);
    void after.enqueue(items(3, 2));
    await after.drained();
    expect(seqs()).toEqual([0, 1, 2, 3, 4]);
  });

  it("drops a batch the edge refuses with 4xx and goes on with the next", async () => {
    let first = true;
    edge.respond = (batch, res) => {
      if (first) {
        first = false;
        res.writeHead(400, { "content-type": "application/problem+json" }).end(JSON.stringify({ title: "bad" }));
      } else acceptBatch(batch, res);
    };
    const client = await EdgeClient.open(
      "gw-1",
      config({ batch: { maxItems: 2, maxDelayMs: 50 } }),
      await dir(),
      silentLogger,
    );
    void client.enqueue(items(0, 2));
    void client.enqueue(items(2, 2));
    await client.drained();
    expect(seqs()).toEqual([2, 3]);
    expect(client.stats.itemsRefused).toBe(2);
  });

  it("traces each POST as a client span it carries over traceparent, linked to its items' traces, failed when refused", async () => {
    edge.respond = (batch, res) => {
      if (batch.items.length === 1)
        res.writeHead(400, { "content-type": "application/problem+json" }).end(JSON.stringify({ title: "bad" }));
      else acceptBatch(batch, res);
    };
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ nodeId: "gw-1", role: "gateway" }, undefined, exporter);
    const client = await EdgeClient.open(
      "gw-1",
      config({ batch: { maxItems: 2, maxDelayMs: 50 } }),
      await dir(),
      silentLogger,
      { traceRequest: tracing.traceRequest },
    );
    const [traced, untracedItem] = items(0, 2) as [BatchItem, BatchItem];
    traced.traceparent = ITEM_TRACEPARENT;
    void client.enqueue([traced, untracedItem]);
    void client.enqueue(items(2, 1));
    await client.drained();
    const [accepted, refused, ...others] = exporter.getFinishedSpans();
    expect(others).toEqual([]);
    expect(edge.traceparents.map((t) => parseTraceparent(t ?? ""))).toEqual(
      [accepted, refused].map((s) => ({
        traceId: s?.spanContext().traceId,
        spanId: s?.spanContext().spanId,
        sampled: true,
      })),
    );
    expect(accepted).toMatchObject({
      name: "POST /api/v1/mape/cycle",
      kind: SpanKind.CLIENT,
      status: { code: SpanStatusCode.UNSET },
    });
    expect(accepted?.attributes).toMatchObject({
      "http.request.method": "POST",
      "x0.batch.items": 2,
      "http.response.status_code": 200,
    });
    expect(accepted?.links.map((l) => l.context)).toEqual([
      remoteContext(parseTraceparent(ITEM_TRACEPARENT) as SpanContext),
    ]);
    expect(refused).toMatchObject({
      status: { code: SpanStatusCode.ERROR },
      attributes: { "x0.batch.items": 1, "http.response.status_code": 400 },
      links: [],
    });
    await tracing.shutdown();
  });

  it("sends no traceparent with tracing off", async () => {
    const client = await EdgeClient.open("gw-1", config(), await dir(), silentLogger);
    void client.enqueue(items(0, 1));
    await client.drained();
    expect(edge.traceparents).toEqual([undefined]);
  });

  it("bounds the queue: the oldest items go first and are counted", async () => {
    let down = true;
    edge.respond = (batch, res) => {
      if (down) res.writeHead(503).end();
      else acceptBatch(batch, res);
    };
    const client = await EdgeClient.open("gw-1", config({ maxQueuedItems: 500 }), await dir(), silentLogger);
    for (let i = 0; i < 10; i++) void client.enqueue(items(i * 100, 100));
    expect(client.queued).toBe(1000); // handed over, on their way to the disk
    await waitFor(() => client.stats.retries >= 1 && client.stats.itemsDroppedOverflow >= 400);
    expect(client.queued).toBeLessThanOrEqual(500 + 100);
    down = false;
    await client.drained();
    const delivered = seqs();
    expect(client.stats.itemsDroppedOverflow + delivered.length).toBe(1000);
    expect(delivered.at(-1)).toBe(999);
    expect([...delivered].sort((a, b) => a - b)).toEqual(delivered);
  });
});

describe("backoffDelay", () => {
  it("grows exponentially up to the cap, with jitter below the ceiling", () => {
    expect(backoffDelay(0, 100, 5000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 5000, () => 1)).toBe(800);
    expect(backoffDelay(20, 100, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(20, 100, 5000, () => 0)).toBe(100);
  });
});
