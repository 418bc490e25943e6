import mqtt, { type MqttClient } from "mqtt";
import type { SvidMaterial } from "../../../node-firmware/identity/agent.js";
import { DenyView } from "../../../node-firmware/identity/deny-view.js";
import { clientTlsOptions } from "../../../node-firmware/identity/tls.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DecisionList,
  NodeStatus,
  NodeTelemetry,
  Rejection,
  itemNodeId,
  spiffeIdOf,
  topics,
  Topology,
} from "../../../protocol/index.js";
import { startAgent, type RunningAgent } from "../../../node-firmware/agent/run.js";
import { validateConfig } from "../../../node-firmware/config/load.js";
import { createLogger, silentLogger } from "../../../node-firmware/lib/log.js";
import { EmbeddedBroker } from "../../../node-firmware/mqtt/broker.js";
import { freePort } from "../../helpers/processes.js";
import { telemetrySample } from "../../helpers/fixtures.js";
import { TEST_TRUST_DOMAIN } from "../../helpers/pki.js";
import { startControlPlane, type ControlPlane } from "../../helpers/control-plane.js";
import { acceptBatch, startFakeEdge, type FakeEdge } from "../../helpers/edge.js";
import { collect, connectClient, startBroker, waitFor } from "../../helpers/mqtt.js";
import { hasPromtool, promtoolCheck } from "../../helpers/promtool.js";
import { exactly } from "../../helpers/contract.js";
import { simulatedMeshOf } from "../../helpers/mesh.js";
import { FAKE_BATCTL_DIR, fakeBatctlLog, simulatedMac, writeFakeBatctlState } from "../../helpers/fake-batctl.js";
import { BatmanIvMesh } from "../../../node-firmware/mesh/simulated/batman-iv.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const peers = ["gw-1", "node-1", "node-2", "node-9", "node-40", "node-41"];
/** Nothing listens here: a gateway pointed at it is cut off from the edge. */
const DEAD_EDGE = "http://127.0.0.1:9";

function nodeConfig(nodeId: string, port: number, intervalMs = 100) {
  return validateConfig("test", {
    nodeId,
    role: "node",
    broker: { url: `mqtt://127.0.0.1:${port}`, keepaliveS: 1, reconnectMs: 100 },
    telemetry: { intervalMs },
    mesh: { backend: "simulated", peers },
  });
}

async function run(config: ReturnType<typeof validateConfig>): Promise<RunningAgent> {
  const agent = await startAgent(
    config,
    process.env.X0_TEST_LOG ? createLogger({ node: config.nodeId }, "debug") : silentLogger,
  );
  cleanup.push(() => agent.stop());
  return agent;
}

async function broker(): Promise<EmbeddedBroker> {
  const b = await startBroker();
  cleanup.push(() => b.close());
  return b;
}

async function watcher(
  port: number,
  filter: string,
): Promise<{ client: MqttClient; seen: ReturnType<typeof collect> }> {
  const client = await connectClient(port, `watcher-${Math.random().toString(16).slice(2)}`);
  cleanup.push(() => client.endAsync(true));
  const seen = collect(client);
  await client.subscribeAsync(filter, { qos: 1 });
  return { client, seen };
}

const statesOf = (seen: { topic: string; payload: string }[], nodeId: string) =>
  seen.filter((m) => m.topic === topics.status(nodeId)).map((m) => exactly(NodeStatus, JSON.parse(m.payload)).state);

describe("node agent", () => {
  it("announces itself online (retained), publishes valid telemetry every interval, says offline on stop", async () => {
    const b = await broker();
    const agent = await startAgent(nodeConfig("node-1", b.port), silentLogger);
    const { seen } = await watcher(b.port, "x0/v1/nodes/node-1/#");
    await waitFor(() => seen.filter((m) => m.topic.endsWith("/telemetry")).length >= 3, 5000, "telemetry");
    expect(statesOf(seen, "node-1")[0]).toBe("online");
    const samples = seen
      .filter((m) => m.topic.endsWith("/telemetry"))
      .map((m) => exactly(NodeTelemetry, JSON.parse(m.payload)));
    expect(samples.map((s) => s.seq)).toEqual(samples.map((_, i) => samples[0]!.seq + i));
    expect(samples[0]?.neighbors.length).toBeGreaterThan(0);
    await agent.stop();
    await waitFor(() => statesOf(seen, "node-1").at(-1) === "offline", 5000, "offline status");
    expect(b.rejections.total()).toBe(0);
  });

  it("is declared offline by its Last Will when its connection dies", async () => {
    const b = await broker();
    const agent = await run(nodeConfig("node-2", b.port, 60_000));
    const { seen } = await watcher(b.port, topics.status("node-2"));
    await waitFor(() => statesOf(seen, "node-2").includes("online"));
    agent.client.options.reconnectPeriod = 0;
    agent.client.stream.destroy();
    await waitFor(() => statesOf(seen, "node-2").at(-1) === "offline", 5000, "Last Will");
  });
});

