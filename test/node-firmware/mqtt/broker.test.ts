import type { MqttClient, Packet } from "mqtt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Rejection, limits, topics } from "../../../protocol/index.js";
import type { EmbeddedBroker } from "../../../node-firmware/mqtt/broker.js";
import { statusMessage, telemetrySample } from "../../helpers/fixtures.js";
import { collect, connectClient, startBroker, waitFor } from "../../helpers/mqtt.js";
import { exactly } from "../../helpers/contract.js";

let broker: EmbeddedBroker;
let clients: MqttClient[];

beforeEach(async () => {
  broker = await startBroker();
  clients = [];
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
});

async function client(id: string): Promise<MqttClient> {
  const c = await connectClient(broker.port, id);
  clients.push(c);
  return c;
}

describe("embedded broker: shared subscriptions", () => {
  it("delivers each message to exactly one member of the group, and all to a plain subscriber", async () => {
    const [gwA, gwB, watcher, publisher] = await Promise.all([
      client("gw-a"),
      client("gw-b"),
      client("watcher"),
      client("pub"),
    ]);
    const filter = topics.allNodes("telemetry");
    await gwA.subscribeAsync(topics.shared("gws", filter), { qos: 1 });
    await gwB.subscribeAsync(topics.shared("gws", filter), { qos: 1 });
    await watcher.subscribeAsync(filter, { qos: 1 });
    expect(broker.shared.memberCount("gws", filter)).toBe(2);
    const [a, b, all] = [collect(gwA), collect(gwB), collect(watcher)];

    const nodes = Array.from({ length: 20 }, (_, i) => `n-${i}`);
    for (const id of nodes)
      await publisher.publishAsync(topics.telemetry(id), JSON.stringify(telemetrySample(id)), { qos: 1 });
    await waitFor(() => a.length + b.length === nodes.length && all.length === nodes.length, 5000, "deliveries");

    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    const shared = [...a, ...b].map((m) => m.topic).sort();
    expect(shared).toEqual(nodes.map((id) => topics.telemetry(id)).sort());
    expect(a[0]?.topic.startsWith("x0/")).toBe(true);
  });

  it("keeps one node's messages on one member, and hands over when a member leaves", async () => {
    const [gwA, gwB, publisher] = await Promise.all([client("gw-a"), client("gw-b"), client("pub")]);
    const shared = topics.shared("gws", topics.allNodes("telemetry"));
    await gwA.subscribeAsync(shared, { qos: 1 });
    await gwB.subscribeAsync(shared, { qos: 1 });
    const [a, b] = [collect(gwA), collect(gwB)];
    for (let i = 0; i < 5; i++)
      await publisher.publishAsync(topics.telemetry("n-1"), JSON.stringify(telemetrySample("n-1", { seq: i })), {
        qos: 1,
      });
    await waitFor(() => a.length + b.length === 5);
    expect([a.length, b.length].sort()).toEqual([0, 5]);

    const [stay, leave] = a.length === 5 ? [b, gwA] : [a, gwB];
    await leave.endAsync();
    await waitFor(() => broker.shared.memberCount("gws", topics.allNodes("telemetry")) === 1);
    await publisher.publishAsync(topics.telemetry("n-1"), JSON.stringify(telemetrySample("n-1", { seq: 9 })), {
      qos: 1,
    });
    await waitFor(() => stay.length === 1, 5000, "handover");
  });

  it("unsubscribing from a shared filter leaves the group", async () => {
    const gw = await client("gw-a");
    const shared = topics.shared("gws", topics.allNodes("status"));
    await gw.subscribeAsync(shared);
    expect(broker.shared.memberCount("gws", topics.allNodes("status"))).toBe(1);
    await gw.unsubscribeAsync(shared);
    expect(broker.shared.memberCount("gws", topics.allNodes("status"))).toBe(0);
  });
});

