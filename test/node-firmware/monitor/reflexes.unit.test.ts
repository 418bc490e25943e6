import { describe, expect, it } from "vitest";
import { SimulatedDataPlane } from "../../../node-firmware/dataplane/simulated.js";
import { SourceRates } from "../../../node-firmware/dataplane/source-rates.js";
import { routeActions } from "../../../node-firmware/execute/backend.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import { SimulatedMesh } from "../../../node-firmware/mesh/simulated/mesh.js";
import { DEFAULT_REFLEXES, Reflexes } from "../../../node-firmware/monitor/reflexes.js";

describe("Reflexes", () => {
  it("routes around a neighbor whose TQ collapses, once per cooldown, with no edge involved", () => {
    const mesh = new SimulatedMesh("node-1", ["node-1", "node-2", "node-3"], 1);
    const reflexes = new Reflexes(mesh, silentLogger);
    const neighbor = mesh.sample(0).neighbors[0]?.neighbor as string;
    for (let t = 1; t <= 5; t++) expect(reflexes.observe(mesh.sample(t * 1000).neighbors, [], t * 1000)).toEqual([]);
    mesh.linkDown(neighbor);
    // batman IV: the dead route's ring fills with zeros as OGMs arrive the other way round, or the
    // neighbor falls silent.
    let taken: ReturnType<Reflexes["observe"]> = [];
    let t = 6;
    for (; t <= 20 && taken.length === 0; t++) taken = reflexes.observe(mesh.sample(t * 1000).neighbors, [], t * 1000);
    expect(t - 6).toBeLessThanOrEqual(12); // at most the 10 s after which a silent neighbor reads as TQ 0
    expect(taken).toEqual([
      expect.objectContaining({ kind: "reroute", neighbor, hopPenalty: DEFAULT_REFLEXES.hopPenalty }),
    ]);
    expect(taken[0]?.reason).toMatch(/collapsed/);
    expect(mesh.controls.hopPenalty.get(neighbor)).toBe(DEFAULT_REFLEXES.hopPenalty);
    expect(reflexes.observe(mesh.sample(t * 1000).neighbors, [], t * 1000)).toEqual([]);
    expect(
      reflexes.observe(
        mesh.sample(t * 1000 + DEFAULT_REFLEXES.cooldownMs).neighbors,
        [],
        t * 1000 + DEFAULT_REFLEXES.cooldownMs,
      ),
    ).toHaveLength(1);
  });

  it("counts a reflex the backend cannot carry out as failed, and stays up", async () => {
    const reflexes = new Reflexes(
      { apply: () => Promise.reject(new Error("no packet filter on this node")) },
      silentLogger,
    );
    const flood = { source: "10.66.0.2", packetsPerS: 50_000, bytesPerS: 5_000_000, droppedPerS: 0, blocked: false };
    expect(reflexes.observe([], [flood], 1000)).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reflexes.taken.isolate_source).toBe(1);
    expect(reflexes.failed).toEqual({ reroute: 0, isolate_source: 1 });
  });

  it("leaves steady and poor-but-stable links alone", () => {
    const mesh = new SimulatedMesh("node-1", ["node-1", "node-2", "node-3", "node-4"], 3);
    const reflexes = new Reflexes(mesh, silentLogger);
    for (let t = 1; t <= 50; t++) expect(reflexes.observe(mesh.sample(t * 1000).neighbors, [], t * 1000)).toEqual([]);
    expect(mesh.controls.hopPenalty.size).toBe(0);
  });

  it("isolates a flooding source within the interval that shows it, for the reflex TTL, and reports the evidence", async () => {
    const mesh = new SimulatedMesh("node-1", ["node-1", "node-2", "node-3"], 1);
    const dataplane = new SimulatedDataPlane(mesh.neighborIds);
    const reflexes = new Reflexes(routeActions(mesh, dataplane), silentLogger);
    const rates = new SourceRates();
    const observeAt = async (t: number) => reflexes.observe([], rates.rate(await dataplane.snapshot(t), t), t);
    for (let t = 0; t <= 3000; t += 1000) expect(await observeAt(t)).toEqual([]);
    dataplane.flood("10.66.0.1", 50_000);
    const taken = await observeAt(4000);
    expect(taken).toEqual([
      expect.objectContaining({
        kind: "isolate_source",
        source: "10.66.0.1",
        ttlSeconds: DEFAULT_REFLEXES.isolateTtlS,
        packetsPerS: 50_000,
      }),
    ]);
    expect([...(await dataplane.snapshot(4000)).blocked]).toEqual(["10.66.0.1"]);
    // Blocked, the flood still arrives and is counted as dropped; no second reflex.
    const next = rates.rate(await dataplane.snapshot(5000), 5000).find((r) => r.source === "10.66.0.1");
    expect(next).toMatchObject({ blocked: true, packetsPerS: 50_000, droppedPerS: 50_000 });
    expect(reflexes.observe([], next ? [next] : [], 5000)).toEqual([]);
    // The reflex TTL lapses unless the edge confirms.
    expect((await dataplane.snapshot(4000 + DEFAULT_REFLEXES.isolateTtlS * 1000)).blocked.size).toBe(0);
  });
});