describe("node agent during a broker outage", () => {
  it("buffers samples on disk while the broker is down and replays them in order, none lost", async () => {
    const port = await freePort();
    let b = await EmbeddedBroker.start({ host: "127.0.0.1", port }, silentLogger);
    const bufferDir = await mkdtemp(join(tmpdir(), "x0-buffer-"));
    cleanup.push(() => rm(bufferDir, { recursive: true, force: true }));
    const config = validateConfig("test", {
      nodeId: "node-1",
      role: "node",
      broker: { url: `mqtt://127.0.0.1:${port}`, keepaliveS: 1, reconnectMs: 1000 },
      telemetry: { intervalMs: 100, bufferDir },
      mesh: { backend: "simulated", peers },
    });
    const agent = await run(config);
    const before = await watcher(port, topics.telemetry("node-1"));
    await waitFor(() => before.seen.length >= 3, 5000, "first samples");
    await before.client.endAsync(true);
    await b.close();
    await waitFor(() => agent.node.bufferedSamples >= 8, 5000, "8 samples buffered offline");
    expect(agent.node.stats.skippedOffline).toBe(0);
    b = await EmbeddedBroker.start({ host: "127.0.0.1", port }, silentLogger);
    cleanup.push(() => b.close());
    const after = await watcher(port, topics.telemetry("node-1"));
    const seqs = () => [...before.seen, ...after.seen].map((m) => exactly(NodeTelemetry, JSON.parse(m.payload)).seq);
    await waitFor(() => after.seen.length >= 12, 8000, "replayed backlog and live samples");
    const all = [...new Set(seqs())].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => (all[0] ?? 0) + i));
    const replayed = after.seen.map((m) => exactly(NodeTelemetry, JSON.parse(m.payload)));
    expect(replayed.map((t) => t.seq)).toEqual([...replayed.map((t) => t.seq)].sort((x, y) => x - y));
    expect(replayed.some((t) => (t.buffer?.queued ?? 0) > 0)).toBe(true);
  });

  it("keeps a live sample mqtt.js fails when the connection drops while it resends its store (mqttjs/MQTT.js#2015)", async () => {
    const port = await freePort();
    const accepted: number[] = [];
    const brokerOnPort = async (holding: boolean) => {
      const b = await EmbeddedBroker.start({ host: "127.0.0.1", port }, silentLogger);
      if (holding) b.pauseIntake(); // no PUBACK: mqtt.js keeps what it sent in its store
      b.tap((message) => {
        if (message.channel === "telemetry") accepted.push(message.value.seq);
      });
      return b;
    };
    const bufferDir = await mkdtemp(join(tmpdir(), "x0-buffer-"));
    cleanup.push(() => rm(bufferDir, { recursive: true, force: true }));
    const agent = await run(
      validateConfig("test", {
        nodeId: "node-1",
        role: "node",
        broker: { url: `mqtt://127.0.0.1:${String(port)}`, keepaliveS: 5, reconnectMs: 100 },
        telemetry: { intervalMs: 500, bufferDir },
        mesh: { backend: "simulated", peers },
      }),
    );
    const seq = () => agent.node.lastSample?.seq ?? 0;
    const nextTick = async () => {
      const now = seq();
      await waitFor(() => seq() > now, 3000, "the next sample");
    };
    let b = await brokerOnPort(false);
    await waitFor(() => accepted.length >= 2, 5000, "first samples");
    b.pauseIntake();
    await nextTick(); // sent, never acknowledged
    await b.close();
    b = await brokerOnPort(true); // the reconnect resends that sample first, and it is held again…
    await waitFor(() => b.clients === 1, 1000, "the reconnect, before the next sample");
    await nextTick(); // …so mqtt.js queues this live sample behind the resend
    const lost = seq();
    await b.close(); // the connection drops with it still queued: mqtt.js fails it
    await waitFor(() => agent.node.stats.publishErrors === 1, 3000, "the failed live publish");
    b = await brokerOnPort(false);
    cleanup.push(() => b.close());
    await waitFor(() => accepted.includes(lost + 2), 5000, "replay and live samples after the outage");
    const seqs = [...new Set(accepted)].sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 0) + i));
  });
});

