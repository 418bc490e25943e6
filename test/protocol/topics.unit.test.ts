import { describe, expect, it } from "vitest";
import { parseNodeTopic, parseSharedFilter, topicMatches, topics } from "../../protocol/index.js";

describe("topics", () => {
  it("builds and parses node topics", () => {
    expect(topics.telemetry("node-1")).toBe("x0/v1/nodes/node-1/telemetry");
    expect(parseNodeTopic(topics.status("node-1"))).toEqual({ nodeId: "node-1", channel: "status" });
    expect(topics.shared("g", topics.allNodes("telemetry"))).toBe("$share/g/x0/v1/nodes/+/telemetry");
  });

  it.each([
    "x0/v1/nodes/node-1",
    "x0/v1/nodes/node-1/telemetry/extra",
    "x0/v2/nodes/node-1/telemetry",
    "x0/v1/nodes/NODE/telemetry",
    "x0/v1/nodes/node-1/commands",
    "x0/v1/nodes/-bad/telemetry",
  ])("rejects %s", (topic) => {
    expect(parseNodeTopic(topic)).toBeNull();
  });

  it("parses shared subscription filters", () => {
    expect(parseSharedFilter("$share/gw/x0/v1/nodes/+/telemetry")).toEqual({
      group: "gw",
      filter: "x0/v1/nodes/+/telemetry",
    });
    expect(parseSharedFilter("x0/v1/nodes/+/telemetry")).toBeNull();
    expect(parseSharedFilter("$share/+/x")).toBeNull();
    expect(parseSharedFilter("$share/g")).toBeNull();
  });

  it.each([
    ["x0/v1/nodes/+/telemetry", "x0/v1/nodes/a/telemetry", true],
    ["x0/v1/nodes/+/telemetry", "x0/v1/nodes/a/status", false],
    ["x0/#", "x0/v1/nodes/a/status", true],
    ["x0/#", "x0", true],
    ["x0/+", "x0/a/b", false],
    ["#", "$SYS/broker", false],
    ["+/b", "$x/b", false],
  ] as const)("topicMatches(%s, %s) = %s", (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});
