import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import type { IPublishPacket } from "mqtt";
import mqttPacket, { type IPublishPacket as ParsedPublish } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { TRACEPARENT, topics } from "../../../protocol/index.js";
import { uniformPacketShape } from "../../../node-firmware/mqtt/packet-shape.js";
import { telemetrySample } from "../../helpers/fixtures.js";
import { connectClient, startBroker, waitFor } from "../../helpers/mqtt.js";

setFlagsFromString("--allow-natives-syntax");
// V8's own test of hidden classes; only a function compiled after the flag can use it.
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

/** aedes' copy of each published packet (its typings declare a namespace, not the constructor it exports). */
const AedesPacket = createRequire(import.meta.url)("aedes-packet") as new (original: object, broker: object) => object;

const TRACED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const topic = topics.telemetry("n-1");

function parsePublishes(): ParsedPublish[] {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const parsed: ParsedPublish[] = [];
  parser.on("packet", (packet) => parsed.push(packet as ParsedPublish));
  const publish = { cmd: "publish", topic, payload: "{}", qos: 1, messageId: 1, retain: false, dup: false } as const;
  parser.parse(mqttPacket.generate(publish, { protocolVersion: 5 }));
  parser.parse(mqttPacket.generate({ ...publish, properties: { userProperties: { [TRACEPARENT]: TRACED } } }, { protocolVersion: 5 }));
  return parsed;
}

describe("packet shape", () => {
  it("tells hidden classes apart, so the checks below can fail", () => {
    expect(haveSameMap({ a: 1 }, { a: 2 })).toBe(true);
    expect(haveSameMap({ a: 1 }, { a: 1, properties: {} })).toBe(false);
  });

  it("gives a parsed publish with a traceparent and one without the same hidden class, as the parser and aedes see them", () => {
    uniformPacketShape();
    uniformPacketShape(); // idempotent: a second call wraps nothing twice
    const [plain, traced] = parsePublishes();
    if (!plain || !traced) throw new Error("the parser emitted fewer than two packets");
    expect(plain.properties).toBeUndefined();
    expect(traced.properties?.userProperties).toEqual({ [TRACEPARENT]: TRACED });
    expect(haveSameMap(plain, traced)).toBe(true);
    const broker = { id: "b", counter: 0 };
    expect(haveSameMap(new AedesPacket(plain, broker), new AedesPacket(traced, broker))).toBe(true);
  });

  it("through the embedded broker, delivers an untraced message without properties and a traced one with its traceparent", async () => {
    const broker = await startBroker();
    const clients = await Promise.all([connectClient(broker.port, "n-1"), connectClient(broker.port, "watcher")]);
    try {
      const [node, watcher] = clients;
      const received: IPublishPacket[] = [];
      watcher.on("message", (_topic, _payload, packet) => received.push(packet));
      await watcher.subscribeAsync(topics.allNodes("telemetry"), { qos: 1 });
      const payload = JSON.stringify(telemetrySample("n-1"));
      await node.publishAsync(topic, payload, { qos: 1 });
      await node.publishAsync(topic, payload, { qos: 1, properties: { userProperties: { [TRACEPARENT]: TRACED } } });
      await waitFor(() => received.length === 2, 5000, "two deliveries");
      expect(received.map((p) => p.properties?.userProperties?.[TRACEPARENT])).toEqual([undefined, TRACED]);
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
      await broker.close();
    }
  });
});
