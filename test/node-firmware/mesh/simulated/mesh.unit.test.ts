import { describe, expect, it } from "vitest";
import { NeighborReading } from "../../../../protocol/index.js";
import { SimulatedMesh, buildTopology } from "../../../../node-firmware/mesh/simulated/mesh.js";

const peers = ["gw-1", ...Array.from({ length: 12 }, (_, i) => `node-${i + 1}`)];

function connected(nodes: string[], links: { a: string; b: string }[]): boolean {
  const seen = new Set([nodes[0]]);
  for (let changed = true; changed;) {
    changed = false;
    for (const { a, b } of links) {
      if (seen.has(a) !== seen.has(b)) {
        seen.add(a).add(b);
        changed = true;
      }
    }
  }
  return seen.size === nodes.length;
}

describe("simulated mesh", () => {
  it("derives the same connected topology from the same peers and seed, in any order", () => {
    for (const seed of [1, 2, 3, 42, 1000]) {
      const links = buildTopology(peers, seed);
      expect(connected(peers, links)).toBe(true);
      expect(buildTopology([...peers].reverse(), seed)).toEqual(links);
    }
    expect(buildTopology(peers, 1)).not.toEqual(buildTopology(peers, 2));
  });

  it("gives both ends of a link a reading of each other, within protocol bounds", () => {
    const meshes = new Map(peers.map((id) => [id, new SimulatedMesh(id, peers, 7)]));
    for (const [id, mesh] of meshes) {
      const { neighbors } = mesh.sample(Date.now());
      expect(neighbors.length).toBeGreaterThan(0);
      for (const n of neighbors) {
        NeighborReading.parse(n);
        const back = meshes
          .get(n.neighbor)
          ?.sample(Date.now())
          .neighbors.map((m) => m.neighbor);
        expect(back).toContain(id);
      }
    }
  });

  it("keeps interface counters monotonic", () => {
    const mesh = new SimulatedMesh("node-1", peers, 1);
    const first = mesh.sample(1_000).counters;
    const second = mesh.sample(6_000).counters;
    expect(second.txPackets).toBeGreaterThan(first.txPackets);
    expect(second.rxBytes).toBeGreaterThanOrEqual(first.rxBytes);
  });

  it("reports TQ as B.A.T.M.A.N. IV computes it: full on a good link, low while OGMs are lost, rerouted when the link fails", () => {
    const mesh = new SimulatedMesh("node-1", peers, 7);
    const first = mesh.sample(0).neighbors.sort((x, y) => y.tq - x.tq)[0];
    const neighbor = first?.neighbor as string;
    const tqAt = (t: number) => mesh.sample(t).neighbors.find((n) => n.neighbor === neighbor)?.tq ?? -1;
    expect(first?.tq).toBeGreaterThan(200); // the closest neighbor, warmed up: a 64-OGM window from the start
    mesh.degrade(neighbor, { latencyMs: 0, loss: 0.6 });
    // OGMs lost on the link, others arriving the long way round push zeros into its ring: TQ
    // falls and flaps (batman-adv does on a link this lossy).
    const degraded = Array.from({ length: 50 }, (_, i) => tqAt((i + 10) * 1000));
    expect(degraded.reduce((a, b) => a + b, 0) / degraded.length).toBeLessThan(120);
    mesh.restore(neighbor);
    const recovered = Array.from({ length: 9 }, (_, i) => tqAt((132 + i) * 1000)).sort((a, b) => a - b);
    // a full window of good OGMs later (median: one lost OGM still dents the ring)
    expect(recovered[4]).toBeGreaterThan(200);
    expect(mesh.bestNextHop(neighbor)).toBe(neighbor);
    mesh.linkDown(neighbor);
    let seconds = 140;
    while (mesh.bestNextHop(neighbor) === neighbor && seconds < 200) mesh.sample(++seconds * 1000);
    expect(mesh.bestNextHop(neighbor)).not.toBe(neighbor); // the way round, when the topology has one
    expect(seconds - 140).toBeLessThanOrEqual(10);
    const dead = mesh.sample(seconds * 1000 + 10_000).neighbors.find((n) => n.neighbor === neighbor);
    expect(dead).toMatchObject({ tq: 0, loss: 1 }); // its own OGMs stopped: read as TQ 0, not batman's stale value
  });
});
