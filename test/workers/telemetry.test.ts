import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { NodeList, TelemetryAccepted, Topology, limits } from "../../protocol/index.js";
import { batchOf, statusItem, statusMessage, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { get as getAnonymous, postJson } from "./client.js";
import { adminToken, bearer } from "./identity-client.js";
import { exactly } from "../helpers/contract.js";

let auth: Record<string, string>;
beforeAll(async () => {
  auth = bearer(await adminToken());
});
const get = (path: string) => getAnonymous(path, auth);

async function ingest(...items: Parameters<typeof batchOf>[0]): Promise<TelemetryAccepted> {
  const res = await postJson("/api/v1/telemetry", batchOf(items), auth);
  expect(res.status).toBe(200);
  return exactly(TelemetryAccepted, await res.json());
}

const nodesNow = async () => NodeList.parse(await (await get("/api/v1/mesh/nodes")).json()).nodes;

describe("POST /api/v1/telemetry", () => {
  it("upserts nodes and links, and the topology shows them", async () => {
    const t = Date.now();
    const a = telemetrySample("a", { ts: t, neighbors: [{ neighbor: "b", tq: 240, latencyMs: 2.5, loss: 0.01 }] });
    const b = telemetrySample("b", { ts: t, neighbors: [{ neighbor: "a", tq: 230, latencyMs: 2.7, loss: 0 }] });
    expect(await ingest(telemetryItem(a), telemetryItem(b))).toMatchObject({ accepted: 2, duplicates: 0, revoked: 0 });

    const topo = Topology.parse(await (await get("/api/v1/mesh/topology")).json());
    expect(topo.nodes.map((n) => [n.id, n.status, n.spiffeId])).toEqual([
      ["a", "online", "spiffe://x0tta6bl4.mesh/node/a"],
      ["b", "online", "spiffe://x0tta6bl4.mesh/node/b"],
    ]);
    expect(topo.links.map((l) => [l.from, l.to, l.tq])).toEqual([
      ["a", "b", 240],
      ["b", "a", 230],
    ]);
  });

  it("keeps first_seen, moves last_seen forward and updates link quality", async () => {
    const t0 = Date.now() - 10_000;
    await ingest(
      telemetryItem(telemetrySample("c", { ts: t0, neighbors: [{ neighbor: "d", tq: 200, latencyMs: 5, loss: 0 }] })),
    );
    await ingest(
      telemetryItem(
        telemetrySample("c", {
          ts: t0 + 5000,
          seq: 5,
          neighbors: [{ neighbor: "d", tq: 90, latencyMs: 40, loss: 0.2 }],
        }),
      ),
    );
    const c = (await nodesNow()).find((n) => n.id === "c");
    expect(c?.firstSeen).toBe(new Date(t0).toISOString());
    expect(c?.lastSeen).toBe(new Date(t0 + 5000).toISOString());
    const link = await env.DB.prepare("SELECT tq, loss FROM links WHERE from_node='c' AND to_node='d'").first();
    expect(link).toEqual({ tq: 90, loss: 0.2 });
  });

  it("treats a replayed batch as duplicates and does not double-count rollups", async () => {
    const t = Date.UTC(2026, 0, 1, 12, 0, 30);
    const items = [1, 2, 3].map((i) =>
      telemetryItem(
        telemetrySample("e", {
          ts: t + i * 1000,
          seq: i,
          neighbors: [{ neighbor: "f", tq: 50 * i, latencyMs: i, loss: 0 }],
        }),
      ),
    );
    expect(await ingest(...items)).toMatchObject({ accepted: 3, duplicates: 0, revoked: 0 });
    expect(await ingest(...items)).toMatchObject({ accepted: 0, duplicates: 3, revoked: 0 });
    const rollup = await env.DB.prepare(
      "SELECT minute, samples, link_samples, tq_sum FROM telemetry_rollups WHERE node_id='e'",
    ).all();
    expect(rollup.results).toEqual([
      { minute: Date.UTC(2026, 0, 1, 12, 0, 0), samples: 3, link_samples: 3, tq_sum: 300 },
    ]);
  });

  it("counts samples stored and samples missing from gaps in a node's sequence; a restart (seq back to 0) is no gap", async () => {
    const t = Date.UTC(2026, 0, 2, 12, 0, 0);
    const at = (i: number, seq: number) => telemetryItem(telemetrySample("gap", { ts: t + i * 1000, seq }));
    await ingest(at(0, 0), at(1, 1), at(2, 4)); // 2 and 3 never came
    await ingest(at(2, 4), at(3, 5)); // a replay of 4 changes nothing
    await ingest(at(4, 0), at(5, 1)); // the agent restarted
    await ingest(at(6, 3)); // 2 lost across batches
    expect((await nodesNow()).find((n) => n.id === "gap")).toMatchObject({ samplesStored: 7, samplesMissing: 3 });
  });

  it("applies status changes in arrival order: Last Will offline, then back online", async () => {
    await ingest(telemetryItem(telemetrySample("g")), statusItem(statusMessage("g", "offline")));
    expect((await nodesNow()).find((n) => n.id === "g")?.status).toBe("offline");
    const offline = NodeList.parse(await (await get("/api/v1/mesh/nodes?status=offline")).json()).nodes;
    expect(offline.map((n) => n.id)).toEqual(["g"]);
    await ingest(statusItem(statusMessage("g", "online")));
    expect((await nodesNow()).find((n) => n.id === "g")?.status).toBe("online");
  });

  it("reports a silent node as stale and drops its links from the topology", async () => {
    const old = Date.now() - 120_000;
    await ingest(
      telemetryItem(telemetrySample("h", { ts: old, neighbors: [{ neighbor: "i", tq: 10, latencyMs: 1, loss: 0 }] })),
    );
    const topo = Topology.parse(await (await get("/api/v1/mesh/topology")).json());
    expect(topo.nodes.find((n) => n.id === "h")?.status).toBe("stale");
    expect(topo.links.filter((l) => l.from === "h")).toEqual([]);
  });

  it("clamps timestamps from clocks running ahead", async () => {
    const future = Date.now() + 3_600_000;
    await ingest(telemetryItem(telemetrySample("j", { ts: future })));
    const j = (await nodesNow()).find((n) => n.id === "j");
    expect(Date.parse(j?.lastSeen ?? "")).toBeLessThanOrEqual(Date.now());
  });

  it("stores a full batch of the largest size in one request", async () => {
    const t = Date.now();
    const neighbors = Array.from({ length: 8 }, (_, k) => ({ neighbor: `peer-${k}`, tq: 200, latencyMs: 1, loss: 0 }));
    const items = Array.from({ length: limits.batchItems }, (_, i) =>
      telemetryItem(telemetrySample(`bulk-${i % 100}`, { ts: t - 1000 + Math.floor(i / 100), seq: i, neighbors })),
    );
    expect(await ingest(...items)).toMatchObject({ accepted: limits.batchItems, duplicates: 0 });
    const count = await env.DB.prepare("SELECT count(*) AS n FROM links WHERE from_node LIKE 'bulk-%'").first<{
      n: number;
    }>();
    expect(count?.n).toBe(800);
  });

  it("refuses the items of a revoked node, whoever relays them, counts them, and announces the deny list's revision", async () => {
    const before = await ingest(telemetryItem(telemetrySample("stolen-1", { ts: Date.now() - 1000, seq: 1 })));
    expect(before).toMatchObject({ accepted: 1, revoked: 0 });
    const res = await postJson(
      "/api/v1/identity/revoke",
      { spiffeId: "spiffe://x0tta6bl4.mesh/node/stolen-1", reason: "test: stolen" },
      auth,
    );
    expect(res.status).toBe(201);
    const t = Date.now();
    const after = await ingest(
      telemetryItem(telemetrySample("stolen-1", { ts: t, seq: 2 })),
      statusItem(statusMessage("stolen-1", "online", t)),
      telemetryItem(telemetrySample("honest-1", { ts: t, seq: 1 })),
    );
    expect(after).toMatchObject({ accepted: 1, revoked: 2 });
    expect(after.denyListRevision).toBeGreaterThan(before.denyListRevision);
    const stolen = (await nodesNow()).find((n) => n.id === "stolen-1");
    expect(stolen?.samplesStored).toBe(1);
    const counted = await env.DB.prepare(
      "SELECT sum(count) AS n FROM refusals WHERE reason = 'revoked-identity' AND source = 'stolen-1'",
    ).first<{ n: number }>();
    expect(counted?.n).toBe(2);
  });
});
