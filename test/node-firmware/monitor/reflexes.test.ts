import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../node-firmware/log.js";
import { SimulatedMesh } from "../../../node-firmware/mesh/simulated.js";
import { DEFAULT_REFLEXES, Reflexes } from "../../../node-firmware/monitor/reflexes.js";

describe("Reflexes", () => {
  it("routes around a neighbor whose TQ collapses, once per cooldown, with no edge involved", () => {
    const mesh = new SimulatedMesh("node-1", ["node-1", "node-2", "node-3"], 1);
    const reflexes = new Reflexes(mesh, silentLogger);
    const neighbor = mesh.sample(0).neighbors[0]?.neighbor as string;
    for (let t = 1; t <= 5; t++) expect(reflexes.observe(mesh.sample(t * 1000).neighbors, t * 1000)).toEqual([]);
    mesh.degrade(neighbor, { latencyMs: 0, loss: 0.8 });
    const taken = reflexes.observe(mesh.sample(6000).neighbors, 6000);
    expect(taken).toEqual([expect.objectContaining({ kind: "reroute", neighbor, hopPenalty: DEFAULT_REFLEXES.hopPenalty })]);
    expect(taken[0]?.reason).toMatch(/collapsed/);
    expect(mesh.controls.hopPenalty.get(neighbor)).toBe(DEFAULT_REFLEXES.hopPenalty);
    expect(reflexes.observe(mesh.sample(7000).neighbors, 7000)).toEqual([]);
    expect(reflexes.observe(mesh.sample(70_000).neighbors, 6000 + DEFAULT_REFLEXES.cooldownMs)).toHaveLength(1);
  });

  it("leaves steady and poor-but-stable links alone", () => {
    const mesh = new SimulatedMesh("node-1", ["node-1", "node-2", "node-3", "node-4"], 3);
    const reflexes = new Reflexes(mesh, silentLogger);
    for (let t = 1; t <= 50; t++) expect(reflexes.observe(mesh.sample(t * 1000).neighbors, t * 1000)).toEqual([]);
    expect(mesh.controls.hopPenalty.size).toBe(0);
  });
});
