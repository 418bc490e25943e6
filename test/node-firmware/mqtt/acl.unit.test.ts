import { describe, expect, it } from "vitest";
import { mayPublish, maySubscribe } from "../../../node-firmware/mqtt/acl.js";
import { simTopic, topics, type Principal } from "../../../protocol/index.js";

const node: Principal = { kind: "node", nodeId: "node-1" };
const admin: Principal = { kind: "admin", name: "ops" };
const simulated = { simulation: true };
const production = { simulation: false };

describe("topic ACL", () => {
  it("has fault-injection topics only on a simulated mesh's broker, for admins included", () => {
    expect(maySubscribe(node, simTopic("node-1"), simulated)).toBe(true);
    expect(mayPublish(admin, simTopic("node-1"), simulated)).toBe(true);
    expect(maySubscribe(node, simTopic("node-1"), production)).toBe(false);
    expect(mayPublish(admin, simTopic("node-1"), production)).toBe(false);
  });

  it("keeps a node to its own topics either way", () => {
    for (const acl of [simulated, production]) {
      expect(mayPublish(node, topics.telemetry("node-1"), acl)).toBe(true);
      expect(mayPublish(node, topics.telemetry("node-2"), acl)).toBe(false);
      expect(maySubscribe(node, simTopic("node-2"), acl)).toBe(false);
      expect(maySubscribe(node, topics.actions("node-1"), acl)).toBe(true);
    }
  });
});
