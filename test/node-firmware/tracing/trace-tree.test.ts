import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spiffeIdOf } from "../../../protocol/index.js";
import { startAgent, type RunningAgent } from "../../../node-firmware/agent/run.js";
import { validateConfig } from "../../../node-firmware/config/load.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import { startControlPlane, type ControlPlane } from "../../helpers/control-plane.js";
import { waitFor } from "../../helpers/mqtt.js";
import { TEST_TRUST_DOMAIN } from "../../helpers/pki.js";
import {
  ancestry,
  describeSpan,
  spanOfSdk,
  startCollector,
  type CollectedSpan,
  type Collector,
} from "../../helpers/traces.js";
import { simulatedMeshOf } from "../../helpers/mesh.js";

const peers = ["gw-1", "node-1", "node-2"];
const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

let collector: Collector;
let controlPlane: ControlPlane;
const stops: (() => Promise<unknown>)[] = [];
const exporters = { gateway: new InMemorySpanExporter(), node: new InMemorySpanExporter() };

beforeAll(async () => {
  collector = await startCollector();
  controlPlane = await startControlPlane({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url });
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await controlPlane.dispose();
  await collector.close();
});

async function agent(nodeId: string, role: "node" | "gateway", extra: Record<string, unknown>): Promise<RunningAgent> {
  const stateDir = await mkdtemp(join(tmpdir(), "x0-trace-"));
  const running = await startAgent(
    validateConfig("test", {
      nodeId,
      role,
      telemetry: { intervalMs: 100 },
      mesh: { backend: "simulated", peers },
      identity: { edgeUrl: controlPlane.url, stateDir, joinToken: await controlPlane.joinToken(nodeId, role) },
      ...extra,
    }),
    silentLogger,
    { spanExporter: role === "gateway" ? exporters.gateway : exporters.node },
  );
  stops.push(
    () => rm(stateDir, { recursive: true, force: true }),
    () => running.stop(),
  );
  return running;
}

const allSpans = (): CollectedSpan[] =>
  [...exporters.node.getFinishedSpans(), ...exporters.gateway.getFinishedSpans()]
    .map(spanOfSdk)
    .concat(collector.spans);

