import { describe, expect, it } from "vitest";
import { NeighborReading } from "../../../protocol/index.js";
import { SimulatedMesh, buildTopology } from "../../../node-firmware/mesh/simulated.js";

const peers = ["gw-1", ...Array.from({ length: 12 }, (_, i) => `node-${i + 1}`)];

function connected(nodes: string[], links: { a: string; b: string }[]): boolean {
  const seen = new Set([nodes[0]]);
  for (let changed = true; changed; ) {
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
        const back = meshes.get(n.neighbor)?.sample(Date.now()).neighbors.map((m) => m.neighbor);
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
});
