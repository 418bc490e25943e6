import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { topics } from "../../../protocol/index.js";
import { startFakeEdge, type FakeEdge } from "../../helpers/edge.js";
import { telemetrySample } from "../../helpers/fixtures.js";
import { waitFor } from "../../helpers/mqtt.js";
import { freePort } from "../../helpers/processes.js";
import { useTempDirs } from "../../helpers/tmp.js";

const dir = useTempDirs("x0-kill-gw-");
const PUBLISHERS = 20;
const RATE_PER_PUBLISHER = 50; // 1,000 messages/s in all

let edge: FakeEdge | undefined;
let gateway: ChildProcess | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  gateway?.kill("SIGKILL");
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await edge?.close();
});

const dist = (module: string) => JSON.stringify(pathToFileURL(join(process.cwd(), "dist/node-firmware", module)).href);

/**
 * The gateway's own parts (broker, bridge, edge queue) in a process of their own, without the
 * identity a full agent needs.
 */
function startGateway(port: number, edgeUrl: string, queueDir: string): ChildProcess {
  const config = {
    edgeUrl,
    shareGroup: "g",
    batch: { maxItems: 200, maxDelayMs: 200 },
    retry: { initialMs: 100, maxMs: 1000, requestTimeoutMs: 5000 },
    maxQueuedItems: 100_000,
    queueSyncMs: 1000,
  };
  const script = `
    const { EmbeddedBroker } = await import(${dist("mqtt/broker.js")});
    const { EdgeClient } = await import(${dist("gateway/edge-client.js")});
    const { TelemetryBridge } = await import(${dist("gateway/bridge.js")});
    const { createLogger } = await import(${dist("lib/log.js")});
    const log = createLogger({ node: "gw-1" }, "warn");
    const { default: mqtt } = await import("mqtt");
    const config = ${JSON.stringify(config)};
    const broker = await EmbeddedBroker.start({ host: "127.0.0.1", port: ${String(port)}, holdUntilTapped: true }, log);
    const edge = await EdgeClient.open("gw-1", config, ${JSON.stringify(queueDir)}, log);
    const client = mqtt.connect("mqtt://127.0.0.1:${String(port)}", { clientId: "gw-1", protocolVersion: 5 });
    new TelemetryBridge(client, config, edge, log).start(broker);`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "inherit"] });
}

/**
 * A node publishing QoS 1 samples, keeping each until its broker acknowledges it and sending what
 * is unacknowledged again on every new connection, as the agent's disk buffer does. A fresh
 * client per connection: mqtt.js's own store can pair a PUBACK with the wrong message across a
 * reconnect, which would blame the gateway for the client's mix-up.
 */
function publisher(port: number, nodeId: string, acked: Set<number>): () => void {
  const unacked = new Map<number, string>();
  let stopped = false;
  let client: MqttClient;
  const send = (seq: number, payload: string) => {
    client.publish(topics.telemetry(nodeId), payload, { qos: 1 }, (error) => {
      if (error || !unacked.has(seq)) return;
      unacked.delete(seq);
      acked.add(seq);
    });
  };
  const connect = () => {
    client = mqtt.connect(`mqtt://127.0.0.1:${String(port)}`, {
      clientId: nodeId,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 2000,
    });
    clients.push(client);
    client.on("connect", () => {
      for (const [seq, payload] of unacked) send(seq, payload);
    });
    client.on("error", () => undefined);
    client.once("close", () => {
      void client.endAsync(true);
      if (!stopped) setTimeout(connect, 100);
    });
  };
  connect();
  let seq = 0;
  const timer = setInterval(() => {
    const payload = JSON.stringify(telemetrySample(nodeId, { seq: ++seq, ts: Date.now() }));
    unacked.set(seq, payload);
    if (client.connected) send(seq, payload);
  }, 1000 / RATE_PER_PUBLISHER);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

describe("a gateway killed with SIGKILL at load", () => {
  it(
    "loses no acknowledged message: every sample reaches the edge after its restart",
    { timeout: 120_000 },
    async () => {
      edge = await startFakeEdge();
      const state = await dir();
      const port = await freePort();
      const start = () => startGateway(port, edge?.url ?? "", join(state, "edge-queue"));
      gateway = start();
      const acked = Array.from({ length: PUBLISHERS }, () => new Set<number>());
      const stops = acked.map((set, i) => publisher(port, `node-${String(i + 1)}`, set));
      const receivedOf = () => {
        const seen = acked.map(() => new Set<number>());
        for (const batch of edge?.batches ?? [])
          for (const item of batch.items) {
            if (item.kind === "telemetry" && item.telemetry.nodeId.startsWith("node-"))
              seen[Number(item.telemetry.nodeId.slice(5)) - 1]?.add(item.telemetry.seq);
          }
        return seen;
      };
      await waitFor(() => receivedOf().every((s) => s.size >= 50), 30_000, "samples flowing");
      gateway.kill("SIGKILL");
      await new Promise((resolve) => gateway?.once("exit", resolve));
      const ackedBeforeKill = acked.reduce((n, set) => n + set.size, 0);
      gateway = start();
      await waitFor(() => receivedOf().every((s) => s.size >= 150), 30_000, "samples flowing after the restart");
      for (const stop of stops) stop();
      const missing = () => {
        const received = receivedOf();
        return acked.map((set, i) => [...set].filter((seq) => !received[i]?.has(seq)));
      };
      // The edge queue drains within a batch delay; past that, what is missing stays missing.
      await waitFor(
        () => missing().every((m) => m.length === 0),
        10_000,
        "every acknowledged sample at the edge",
      ).catch(() => undefined);
      for (const [i, lost] of missing().entries())
        expect(lost, `node-${String(i + 1)}: acknowledged, never at the edge`).toEqual([]);
      console.log(
        `[measure] gateway SIGKILLed at ${String(PUBLISHERS * RATE_PER_PUBLISHER)} msg/s after ${String(ackedBeforeKill)} acknowledged samples: ${String(acked.reduce((n, s) => n + s.size, 0))} acknowledged in all, none missing at the edge`,
      );
    },
  );
});