describe("embedded broker: payload validation", () => {
  it("never forwards invalid payloads; counts them and answers on PUBACK and the rejections topic", async () => {
    const [node, watcher] = await Promise.all([client("n-1"), client("watcher")]);
    await watcher.subscribeAsync("x0/#", { qos: 1 });
    await node.subscribeAsync(topics.rejections("n-1"));
    const seen = collect(watcher);
    const answers = collect(node);

    const pubacks: Packet[] = [];
    node.on("packetreceive", (packet) => {
      if (packet.cmd === "puback") pubacks.push(packet);
    });
    const refused = await node.publishAsync(topics.telemetry("n-1"), "not json", { qos: 1 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 0x87 });
    expect(pubacks[0]).toMatchObject({ reasonCode: 0x87 });
    expect(pubacks[0]?.cmd === "puback" && pubacks[0].properties?.reasonString).toMatch(/^not-json: /);
    await waitFor(() => answers.length === 1, 5000, "rejection answer");
    const answer = exactly(Rejection, JSON.parse(answers[0]?.payload ?? ""));
    expect(answer.reason).toBe("not-json");

    const refuse = (topic: string, payload: string | Buffer, qos: 0 | 1) =>
      node.publishAsync(topic, payload, { qos }).catch(() => undefined);
    await refuse(topics.telemetry("n-1"), JSON.stringify(telemetrySample("n-2")), 1);
    await refuse(topics.status("n-1"), JSON.stringify({ state: "online" }), 0);
    await refuse("x0/v1/nodes/n-1/bogus", "{}", 1);
    await refuse(topics.telemetry("n-1"), Buffer.alloc(limits.mqttPayloadBytes + 10, 0x20), 1);
    await waitFor(() => broker.rejections.total() === 5, 5000, "five rejections");
    expect(broker.rejections.counts).toMatchObject({
      "not-json": 1,
      "topic-mismatch": 1,
      schema: 1,
      "unknown-topic": 1,
      "too-large": 1,
    });

    await node.publishAsync(topics.status("n-1"), JSON.stringify(statusMessage("n-1", "online")), { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === topics.status("n-1")));
    // Only the valid status and the broker's own rejection answers went out.
    expect(seen.filter((m) => !m.topic.endsWith("/rejections")).map((m) => m.topic)).toEqual([topics.status("n-1")]);
  });

  it("drops a client whose packet exceeds the packet limit, and keeps serving others", async () => {
    const [node, other] = await Promise.all([client("n-big"), client("n-ok")]);
    const closed = new Promise<void>((resolve) =>
      node.once("close", () => {
        resolve();
      }),
    );
    node.publish(topics.telemetry("n-big"), Buffer.alloc(2 * 1024 * 1024, 0x20), { qos: 0 });
    await closed;
    // publishAsync rejects on a PUBACK reason code >= 0x80, so resolving means it was accepted.
    await expect(
      other.publishAsync(topics.status("n-ok"), JSON.stringify(statusMessage("n-ok", "online")), { qos: 1 }),
    ).resolves.toBeDefined();
  });
});

describe("embedded broker: intake backpressure", () => {
  it("holds every client's publishes while paused: no PUBACK, nothing relayed; then all of them, in order", async () => {
    const [node1, node2] = await Promise.all([client("node-1"), client("node-2")]);
    const tapped: string[] = [];
    broker.tap((message) => {
      if (message.channel === "telemetry") tapped.push(`${message.nodeId}#${String(message.value.seq)}`);
    });
    broker.pauseIntake();
    let acked = 0;
    const publish = (c: MqttClient, id: string, seq: number) =>
      c.publishAsync(topics.telemetry(id), JSON.stringify(telemetrySample(id, { seq })), { qos: 1 }).then(() => {
        acked++;
      });
    const acks = [
      publish(node1, "node-1", 0),
      publish(node1, "node-1", 1),
      publish(node2, "node-2", 0),
      publish(node1, "node-1", 2),
    ];
    // Each client's first publish is held, and aedes reads no more from it.
    await waitFor(() => broker.heldClients().length === 2, 5000, "a held publish of each client");
    expect({ tapped, acked }).toEqual({ tapped: [], acked: 0 });
    broker.resumeIntake();
    await Promise.all(acks);
    expect(tapped.filter((t) => t.startsWith("node-1"))).toEqual(["node-1#0", "node-1#1", "node-1#2"]);
    expect(tapped).toContain("node-2#0");
    await publish(node2, "node-2", 1); // and intake goes on as before
    expect(tapped.at(-1)).toBe("node-2#1");
  });

  it("lets held publishes go a few at a time, oldest first, and holds the rest", async () => {
    const [node1, node2] = await Promise.all([client("node-1"), client("node-2")]);
    const tapped: string[] = [];
    broker.tap((message) => {
      if (message.channel === "telemetry") tapped.push(`${message.nodeId}#${String(message.value.seq)}`);
    });
    broker.pauseIntake();
    const publish = (c: MqttClient, id: string, seq: number) =>
      c.publishAsync(topics.telemetry(id), JSON.stringify(telemetrySample(id, { seq })), { qos: 1 });
    const acks = [0, 1].map((seq) => publish(node2, "node-2", seq));
    acks.push(...[0, 1, 2, 3, 4].map((seq) => publish(node1, "node-1", seq)));
    await waitFor(() => broker.heldClients().length === 2, 5000, "a held publish of each client");
    const held = broker.resumeIntake(0); // counts, lets none through
    expect(broker.resumeIntake(1)).toBe(held - 1);
    expect(tapped).toHaveLength(1);
    expect(["node-1#0", "node-2#0"]).toContain(tapped[0]);
    // What the released client sent next is read and waits behind the rest.
    const released = tapped[0]?.split("#")[0];
    await waitFor(
      () => broker.heldClients().includes(released ?? ""),
      5000,
      "the released client's next publish, held",
    );
    expect(tapped).toHaveLength(1);
    expect(broker.resumeIntake()).toBe(0);
    await Promise.all(acks);
    expect(tapped.filter((t) => t.startsWith("node-1"))).toEqual([
      "node-1#0",
      "node-1#1",
      "node-1#2",
      "node-1#3",
      "node-1#4",
    ]);
    expect(tapped.filter((t) => t.startsWith("node-2"))).toEqual(["node-2#0", "node-2#1"]);
  });
});
