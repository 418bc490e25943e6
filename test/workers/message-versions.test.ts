import { beforeAll, describe, expect, it } from "vitest";
import { NodeList, TelemetryAccepted } from "../../protocol/index.js";
import { batchOf, statusMessage, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { get, postJson } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";

/**
 * A fleet of routers is never upgraded at once: the edge of today takes the messages of a node
 * one release ahead (fields it does not know) and one from the first release (none of the
 * optional fields added since), and refuses, saying why, a `v` it cannot read.
 */
let auth: Record<string, string>;
beforeAll(async () => {
  auth = bearer(await adminToken());
});

const post = (body: unknown) => postJson("/api/v1/telemetry", body, auth);
const nodeIds = async () => NodeList.parse(await (await get("/api/v1/mesh/nodes", auth)).json()).nodes.map((n) => n.id);

describe("messages of other releases at today's edge", () => {
  it("takes a newer node's telemetry and status, ignoring the fields it does not know", async () => {
    const sample = telemetrySample("newer-1", { neighbors: [{ neighbor: "older-1", tq: 200, latencyMs: 3, loss: 0 }] });
    const newer = {
      ...sample,
      radio: { channel: 36, noiseDbm: -95 },
      counters: { ...sample.counters, rxCrcErrors: 3 },
      neighbors: sample.neighbors.map((n) => ({ ...n, snrDb: 31 })),
    };
    const status = { ...statusMessage("newer-1", "online"), uptimeReason: "cold boot" };
    const batch = {
      ...batchOf([telemetryItem(newer), { kind: "status", status, hopCount: 2 } as never]),
      compression: "none",
    };
    const res = await post(batch);
    expect(res.status).toBe(200);
    expect(TelemetryAccepted.parse(await res.json())).toMatchObject({ accepted: 2, duplicates: 0, revoked: 0 });
    expect(await nodeIds()).toContain("newer-1");
  });

  it("takes an older node's telemetry, written before buffer, dataplane and reflexes existed", async () => {
    const older = telemetrySample("older-1");
    expect(Object.keys(older)).not.toEqual(expect.arrayContaining(["buffer"]));
    const res = await post(batchOf([telemetryItem(older)]));
    expect(res.status).toBe(200);
    expect(await nodeIds()).toContain("older-1");
  });

  it("refuses a message version it does not know, naming it, and stores nothing of the batch", async () => {
    const future = { ...telemetrySample("future-1"), v: 2 };
    const res = await post(batchOf([telemetryItem(future as never)]));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = await res.json<{ type: string; issues: { path: string; message: string }[] }>();
    expect(problem.type).toBe("urn:x0tta6bl4:problem:validation");
    expect(problem.issues).toContainEqual({
      path: "items.0.telemetry.v",
      message: "message version 2 is not one this reader knows (it reads v 1)",
    });
    expect(await nodeIds()).not.toContain("future-1");
  });
});