describe("gateway", () => {
  let edge: FakeEdge;
  let controlPlane: ControlPlane;

  beforeAll(async () => {
    controlPlane = await startControlPlane();
  });
  afterAll(() => controlPlane.dispose());

  async function stateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "x0-agent-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  /** A node on the gateway's broker over mTLS, attested by the real control plane. */
  async function tlsNode(nodeId: string, port: number, mesh: object = { backend: "simulated", peers }) {
    return run(
      validateConfig("test", {
        nodeId,
        role: "node",
        broker: {
          url: `mqtts://127.0.0.1:${port}`,
          keepaliveS: 1,
          reconnectMs: 100,
          spiffeId: spiffeIdOf.gateway(TEST_TRUST_DOMAIN, "gw-1"),
        },
        telemetry: { intervalMs: 100 },
        mesh,
        identity: {
          edgeUrl: controlPlane.url,
          stateDir: await stateDir(),
          joinToken: await controlPlane.joinToken(nodeId),
        },
      }),
    );
  }

  /**
   * Identity comes from the real control plane; telemetry goes to a fake edge the test can watch,
   * or to the real one.
   */
  async function gateway(
    to: "fake-edge" | "real-edge" | "dead-edge" = "fake-edge",
    dir?: string,
  ): Promise<RunningAgent> {
    edge = await startFakeEdge();
    cleanup.push(() => edge.close());
    dir ??= await stateDir();
    const edgeUrl = to === "fake-edge" ? edge.url : to === "real-edge" ? controlPlane.url : DEAD_EDGE;
    return run(
      validateConfig("test", {
        nodeId: "gw-1",
        role: "gateway",
        telemetry: { intervalMs: 100 },
        mesh: { backend: "simulated", peers },
        identity:
          to === "dead-edge"
            ? { edgeUrl: DEAD_EDGE, stateDir: dir }
            : { edgeUrl: controlPlane.url, stateDir: dir, joinToken: await controlPlane.joinToken("gw-1", "gateway") },
        gateway: { embeddedBroker: { port: 0 }, edgeUrl, batch: { maxItems: 50, maxDelayMs: 100 } },
        metrics: { port: 0 },
      }),
    );
  }

  it("closes a revoked node's live session within 5 s, and a restarted gateway cut off from the edge enforces the list it kept", async () => {
    const dir = await stateDir();
    const gw = await gateway("real-edge", dir);
    const port = gw.broker?.port ?? 0;
    const revokedNode = await tlsNode("node-40", port);
    await waitFor(() => revokedNode.client.connected && gw.deny.known, 8000, "node-40 connected, deny list fetched");
    const revokedAt = performance.now();
    const answer = await fetch(`${controlPlane.url}/api/v1/identity/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${await controlPlane.adminJwt()}`, "content-type": "application/json" },
      body: JSON.stringify({ spiffeId: spiffeIdOf.node(TEST_TRUST_DOMAIN, "node-40"), reason: "test: stolen router" }),
    });
    expect(answer.status).toBe(201);
    await waitFor(() => (gw.broker?.revokedSessions.closed ?? 0) >= 1, 5000, "node-40's session closed");
    console.log(
      `[measure] revocation to the live session closed: ${(performance.now() - revokedAt).toFixed(0)} ms (the edge's answer to the next batch carries the new revision)`,
    );
    await gw.stop();

    const offline = await gateway("dead-edge", dir);
    expect(offline.deny.denies(spiffeIdOf.node(TEST_TRUST_DOMAIN, "node-40"))).toBe(true);
    const refusedBefore = offline.broker?.refusedClients.revoked ?? 0;
    await tlsNode("node-41", offline.broker?.port ?? 0).then((n) =>
      waitFor(() => n.client.connected, 8000, "node-41 accepted by the offline gateway"),
    );
    // node-40 comes back with the SVID it still holds (it can no longer attest for a new one).
    const material = revokedNode.identity?.current as SvidMaterial;
    const policy = {
      authorizer: { kind: "exact" as const, spiffeId: spiffeIdOf.gateway(TEST_TRUST_DOMAIN, "gw-1") },
      deny: new DenyView(),
    };
    const again = mqtt.connect(`mqtts://127.0.0.1:${String(offline.broker?.port)}`, {
      clientId: "node-40",
      protocolVersion: 5,
      reconnectPeriod: 0,
      ...clientTlsOptions(material, policy),
    });
    again.on("error", () => undefined);
    cleanup.push(() => again.endAsync(true));
    await waitFor(
      () => (offline.broker?.refusedClients.revoked ?? 0) > refusedBefore,
      8000,
      "node-40 refused by the offline gateway",
    );
    expect(again.connected).toBe(false);
  });

  it("relays nodes' status and telemetry, in order, to the edge", async () => {
    const gw = await gateway();
    const port = gw.broker?.port ?? 0;
    await tlsNode("node-1", port);
    await tlsNode("node-2", port);
    await waitFor(
      () => {
        const ids = new Set(edge.batches.flatMap((b) => b.items.map(itemNodeId)));
        return ids.has("node-1") && ids.has("node-2") && ids.has("gw-1");
      },
      8000,
      "all three at the edge",
    );
    const node1 = edge.batches
      .flatMap((b) => b.items)
      .filter((i) => i.kind === "telemetry" && i.telemetry.nodeId === "node-1");
    const seqs = node1.map((i) => (i.kind === "telemetry" ? i.telemetry.seq : -1));
    expect(seqs).toEqual([...seqs].sort((a, c) => a - c));
    expect(edge.batches.every((b) => b.gatewayId === "gw-1")).toBe(true);
    expect(edge.authorizations.every((a) => /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(a))).toBe(true);

    const metrics = await (await fetch(`http://127.0.0.1:${String(gw.metricsPort)}/metrics`)).text();
    expect(metrics).toMatch(/^x0_mape_cycle_duration_seconds_count\{node="gw-1",role="gateway"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^x0_edge_queue_items\{node="gw-1",role="gateway"\} \d+$/m);
    const clients = /^x0_broker_clients\{node="gw-1",role="gateway"\} (\d+)$/m.exec(metrics)?.[1];
    expect(Number(clients)).toBeGreaterThanOrEqual(2); // node-1 and node-2, and the gateway's own client
    expect(metrics).toMatch(
      /^x0_rejected_messages_total\{component="broker",reason="schema",node="gw-1",role="gateway"\} 0$/m,
    );
    expect(metrics).toMatch(/^x0_identity_failures_total\{operation="attest",node="gw-1",role="gateway"\} 0$/m);
    const expiry =
      /^x0_svid_expiry_timestamp_seconds\{spiffe_id="spiffe:\/\/[\w.-]+\/gateway\/gw-1",node="gw-1",role="gateway"\} (\d+)$/m.exec(
        metrics,
      )?.[1];
    expect(Number(expiry) * 1000).toBe(gw.identity?.current?.notAfter);
    if (hasPromtool) expect(promtoolCheck(metrics)).toEqual({ status: 0, said: "" });
  });

  it("counts on /metrics why deliveries to the edge were retried and what the edge refused", async () => {
    const gw = await gateway();
    const answers = [503, 400];
    edge.respond = (batch, res) => {
      const status = answers.shift();
      if (status === undefined) acceptBatch(batch, res);
      else res.writeHead(status, { "content-type": "application/problem+json" }).end(JSON.stringify({ title: "no" }));
    };
    const accepted = edge.batches.length;
    await waitFor(
      () => answers.length === 0 && edge.batches.length > accepted,
      8000,
      "a batch accepted after a 503 and a 400",
    );
    const metrics = await (await fetch(`http://127.0.0.1:${String(gw.metricsPort)}/metrics`)).text();
    expect(metrics).toMatch(/^x0_edge_retries_total\{reason="http_5xx",node="gw-1",role="gateway"\} 1$/m);
    expect(metrics).toMatch(/^x0_edge_items_dropped_total\{reason="refused",node="gw-1",role="gateway"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^x0_edge_items_dropped_total\{reason="overflow",node="gw-1",role="gateway"\} 0$/m);
    expect(/^x0_edge_items_dropped_total\{reason="refused",.*\} (\d+)$/m.exec(metrics)?.[1]).toBe(
      String(gw.edge?.stats.itemsRefused),
    );
    if (hasPromtool) expect(promtoolCheck(metrics)).toEqual({ status: 0, said: "" });
  });

  it("counts and answers what it cannot relay, and keeps relaying", async () => {
    const gw = await gateway();
    const node9 = await tlsNode("node-9", gw.broker?.port ?? 0);
    const seen = collect(node9.client);
    await waitFor(() => node9.client.connected);
    await node9.client.subscribeAsync(topics.rejections("node-9"), { qos: 1 });
    const bridge = gw.bridge;
    if (!bridge) throw new Error("gateway has no bridge");
    await waitFor(() => gw.client.connected);
    await bridge.handle(topics.telemetry("node-9"), Buffer.from("{{{"));
    await bridge.handle(
      topics.telemetry("node-9"),
      Buffer.from(JSON.stringify({ ...telemetrySample("node-9"), v: 2 })),
    );
    await bridge.handle("x0/v1/unknown", Buffer.from("{}"));
    expect(bridge.rejections.counts).toMatchObject({ "not-json": 1, schema: 1, "unknown-topic": 1 });
    const answers = () => seen.filter((m) => m.topic === topics.rejections("node-9"));
    await waitFor(() => answers().length === 1, 5000, "rejection answer");
    expect(exactly(Rejection, JSON.parse(answers()[0]?.payload ?? "")).reason).toBe("not-json");
    await bridge.handle(topics.telemetry("node-9"), Buffer.from(JSON.stringify(telemetrySample("node-9"))));
    await waitFor(() =>
      edge.batches.some((b) => b.items.some((i) => i.kind === "telemetry" && i.telemetry.nodeId === "node-9")),
    );
  });

  it("relays a message's traceparent only when it is valid, so a broken one cannot spoil the batch", async () => {
    const gw = await gateway();
    await waitFor(() => gw.client.connected);
    const unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    await gw.bridge?.handle(
      topics.telemetry("node-9"),
      Buffer.from(JSON.stringify(telemetrySample("node-9", { seq: 1 }))),
      "00-not-a-trace-01",
    );
    await gw.bridge?.handle(
      topics.telemetry("node-9"),
      Buffer.from(JSON.stringify(telemetrySample("node-9", { seq: 2 }))),
      unsampled,
    );
    const relayed = () =>
      edge.batches.flatMap((b) => b.items).filter((i) => i.kind === "telemetry" && i.telemetry.nodeId === "node-9");
    await waitFor(() => relayed().length === 2, 5000, "both relayed");
    expect(relayed().map((i) => i.traceparent)).toEqual([undefined, unsampled]);
  });

  it("closes the loop: a degraded link is detected at the edge, a signed reroute is applied by the node, the decision records it", async () => {
    const gw = await gateway("real-edge");
    const node = await tlsNode("node-1", gw.broker?.port ?? 0);
    const mesh = simulatedMeshOf(node);
    const neighbor = mesh.sample(Date.now()).neighbors[0]?.neighbor as string;
    // The link's baseline is learnt before the fault (the detector trusts it after 5 samples).
    await waitFor(async () => (await controlPlane.samplesStored("node-1")) >= 15, 10_000, "15 samples at the edge");
    mesh.degrade(neighbor, { latencyMs: 250, loss: 0 });
    await waitFor(() => mesh.controls.hopPenalty.has(neighbor), 10_000, "reroute applied");
    expect(node.executor.stats.applied).toBeGreaterThanOrEqual(1);
    const admin = await controlPlane.adminJwt();
    await waitFor(
      async () => {
        const res = await fetch(`${controlPlane.url}/api/v1/mape/decisions?node=node-1&kind=reroute`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        const { decisions } = DecisionList.parse(await res.json());
        return decisions.some(
          (d) => d.outcome === "applied" && (d.inputs as { neighbor?: string }).neighbor === neighbor,
        );
      },
      10_000,
      "decision closed as applied",
    );
  });

  it("runs on batman-adv: names its neighbors by node id from batctl's table, and routes round a collapsing link with batctl", async () => {
    // The kernel here has no batman-adv: batctl is the fake, its tables from the B.A.T.M.A.N. IV simulator.
    // Node ids of its own: D1 is shared with the tests above.
    const sim = new BatmanIvMesh(["bat-1", "bat-2", "bat-40"]);
    for (const [a, b] of [
      ["bat-1", "bat-2"],
      ["bat-1", "bat-40"],
      ["bat-2", "bat-40"],
    ] as const)
      sim.connect(a, b);
    for (let i = 0; i < 80; i++) sim.tick();
    const state = join(await stateDir(), "batctl.json");
    const linkOf = (neighbor: string) => `mesh-${neighbor}`; // one hard interface per link, as in the UML lab
    const write = () => writeFakeBatctlState(state, sim, "bat-1", linkOf, "lo");
    await write();
    process.env.X0_FAKE_BATCTL_STATE = state;
    cleanup.push(() => {
      delete process.env.X0_FAKE_BATCTL_STATE;
      return Promise.resolve();
    });
    const gw = await gateway("real-edge");
    await tlsNode("bat-1", gw.broker?.port ?? 0, {
      backend: "batman-adv",
      meshInterface: "lo", // its counters stand in for bat0's
      batctl: join(FAKE_BATCTL_DIR, "batctl"),
      refreshMs: 100,
      nodes: { [simulatedMac("bat-2")]: "bat-2", [simulatedMac("bat-40")]: "bat-40" },
    });
    const admin = await controlPlane.adminJwt();
    const linksOfBat1 = async () => {
      const res = await fetch(`${controlPlane.url}/api/v1/mesh/topology`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      return Topology.parse(await res.json()).links.filter((l) => l.from === "bat-1");
    };
    await waitFor(async () => (await linksOfBat1()).length === 2, 10_000, "bat-1's links at the edge");
    expect((await linksOfBat1()).map((l) => [l.to, l.tq]).sort()).toEqual([
      ["bat-2", 255],
      ["bat-40", 255],
    ]);
    // Baselines first (the reflex compares a link's TQ with its average), then the link to bat-2 fails.
    await waitFor(async () => (await controlPlane.samplesStored("bat-1")) >= 10, 10_000, "10 samples at the edge");
    sim.disconnect("bat-1", "bat-2");
    for (let i = 0; i < 4; i++) sim.tick();
    await write();
    const penalties = async () =>
      (await readFile(fakeBatctlLog(state), "utf8"))
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as string[])
        .filter((args) => args[0] === "hardif" && args[2] === "hop_penalty");
    await waitFor(async () => (await penalties()).length > 0, 10_000, "a hop penalty set with batctl");
    expect((await penalties())[0]?.slice(0, 2)).toEqual(["hardif", "mesh-bat-2"]);
  });

  it("rides out an edge outage: nodes keep working, the gateway keeps every sample, and the backlog reaches D1 after", async () => {
    const gw = await gateway("real-edge");
    const node = await tlsNode("node-2", gw.broker?.port ?? 0);
    await waitFor(() => (gw.edge?.stats.itemsSent ?? 0) > 0, 8000, "first delivery");
    // Every sample from here on passes the gateway's subscription; the earlier ones may predate it.
    const publishedAtStart = node.node.stats.published;
    const storedAtStart = await controlPlane.samplesStored("node-2");
    await controlPlane.stop();
    const sentBefore = node.node.stats.published;
    // The mesh side never notices: the node goes on publishing, the gateway queues.
    await waitFor(
      () => node.node.stats.published > sentBefore + 10 && (gw.edge?.queued ?? 0) > 10,
      10_000,
      "10 samples queued at the gateway while the edge is down",
    );
    await controlPlane.start();
    await waitFor(() => gw.edge?.queued === 0, 20_000, "backlog replayed");
    await node.stop();
    const expected = node.node.stats.published - publishedAtStart;
    await waitFor(
      async () => (await controlPlane.samplesStored("node-2")) - storedAtStart >= expected,
      10_000,
      `all ${expected} samples in D1`,
    );
    expect(gw.edge?.stats.itemsDroppedOverflow).toBe(0);
  });
});