describe("one trace across MQTT and HTTP", () => {
  it("follows a repair from the node's Monitor through the gateway and the Worker's Analyze and Plan back to the node's Execute", async () => {
    const gateway = await agent("gw-1", "gateway", {
      gateway: { embeddedBroker: { port: 0 }, edgeUrl: controlPlane.url, batch: { maxItems: 50, maxDelayMs: 20 } },
    });
    const node = await agent("node-1", "node", {
      broker: {
        url: `mqtts://127.0.0.1:${String(gateway.broker?.port)}`,
        keepaliveS: 1,
        reconnectMs: 100,
        spiffeId: spiffeIdOf.gateway(TEST_TRUST_DOMAIN, "gw-1"),
      },
    });
    const mesh = simulatedMeshOf(node);
    const neighbor = mesh.sample(Date.now()).neighbors[0]?.neighbor as string;
    // The link's baseline is learnt before the fault (the detector trusts it after 5 samples).
    await waitFor(async () => (await controlPlane.samplesStored("node-1")) >= 15, 10_000, "15 samples at the edge");
    mesh.degrade(neighbor, { latencyMs: 250, loss: 0 });
    await waitFor(() => mesh.controls.hopPenalty.has(neighbor), 10_000, "reroute applied");

    const execute = () =>
      allSpans().find((s) => s.name === "mape.execute" && s.attributes["x0.action.outcome"] === "applied");
    await waitFor(() => execute() !== undefined, 5000, "execute span");
    const leaf = execute() as CollectedSpan;
    // The result goes back up the same trace: wait for the Worker to record it.
    await waitFor(
      () => collector.spans.some((s) => s.name === "mape.knowledge" && s.traceId === leaf.traceId),
      5000,
      "knowledge span at the collector",
    );

    const spans = allSpans();
    const path = ancestry(spans, leaf);
    expect(path.map(describeSpan)).toEqual([
      "x0-node: mape.monitor",
      "x0-node: x0/v1/nodes/node-1/telemetry publish",
      "x0-gateway: x0/v1/nodes/node-1/telemetry receive",
      "x0-control-plane: mape.analyze",
      "x0-control-plane: mape.plan",
      "x0-gateway: x0/v1/nodes/node-1/actions publish",
      "x0-node: mape.execute",
    ]);
    expect(path.map((s) => s.kind)).toEqual([
      KIND.internal,
      KIND.producer,
      KIND.consumer,
      KIND.internal,
      KIND.internal,
      KIND.producer,
      KIND.consumer,
    ]);
    const [, , , analyze, plan] = path as [CollectedSpan, CollectedSpan, CollectedSpan, CollectedSpan, CollectedSpan];
    expect(analyze.attributes).toMatchObject({ "x0.node.id": "node-1", "x0.item.kind": "telemetry" });
    expect(analyze.attributes["x0.anomalies"]).toBeGreaterThanOrEqual(1);
    expect(plan.attributes).toMatchObject({
      "x0.action.kind": "reroute",
      "x0.decision.disposition": "send",
      "x0.action.id": leaf.attributes["x0.action.id"],
    });
    expect(plan.attributes["x0.decision.why"]).toMatch(/raise hop penalty/);

    // The node's result rides the trace on: gateway relay, then the Worker records the outcome.
    const knowledge = collector.spans.find(
      (s) => s.name === "mape.knowledge" && s.traceId === leaf.traceId,
    ) as CollectedSpan;
    expect(ancestry(spans, knowledge).slice(-3).map(describeSpan)).toEqual([
      "x0-node: mape.execute",
      "x0-gateway: x0/v1/nodes/node-1/results receive",
      "x0-control-plane: mape.knowledge",
    ]);
    expect(knowledge.attributes).toMatchObject({
      "x0.action.outcome": "applied",
      "x0.decision.id": plan.attributes["x0.decision.id"],
    });

    // The batch's HTTP request is its own trace: the gateway's client span, the Worker's server
    // span under it (parent over HTTP `traceparent`), and Analyze linked to that server span.
    const server = spans.find((s) => s.spanId === analyze.links[0]?.spanId) as CollectedSpan;
    expect(server).toMatchObject({ service: "x0-control-plane", name: "POST /api/v1/mape/cycle", kind: KIND.server });
    expect(server.attributes).toMatchObject({ "http.route": "/api/v1/mape/cycle", "http.response.status_code": 200 });
    const client = spans.find((s) => s.spanId === server.parentSpanId) as CollectedSpan;
    expect(client).toMatchObject({
      service: "x0-gateway",
      name: "POST /api/v1/mape/cycle",
      kind: KIND.client,
      traceId: server.traceId,
    });
    expect(client.links).toContainEqual({ traceId: leaf.traceId, spanId: path[2]?.spanId });
    expect(collector.refused).toBe(0);
  });

  it("traces identity issuance: the attestation's server span and its issuing span", async () => {
    await waitFor(() => collector.spans.some((s) => s.name === "identity.attest"), 5000, "attest span");
    const issued = collector.spans
      .filter((s) => s.name === "identity.attest")
      .map((s) => s.attributes["x0.identity.spiffe_id"]);
    expect(issued).toEqual(
      expect.arrayContaining([
        spiffeIdOf.gateway(TEST_TRUST_DOMAIN, "gw-1"),
        spiffeIdOf.node(TEST_TRUST_DOMAIN, "node-1"),
      ]),
    );
    const attest = collector.spans.find((s) => s.name === "identity.attest") as CollectedSpan;
    const parent = collector.spans.find((s) => s.spanId === attest.parentSpanId);
    expect(parent).toMatchObject({ name: "POST /api/v1/identity/attest", kind: KIND.server });
  });
});
